import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config";
import { RedisEndpoint } from "../endpoint";
import { parseMemorySize, maxmemoryFor, formatMemorySize } from "../memory";
import { serverPassword } from "../password";
import { previousPasswordInput } from "../rotation";
import { DockerRedis } from "./docker/docker";
import { ElasticacheRedis } from "./managed/elasticache";
import { ExternalRedis } from "./external/external";
import { MemorydbRedis } from "./managed/memorydb";
import { KubernetesRedis } from "./kubernetes/kubernetes";
import { VmRedis } from "./vm/vm";

/** A built target: a component whose endpoint feeds the output contract. */
export interface RedisTarget extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    /** What only this target has (container name, cache id, secret ARN ...), as the `details` output. */
    readonly details: pulumi.Output<object>;
}

/** Builds the stack's one target. The only place in the program that branches on the target. */
export function buildTarget(name: string, config: StackConfig): RedisTarget {
    // An external server's password is given (config.ts requires it); nothing is generated for it.
    const password = serverPassword(name, config.password);
    // Phase one of a rotation (config.ts refuses it on external, whose provider rotates).
    const previousPassword = previousPasswordInput(config.previousPassword);
    switch (config.target) {
        case "docker": {
            const d = config.docker;
            const memoryLimitBytes = d.memoryLimit === undefined ? undefined : parseMemorySize(d.memoryLimit);
            const maxmemory = config.maxmemory ?? (memoryLimitBytes ? formatMemorySize(maxmemoryFor(memoryLimitBytes)) : undefined);
            return new DockerRedis(name, {
                image: d.image,
                containerName: d.containerName,
                volumeName: d.volumeName,
                hostIp: d.hostIp,
                hostPort: d.hostPort,
                tls: d.tls,
                certificates: config.certificates,
                password,
                previousPassword,
                maxmemory,
                memoryLimitBytes,
                logMaxSize: d.logMaxSize,
                logMaxFiles: d.logMaxFiles,
                protection: { protect: config.protect, deleteData: d.deleteData },
            });
        }
        case "elasticache": {
            const e = config.elasticache!;
            const args = { config: e, cacheName: e.name ?? `mspbyte-redis-${config.stack}`, password, previousPassword, protect: config.protect };
            return e.service === "memorydb" ? new MemorydbRedis(name, args) : new ElasticacheRedis(name, args);
        }
        case "vm":
            return new VmRedis(name, {
                config: config.vm!,
                serverName: `mspbyte-redis-${config.stack}`,
                password,
                previousPassword,
                maxmemory: config.maxmemory,
                protection: { protect: config.protect, deleteData: false },
                certificates: config.certificates,
            });
        case "kubernetes":
            return new KubernetesRedis(name, { config: config.kubernetes!, password, previousPassword, maxmemory: config.maxmemory, protect: config.protect, certificates: config.certificates });
        case "external":
            return new ExternalRedis(name, { config: config.external!, password: pulumi.secret(config.password!) });
        default: {
            const unreachable: never = config.target;
            throw new pulumi.RunError(`unknown target ${String(unreachable)}`);
        }
    }
}
