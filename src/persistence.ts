/**
 * What each target guarantees about keeping acknowledged writes, for the `persistence` output
 * (src/contract.ts): built from the parsed redis.conf the program loads once, and the target's
 * settings. No Pulumi here: the ops tools and tests call these directly.
 */
import type { Persistence } from "./contract";
import { applyOverrides, type ConfOverrides, getAll, getDirective, loadRedisConf, type RedisConf } from "./redisConf";
import { DEFAULT_NODE_TYPES, RESERVED_MEMORY_PERCENT, unsupportedDirectives } from "./targets/managed/parameters";

/** What a server started from this file guarantees: its own AOF and snapshots (docker, vm, kubernetes). */
export function persistenceOf(conf: RedisConf): Persistence {
    const aof = getDirective(conf, "appendonly") === "yes";
    const saves = getAll(conf, "save").flatMap((args) => {
        const pairs: string[] = [];
        for (let i = 0; i + 1 < args.length; i += 2) pairs.push(`${args[i]} ${args[i + 1]}`);
        return pairs;
    });
    return {
        mode: "aof+rdb",
        aof,
        ...(aof ? { appendfsync: getDirective(conf, "appendfsync") ?? "everysec" } : {}),
        rdbSavePoints: saves,
        maxmemory: getDirective(conf, "maxmemory") ?? "0",
        maxmemoryPolicy: "noeviction",
        unsupported: [],
    };
}

/**
 * What a target's server guarantees, from the root file with its overrides. `conf` is the
 * parsed root file the program loaded; without it the file is read from disk (tests, tools).
 */
export function persistenceForTarget(overrides: ConfOverrides, conf: RedisConf = loadRedisConf()): Persistence {
    return persistenceOf(applyOverrides(conf, overrides));
}

/** What ElastiCache guarantees: snapshots and replicas stand in for the AOF. */
export function elasticachePersistence(
    s: { nodeType?: string; snapshotRetentionDays: number; snapshotWindow: string; replicas: number },
    conf: RedisConf,
): Persistence {
    return {
        mode: "snapshots+replicas",
        aof: false,
        rdbSavePoints: [],
        maxmemory: `set by node type ${s.nodeType ?? DEFAULT_NODE_TYPES.elasticache}, ${RESERVED_MEMORY_PERCENT}% reserved`,
        maxmemoryPolicy: "noeviction",
        snapshotRetentionDays: s.snapshotRetentionDays,
        replicas: s.replicas,
        unsupported: unsupportedDirectives("elasticache", s, conf),
    };
}

/** What MemoryDB guarantees: its multi-AZ transaction log. */
export function memorydbPersistence(snapshotRetentionDays: number, snapshotWindow: string, replicas: number, conf: RedisConf): Persistence {
    return {
        mode: "transaction-log",
        aof: false,
        rdbSavePoints: [],
        maxmemory: "set by node type",
        maxmemoryPolicy: "noeviction",
        snapshotRetentionDays,
        replicas,
        unsupported: unsupportedDirectives("memorydb", { snapshotRetentionDays, snapshotWindow, replicas }, conf),
    };
}

/** What an external server guarantees: what its provider runs, the root file's appendfsync expected with an AOF. */
export function externalPersistence(aof: boolean, conf: RedisConf): Persistence {
    const root = persistenceOf(conf);
    return {
        mode: "provider-managed",
        aof,
        ...(aof ? { appendfsync: root.appendfsync } : {}),
        rdbSavePoints: [],
        maxmemory: "set by the provider's plan",
        maxmemoryPolicy: "noeviction",
        unsupported: [
            {
                directive: "*",
                reason: "the provider runs the server; this program sets none of redis.conf on it",
                insteadUse:
                    "the provider's settings: choose the noeviction policy and append-only persistence in its console; smoke checks both",
            },
        ],
    };
}
