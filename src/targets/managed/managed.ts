/**
 * What ElastiCache and MemoryDB share: the args both take, their defaults, the parameter
 * group's contents, the final snapshot's suffix, the member node ids the alarms watch, the
 * details both report. The AWS pieces the VM uses as well (security group, alarm topic, node
 * alarms, auth secret) stay in ../awsShared.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { RedisConf } from "../../redisConf";
import { type SharedTransforms, type Transform, transformed } from "../awsShared";
import { MANAGED_DEFAULTS } from "./config";
import {
    DEFAULT_NODE_TYPES,
    DEFAULT_VERSIONS,
    type ManagedService,
    type Parameter,
    managedParameters,
    parameterFamily,
    parameterGroupName,
} from "./parameters";

/** BullMQ's keys must share a hash slot on a sharded cluster: the prefix carries a hash tag. */
export const CLUSTER_PREFIX = "{pipeline}";
export const DEFAULT_SHARDS = 2;

/** The cache's name when none is given: one per stack, so stacks of one account never collide. */
export function defaultCacheName(stack: string): string {
    return `mspbyte-redis-${stack}`;
}

/** What ElastiCache and MemoryDB both take. Changes not marked Danger apply in place (test/aws/changes.test.ts). */
export interface ManagedRedisArgs {
    /** The Pulumi stack's name: the default cache name and the `mspbyte:stack` tag. */
    readonly stack: string;
    /** redis.conf, parsed once by the program: what of it the service takes goes to the parameter group. */
    readonly redisConf: RedisConf;
    /**
     * The cache's name (replication group id, cluster name; also names its subnet, parameter
     * and ACL groups, log groups, alarms and secret).
     * @default mspbyte-redis-<stack>
     * Danger: changing it replaces the cache and its data (refused while protected).
     */
    readonly cacheName?: string;
    /** ElastiCache's AUTH token, MemoryDB's user password; also in the auth secret. A change is in place. */
    readonly password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation (src/rotation.ts), live on both services: ElastiCache
     * keeps its current token beside the new one (ROTATE; the value itself is not sent),
     * MemoryDB's user takes both passwords. Removing it (phase two) leaves the new one only.
     */
    readonly previousPassword?: pulumi.Input<string>;
    /** Refuse deletion and replacement of the cache. @default true */
    readonly protect?: boolean;
    /** The VPC of the cache's security group. */
    readonly vpcId: string;
    /** Subnets the nodes are placed in; Multi-AZ needs two availability zones among them. */
    readonly subnetIds: string[];
    /** CIDR blocks admitted to the port. @default [] */
    readonly allowedCidrs?: string[];
    /** Security groups admitted to the port (the pipeline's). @default [] */
    readonly allowedSecurityGroupIds?: string[];
    /**
     * @default "valkey"
     * Danger: on ElastiCache, valkey back to redis is a downgrade that replaces the cache and its
     * data (refused while protected); redis to valkey is in place.
     */
    readonly engine?: "valkey" | "redis";
    /**
     * Major.minor engine version; a major upgrade moves the cache to a new parameter group in place.
     * @default 8.0 (ElastiCache Valkey), 7.1 (Redis OSS), 7.3 (MemoryDB Valkey): DEFAULT_VERSIONS in parameters.ts
     * Danger: a lower version than the running one replaces the cache and its data.
     */
    readonly engineVersion?: string;
    /** Node type: sets maxmemory. In place. @default cache.t4g.small (ElastiCache), db.t4g.small (MemoryDB) */
    readonly nodeType?: string;
    /** Replicas per shard, in other availability zones. @default 1 */
    readonly replicas?: number;
    /** @default 6379. Danger: changing it replaces the cache and its data. */
    readonly port?: number;
    /** A customer managed KMS key for data at rest. @default the service's own key. Danger: changing it replaces the cache and its data. */
    readonly kmsKeyArn?: string;
    /** Days automatic snapshots are kept. @default 7 */
    readonly snapshotRetentionDays?: number;
    /** Daily snapshot window, UTC. @default "03:00-04:00" */
    readonly snapshotWindow?: string;
    /** Weekly maintenance window, UTC. @default "sun:05:00-sun:06:00" */
    readonly maintenanceWindow?: string;
    /** @default true. Danger (MemoryDB only): changing it replaces the cluster and its data. */
    readonly autoMinorVersionUpgrade?: boolean;
    /** Email subscribed to the alarm topic. @default no subscription */
    readonly alarmEmail?: string;
    /** Client connections per node above which an alarm fires. @default 1000 */
    readonly maxConnectionsAlarm?: number;
    /**
     * Create the cache from this snapshot. @default a new, empty cache
     * Danger: setting or changing it on a live stack replaces the cache and its data (a restore
     * in place; refused while protected).
     */
    readonly restoreFromSnapshot?: string;
}

/** Transforms of the children both services have; each service adds its own. */
export interface ManagedTransforms extends SharedTransforms {
    /** The random suffix of the final snapshot's name. */
    finalSnapshotSuffix?: Transform<random.RandomIdArgs>;
}

