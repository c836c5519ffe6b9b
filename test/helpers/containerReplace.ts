/**
 * What forces a replacement, for the resources the docker and kubernetes targets register:
 * tables for changeSafety.ts, each row from the provider's own source.
 *
 * Docker: kreuzwerker/terraform-provider-docker v4.5.0 (5074970c71ce6cc393c74942d5d628943834beb9),
 * the newest release in reach and the one whose schema matches @pulumi/docker 5.2.0's inputs
 * (platform, deviceRequests, memoryReservation, cgroupParent). ForceNew attributes read from
 * internal/provider/resource_docker_container.go, resource_docker_volume.go and
 * resource_docker_image.go (RemoteImage); what an in-place update really changes on a running
 * container from resourceDockerContainerUpdate in resource_docker_container_funcs.go: restart,
 * max_retry_count, cpu_shares, memory, memory_reservation, cpu_set, memory_swap and the block-IO
 * limits. `healthcheck` is neither ForceNew nor updated: a change shows as an in-place update
 * that the running container never sees.
 *
 * Kubernetes: pulumi/pulumi-kubernetes 94977969d64112b04e19945818a7d5d5f38f631d,
 * provider/pkg/provider/diff.go (forceNewProperties: .metadata.name and .metadata.namespace for
 * every kind; per kind below; Secret .type, .stringData, .data and ConfigMap .data, .binaryData
 * unless the provider's enableSecretMutable / enableConfigMapMutable is set), and
 * provider/pkg/provider/provider.go (Diff: a replaced object keeping its name and namespace is
 * deleted before it is re-created). The Pod rules (containers, volumes, securityContext ...)
 * apply to kind Pod only; a StatefulSet's .spec.template updates in place and rolls the pod.
 */
import type { ReplaceTable } from "./changeSafety";
import type { StackRun } from "./stackUnderMocks";

const DOCKER = "kreuzwerker/terraform-provider-docker v4.5.0 (5074970c)";
const K8S = "pulumi/pulumi-kubernetes 94977969 provider/pkg/provider/diff.go";

/** Container attributes the running container takes in place (resourceDockerContainerUpdate). */
export const DOCKER_CONTAINER_APPLIED_IN_PLACE = [
    "restart",
    "maxRetryCount",
    "cpuShares",
    "memory",
    "memoryReservation",
    "cpuSet",
    "memorySwap",
];

export const DOCKER_TABLE: ReplaceTable = {
    "docker:index/container:Container": {
        forceNew: [
            "name",
            "readOnly",
            "image",
            "hostname",
            "domainname",
            "command",
            "entrypoint",
            "user",
            "dns",
            "dnsOpts",
            "dnsSearches",
            "publishAllPorts",
            "workingDir",
            "capabilities",
            "securityOpts",
            "runtime",
            "stopSignal",
            "stopTimeout",
            "mounts",
            "volumes",
            "ports",
            "hosts",
            "ulimits",
            "envs",
            "privileged",
            "devices",
            "labels",
            "shmSize",
            "logDriver",
            "logOpts",
            "networkMode",
            "networksAdvanced",
            "pidMode",
            "usernsMode",
            "uploads",
            "sysctls",
            "ipcMode",
            "groupAdds",
            "tty",
            "stdinOpen",
            "storageOpts",
            "gpus",
            "cpus",
            "cgroupnsMode",
            "cgroupParent",
        ],
        uniqueKey: (i) => `container ${i.name}`,
        source: `${DOCKER} internal/provider/resource_docker_container.go (ForceNew attributes)`,
    },
    "docker:index/volume:Volume": {
        forceNew: ["name", "labels", "driver", "driverOpts"],
        uniqueKey: (i) => `volume ${i.name}`,
        holdsData: true,
        source: `${DOCKER} internal/provider/resource_docker_volume.go (name, labels, driver, driver_opts ForceNew)`,
    },
    "docker:index/remoteImage:RemoteImage": {
        forceNew: ["name", "pullTriggers", "triggers", "platform"],
        source: `${DOCKER} internal/provider/resource_docker_image.go (name, pull_triggers, triggers, platform ForceNew)`,
    },
    "random:index/randomPassword:RandomPassword": {
        forceNew: [
            "length",
            "special",
            "upper",
            "lower",
            "numeric",
            "number",
            "minUpper",
            "minLower",
            "minNumeric",
            "minSpecial",
            "overrideSpecial",
            "keepers",
        ],
        // Not read here: the random provider documents every argument of random_password as forcing a new value.
        source: "hashicorp/terraform-provider-random random_password (documented: any argument change replaces)",
    },
};

const METADATA = ["metadata.name", "metadata.namespace"];
const SELECTOR = ["matchExpressions", "matchLabels"];

