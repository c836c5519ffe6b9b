/**
 * What of redis.conf a managed service (ElastiCache, MemoryDB) takes through its parameter
 * group, and what it cannot take, with what stands in for it. Pure: tested directly.
 */
import type { Unsupported } from "../../contract";
import { type RedisConf, getDirective } from "../../redisConf";

export type ManagedService = "elasticache" | "memorydb";

/** redis.conf directives sent as parameters, when the file sets them. */
export const PARAMETERS_TAKEN = ["maxmemory-policy", "timeout", "tcp-keepalive", "slowlog-log-slower-than", "slowlog-max-len"] as const;

/**
 * Share of a node's memory ElastiCache holds back from the dataset for forks, replication and
 * client buffers: the managed counterpart of sizing maxmemory below the machine's memory.
 */
export const RESERVED_MEMORY_PERCENT = 25;

export const DEFAULT_VERSIONS: Record<ManagedService, Record<"valkey" | "redis", string>> = {
    elasticache: { valkey: "8.0", redis: "7.1" },
    memorydb: { valkey: "7.3", redis: "7.1" },
};

export const DEFAULT_NODE_TYPES: Record<ManagedService, string> = {
    elasticache: "cache.t4g.small",
    memorydb: "db.t4g.small",
};

/** The parameter group family for an engine and version (`valkey8`, `redis7`, `memorydb_valkey7` ...). */
export function parameterFamily(service: ManagedService, engine: "valkey" | "redis", version: string): string {
    const major = Number(version.split(".")[0]);
    if (service === "memorydb") return `memorydb_${engine}${major}`;
    if (engine === "redis" && major <= 6) return `redis${major}.x`;
    return `${engine}${major}`;
}

/**
 * The parameter group's name: the cache's name and the family (`mspbyte-redis-prod-valkey8`),
 * lower-case letters, digits and hyphens as group names allow.
 */
export function parameterGroupName(cacheName: string, family: string): string {
    return `${cacheName}-${family
        .replace(/^memorydb_/, "")
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/-+$/, "")}`;
}

export interface Parameter {
    name: string;
    value: string;
}

/** The parameters for the group: redis.conf's values (the program parses the file once) of what the service takes, and the reserve. */
export function managedParameters(service: ManagedService, conf: RedisConf): Parameter[] {
    const params: Parameter[] = [];
    for (const name of PARAMETERS_TAKEN) {
        const value = getDirective(conf, name);
        if (value !== undefined) params.push({ name, value });
    }
    if (service === "elasticache") params.push({ name: "reserved-memory-percent", value: String(RESERVED_MEMORY_PERCENT) });
    return params;
}

const AOF = new Set([
    "appendonly",
    "appendfsync",
    "appendfilename",
    "appenddirname",
    "no-appendfsync-on-rewrite",
    "auto-aof-rewrite-percentage",
    "auto-aof-rewrite-min-size",
    "aof-load-truncated",
    "aof-use-rdb-preamble",
]);
const RDB = new Set(["save", "stop-writes-on-bgsave-error", "rdbcompression", "rdbchecksum", "dbfilename"]);

export interface StandIns {
    snapshotRetentionDays: number;
    snapshotWindow: string;
    replicas: number;
}

/** Every directive of redis.conf the service does not take, why, and what stands in for it. */
export function unsupportedDirectives(service: ManagedService, s: StandIns, conf: RedisConf): Unsupported[] {
    const seen = new Set<string>();
    const out: Unsupported[] = [];
    const snapshots = `automatic snapshot daily in ${s.snapshotWindow} UTC, kept ${s.snapshotRetentionDays} days, and a final snapshot on delete`;
    for (const line of conf.lines) {
        if (line.kind !== "directive" || seen.has(line.name) || (PARAMETERS_TAKEN as readonly string[]).includes(line.name)) continue;
        seen.add(line.name);
        out.push({ directive: line.name, ...reasonFor(service, line.name, s, snapshots) });
    }
    // Not in the portable file, but what every self-run target sets: where the data lives.
    if (!seen.has("dir")) out.push({ directive: "dir", ...reasonFor(service, "dir", s, snapshots) });
    return out;
}

function reasonFor(service: ManagedService, name: string, s: StandIns, snapshots: string): { reason: string; insteadUse: string } {
    if (AOF.has(name)) {
        return service === "memorydb"
            ? {
                  reason: "MemoryDB runs no append-only file",
                  insteadUse: "its multi-AZ transaction log: a write is acknowledged only once it is stored in several availability zones",
              }
            : {
                  reason: "ElastiCache cannot run an append-only file",
                  insteadUse:
                      s.replicas > 0
                          ? `${s.replicas} replica(s) in other availability zones with automatic failover, and the ${snapshots}`
                          : `the ${snapshots} (no replica: a node loss loses what was written since the last snapshot)`,
              };
    }
    if (RDB.has(name)) return { reason: "the service takes snapshots itself; save points cannot be set", insteadUse: snapshots };
    switch (name) {
        case "maxmemory":
            return service === "elasticache"
                ? {
                      reason: "the node type sets maxmemory",
                      insteadUse: `reserved-memory-percent ${RESERVED_MEMORY_PERCENT}: a quarter of the node's memory held back for forks and buffers`,
                  }
                : { reason: "the node type sets maxmemory", insteadUse: "the node type's memory, less what MemoryDB reserves" };
        case "dir":
            return { reason: "the service manages its own storage", insteadUse: "the service's storage" };
        case "protected-mode":
            return {
                reason: "not a parameter of the service",
                insteadUse: "a password required, TLS in transit, and a security group that admits only the given sources",
            };
        case "loglevel":
            return {
                reason: "not a parameter of the service",
                insteadUse:
                    service === "elasticache" ? "the engine log delivered to CloudWatch Logs" : "the service's events to the SNS topic",
            };
        default:
            return {
                reason: "not among the parameters this program sets on the service",
                insteadUse: "CloudWatch metrics and alarms, and the slow log",
            };
    }
}
