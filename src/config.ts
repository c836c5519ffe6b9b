/**
 * Stack configuration: one schema for every target, validated before any resource exists.
 * This is the only file that reads `pulumi.Config`; components take the typed result.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { INSTANCE_MEMORY_MIB, MemoryBudget, OS_RESERVE_BYTES, REDIS_MEMORY_SIZE, formatMemorySize, largestSafeMaxmemory, parseMemorySize, parseQuantity, redisMemorySpelling } from "./memory";
import { authTokenProblem, cacheNameProblem, derivedNameProblems, maintenanceWindowProblem, multiAzSubnetsProblem, nitroProblem, snapshotWindowProblem, windowsOverlap } from "./awsRules";
import { describeGiven, isHostNameOrAddress, isPinnedImage, redactMessage, requiresProtection, sourceProblems, splitEndpoint, truncate, UNPROTECTED_STACKS } from "./rules";

export const NAMESPACE = "mspbyte-redis";
export const TARGETS = ["docker", "vm", "elasticache", "kubernetes", "external"] as const;
export type TargetName = (typeof TARGETS)[number];

/** AUTH tokens shorter than this are refused everywhere (ElastiCache's own minimum). */
export const PASSWORD_MIN_LENGTH = 16;
export const PASSWORD_MAX_LENGTH = 128;
/** Below this BullMQ cannot hold a useful backlog; `0` (no limit) is refused because a queue needs a ceiling. */
export const MAXMEMORY_MIN_BYTES = 16 * 1024 * 1024;
/**
 * The current Redis 7.4 patch of the official image (7.4.8 onward carry security fixes the
 * earlier pin missed); the README explains 7.4 beside production's Valkey 8.
 */
export const DEFAULT_REDIS_IMAGE = "redis:7.4.11-bookworm";
export const DEFAULT_CONTAINER_NAME = "mspbyte-redis";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const WILDCARD = new Set(["0.0.0.0", "::", "*"]);
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** A strict object: an unknown key is an error that lists the keys allowed there. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
    return z.strictObject(shape, {
        error: (issue) => {
            const keys = Object.keys(shape).sort().join(", ");
            if (issue.code === "unrecognized_keys") return `allowed keys: ${keys}`;
            if (issue.code === "invalid_type") return `an object with the keys ${keys}`;
            return undefined;
        },
    });
}

/**
 * A memory size in redis.conf's own spelling, which redis-server takes as it is; a size written
 * another way ("512 MB", "1.5gb", "512Mi") is refused with the spelling it wants.
 */
const memorySize = (allowed: string) =>
    z.union([z.string(), z.number()], { error: allowed })
        .superRefine((v, ctx) => {
            const ok = (typeof v === "number" || REDIS_MEMORY_SIZE.test(v.trim())) && (parseMemorySize(v) ?? 0) >= MAXMEMORY_MIN_BYTES;
            if (ok) return;
            const spelling = typeof v === "string" && !REDIS_MEMORY_SIZE.test(v.trim()) ? redisMemorySpelling(v) : undefined;
            const wanted = spelling !== undefined && (parseMemorySize(spelling) ?? 0) >= MAXMEMORY_MIN_BYTES ? `; write it ${spelling}` : "";
            ctx.addIssue({ code: "custom", input: v, message: allowed + wanted });
        });

const MEMORY_ALLOWED = `a memory size of at least 16mb, as redis.conf writes it: bytes (536870912) or a number with b, kb, mb or gb (512mb, 1gb)`;
const PORT_ALLOWED = "an integer from 1 to 65535";
const BOOLEAN_ALLOWED = "true or false";

const port = () => z.number({ error: PORT_ALLOWED }).int().min(1).max(65535);
const bool = () => z.boolean({ error: BOOLEAN_ALLOWED });

