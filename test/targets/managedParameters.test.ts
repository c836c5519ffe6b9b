import { describe, expect, it } from "vitest";
import { loadRedisConf } from "../../src/redisConf";
import { managedParameters, parameterFamily, unsupportedDirectives } from "../../src/targets/managed/parameters";
import { memberClusterIds } from "../../src/targets/managed/managed";

/** The repository's redis.conf, parsed once as the program does. */
const CONF = loadRedisConf();

describe("parameterFamily", () => {
    it.each([
        ["elasticache", "valkey", "8.0", "valkey8"],
        ["elasticache", "valkey", "7.2", "valkey7"],
        ["elasticache", "redis", "7.1", "redis7"],
        ["elasticache", "redis", "6.2", "redis6.x"],
        ["memorydb", "valkey", "7.3", "memorydb_valkey7"],
        ["memorydb", "redis", "7.1", "memorydb_redis7"],
    ] as const)("%s %s %s → %s", (service, engine, version, family) => {
        expect(parameterFamily(service, engine, version)).toBe(family);
    });
});

describe("what of redis.conf a managed service takes", () => {
    it("MemoryDB gets the same parameters, without ElastiCache's reserved-memory-percent", () => {
        expect(managedParameters("memorydb", CONF).map((p) => p.name)).toEqual([
            "maxmemory-policy",
            "timeout",
            "tcp-keepalive",
            "slowlog-log-slower-than",
            "slowlog-max-len",
        ]);
    });

    it("every other directive of redis.conf is reported with a reason and a stand-in", () => {
        const list = unsupportedDirectives("elasticache", { snapshotRetentionDays: 7, snapshotWindow: "03:00-04:00", replicas: 1 }, CONF);
        expect(list.map((u) => u.directive)).toEqual([
            "appendonly",
            "appendfilename",
            "appenddirname",
            "appendfsync",
            "no-appendfsync-on-rewrite",
            "auto-aof-rewrite-percentage",
            "auto-aof-rewrite-min-size",
            "aof-load-truncated",
            "aof-use-rdb-preamble",
            "save",
            "stop-writes-on-bgsave-error",
            "rdbcompression",
            "rdbchecksum",
            "dbfilename",
            "maxmemory",
            "protected-mode",
            "loglevel",
            "latency-monitor-threshold",
            "dir",
        ]);
        for (const u of list) {
            expect(u.reason.length).toBeGreaterThan(10);
            expect(u.insteadUse.length).toBeGreaterThan(10);
        }
        const memorydb = unsupportedDirectives("memorydb", { snapshotRetentionDays: 7, snapshotWindow: "03:00-04:00", replicas: 1 }, CONF);
        expect(memorydb.find((u) => u.directive === "appendfsync")!.insteadUse).toMatch(/multi-AZ transaction log/);
    });
});

describe("memberClusterIds", () => {
    it("names nodes as ElastiCache does", () => {
        expect(memberClusterIds("q", 1, 2, false)).toEqual(["q-001", "q-002", "q-003"]);
        expect(memberClusterIds("q", 2, 1, true)).toEqual(["q-0001-001", "q-0001-002", "q-0002-001", "q-0002-002"]);
    });
});
