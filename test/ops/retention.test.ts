/**
 * Retention checked on real BullMQ queues: jobs added without the stack's defaultJobOptions
 * pile up past `count` or `age` and fail health and smoke; jobs added with them pass; an idle
 * queue's old jobs are said, not failed; a paused queue shows as paused.
 */
import { Queue, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullmqSettings } from "../../src/contract";
import { collectHealth, formatHealth } from "../../src/ops/health";
import { runSmoke } from "../../src/ops/smoke";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";

let server: RedisServer;
const connection = () => ({ host: "127.0.0.1", port: server.port, password: TEST_PASSWORD, maxRetriesPerRequest: null });
const declared = (queue: string) => outputsFor(server, { bullmq: bullmqSettings("bull", queue) });

/** Adds `n` jobs with `opts` and lets a real worker complete them all. */
async function complete(name: string, n: number, opts: Record<string, unknown>): Promise<void> {
    const queue = new Queue(name, { connection: connection(), defaultJobOptions: opts });
    const worker = new Worker(name, async () => "done", { connection: connection(), concurrency: 50, autorun: false });
    let done = 0;
    const all = new Promise<void>((resolve) => worker.on("completed", () => ++done === n && resolve()));
    await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: "w", data: { i } })));
    void worker.run();
    await all;
    await worker.close();
    await queue.close();
}

/** Moves every finished-at score of a queue's completed set back by `hours`, as time would. */
async function age(name: string, hours: number, only?: number): Promise<void> {
    const c = server.client({ password: TEST_PASSWORD });
    await c.connect();
    const entries = await c.zrange(`bull:${name}:completed`, 0, (only ?? 0) - 1, "WITHSCORES");
    for (let i = 0; i < entries.length; i += 2)
        await c.zadd(`bull:${name}:completed`, "XX", Number(entries[i + 1]) - hours * 3_600_000, entries[i]!);
    c.disconnect();
}

beforeAll(async () => {
    server = await RedisServer.start({ conf: dockerConf() });
    const keep = bullmqSettings("bull", "x").defaultJobOptions;
    await complete("no-retention", 1100, {});
    await complete("kept", 1100, keep);
    await complete("stale", 5, {});
    await age("stale", 48, 2);
    await complete("idle", 5, keep);
    await age("idle", 30);
});
afterAll(async () => {
    await server?.destroy();
});

describe("retention against the bullmq output", () => {
    it("1,100 completed jobs against a count of 1,000 fail health and smoke", async () => {
        const problem =
            "no-retention: 1100 completed jobs kept, the stack keeps at most 1000 (removeOnComplete.count): jobs are added without the stack's defaultJobOptions";
        const h = await collectHealth(declared("no-retention"));
        expect(h.problems).toEqual([`retention: ${problem}`]);
        const smoke = await runSmoke(declared("no-retention"));
        expect(smoke.filter((r) => r.status === "fail")).toEqual([{ name: "retention", status: "fail", detail: problem }]);
    });

    it("jobs added with the stack's defaultJobOptions stay within it", async () => {
        const h = await collectHealth(declared("kept"));
        expect(h.queues[0]).toMatchObject({ name: "kept", completed: 1000 });
        expect(h.queues[0]!.retention).toEqual({
            status: "pass",
            detail: expect.stringMatching(/^kept: 1000 completed \(keeps 1000, 24h\), oldest \d+s ago; 0 failed \(keeps 5000, 7d\)$/),
        });
        expect(h.problems).toEqual([]);
    });

    it("an oldest job finished two days before the newest fails the age", async () => {
        const h = await collectHealth(declared("stale"));
        expect(h.problems).toEqual([
            "retention: stale: the oldest completed job finished 2d 0h before the newest, the stack keeps 24h (removeOnComplete.age): jobs are added without the stack's defaultJobOptions",
        ]);
    });

    it("an idle queue's jobs older than the age are said, not failed: BullMQ removes them at the next completion", async () => {
        const h = await collectHealth(declared("idle"));
        expect(h.queues[0]!.retention).toEqual({
            status: "pass",
            detail: expect.stringMatching(
                /^idle: 5 completed \(keeps 1000, 24h\), oldest 1d 6h ago \(idle: BullMQ removes it when the next job finishes\); 0 failed/,
            ),
        });
    });

    it("a paused queue shows as paused, its waiting jobs counted", async () => {
        const queue = new Queue("held", { connection: connection() });
        await queue.addBulk([1, 2, 3].map((i) => ({ name: "w", data: { i } })));
        await queue.pause();
        await queue.close();
        const h = await collectHealth(declared("held"), { queues: ["kept"] });
        expect(h.queues.map((q) => [q.name, q.paused, q.waiting])).toEqual([
            ["held", true, 3],
            ["kept", false, 0],
        ]);
        const text = formatHealth(h);
        expect(text).toContain("held   PAUSED         3       0        0          0       0\n");
        expect(text).toContain("ok   retention: held: 0 completed (keeps 1000, 24h); 0 failed (keeps 5000, 7d); paused\n");
        const smoke = await runSmoke(declared("held"));
        expect(smoke.find((r) => r.name === "retention")!.detail).toMatch(/; paused$/);
    });
});
