/**
 * Cluster-mode stacks (MemoryDB, ElastiCache with clusterMode) through smoke and health: a
 * real three-master Redis Cluster on loopback, each node started from the docker-rendered
 * redis.conf with cluster mode on, joined by `redis-cli --cluster create`.
 */
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth } from "../../src/ops/health";
import { connectCluster } from "../../src/ops/connection";
import { runSmoke } from "../../src/ops/smoke";
import type { RedisServer } from "../../tools/redisServer";
import { clusterOutputs, startCluster } from "../helpers/cluster";

const nodes: RedisServer[] = [];
const outputs = () => clusterOutputs(nodes);

beforeAll(() => startCluster(nodes), 60_000);
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
        expect(h.queues.map((q) => [q.name, q.exists, q.waiting, q.active, q.delayed, q.completed, q.failed])).toEqual([
            ["pipeline-jobs", true, 4, 0, 0, 0, 0],
        ]);
        const found = await collectHealth(outputs(), { discover: true });
        expect(found.queues.map((q) => q.name)).toEqual(["pipeline-jobs"]);
        expect(found.cost.scanCommands).toBeGreaterThanOrEqual(3);
    });
});
