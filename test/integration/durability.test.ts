/**
 * The seed's promises on a real redis-server started from the docker-rendered redis.conf:
 * acknowledged writes and jobs survive `kill -9`, and a full server refuses writes instead of
 * evicting anything.
 */
import { Queue, Worker } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bullmqSettings } from "../../src/contract";
import { RedisServer, sleep } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";

const settings = bullmqSettings("bull", "pipeline-jobs");
const connectionOf = (server: RedisServer) => ({
    host: "127.0.0.1",
    port: server.port,
    password: TEST_PASSWORD,
    maxRetriesPerRequest: null,
});

describe("durability across kill -9", () => {
    let server: RedisServer;
    beforeAll(async () => {
        server = await RedisServer.start({ conf: dockerConf() });
    });
    afterAll(() => server?.destroy());

    it("keeps 10,000 acknowledged writes and 1,000 jobs written 2 s before the kill, and the jobs then complete", async () => {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        const pipeline = c.pipeline();
        for (let i = 0; i < 10_000; i++) pipeline.set(`durable:${i}`, `value-${i}`);
        const replies = await pipeline.exec();
        expect(replies!.filter(([err, reply]) => err === null && reply === "OK")).toHaveLength(10_000);
        c.disconnect();

        const queue = new Queue(settings.queue, {
            prefix: settings.prefix,
            connection: connectionOf(server),
            defaultJobOptions: settings.defaultJobOptions,
        });
        const jobs = await queue.addBulk(Array.from({ length: 1000 }, (_, i) => ({ name: "durable", data: { i } })));
        expect(jobs).toHaveLength(1000);
        await queue.close();

        // Past the everysec window: every acknowledged write above must be on disk now.
        await sleep(2000);
        await server.kill9();
        await server.restart(TEST_PASSWORD);

        const after = server.client({ password: TEST_PASSWORD });
        await after.connect();
        const values = await after.mget(...Array.from({ length: 10_000 }, (_, i) => `durable:${i}`));
        expect(values.filter((v, i) => v === `value-${i}`)).toHaveLength(10_000);
        after.disconnect();

        const reopened = new Queue(settings.queue, { prefix: settings.prefix, connection: connectionOf(server) });
        expect(await reopened.getJobCounts("wait", "active", "completed", "failed")).toEqual({
            wait: 1000,
            active: 0,
            completed: 0,
            failed: 0,
        });
        const worker = new Worker(settings.queue, async (job) => ({ doubled: (job.data as { i: number }).i * 2 }), {
            prefix: settings.prefix,
            connection: connectionOf(server),
            concurrency: 50,
            autorun: false,
        });
        const done = new Promise<void>((resolve) => {
            let completed = 0;
            worker.on("completed", () => {
                if (++completed === 1000) resolve();
            });
        });
        void worker.run();
        await done;
        await worker.close();
        expect(await reopened.getJobCounts("wait", "active", "completed", "failed")).toEqual({
            wait: 0,
            active: 0,
            completed: 1000,
            failed: 0,
        });
        const sample = await reopened.getJob(jobs[999]!.id!);
        expect(sample?.returnvalue).toEqual({ doubled: 1998 });
        await reopened.close();
    });
});

describe("noeviction at maxmemory", () => {
    let server: RedisServer;
    const cleanups: (() => Promise<unknown>)[] = [];
    beforeAll(async () => {
        // The docker-rendered file with the stack's maxmemory override at its 16mb minimum.
        server = await RedisServer.start({ conf: dockerConf({ maxmemory: "16mb" }) });
    });
    afterEach(async () => {
        while (cleanups.length) await cleanups.pop()!();
    });
    afterAll(() => server?.destroy());

    it("refuses writes with an OOM error, evicts nothing and loses nothing written before", async () => {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        cleanups.push(async () => c.disconnect());
        const value = "x".repeat(10_000);
        let written = 0;
        let refusal: Error | undefined;
        while (written < 10_000) {
            try {
                await c.set(`fill:${written}`, value);
                written++;
            } catch (e) {
                refusal = e as Error;
                break;
            }
        }
        expect(refusal?.message).toMatch(/^OOM command not allowed when used memory > 'maxmemory'/);
        expect(written).toBeGreaterThan(100);

        // A producer sees the refusal too: BullMQ's add rejects with the server's OOM error.
        const queue = new Queue(settings.queue, { prefix: settings.prefix, connection: connectionOf(server) });
        cleanups.push(() => queue.close());
        await expect(queue.add("refused", { big: value })).rejects.toThrow(/OOM command not allowed/);

        const stats = await c.info("stats");
        expect(stats).toMatch(/\r\nevicted_keys:0\r\n/);
        expect(await c.dbsize()).toBe(written);
        const values = await c.mget(...Array.from({ length: written }, (_, i) => `fill:${i}`));
        expect(values.every((v) => v === value)).toBe(true);

        // Draining makes room again: the queue accepts work once memory is freed.
        await c.del(...Array.from({ length: Math.ceil(written / 2) }, (_, i) => `fill:${i}`));
        const job = await queue.add("accepted", { after: "drain" });
        expect(job.id).toBeDefined();
    });
});