export const dockerSchema = strict({
    /** Image, pinned by tag or digest. */
    image: z.string({ error: `an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}` })
        .refine(isPinnedImage, {
            error: `an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        })
        .default(DEFAULT_REDIS_IMAGE),
    containerName: z.string({ error: "a container name: letters, digits, _ . - (starting with a letter or digit)" })
        .regex(DOCKER_NAME).default(DEFAULT_CONTAINER_NAME),
    volumeName: z.string({ error: "a volume name: letters, digits, _ . - (starting with a letter or digit)" })
        .regex(DOCKER_NAME).default(`${DEFAULT_CONTAINER_NAME}-data`),
    hostPort: port().default(6379),
    /**
     * The engine is handed an address, never a name: Docker Engine parses a host name in a port
     * binding as "every address" (0.0.0.0 and [::]). `localhost` is resolved here to 127.0.0.1
     * and `*` to 0.0.0.0; any other name is refused.
     */
    hostIp: z.string({ error: "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address" })
        .refine((v) => IPV4.test(v) || (v.includes(":") && IPV6.test(v)) || LOOPBACK.has(v) || WILDCARD.has(v), {
            error: "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address; not a host name (Docker publishes a name on every address)",
        })
        .transform((v) => (v === "localhost" ? "127.0.0.1" : v === "*" ? "0.0.0.0" : v))
        .default("127.0.0.1"),
    /** Opt-in for publishing on every interface (0.0.0.0 or ::). */
    exposeToNetwork: bool().default(false),
    /** TLS with a generated certificate; required when hostIp is not a loopback address. */
    tls: bool().default(false),
    /** Danger: true removes the data volume, and every job in it, on `pulumi destroy`. */
    deleteData: bool().default(false),
    /** Container memory limit; when set and `maxmemory` is not, `maxmemory` is sized from it. */
    memoryLimit: memorySize(MEMORY_ALLOWED).optional(),
    logMaxSize: z.string({ error: "a size with k, m or g, such as 10m" }).regex(/^\d+[kmg]$/).default("10m"),
    logMaxFiles: z.number({ error: "an integer from 1 to 100" }).int().min(1).max(100).default(3),
}).superRefine((d, ctx) => {
    if (WILDCARD.has(d.hostIp) && !d.exposeToNetwork) {
        ctx.addIssue({
            code: "custom",
            path: ["hostIp"],
            input: d.hostIp,
            message: "127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well",
        });
    }
    if (!LOOPBACK.has(d.hostIp) && !d.tls) {
        ctx.addIssue({
            code: "custom",
            path: ["tls"],
            input: d.tls,
            message: `true when docker.hostIp (${d.hostIp}) is not a loopback address: traffic then leaves this machine, and the password and every job with it`,
        });
    }
});


/** ElastiCache AUTH tokens: letters, digits and only ! & # $ ^ < > - (awsRules.ts); anything else is forbidden. */
export const AUTH_TOKEN_FORBIDDEN = /[^A-Za-z0-9!&#$^<>-]/;
/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
export const MAX_REPLICAS = 5;

/**
 * Sources judged by what they cover (rules.ts, the policy pack's rule too): a block, or the
 * blocks together, admitting the whole internet are refused here; public blocks are refused
 * without the section's `allowPublicCidrs` opt-in, in the stack-level check below.
 */
const cidrList = (key: string) => z.array(z.string(), { error: `a list of CIDR blocks, such as ["10.0.0.0/16"]` })
    .superRefine((list, ctx) => {
        for (const p of sourceProblems(list, { allowPublic: true, optIn: "allowPublicCidrs" })) {
            const message = p.kind === "internet" ? `${p.message} (use ${key} for the pipeline's subnets, or allowedSecurityGroupIds)` : p.message;
            ctx.addIssue({ code: "custom", path: p.index === undefined ? [] : [p.index], input: p.index === undefined ? list : list[p.index], message });
        }
    });

export const elasticacheSchema = strict({
    /** `memorydb`: a MemoryDB cluster (multi-AZ transaction log) instead of ElastiCache. */
    service: z.enum(["elasticache", "memorydb"], { error: "elasticache | memorydb" }).default("elasticache"),
    engine: z.enum(["valkey", "redis"], { error: "valkey | redis" }).default("valkey"),
    engineVersion: z.string({ error: "a major.minor version, such as 8.0 (valkey) or 7.1 (redis)" }).regex(/^\d+\.\d+$/).optional(),
    nodeType: z.string({ error: "a node type, such as cache.t4g.small (ElastiCache) or db.t4g.small (MemoryDB)" }).regex(/^(cache|db)\.[a-z0-9]+\.[a-z0-9]+$/).optional(),
    replicas: z.number({ error: `an integer from 0 to ${MAX_REPLICAS}` }).int().min(0).max(MAX_REPLICAS).default(1),
    multiAz: bool().optional(),
    vpcId: z.string({ error: "a VPC id, such as vpc-0123456789abcdef0" }).regex(/^vpc-[0-9a-f]+$/),
    subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/), { error: "a list of subnet ids, such as [\"subnet-0123\", \"subnet-4567\"]" }).min(1),
    allowedCidrs: cidrList("allowedCidrs").default([]),
    /** Opt-in for allowedCidrs outside the private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). */
    allowPublicCidrs: bool().default(false),
    allowedSecurityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/), { error: "a list of security group ids, such as [\"sg-0123\"]" }).default([]),
    port: port().default(6379),
    kmsKeyArn: z.string({ error: "a KMS key ARN" }).regex(/^arn:aws[\w-]*:kms:/).optional(),
    snapshotRetentionDays: z.number({ error: "an integer from 1 to 35 (snapshots stand in for the AOF ElastiCache cannot run)" }).int().min(1).max(35).default(7),
    snapshotWindow: z.string({ error: "a UTC window hh:mm-hh:mm, such as 03:00-04:00" }).regex(/^\d\d:\d\d-\d\d:\d\d$/).default("03:00-04:00"),
    maintenanceWindow: z.string({ error: "a UTC window ddd:hh:mm-ddd:hh:mm, such as sun:05:00-sun:06:00" }).regex(/^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/).default("sun:05:00-sun:06:00"),
    autoMinorVersionUpgrade: bool().default(true),
    /** Opt-in: sharded cluster mode; BullMQ's prefix then carries a hash tag. */
    clusterMode: bool().default(false),
    shards: z.number({ error: "an integer from 1 to 500" }).int().min(1).max(500).optional(),
    serverless: bool().default(false),
    alarmEmail: z.string({ error: "an email address" }).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/).optional(),
    maxConnectionsAlarm: z.number({ error: "an integer from 1 to 65000" }).int().min(1).max(65000).default(1000),
    logRetentionDays: z.number({ error: `one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}` })
        .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d)).default(30),
    /** Seed a new cache from this snapshot. Danger: setting or changing it on a live stack replaces the cache. */
    restoreFromSnapshot: z.string({ error: "a snapshot name, as `aws elasticache describe-snapshots` lists it" }).regex(/^[A-Za-z][\w-]{0,254}$/).optional(),
    /**
     * ElastiCache's AUTH token strategy outside phase one of a rotation (phase one is always
     * ROTATE). AWS takes SET only after a ROTATE (botocore's ModifyReplicationGroup model), so it
     * stays ROTATE until the first rotation's phase two sets SET (README, Password rotation).
     */
    authTokenUpdateStrategy: z.enum(["ROTATE", "SET"], { error: "ROTATE | SET" }).default("ROTATE"),
    /** Danger: changing it replaces the cache and its data. @default mspbyte-redis-<stack> */
    name: z.string({ error: "1 to 40 lowercase letters, digits and hyphens, starting with a letter" }).regex(/^[a-z][a-z0-9-]{0,39}$/).optional(),
}).superRefine((e, ctx) => {
    const issue = (path: string, input: unknown, message: string) => ctx.addIssue({ code: "custom", path: [path], input, message });
    if (e.serverless) {
        issue("serverless", true, "false; ElastiCache Serverless fixes maxmemory-policy at volatile-lru, which evicts jobs, and the policy cannot be changed");
    }
    if (e.multiAz === true && e.replicas === 0) {
        issue("multiAz", true, "false with replicas: 0; Multi-AZ fails over to a replica in another zone, so it needs elasticache.replicas of 1 or more");
    }
    if (e.shards !== undefined && !e.clusterMode) {
        issue("shards", e.shards, "unset unless elasticache.clusterMode is true");
    }
    if (e.allowedCidrs.length === 0 && e.allowedSecurityGroupIds.length === 0) {
        issue("allowedCidrs", e.allowedCidrs, "at least one CIDR block here or one security group in elasticache.allowedSecurityGroupIds; without either nothing can reach the cache");
    }
    if (e.authTokenUpdateStrategy === "SET" && e.service === "memorydb") {
        issue("authTokenUpdateStrategy", e.authTokenUpdateStrategy, "ROTATE or unset for service memorydb; a MemoryDB user takes both passwords in phase one and the new one alone once previousPassword is removed");
    }
    if (e.nodeType && e.service === "memorydb" && !e.nodeType.startsWith("db.")) issue("nodeType", e.nodeType, "a MemoryDB node type (db.*), such as db.t4g.small");
    if (e.nodeType && e.service === "elasticache" && !e.nodeType.startsWith("cache.")) issue("nodeType", e.nodeType, "an ElastiCache node type (cache.*), such as cache.t4g.small");
    // AWS's own rules (awsRules.ts), refused here rather than half-way through `pulumi up`.
    const nameProblem = e.name === undefined ? undefined : cacheNameProblem(e.name, e.service);
    if (nameProblem) issue("name", e.name, nameProblem);
    const snapshotProblem = snapshotWindowProblem(e.snapshotWindow);
    if (snapshotProblem) issue("snapshotWindow", e.snapshotWindow, snapshotProblem);
    const maintenanceProblem = maintenanceWindowProblem(e.maintenanceWindow);
    if (maintenanceProblem) issue("maintenanceWindow", e.maintenanceWindow, maintenanceProblem);
    if (!snapshotProblem && !maintenanceProblem && windowsOverlap(e.snapshotWindow, e.maintenanceWindow)) {
        issue("snapshotWindow", e.snapshotWindow, `a window that does not overlap elasticache.maintenanceWindow (${e.maintenanceWindow}); AWS refuses overlapping windows`);
    }
    const subnetsProblem = e.service === "elasticache" ? multiAzSubnetsProblem(e.multiAz ?? e.replicas > 0, e.subnetIds) : undefined;
    if (subnetsProblem) issue("subnetIds", e.subnetIds, subnetsProblem);
});