/** The kubernetes table for a provider configured as the stack file says (mutable ConfigMaps and Secrets or not). */
export function kubernetesTable(provider: { enableSecretMutable: boolean; enableConfigMapMutable: boolean }): ReplaceTable {
    const named = (kind: string) => (i: Record<string, any>) => `${kind} ${i.metadata?.namespace ?? ""}/${i.metadata?.name}`;
    return {
        "kubernetes:core/v1:Namespace": {
            forceNew: METADATA,
            uniqueKey: (i) => `Namespace ${i.metadata?.name}`,
            // Deleting a Namespace deletes the PVCs in it.
            holdsData: true,
            source: `${K8S} metadataForceNewProperties`,
        },
        "kubernetes:core/v1:Secret": {
            forceNew: [...METADATA, "type", ...(provider.enableSecretMutable ? [] : ["stringData", "data"])],
            uniqueKey: named("Secret"),
            source: `${K8S} forceNewProperties (Secret; enableSecretMutable ${provider.enableSecretMutable})`,
        },
        "kubernetes:core/v1:ConfigMap": {
            forceNew: [...METADATA, ...(provider.enableConfigMapMutable ? [] : ["data", "binaryData"])],
            uniqueKey: named("ConfigMap"),
            source: `${K8S} forceNewProperties (ConfigMap; enableConfigMapMutable ${provider.enableConfigMapMutable})`,
        },
        "kubernetes:core/v1:Service": {
            forceNew: [...METADATA, "spec.clusterIP"],
            uniqueKey: named("Service"),
            source: `${K8S} core v1 Service`,
        },
        "kubernetes:apps/v1:StatefulSet": {
            forceNew: [
                ...METADATA,
                "spec.podManagementPolicy",
                "spec.revisionHistoryLimit",
                "spec.selector",
                "spec.serviceName",
                "spec.volumeClaimTemplates",
                ...SELECTOR.map((s) => `spec.selector.${s}`),
            ],
            uniqueKey: named("StatefulSet"),
            source: `${K8S} statefulSet`,
        },
        "kubernetes:policy/v1:PodDisruptionBudget": {
            forceNew: METADATA,
            uniqueKey: named("PodDisruptionBudget"),
            source: `${K8S} (policy/v1 has no entry; .spec forces new for v1beta1 only)`,
        },
        "kubernetes:networkingk8sio/v1:NetworkPolicy": {
            forceNew: METADATA,
            uniqueKey: named("NetworkPolicy"),
            source: `${K8S} metadataForceNewProperties`,
        },
        "kubernetes:core/v1:PersistentVolumeClaimPatch": {
            forceNew: [...METADATA, "spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
            source: `${K8S} core v1 PersistentVolumeClaim (a patch is diffed as its kind)`,
        },
        "random:index/randomPassword:RandomPassword": DOCKER_TABLE["random:index/randomPassword:RandomPassword"]!,
    };
}

const getPath = (o: any, p: string) => p.split(".").reduce((v, k) => (v == null ? undefined : v[k]), o);
function setPath(o: any, p: string, value: unknown): void {
    const keys = p.split(".");
    let cur = o;
    for (const k of keys.slice(0, -1)) cur = cur[k] ??= {};
    cur[keys.at(-1)!] = value;
}

/**
 * Type tokens with dots in their module ("kubernetes:networking.k8s.io/v1:NetworkPolicy") as
 * changeSafety.ts recognises provider resources (letters and digits only): the dots are dropped.
 */
export function normalizeTypes(run: StackRun): StackRun {
    return {
        ...run,
        resources: run.resources.map((r) => ({
            ...r,
            type: r.type.replace(/^([a-z0-9-]+:)([^/:]+)(\/)/, (_, p: string, m: string, s: string) => p + m.replace(/\./g, "") + s),
        })),
    };
}

/** Both runs made ready for diffRuns: types normalized, the engine's rules applied to the after. */
export function prepareRuns(before: StackRun, after: StackRun): [StackRun, StackRun] {
    const b = normalizeTypes(before);
    return [b, applyEngineRules(b, normalizeTypes(after))];
}

/**
 * Pulumi's engine semantics the provider-neutral diff leaves to the caller: a dotted
 * `ignoreChanges` path keeps the old value (the new inputs take the state's), and the
 * kubernetes provider deletes first when a replaced object keeps its name and namespace.
 */
export function applyEngineRules(before: StackRun, after: StackRun): StackRun {
    const resources = after.resources.map((r) => {
        const old = before.resources.find((b) => b.type === r.type && b.name === r.name);
        if (!old) return r;
        const inputs = structuredClone(r.inputs);
        for (const p of r.opts.ignoreChanges.filter((p) => p.includes("."))) setPath(inputs, p, structuredClone(getPath(old.inputs, p)));
        const sameName =
            r.type.startsWith("kubernetes:") &&
            getPath(old.inputs, "metadata.name") === getPath(inputs, "metadata.name") &&
            getPath(old.inputs, "metadata.namespace") === getPath(inputs, "metadata.namespace");
        return { ...r, inputs, opts: { ...r.opts, deleteBeforeReplace: r.opts.deleteBeforeReplace || sameName } };
    });
    return { ...after, resources };
}
