/**
 * health's cost on the server does not grow with the keyspace: at 0.1M, 1M and 4M keys (built
 * by DEBUG POPULATE in seconds, named as BullMQ job keys under the stack's prefix) a run sends
 * the same commands, none of them a SCAN, and its queue depths stay exact. The server time
 * each run costs is measured by `npm run bench -- --health`, never asserted here.
 */
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth } from "../../src/ops/health";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";

let server: RedisServer;
beforeAll(async () => {
    // Persistence off and room for 4M keys: the keyspace is built, not kept.
    server = await RedisServer.start({
        conf: dockerConf(),
        args: ["--enable-debug-command", "yes", "--maxmemory", "2gb", "--appendonly", "no", "--save", ""],
    });
    const queue = new Queue("pipeline-jobs", { connection: { host: "127.0.0.1", port: server.port, password: TEST_PASSWORD } });
    await queue.addBulk([1, 2, 3].map((i) => ({ name: "w", data: { i } })));
    await queue.add("later", {}, { delay: 600_000 });
    await queue.close();
});
afterAll(async () => {
    await server?.destroy();
});

/** Calls per command since the last CONFIG RESETSTAT, without the RESETSTAT itself. */
async function commandCalls(): Promise<Record<string, number>> {
    const c = server.client({ password: TEST_PASSWORD });
    await c.connect();
    const text = await c.info("commandstats");
    c.disconnect();
    const calls: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== "config|resetstat") calls[m[1]!] = Number(m[2]);
    return calls;
}
async function resetStats(): Promise<void> {
    const c = server.client({ password: TEST_PASSWORD });
    await c.connect();
    await c.config("RESETSTAT");
    c.disconnect();
}

describe("health's commands at 0.1M, 1M and 4M keys", () => {
    it("--discover scans, in proportion to the keyspace (why it is opt-in): 0.1M keys, 100 SCANs", async () => {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        await c.call("DEBUG", "POPULATE", "100000", "bull:pipeline-jobs:job");
        c.disconnect();
        await resetStats();
        const h = await collectHealth(outputsFor(server), { discover: true });
        const calls = await commandCalls();
        expect(calls.scan).toBe(h.cost.scanCommands);
        expect(h.cost.scanCommands).toBeGreaterThanOrEqual(100); // 0.1M keys, about 1000 a SCAN
        expect(h.queues.map((q) => q.name)).toEqual(["pipeline-jobs"]);
    }, 120_000);

    it("are the same at every size, none scans, and the depths are exact", async () => {
        const seen: Record<string, number>[] = [];
        for (const keys of [100_000, 1_000_000, 4_000_000]) {
            const c = server.client({ password: TEST_PASSWORD });
            await c.connect();
            // POPULATE keeps existing keys: each size adds only what the last one lacked.
            await c.call("DEBUG", "POPULATE", String(keys), "bull:pipeline-jobs:job");
            expect(await c.dbsize()).toBeGreaterThanOrEqual(keys);
            c.disconnect();
            await resetStats();
            const h = await collectHealth(outputsFor(server));
            const calls = await commandCalls();
            seen.push(calls);
            expect(calls.scan).toBeUndefined();
            // health's own AUTH, and this reading client's, besides what health counts.
            expect(calls.auth).toBe(2);
            expect(Object.values(calls).reduce((a, b) => a + b, 0)).toBe(h.cost.commands + 2);
            expect(h.queues.map((q) => [q.name, q.waiting, q.delayed])).toEqual([["pipeline-jobs", 3, 1]]);
        }
        expect(seen[1]).toEqual(seen[0]);
        expect(seen[2]).toEqual(seen[0]);
    }, 120_000);
});
