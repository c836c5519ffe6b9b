/**
 * Stack configuration: one schema for every target, validated before any resource exists.
 * `load.ts` is the only reader of `pulumi.Config`; components take the typed result.
 *
 *   zod.ts        the helpers every schema is written with (strict objects, sizes, ports)
 *   schema.ts     the keys every target shares and the union of the targets' members
 *   memoryFit.ts  maxmemory against what the target gives the server
 *   errors.ts     ConfigError and how each problem is told (values of secrets never shown)
 *   parse.ts      parseStackConfig: raw config to StackConfig, every problem at once
 *   load.ts       loadConfig: the Pulumi reader
 * Each target's own block: src/targets/<target>/config.ts.
 */
export { TARGETS, type TargetName } from "../contract";
export {
    AUTH_TOKEN_FORBIDDEN,
    LOG_RETENTION_DAYS,
    MANAGED_DEFAULTS,
    MAX_REPLICAS,
    elasticacheSchema,
    type ElasticacheConfig,
} from "../targets/managed/config";
export { DEFAULT_CONTAINER_NAME, DEFAULT_REDIS_IMAGE, DOCKER_DEFAULTS, dockerSchema, type DockerConfig } from "../targets/docker/config";
export { EXTERNAL_DEFAULTS, externalSchema, type ExternalConfig } from "../targets/external/config";
export {
    DEFAULT_EXPORTER_IMAGE,
    KUBERNETES_DEFAULTS,
    QUANTITY,
    kubernetesSchema,
    type KubernetesConfig,
} from "../targets/kubernetes/config";
export { VM_DEFAULTS, vmSchema, type VmConfig } from "../targets/vm/config";
export { ConfigError, MAX_PROBLEMS_LISTED, NAMESPACE } from "./errors";
export { isConfigSecret, loadConfig } from "./load";
export { checkMemoryFits, memoryBudget, type MemoryFitInput } from "./memoryFit";
export { parseStackConfig, type Certificates, type StackConfig, type StackConfigOf } from "./parse";
export { anyTargetSchema, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, stackSchema } from "./schema";
export { MAXMEMORY_MIN_BYTES } from "./zod";