export const vmSchema = strict({
    /** Danger: changing it replaces the instance; the data volume stays and is re-attached. */
    instanceType: z.string({ error: "an EC2 instance type, such as t4g.small" }).regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/).default("t4g.small"),
    vpcId: z.string({ error: "a VPC id, such as vpc-0123456789abcdef0" }).regex(/^vpc-[0-9a-f]+$/),
    /** A private subnet; the data volume is created in its availability zone. */
    subnetId: z.string({ error: "a subnet id, such as subnet-0123456789abcdef0" }).regex(/^subnet-[0-9a-f]+$/),
    allowedCidrs: cidrList("allowedCidrs").default([]),
    /** Opt-in for allowedCidrs outside the private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). */
    allowPublicCidrs: bool().default(false),
    allowedSecurityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/), { error: "a list of security group ids, such as [\"sg-0123\"]" }).default([]),
    port: port().default(6379),
    /** Size of the encrypted data volume. Growing it is online; shrinking is refused by EBS. */
    dataVolumeGiB: z.number({ error: "an integer from 1 to 16384 (GiB)" }).int().min(1).max(16384).default(20),
    rootVolumeGiB: z.number({ error: "an integer from 8 to 1024 (GiB)" }).int().min(8).max(1024).default(8),
    kmsKeyArn: z.string({ error: "a KMS key ARN" }).regex(/^arn:aws[\w-]*:kms:/).optional(),
    snapshotRetentionDays: z.number({ error: "an integer from 1 to 1000 (daily snapshots kept)" }).int().min(1).max(1000).default(7),
    /** TLS with a certificate generated for this server (its CA is in the `details` output). */
    tls: bool().default(false),
    /** Pins a Debian 12 AMI (from Debian's account) instead of the latest. Danger: changing it replaces the instance (the data volume stays). */
    amiId: z.string({ error: "an AMI id, such as ami-0123456789abcdef0" }).regex(/^ami-[0-9a-f]{8,17}$/).optional(),
    /** Subscribed to the topic the serving alarm notifies. */
    alarmEmail: z.string({ error: "an email address" }).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/).optional(),
}).superRefine((v, ctx) => {
    const nitro = nitroProblem(v.instanceType);
    if (nitro) ctx.addIssue({ code: "custom", path: ["instanceType"], input: v.instanceType, message: nitro });
    if (v.allowedCidrs.length === 0 && v.allowedSecurityGroupIds.length === 0) {
        ctx.addIssue({ code: "custom", path: ["allowedCidrs"], input: v.allowedCidrs, message: "at least one CIDR block here or one security group in vm.allowedSecurityGroupIds; without either nothing can reach the server" });
    }
});


