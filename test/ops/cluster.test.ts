/**
 * Cluster-mode stacks (MemoryDB, ElastiCache with clusterMode) through smoke and health: a
 * real three-master Redis Cluster on loopback, each node started from the docker-rendered
 * redis.conf with cluster mode on, joined by `redis-cli --cluster create`.
 */
import { execFileSync } from "child_process";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth } from "../../src/ops/health";
import { connectCluster } from "../../src/ops/connection";
import { runSmoke } from "../../src/ops/smoke";
import { applyOverrides, parseRedisConf, renderRedisConf } from "../../src/redisConf";
import { memorydbPersistence } from "../../src/targets/memorydb";
import { bullmqSettings } from "../../src/contract";
import { outputsFor } from "../helpers/outputs";
import { RedisServer } from "../helpers/redisServer";
import { TEST_PASSWORD, dockerConf } from "../helpers/render";

const nodes: RedisServer[] = [];
const outputs = () => outputsFor(nodes[0]!, { bullmq: bullmqSettings("{pipeline}", "pipeline-jobs"), persistence: memorydbPersistence(7, "03:00-04:00", 0) });

beforeAll(async () => {
    const conf = renderRedisConf(applyOverrides(parseRedisConf(dockerConf()), {
        extra: { "cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": "5000", masterauth: TEST_PASSWORD },
    }));
    for (let i = 0; i < 3; i++) nodes.push(await RedisServer.start({ conf }));
    execFileSync("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes", "-a", TEST_PASSWORD, "--no-auth-warning"], { stdio: "pipe" });
    // Wait until every node agrees the cluster is up.
    for (const n of nodes) {
        const c = n.client({ password: TEST_PASSWORD });
        await c.connect();
        for (let i = 0; i < 100 && !/cluster_state:ok/.test(String(await c.call("CLUSTER", "INFO"))); i++) await new Promise((r) => setTimeout(r, 100));
        c.disconnect();
    }
}, 60_000);
afterAll(async () => {
    for (const n of nodes) await n.destroy();
});

describe("a cluster-mode stack", () => {
    it("passes every smoke check; the round trip and the BullMQ job go through a cluster client", async () => {
        const results = await runSmoke(outputs());
        expect(results.filter((r) => r.status !== "pass")).toEqual([]);
        expect(results.find((r) => r.name === "round-trip")!.detail).toMatch(/through a cluster client$/);
        expect(results.find((r) => r.name === "persistence")!.detail).toBe("transaction-log as declared (not visible to a client)");
    });

    it("health counts the declared queue through a cluster client; --discover scans every master", async () => {
        const cluster = await connectCluster(outputs());
        const queue = new Queue("pipeline-jobs", { prefix: "{pipeline}", connection: cluster });
        await queue.addBulk([1, 2, 3, 4].map((i) => ({ name: "w", data: { i } })));
        await queue.close();
        cluster.disconnect();
        const h = await collectHealth(outputs());
        expect(h.queues.map((q) => [q.name, q.exists, q.waiting, q.active, q.delayed, q.completed, q.failed])).toEqual([["pipeline-jobs", true, 4, 0, 0, 0, 0]]);
        const found = await collectHealth(outputs(), { discover: true });
        expect(found.queues.map((q) => q.name)).toEqual(["pipeline-jobs"]);
        expect(found.cost.scanCommands).toBeGreaterThanOrEqual(3);
    });
});
