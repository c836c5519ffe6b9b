/** `queue` verbs against real BullMQ queues with known counts on a real redis-server. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { Queue, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/ops/queue";
import { bullmqSettings } from "../../../src/contract";
import { outputsFor } from "../../../tools/outputs";
import { RedisServer, sleep } from "../../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../../tools/render";
import { opsArgv } from "../npmScript";

const ROOT = path.join(__dirname, "..", "..", "..");
let server: RedisServer;
let dir: string;
let queue: Queue;
const connection = () => ({ host: "127.0.0.1", port: server.port, password: TEST_PASSWORD });

/** Outputs whose `bullmq` retention is as given (the stack's declaration `clean` honours). */
function outputs(retention?: { completed?: { count: number; age: number }; failed?: { count: number; age: number } }): string {
    const bullmq = bullmqSettings("bull", "pipeline-jobs");
    if (retention?.completed) bullmq.defaultJobOptions.removeOnComplete = retention.completed;
    if (retention?.failed) bullmq.defaultJobOptions.removeOnFail = retention.failed;
    const f = path.join(dir, `outputs-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify({ ...outputsFor(server), bullmq }));
    return f;
}

async function q(...argv: string[]): Promise<{ code: number; out: string }> {
    let out = "";
    const code = await main(argv, (s) => (out += s));
    return { code, out };
}

async function counts() {
    return queue.getJobCounts("wait", "delayed", "active", "completed", "failed");
}

beforeAll(async () => {
    server = await RedisServer.start({ conf: dockerConf() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-queue-"));
    queue = new Queue("pipeline-jobs", { connection: connection() });
    // Known state: 12 completed (one at a time, so their finish times are in order), 4 failed,
    // then 5 waiting and 2 delayed; another queue under the prefix with 1 waiting.
    const worker = new Worker(
        "pipeline-jobs",
        async (job) => {
            if (job.name === "bad") throw new Error("refused by the test");
            return "ok";
        },
        { connection: connection(), concurrency: 1 },
    );
    worker.on("error", () => undefined);
    for (let i = 0; i < 12; i++) await queue.add("ok", { i });
    for (let i = 0; i < 4; i++) await queue.add("bad", { i });
    for (let t = 0; t < 200 && ((await queue.getCompletedCount()) < 12 || (await queue.getFailedCount()) < 4); t++) await sleep(50);
    await worker.close();
    await queue.addBulk([1, 2, 3, 4, 5].map((i) => ({ name: "later-work", data: { i } })));
    await queue.add("delayed", {}, { delay: 3_600_000 });
    await queue.add("delayed", {}, { delay: 3_600_000 });
    const other = new Queue("emails", { connection: connection() });
    await other.add("send", {});
    await other.close();
});

afterAll(async () => {
    await queue?.close();
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("queue", () => {
    it("counts: every queue under the prefix, as a table and as JSON", async () => {
        const r = await q("counts", "--outputs", outputs());
        expect(r.code).toBe(0);
        expect(r.out).toBe(
            [
                "queue          wait  prioritized  waiting-children  active  delayed  completed  failed",
                "emails            1            0                 0       0        0          0       0",
                "pipeline-jobs     5            0                 0       0        2         12       4",
                "",
            ].join("\n"),
        );
        const j = JSON.parse((await q("counts", "--outputs", outputs(), "--json", "--queue", "pipeline-jobs")).out);
        expect(j).toEqual([
            {
                name: "pipeline-jobs",
                paused: false,
                counts: { wait: 5, prioritized: 0, "waiting-children": 0, active: 0, delayed: 2, completed: 12, failed: 4 },
            },
        ]);
    });

    it("clean under the stack's retention (1000 / 24 h, 5000 / 7 d): nothing to remove", async () => {
        const r = await q("clean", "--outputs", outputs(), "--yes");
        expect(r.out).toContain(
            "remove 0 completed jobs finished more than 1 d ago, then 0 more, oldest first, to keep the newest 1000 (12 completed now)",
        );
        expect(r.out).toContain(
            "remove 0 failed jobs finished more than 7 d ago, then 0 more, oldest first, to keep the newest 5000 (4 failed now)",
        );
        expect(await counts()).toMatchObject({ completed: 12, failed: 4 });
    });

    it("clean by count: says what it would do, does nothing without --yes; with it keeps the newest", async () => {
        const o = outputs({ completed: { count: 3, age: 86400 } });
        const dry = await q("clean", "--outputs", o, "--state", "completed");
        expect(dry.out).toContain(
            "would remove 0 completed jobs finished more than 1 d ago, then 9 more, oldest first, to keep the newest 3 (12 completed now)\nnothing done: add --yes to clean pipeline-jobs\n",
        );
        expect(dry.out).not.toContain("failed jobs");
        expect(await counts()).toMatchObject({ completed: 12, failed: 4 });
        const newest = (await queue.getCompleted(0, -1))
            .sort((a, b) => b.finishedOn! - a.finishedOn!)
            .slice(0, 3)
            .map((j) => j.id)
            .sort();
        const done = await q("clean", "--outputs", o, "--state", "completed", "--yes");
        expect(done.code).toBe(0);
        expect(await counts()).toMatchObject({ completed: 3, failed: 4, wait: 5, delayed: 2 });
        expect((await queue.getCompleted(0, -1)).map((j) => j.id).sort()).toEqual(newest);
    });

    it("clean by age: finished jobs older than the declared age go", async () => {
        await sleep(1100);
        const r = await q("clean", "--outputs", outputs({ completed: { count: 1000, age: 1 }, failed: { count: 5000, age: 1 } }), "--yes");
        expect(r.out).toContain("remove 3 completed jobs finished more than 1 s ago");
        expect(r.out).toContain("remove 4 failed jobs finished more than 1 s ago");
        expect(await counts()).toMatchObject({ completed: 0, failed: 0, wait: 5, delayed: 2 });
    });

    it("retry: failed jobs back to waiting (--queue names another queue)", async () => {
        const retries = new Queue("retries", { connection: connection() });
        const worker = new Worker(
            "retries",
            async () => {
                throw new Error("refused by the test");
            },
            { connection: connection() },
        );
        worker.on("error", () => undefined);
        worker.on("failed", () => undefined);
        await retries.addBulk([1, 2, 3].map((i) => ({ name: "bad", data: { i } })));
        for (let t = 0; t < 200 && (await retries.getFailedCount()) < 3; t++) await sleep(50);
        await worker.close();
        const dry = await q("retry", "--outputs", outputs(), "--queue", "retries");
        expect(dry.out).toContain("would move 3 failed jobs back to waiting\nnothing done: add --yes to retry retries\n");
        expect(await retries.getFailedCount()).toBe(3);
        const r = await q("retry", "--outputs", outputs(), "--queue", "retries", "--yes");
        expect(r.code).toBe(0);
        expect(await retries.getJobCounts("wait", "failed")).toEqual({ wait: 3, failed: 0 });
        await retries.close();
    });

    it("drain: waiting jobs go, delayed ones stay unless --delayed", async () => {
        const before = await counts();
        expect(before.wait).toBeGreaterThan(0);
        const dry = await q("drain", "--outputs", outputs());
        expect(dry.out).toContain(
            `would remove ${before.wait} waiting jobs (2 delayed jobs kept; --delayed removes them too); 0 active jobs finish`,
        );
        expect(await counts()).toEqual(before);
        await q("drain", "--outputs", outputs(), "--yes");
        expect(await counts()).toMatchObject({ wait: 0, delayed: 2 });
        await q("drain", "--outputs", outputs(), "--yes", "--delayed");
        expect(await counts()).toMatchObject({ wait: 0, delayed: 0 });
    });

    it("pause and resume act at once", async () => {
        await q("pause", "--outputs", outputs());
        expect(await queue.isPaused()).toBe(true);
        await q("resume", "--outputs", outputs());
        expect(await queue.isPaused()).toBe(false);
    });

    it("obliterate: the queue and its jobs gone, the other queue and keys untouched", async () => {
        await queue.add("x", {});
        const dry = await q("obliterate", "--outputs", outputs());
        expect(dry.out).toContain("would remove queue pipeline-jobs and all its 1 jobs (1 wait)");
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        await c.set("plain:key", "kept");
        expect((await c.keys("bull:pipeline-jobs:*")).length).toBeGreaterThan(0);
        const r = await q("obliterate", "--outputs", outputs(), "--yes");
        expect(r.code).toBe(0);
        expect(await c.keys("bull:pipeline-jobs:*")).toEqual([]);
        expect(await c.get("plain:key")).toBe("kept");
        expect((await c.keys("bull:emails:*")).length).toBeGreaterThan(0);
        c.disconnect();
    });

    it.each([
        {
            argv: ["flush", "--outputs", "x.json"],
            error: /^unknown verb flush: one of counts, clean, retry, drain, obliterate, pause, resume/,
        },
        { argv: ["drain", "--outputs", "x.json", "--state", "failed"], error: /^--state is for clean and retry$/ },
        { argv: ["clean", "--outputs", "x.json", "--state", "active"], error: /^--state takes completed or failed; given active$/ },
        { argv: ["retry", "--outputs", "x.json", "--force"], error: /^--force is for obliterate$/ },
    ])("refuses $argv.0 $argv.3 as a usage error", async ({ argv, error }) => {
        await expect(main(argv, () => undefined)).rejects.toThrow(error);
    });

    it("through npm's entry point: exit 0, and 2 for a usage error", async () => {
        const run = (...args: string[]) =>
            new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
                execFile(process.execPath, opsArgv("src/ops/queue.ts", ...args), { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) =>
                    resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
                );
            });
        const ok = await run("counts", "--outputs", outputs());
        expect(ok.code).toBe(0);
        expect(ok.stdout).toMatch(/^emails +1 /m);
        const bad = await run("flush", "--outputs", outputs());
        expect(bad.code).toBe(2);
        expect(bad.stderr).toMatch(/^error: unknown verb flush/);
    });
});