/** ManagedRedisArgs with every default applied: what the components build from. */
export interface ManagedSettings {
    readonly cacheName: string;
    readonly protect: boolean;
    readonly vpcId: string;
    readonly subnetIds: string[];
    readonly allowedCidrs: string[];
    readonly allowedSecurityGroupIds: string[];
    readonly engine: "valkey" | "redis";
    readonly engineVersion: string;
    readonly nodeType: string;
    readonly replicas: number;
    readonly port: number;
    readonly kmsKeyArn?: string;
    readonly snapshotRetentionDays: number;
    readonly snapshotWindow: string;
    readonly maintenanceWindow: string;
    readonly autoMinorVersionUpgrade: boolean;
    readonly alarmEmail?: string;
    readonly maxConnectionsAlarm: number;
    readonly restoreFromSnapshot?: string;
    /** The tags of the data-holding resource. */
    readonly tags: Record<string, string>;
}

/** The defaults of ManagedRedisArgs (MANAGED_DEFAULTS, the service's version and node type), applied. */
export function managedSettings(service: ManagedService, a: ManagedRedisArgs): ManagedSettings {
    const engine = a.engine ?? MANAGED_DEFAULTS.engine;
    return {
        cacheName: a.cacheName ?? defaultCacheName(a.stack),
        protect: a.protect ?? true,
        vpcId: a.vpcId,
        subnetIds: a.subnetIds,
        allowedCidrs: a.allowedCidrs ?? [...MANAGED_DEFAULTS.allowedCidrs],
        allowedSecurityGroupIds: a.allowedSecurityGroupIds ?? [...MANAGED_DEFAULTS.allowedSecurityGroupIds],
        engine,
        engineVersion: a.engineVersion ?? DEFAULT_VERSIONS[service][engine],
        nodeType: a.nodeType ?? DEFAULT_NODE_TYPES[service],
        replicas: a.replicas ?? MANAGED_DEFAULTS.replicas,
        port: a.port ?? MANAGED_DEFAULTS.port,
        kmsKeyArn: a.kmsKeyArn,
        snapshotRetentionDays: a.snapshotRetentionDays ?? MANAGED_DEFAULTS.snapshotRetentionDays,
        snapshotWindow: a.snapshotWindow ?? MANAGED_DEFAULTS.snapshotWindow,
        maintenanceWindow: a.maintenanceWindow ?? MANAGED_DEFAULTS.maintenanceWindow,
        autoMinorVersionUpgrade: a.autoMinorVersionUpgrade ?? MANAGED_DEFAULTS.autoMinorVersionUpgrade,
        alarmEmail: a.alarmEmail,
        maxConnectionsAlarm: a.maxConnectionsAlarm ?? MANAGED_DEFAULTS.maxConnectionsAlarm,
        restoreFromSnapshot: a.restoreFromSnapshot,
        tags: { "mspbyte:role": "redis", "mspbyte:stack": a.stack },
    };
}

/** What both services report in `details`. */
export interface ManagedDetails {
    engine: "valkey" | "redis";
    engineVersion: string;
    nodeType: string;
    /** The Secrets Manager secret holding the credentials. */
    authSecretArn: string;
    alarmTopicArn: string;
    securityGroupId: string;
}

/**
 * The parameter group's name, family and parameters: redis.conf as the service takes it. The
 * family is in the name, so a major upgrade or engine switch creates the new group beside the
 * one the cache still uses, moves the cache, then deletes the old group.
 */
export function parameterGroupContents(
    service: ManagedService,
    s: ManagedSettings,
    conf: RedisConf,
): { name: string; family: string; parameters: Parameter[] } {
    const family = parameterFamily(service, s.engine, s.engineVersion);
    return { name: parameterGroupName(s.cacheName, family), family, parameters: managedParameters(service, conf) };
}

/**
 * A suffix for the final snapshot's name, new for each incarnation of the cache: a final
 * snapshot name can be used once, and a cache deleted twice under one name (a restore in place,
 * a destroy and re-create of the stack) would otherwise fail on its second final snapshot.
 * `keepers` are what replaces the cache: when one changes, so does the suffix.
 */
export function finalSnapshotSuffix(
    name: string,
    keepers: Record<string, string>,
    parent: pulumi.Resource,
    transform?: Transform<random.RandomIdArgs>,
): pulumi.Output<string> {
    return new random.RandomId(`${name}-final-snapshot-suffix`, transformed({ byteLength: 4, keepers }, transform), { parent }).hex;
}

/** The final snapshot's name: `<cache>-final-<suffix>`. */
export function finalSnapshotName(s: ManagedSettings, suffix: pulumi.Output<string>): pulumi.Output<string> {
    return pulumi.interpolate`${s.cacheName}-final-${suffix}`;
}

/** ElastiCache's member cluster ids: `<id>-001`.. without cluster mode, `<id>-0001-001`.. with it. */
export function memberClusterIds(cacheName: string, shards: number, replicas: number, clusterMode: boolean): string[] {
    const ids: string[] = [];
    const pad = (n: number, w: number) => String(n).padStart(w, "0");
    for (let s = 1; s <= shards; s++) {
        for (let n = 1; n <= replicas + 1; n++)
            ids.push(clusterMode ? `${cacheName}-${pad(s, 4)}-${pad(n, 3)}` : `${cacheName}-${pad(n, 3)}`);
    }
    return ids;
}

/** The name of the secret holding the credentials, before its timestamp suffix. */
export function authSecretPrefix(cacheName: string): string {
    return `mspbyte-redis/${cacheName}/auth`;
}