/** Kubernetes quantities: binary (Ki, Mi, Gi) or decimal (k, M, G) suffixes. */
export const QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
/**
 * redis_exporter v1.83.0 added --disable-scrape-endpoint (REDIS_EXPORTER_DISABLE_SCRAPE_ENDPOINT;
 * oliver006/redis_exporter d58dc609, main.go and exporter/exporter.go): without it `/scrape?target=`
 * sends the configured password to any host a caller names. v1.88.0 (16db88a0) has it, and
 * --tls-server-name, which the sidecar uses.
 */
export const DEFAULT_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.88.0";

export const kubernetesSchema = strict({
    namespace: z.string({ error: "a namespace name: lowercase letters, digits and -" }).regex(K8S_NAME).default("mspbyte-redis"),
    /** false: the namespace exists already and is not managed here. */
    createNamespace: bool().default(true),
    image: z.string({ error: `an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}` })
        .refine(isPinnedImage, { error: `an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you` })
        .default(DEFAULT_REDIS_IMAGE),
    /** @default the cluster's default storage class */
    storageClass: z.string({ error: "a storage class name" }).regex(K8S_NAME).optional(),
    /**
     * The data PVC's size. Growing it patches the existing PVC in place (its storage class must
     * allow expansion); the StatefulSet and the pod stay. Danger: a PVC cannot shrink.
     */
    storageSize: z.string({ error: "a Kubernetes quantity, such as 10Gi" }).regex(QUANTITY).default("10Gi"),
    /** The container's memory limit (and request); maxmemory is sized from it. */
    memoryLimit: z.string({ error: "a Kubernetes quantity of at least 64Mi, such as 1Gi" }).regex(QUANTITY).default("1Gi"),
    cpuRequest: z.string({ error: "a Kubernetes CPU quantity, such as 250m" }).regex(/^\d+(\.\d+)?m?$/).default("250m"),
    /** Pods that may connect, by label, in the Redis namespace or the allowed ones. */
    allowedPodLabels: z.record(z.string(), z.string().regex(LABEL_VALUE), { error: "a map of label to value, such as { app: pipeline-worker }" }).default({}),
    /** Namespaces whose pods (matching allowedPodLabels, or any when it is empty) may connect. */
    allowedNamespaces: z.array(z.string().regex(K8S_NAME), { error: "a list of namespace names" }).default([]),
    /** A redis_exporter sidecar on port 9121. */
    metrics: bool().default(false),
    metricsNamespaces: z.array(z.string().regex(K8S_NAME), { error: "a list of namespace names" }).default(["monitoring"]),
    exporterImage: z.string({ error: "an image pinned by tag or digest" }).refine((v) => /[:@]/.test(v) && !/:latest$/.test(v)).default(DEFAULT_EXPORTER_IMAGE),
    /** A prometheus-operator ServiceMonitor; the cluster must have its CRD. */
    serviceMonitor: bool().default(false),
    /** TLS between the pipeline's pods and Redis, with a certificate generated for the Services' names. */
    tls: bool().default(false),
    /** true: voluntary evictions (node drains) wait for an operator; false: the pod moves, its data with it. */
    blockVoluntaryEviction: bool().default(false),
    port: port().default(6379),
}).superRefine((k, ctx) => {
    const issue = (path: string, input: unknown, message: string) => ctx.addIssue({ code: "custom", path: [path], input, message });
    if (Object.keys(k.allowedPodLabels).length === 0 && k.allowedNamespaces.length === 0) {
        issue("allowedPodLabels", k.allowedPodLabels, "at least one label here, or a namespace in kubernetes.allowedNamespaces; the NetworkPolicy would otherwise admit no client");
    }
    if ((parseQuantity(k.memoryLimit) ?? 0) < 64 * 1024 * 1024) issue("memoryLimit", k.memoryLimit, "a Kubernetes quantity of at least 64Mi, such as 1Gi");
    if (k.serviceMonitor && !k.metrics) issue("serviceMonitor", true, "false unless kubernetes.metrics is true (the ServiceMonitor scrapes the exporter)");
    if (k.metrics && k.metricsNamespaces.length === 0) issue("metricsNamespaces", [], "at least one namespace name, such as [monitoring]: an empty list renders `from: []`, which admits every pod to the metrics port");
    // The sidecar runs with --disable-scrape-endpoint: an older exporter refuses the flag and the
    // pod never becomes ready. A tag that is not a version (or a digest alone) cannot be judged.
    const exporterVersion = /:v?(\d+)\.(\d+)\.(\d+)(?:@|$)/.exec(k.exporterImage);
    if (k.metrics && exporterVersion && Number(exporterVersion[1]) * 1000 + Number(exporterVersion[2]) < 1083) {
        issue("exporterImage", k.exporterImage, "redis_exporter v1.83.0 or later (the sidecar disables /scrape with --disable-scrape-endpoint, which earlier versions lack)");
    }
});

