/**
 * What ElastiCache and MemoryDB share: the cluster prefix, the final snapshot's suffix, the
 * member node ids the alarms watch. The AWS pieces the VM uses as well stay in ../awsShared.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ElasticacheConfig } from "../../config";

/** BullMQ's keys must share a hash slot on a sharded cluster: the prefix carries a hash tag. */
export const CLUSTER_PREFIX = "{pipeline}";
export const DEFAULT_SHARDS = 2;

export interface ManagedRedisArgs {
    /**
     * Everything from the stack's `elasticache` block.
     * Danger: changing name, port, kmsKeyArn or restoreFromSnapshot, or the engine from valkey back
     * to redis, replaces the cache and its data (refused while protected). Engine upgrades, node
     * types, replicas, windows and retention change in place (test/aws/changes.test.ts).
     */
    config: ElasticacheConfig;
    /** The cache's name. @default mspbyte-redis-<stack> */
    cacheName: string;
    password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation (src/rotation.ts), live on both services: ElastiCache
     * keeps its current token beside the new one (ROTATE; the value itself is not sent),
     * MemoryDB's user takes both passwords. Removing it (phase two) leaves the new one only.
     */
    previousPassword?: pulumi.Input<string>;
    /** Refuse deletion and replacement. @default true outside dev */
    protect: boolean;
}

/**
 * A suffix for the final snapshot's name, new for each incarnation of the cache: a final
 * snapshot name can be used once, and a cache deleted twice under one name (a restore in place,
 * a destroy and re-create of the stack) would otherwise fail on its second final snapshot.
 * `keepers` are what replaces the cache: when one changes, so does the suffix.
 */
export function finalSnapshotSuffix(name: string, keepers: Record<string, string>, parent: pulumi.Resource): pulumi.Output<string> {
    return new random.RandomId(`${name}-final-snapshot-suffix`, { byteLength: 4, keepers }, { parent }).hex;
}

/** ElastiCache's member cluster ids: `<id>-001`.. without cluster mode, `<id>-0001-001`.. with it. */
export function memberClusterIds(cacheName: string, shards: number, replicas: number, clusterMode: boolean): string[] {
    const ids: string[] = [];
    const pad = (n: number, w: number) => String(n).padStart(w, "0");
    for (let s = 1; s <= shards; s++) {
        for (let n = 1; n <= replicas + 1; n++) ids.push(clusterMode ? `${cacheName}-${pad(s, 4)}-${pad(n, 3)}` : `${cacheName}-${pad(n, 3)}`);
    }
    return ids;
}