const HOST_ALLOWED = "the server's host name or IP address alone, without a port or scheme (the port goes in external.port)";

export const externalSchema = strict({
    /** The host alone; a console's `host:port` or `redis://` URL is refused with the host and port to set. */
    host: z.string({ error: HOST_ALLOWED }).superRefine((v, ctx) => {
        if (isHostNameOrAddress(v)) return;
        const split = splitEndpoint(v);
        const meant = split && isHostNameOrAddress(split.host)
            ? `; here host ${split.host}${split.port !== undefined ? ` and external.port ${split.port}` : ""}`
            : "";
        ctx.addIssue({ code: "custom", input: v, message: HOST_ALLOWED + meant });
    }),
    port: port().default(6379),
    tls: bool().default(true),
    /** Opt-in for a server reached in plain text. */
    allowPlaintext: bool().default(false),
    username: z.string({ error: "an ACL user name" }).regex(/^[^\s]{1,128}$/).default("default"),
    /** Whether the provider runs an append-only file; `true` makes smoke check it. */
    aof: bool().default(false),
}).superRefine((x, ctx) => {
    if (!x.tls && !x.allowPlaintext && !LOOPBACK.has(x.host)) {
        ctx.addIssue({ code: "custom", path: ["tls"], input: false, message: "true for a server on another host; plain text sends the password and every job over the network (set external.allowPlaintext: true to accept that)" });
    }
});

const PASSWORD_ALLOWED = `a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret password\`; leave it unset to have one generated`;
const PREVIOUS_PASSWORD_ALLOWED = `the password being replaced, a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret previousPassword\` for phase one of a rotation (README, Password rotation) and removed for phase two`;

export const stackSchema = strict({
    target: z.enum(TARGETS, { error: TARGETS.join(" | ") }),
    password: z.string({ error: PASSWORD_ALLOWED })
        .min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).regex(/^[\x21-\x7e]+$/).optional(),
    /**
     * Phase one of a password rotation (src/rotation.ts): the old password, still accepted beside
     * `password` until this key is removed (phase two). Secret, like `password`.
     */
    previousPassword: z.string({ error: PREVIOUS_PASSWORD_ALLOWED })
        .min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).regex(/^[\x21-\x7e]+$/).optional(),
    /** The stack's own TLS certificate, key and CA (PEM, all three secret), used instead of generated ones. */
    tlsCertificate: z.string({ error: "a PEM certificate (-----BEGIN CERTIFICATE-----)" }).regex(/-----BEGIN CERTIFICATE-----/).optional(),
    tlsKey: z.string({ error: "a PEM private key (-----BEGIN ... PRIVATE KEY-----)" }).regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/).optional(),
    tlsCa: z.string({ error: "a PEM CA certificate (-----BEGIN CERTIFICATE-----)" }).regex(/-----BEGIN CERTIFICATE-----/).optional(),
    /** Protect data-holding resources from deletion. @default true on every stack but dev */
    protect: bool().optional(),
    /** Overrides redis.conf's maxmemory (512mb) for this stack. */
    maxmemory: memorySize(MEMORY_ALLOWED).optional(),
    bullmq: strict({
        prefix: z.string({ error: "a key prefix: letters, digits, and _ - : { }" }).regex(/^[\w:{}-]{1,64}$/).default("bull"),
        queue: z.string({ error: "a queue name: letters, digits, _ and -" }).regex(/^[\w-]{1,64}$/).default("pipeline-jobs"),
    }).default({ prefix: "bull", queue: "pipeline-jobs" }),
    docker: dockerSchema.optional(),
    vm: vmSchema.optional(),
    elasticache: elasticacheSchema.optional(),
    kubernetes: kubernetesSchema.optional(),
    external: externalSchema.optional(),
}).superRefine((c, ctx) => {
    const issue = (path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
    if (c.target === "elasticache" && c.elasticache === undefined) {
        issue(["elasticache"], undefined, "an object with at least vpcId, subnetIds and allowedCidrs or allowedSecurityGroupIds, for target elasticache");
    }
    if (c.target === "vm" && c.vm === undefined) {
        issue(["vm"], undefined, "an object with at least vpcId, subnetId and allowedCidrs or allowedSecurityGroupIds, for target vm");
    }
    if (c.target === "kubernetes" && c.kubernetes === undefined) {
        issue(["kubernetes"], undefined, "an object with at least allowedPodLabels or allowedNamespaces, for target kubernetes");
    }
    if (c.target === "external" && c.external === undefined) {
        issue(["external"], undefined, "an object with at least host, for target external");
    }
    if (c.target === "external" && c.password === undefined) {
        issue(["password"], undefined, "the external server's password, a secret set with `pulumi config set --secret password`; it cannot be generated for a server this program does not run");
    }
    if (c.target === "elasticache" && c.password !== undefined && AUTH_TOKEN_FORBIDDEN.test(c.password)) {
        issue(["password"], c.password, authTokenProblem(c.password)!);
    }
    for (const p of rotationProblems(c)) issue(["previousPassword"], c.previousPassword, p);
    if (c.target === "elasticache" && c.maxmemory !== undefined) {
        issue(["maxmemory"], c.maxmemory, "unset for target elasticache; the node type sets maxmemory and reserved-memory-percent keeps the headroom (choose elasticache.nodeType instead)");
    }
    if (c.target === "external" && c.maxmemory !== undefined) {
        issue(["maxmemory"], c.maxmemory, "unset for target external; the provider's plan sets maxmemory on a server this program does not run");
    }
    if ((c.target === "elasticache" || c.target === "external") && c.tlsCertificate !== undefined) {
        issue(["tlsCertificate"], c.tlsCertificate, `unset for target ${c.target}, with tlsKey and tlsCa; the stack's own certificate is used by the docker, vm and kubernetes targets only`);
    }
    for (const section of ["vm", "elasticache"] as const) {
        const s = c[section];
        if (c.target !== section || !s) continue;
        for (const p of sourceProblems(s.allowedCidrs, { allowPublic: s.allowPublicCidrs, optIn: `${section}.allowPublicCidrs` })) {
            if (p.kind === "public") issue([section, "allowedCidrs", p.index!], s.allowedCidrs[p.index!], p.message);
        }
    }
    checkMemoryFits(c, issue);
});

/**
 * A rotation's phase one is checked against `password`: there must be a new password to move
 * to, different from the old one, and both must be what the target takes. Messages never hold
 * either value.
 */
function rotationProblems(c: { target: TargetName; password?: string; previousPassword?: string }): string[] {
    const previous = c.previousPassword;
    if (previous === undefined) return [];
    if (c.target === "external") {
        return ["unset for target external; an external server's passwords are rotated by its provider (README, Password rotation): set `password` to the new one once the provider accepts it"];
    }
    if (c.password === undefined) {
        return ["unset while `password` is unset; phase one of a rotation sets the new `password` (a secret) and keeps the old one here"];
    }
    if (previous === c.password) {
        return ["a password other than `password`; phase one keeps the old password here beside the new one in `password`"];
    }
    if (c.target === "elasticache" && AUTH_TOKEN_FORBIDDEN.test(previous)) return [authTokenProblem(previous)!];
    return [];
}

/** What the target gives the server, when config knows it: the container's limit, the instance type's memory, the pod's limit. */
export function memoryBudget(c: Pick<z.output<typeof stackSchema>, "target" | "docker" | "vm" | "kubernetes">): MemoryBudget | undefined {
    const mib = 1024 * 1024;
    switch (c.target) {
        case "docker": {
            const limit = c.docker?.memoryLimit;
            return limit === undefined ? undefined : { totalBytes: parseMemorySize(limit)!, osReserveBytes: 0, source: `docker.memoryLimit ${String(limit)}` };
        }
        case "vm": {
            const type = c.vm?.instanceType ?? "t4g.small";
            const memory = INSTANCE_MEMORY_MIB[type];
            return memory === undefined ? undefined : { totalBytes: memory * mib, osReserveBytes: OS_RESERVE_BYTES, source: `vm.instanceType ${type} (${formatMemorySize(memory * mib)}, less ${formatMemorySize(OS_RESERVE_BYTES)} for the system)` };
        }
        case "kubernetes": {
            const limit = c.kubernetes?.memoryLimit ?? "1Gi";
            const bytes = parseQuantity(limit);
            return bytes === undefined ? undefined : { totalBytes: bytes, osReserveBytes: 0, source: `kubernetes.memoryLimit ${limit}` };
        }
        default:
            return undefined;
    }
}

/**
 * maxmemory within what the machine gives the server, fork headroom left: beyond it the kernel
 * kills Redis (and loses the jobs since the last fsync) before noeviction ever refuses a write.
 */
function checkMemoryFits(c: z.output<typeof stackSchema>, issue: (path: (string | number)[], input: unknown, message: string) => void): void {
    const budget = memoryBudget(c);
    const largest = budget === undefined ? undefined : largestSafeMaxmemory(budget);
    // A limit refused on its own (under 16mb, not a size) is reported once, by its own key.
    if (budget && !(budget.totalBytes >= MAXMEMORY_MIN_BYTES)) return;
    // The Docker provider takes the limit in whole megabytes (`memory`) and drops the rest: the
    // container would get less than the limit written, and maxmemory would be sized above it.
    if (c.target === "docker" && budget && budget.totalBytes % (1024 * 1024) !== 0) {
        issue(["docker", "memoryLimit"], c.docker?.memoryLimit, `a whole number of megabytes, as the Docker provider takes it; here ${formatMemorySize(Math.floor(budget.totalBytes / (1024 * 1024)) * 1024 * 1024)}`);
        return;
    }
    if (budget && largest !== undefined && largest < MAXMEMORY_MIN_BYTES) {
        const key = c.target === "docker" ? ["docker", "memoryLimit"] : c.target === "vm" ? ["vm", "instanceType"] : ["kubernetes", "memoryLimit"];
        issue(key, budget.source.split(" ")[1], `more memory: ${budget.source} leaves ${formatMemorySize(largest)} for maxmemory, under the 16mb a queue needs`);
        return;
    }
    if (c.maxmemory === undefined) return;
    const wanted = parseMemorySize(c.maxmemory);
    if (wanted === undefined) return;
    if (c.target === "vm" && budget === undefined) {
        issue(["maxmemory"], c.maxmemory, `unset for vm.instanceType ${c.vm?.instanceType}, whose memory config does not know (maxmemory is then sized from it at deploy), or an instance type of the families in memory.ts's INSTANCE_MEMORY_MIB`);
        return;
    }
    if (budget && largest !== undefined && wanted > largest) {
        issue(["maxmemory"], c.maxmemory, `at most ${formatMemorySize(largest)} for ${budget.source}: the rest is headroom for the fork that snapshots and AOF rewrites make, and beyond it the kernel kills Redis before noeviction refuses a write (or give the server more memory)`);
    }
}

export type DockerConfig = z.output<typeof dockerSchema>;
export type ElasticacheConfig = z.output<typeof elasticacheSchema>;
export type ExternalConfig = z.output<typeof externalSchema>;
export type VmConfig = z.output<typeof vmSchema>;
export type KubernetesConfig = z.output<typeof kubernetesSchema>;

/** The validated configuration of one stack. */
export interface StackConfig {
    stack: string;
    target: TargetName;
    /** Plain here; wrapped with pulumi.secret wherever it enters the program. */
    password?: string;
    /** Phase one of a rotation: the old password, accepted beside `password` (src/rotation.ts). */
    previousPassword?: string;
    protect: boolean;
    maxmemory?: string;
    bullmq: { prefix: string; queue: string };
    docker: DockerConfig;
    /** The stack's own TLS material, when it gives all three. */
    certificates?: { certPem: string; keyPem: string; caPem: string };
    /** Present when target is elasticache. */
    elasticache?: ElasticacheConfig;
    /** Present when target is vm. */
    vm?: VmConfig;
    /** Present when target is kubernetes. */
    kubernetes?: KubernetesConfig;
    /** Present when target is external. */
    external?: ExternalConfig;
}

/** Raised for invalid stack config: Pulumi prints its message without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`invalid stack config (Pulumi.<stack>.yaml, namespace ${NAMESPACE}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/** Keys whose value is a plain string even when it looks like JSON (a password of digits stays a string). */
const STRING_KEYS = new Set(["target", "password", "previousPassword", "maxmemory", "tlsCertificate", "tlsKey", "tlsCa"]);
/** Keys whose values are never shown: the password and the TLS material (a certificate may arrive as a key, swapped). */
const SECRET_KEYS = new Set(["password", "previousPassword", "tlsKey", "tlsCertificate", "tlsCa"]);

/** Whether a path names a key of the schema (not a key the user made up, not a map entry's name). */
function isKnownKeyPath(path: readonly PropertyKey[]): boolean {
    let shape: Record<string, unknown> | undefined = stackSchema.shape;
    for (const p of path) {
        if (typeof p === "number") continue;
        if (shape === undefined) return true;
        const child = shape[String(p)] as { unwrap?: () => unknown; shape?: Record<string, unknown> } | undefined;
        if (child === undefined) return false;
        shape = objectShape(child);
    }
    return true;
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
    let s = schema as { shape?: Record<string, unknown>; unwrap?: () => unknown } | undefined;
    for (let i = 0; i < 5 && s; i++) {
        if (s.shape) return s.shape;
        s = s.unwrap?.() as typeof s;
    }
    return undefined;
}
const TLS_KEYS = ["tlsCertificate", "tlsKey", "tlsCa"] as const;

/**
 * Validates raw stack config (keys without the namespace, values as `pulumi config` stores them:
 * objects as JSON text) for stack `stack`. Pure: tests call it with tables of bad input.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string, secretKeys: ReadonlySet<string> = new Set()): StackConfig {
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
        input[key] = typeof value === "string" && !STRING_KEYS.has(key) ? parseJsonOrString(value) : value;
    }
    const problems: string[] = [];
    if (input.password !== undefined && !secretKeys.has("password")) {
        problems.push(`${NAMESPACE}:password: given as plain text; allowed: a secret, set with \`pulumi config set --secret password\``);
    }
    if (input.previousPassword !== undefined && !secretKeys.has("previousPassword")) {
        problems.push(`${NAMESPACE}:previousPassword: given as plain text; allowed: a secret, set with \`pulumi config set --secret previousPassword\``);
    }
    const given = TLS_KEYS.filter((k) => input[k] !== undefined);
    if (given.length > 0 && given.length < TLS_KEYS.length) {
        problems.push(`${NAMESPACE}:${TLS_KEYS.find((k) => input[k] === undefined)}: missing; allowed: all three of tlsCertificate, tlsKey and tlsCa, or none (a certificate is then generated)`);
    }
    if (input.tlsKey !== undefined && !secretKeys.has("tlsKey")) {
        problems.push(`${NAMESPACE}:tlsKey: given as plain text; allowed: a secret, set with \`pulumi config set --secret tlsKey < server.key\``);
    }
    problems.push(...unusedSections(input));
    const result = stackSchema.safeParse(input, { reportInput: true });
    if (!result.success) problems.push(...result.error.issues.flatMap(formatIssue));
    if (result.success) problems.push(...protectionProblems(result.data, stack));
    if (result.success) problems.push(...derivedNameProblems(result.data.target, result.data.elasticache, stack).map((p) => `${NAMESPACE}:${p}`));
    if (problems.length > 0 || !result.success) throw new ConfigError(shortList(problems.map(redactMessage)));

    const c = result.data;
    return {
        stack,
        target: c.target,
        password: c.password,
        previousPassword: c.previousPassword,
        protect: c.protect ?? requiresProtection(stack),
        maxmemory: c.maxmemory === undefined ? undefined : String(c.maxmemory).trim().toLowerCase(),
        bullmq: c.bullmq,
        docker: dockerSchema.parse(c.docker ?? {}),
        certificates: c.tlsCertificate && c.tlsKey && c.tlsCa ? { certPem: c.tlsCertificate, keyPem: c.tlsKey, caPem: c.tlsCa } : undefined,
        elasticache: c.elasticache,
        vm: c.vm,
        kubernetes: c.kubernetes,
        external: c.external,
    };
}

/** At most this many problems are listed: the message stays short whatever was given. */
export const MAX_PROBLEMS_LISTED = 20;

function shortList(problems: string[]): string[] {
    if (problems.length <= MAX_PROBLEMS_LISTED) return problems;
    return [...problems.slice(0, MAX_PROBLEMS_LISTED), `... and ${problems.length - MAX_PROBLEMS_LISTED} more problems, not listed: fix these first`];
}

const SECTIONS = ["docker", "vm", "elasticache", "kubernetes", "external"] as const satisfies readonly TargetName[];

/**
 * A block for a target the stack does not use would be silently ignored, and its reader would
 * believe it applies: each is an error naming the target it belongs to. The block is then left
 * out of the rest of the check (its own mistakes do not matter).
 */
function unusedSections(input: Record<string, unknown>): string[] {
    const target = input.target;
    if (typeof target !== "string" || !(TARGETS as readonly string[]).includes(target)) return [];
    const problems: string[] = [];
    for (const section of SECTIONS) {
        if (section === target || input[section] === undefined) continue;
        problems.push(`${NAMESPACE}:${section}: given ${/^[aeiou]/.test(section) ? "an" : "a"} ${section} block; allowed: unset for target ${target}; this block configures target ${section} and nothing in it applies here (remove it, or set target: ${section})`);
        delete input[section];
    }
    return problems;
}

/** The one rule for which stacks may run unprotected (rules.ts), applied before any resource exists. */
function protectionProblems(c: z.output<typeof stackSchema>, stack: string): string[] {
    if (!requiresProtection(stack)) return [];
    const problems: string[] = [];
    const where = `on stack ${truncate(stack, 40)}; only ${UNPROTECTED_STACKS.join(", ")} may run unprotected (the policy pack's redis-data-protected refuses the same)`;
    if (c.protect === false) problems.push(`${NAMESPACE}:protect: given false; allowed: true or unset ${where}`);
    if (c.target === "docker" && c.docker?.deleteData === true) problems.push(`${NAMESPACE}:docker.deleteData: given true; allowed: false ${where}`);
    return problems;
}

/** Reads this stack's config through the Pulumi SDK and validates it. */
export function loadConfig(): StackConfig {
    const prefix = `${NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = value;
        if (isConfigSecret(key)) secretKeys.add(name);
    }
    return parseStackConfig(raw, pulumi.getStack(), secretKeys);
}

/**
 * Whether a config key was set as a secret. The SDK keeps this behind an internal function;
 * it reads the list of secret keys the Pulumi CLI hands the program.
 */
function isConfigSecret(key: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    return runtimeConfig.isConfigSecret?.(key) ?? false;
}

function parseJsonOrString(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
    const key = NAMESPACE + ":" + issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
    if (issue.code === "unrecognized_keys") {
        const where = issue.path.length === 0 ? `${NAMESPACE}:` : `${key}.`;
        const known = issue.message.replace(/^allowed keys: /, "").split(", ");
        return issue.keys.map((k) => {
            const near = closest(k, known);
            return `${where}${truncate(k, 40)}: unknown key; ${issue.message}${near ? ` (did you mean "${near}"?)` : ""}`;
        });
    }
    const top = issue.path[0]?.toString();
    // A value is shown only under a key known to hold nothing secret, and never when it looks
    // like key material (a private key pasted under tlsCertificate, a token under a name).
    const secretKey = top === undefined || SECRET_KEYS.has(top) || !isKnownKeyPath(issue.path);
    return [`${key}: ${describeGiven(issue.input, { secretKey })}; allowed: ${issue.message}`];
}

/** The known key nearest to a typo, when it is near enough to be what was meant. */
function closest(word: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) [best, bestDistance] = [c, d];
    }
    return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = row;
    }
    return prev[b.length]!;
}
