/**
 * Fault drills on real redis-servers started from the docker-rendered redis.conf: what the
 * seed promises ("max 1 second of data loss on crash", "fail writes when full, don't lose
 * data") measured under faults. `npm run drill` runs them in full; `npm test` a short version.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Queue, Worker } from "bullmq";
import { RedisServer, sleep } from "../test/helpers/redisServer";
import { TEST_PASSWORD, dockerConf } from "../test/helpers/render";

/** The everysec window: acknowledged writes younger than this at a crash may be lost. */
export const WINDOW_MS = 2000;
const QUEUE = "drill-jobs";

const connection = (s: RedisServer) => ({ host: "127.0.0.1", port: s.port, password: TEST_PASSWORD, maxRetriesPerRequest: null, retryStrategy: () => null });
const say = (quiet: boolean, line: string) => { if (!quiet) process.stdout.write(line + "\n"); };

export interface CrashResult {
    cycles: number;
    acknowledged: number;
    /** Acknowledged more than WINDOW_MS before a kill and missing afterwards: must be 0. */
    lostOutsideWindow: number;
    /** Acknowledged within WINDOW_MS of a kill and missing afterwards: allowed by everysec. */
    lostInsideWindow: number;
    /** Acknowledged jobs that never reached completed after the last restart: must be 0. */
    notCompleted: number;
}

/**
 * Producers add jobs with known ids and record when each add was acknowledged; workers
 * complete them; the server is killed with SIGKILL at a random moment, restarted, and every
 * acknowledged job is looked for. After the last cycle, workers drain everything.
 */
export async function crashUnderLoad(o: { cycles: number; quiet?: boolean }): Promise<CrashResult> {
    const server = await RedisServer.start({ conf: dockerConf() });
    const acked = new Map<string, number>();
    const result: CrashResult = { cycles: o.cycles, acknowledged: 0, lostOutsideWindow: 0, lostInsideWindow: 0, notCompleted: 0 };
    let next = 0;
    try {
        for (let cycle = 1; cycle <= o.cycles; cycle++) {
            const queue = new Queue(QUEUE, { connection: connection(server) });
            queue.on("error", () => undefined);
            const worker = new Worker(QUEUE, async () => "done", { connection: connection(server), concurrency: 20, stalledInterval: 1000, maxStalledCount: 100 });
            worker.on("error", () => undefined);
            let stop = false;
            const producers = Array.from({ length: 4 }, async () => {
                while (!stop) {
                    const id = `job-${next++}`;
                    try {
                        await queue.add("work", { id }, { jobId: id, removeOnComplete: false, removeOnFail: false });
                        acked.set(id, Date.now());
                    } catch {
                        return; // the server is gone: this add was never acknowledged
                    }
                }
            });
            await sleep(800 + Math.random() * 2200);
            const killedAt = Date.now();
            await server.kill9();
            stop = true;
            await Promise.allSettled(producers);
            await Promise.allSettled([worker.close(true), queue.close()]);
            await server.restart(TEST_PASSWORD);

            // A job is present when its hash is (bull:<queue>:<id>): one pipelined EXISTS per job.
            const check = server.client({ password: TEST_PASSWORD });
            await check.connect();
            let outside = 0;
            let inside = 0;
            const ids = [...acked.keys()];
            for (let i = 0; i < ids.length; i += 5000) {
                const batch = ids.slice(i, i + 5000);
                const pipeline = check.pipeline();
                for (const id of batch) pipeline.exists(`bull:${QUEUE}:${id}`);
                const replies = (await pipeline.exec())!;
                replies.forEach(([, exists], j) => {
                    if (exists === 1) return;
                    const id = batch[j]!;
                    if (killedAt - acked.get(id)! > WINDOW_MS) outside++;
                    else inside++;
                    acked.delete(id);
                });
            }
            check.disconnect();
            result.lostOutsideWindow += outside;
            result.lostInsideWindow += inside;
            say(!!o.quiet, `cycle ${String(cycle).padStart(2)}: killed after ${next} adds; ${acked.size} acknowledged jobs present; lost ${outside} outside the ${WINDOW_MS / 1000} s window, ${inside} inside it`);
        }
        result.acknowledged = acked.size + result.lostInsideWindow + result.lostOutsideWindow;

        // Every acknowledged job that survived now ends completed (stalled ones are retried).
        const queue = new Queue(QUEUE, { connection: connection(server) });
        const worker = new Worker(QUEUE, async () => "done", { connection: connection(server), concurrency: 50, stalledInterval: 1000, maxStalledCount: 100 });
        worker.on("error", () => undefined);
        // Until nothing is left, or nothing moved for 30 s (what is left is then counted as not completed).
        let left = Infinity;
        let lastProgress = Date.now();
        for (;;) {
            const counts = await queue.getJobCounts("wait", "active", "delayed", "prioritized", "failed");
            const now = Object.values(counts).reduce((a, b) => a + b, 0);
            if (now === 0 || Date.now() - lastProgress > 30_000) break;
            if (now < left) [left, lastProgress] = [now, Date.now()];
            await sleep(250);
        }
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        const ids = [...acked.keys()];
        for (let i = 0; i < ids.length; i += 5000) {
            const scores = (await c.call("ZMSCORE", `bull:${QUEUE}:completed`, ...ids.slice(i, i + 5000))) as (string | null)[];
            result.notCompleted += scores.filter((x) => x === null).length;
        }
        c.disconnect();
        await worker.close();
        await queue.close();
        say(!!o.quiet, `after the last restart: ${acked.size - result.notCompleted} of ${acked.size} surviving acknowledged jobs completed`);
        return result;
    } finally {
        await server.destroy();
    }
}

export interface MemoryFullResult {
    jobsAdded: number;
    refusal: string;
    evictedKeys: number;
    /** Jobs completed in 3 s while the server was full: BullMQ's completion scripts write, so they are refused too. */
    completedWhileFull: number;
    errorWhileFull: string;
    /** After maxmemory was raised by half, as an operator would: every stored job completed. */
    completedAfterRoom: number;
    lostJobs: number;
    acceptedAfterDrain: boolean;
}

/**
 * Fill to maxmemory with queue traffic: the producer sees the refusal, nothing is evicted.
 * Then what a team goes through: workers stall too (completing a job writes), an operator
 * raises maxmemory, the backlog drains, maxmemory goes back, and the queue takes work again.
 */
export async function memoryFull(o: { quiet?: boolean } = {}): Promise<MemoryFullResult> {
    const server = await RedisServer.start({ conf: dockerConf({ maxmemory: "16mb" }) });
    try {
        const queue = new Queue(QUEUE, { connection: connection(server) });
        queue.on("error", () => undefined);
        const payload = "x".repeat(4096);
        const ids: string[] = [];
        let refusal = "";
        for (;;) {
            try {
                // Completed jobs are removed (the contract keeps the last 1000; here none), so draining frees memory.
                const job = await queue.add("fill", { payload }, { removeOnComplete: true });
                ids.push(job.id!);
            } catch (e) {
                refusal = (e as Error).message;
                break;
            }
        }
        say(!!o.quiet, `memory full after ${ids.length} jobs of 4 KiB: the producer got "${refusal.slice(0, 70)}..."`);
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        const evicted = Number(/evicted_keys:(\d+)/.exec(await c.info("stats"))![1]);

        let errorWhileFull = "";
        let completed = 0;
        const worker = new Worker(QUEUE, async () => "done", { connection: connection(server), concurrency: 20 });
        worker.on("error", (e) => (errorWhileFull ||= e.message.slice(0, 70)));
        worker.on("completed", () => completed++);
        await sleep(3000);
        const completedWhileFull = completed;
        say(!!o.quiet, `evicted_keys ${evicted}; while full, workers completed ${completedWhileFull} jobs in 3 s${errorWhileFull ? ` ("${errorWhileFull}...")` : ""}`);

        await c.config("SET", "maxmemory", String(24 * 1024 * 1024));
        const deadline = Date.now() + 60_000;
        while (completed < ids.length && Date.now() < deadline) await sleep(100);
        await worker.close();
        const counts = await queue.getJobCounts("wait", "active", "delayed", "failed");
        const lost = ids.length - completed - Object.values(counts).reduce((a, b) => a + b, 0);
        say(!!o.quiet, `maxmemory raised to 24mb: workers completed ${completed} of ${ids.length} stored jobs`);
        await c.config("SET", "maxmemory", String(16 * 1024 * 1024));

        let accepted = false;
        try {
            await queue.add("after", { ok: true });
            accepted = true;
        } catch (e) {
            say(!!o.quiet, `after draining, add failed: ${(e as Error).message}`);
        }
        say(!!o.quiet, `maxmemory back to 16mb, backlog drained: the queue accepts work again: ${accepted}`);
        c.disconnect();
        await queue.close();
        return { jobsAdded: ids.length, refusal, evictedKeys: evicted, completedWhileFull, errorWhileFull, completedAfterRoom: completed, lostJobs: lost, acceptedAfterDrain: accepted };
    } finally {
        await server.destroy();
    }
}

export interface DiskFullResult {
    possible: boolean;
    reason?: string;
    acknowledgedBeforeFull: number;
    refusal: string;
    lostAcknowledged: number;
    recovered: boolean;
}

/**
 * The data directory on a small tmpfs fills up: writes must be refused (AOF write error), no
 * acknowledged write may be lost, and the server must take writes again once there is room.
 * Needs mount (root); elsewhere it says why it could not run.
 */
export async function diskFull(o: { quiet?: boolean } = {}): Promise<DiskFullResult> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-diskfull-"));
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir], { encoding: "utf8", env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    if (mount.status !== 0) {
        fs.rmSync(dir, { recursive: true, force: true });
        const reason = `cannot mount a tmpfs here (${(mount.stderr || "mount failed").trim()}); run as root to drill a full disk`;
        say(!!o.quiet, `disk full: not run: ${reason}`);
        return { possible: false, reason, acknowledgedBeforeFull: 0, refusal: "", lostAcknowledged: 0, recovered: false };
    }
    // The rendered file's snapshots and rewrites would race the fill; the AOF alone is under test.
    const server = await RedisServer.start({ conf: dockerConf(), dir, args: ["--auto-aof-rewrite-percentage", "0"] });
    try {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        const value = "y".repeat(8192);
        const acked: number[] = [];
        let refusal = "";
        for (let i = 0; i < 100_000; i++) {
            try {
                await c.set(`disk:${i}`, value);
                acked.push(i);
            } catch (e) {
                refusal = (e as Error).message;
                break;
            }
        }
        say(!!o.quiet, `disk full after ${acked.length} acknowledged writes of 8 KiB: "${refusal}"`);
        // Make room as an operator would (the disk grows), then check nothing was lost and writes resume.
        execFileSync("mount", ["-o", "remount,size=256m", dir], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
        let recovered = false;
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
            try {
                await c.set("disk:after", "ok");
                recovered = true;
                break;
            } catch {
                await sleep(200);
            }
        }
        const values = await c.mget(...acked.map((i) => `disk:${i}`));
        c.disconnect();
        // And after a crash, from the AOF alone:
        await server.kill9();
        await sleep(100);
        await server.restart(TEST_PASSWORD);
        const after = server.client({ password: TEST_PASSWORD });
        await after.connect();
        const reloaded = await after.mget(...acked.map((i) => `disk:${i}`));
        after.disconnect();
        const lost = reloaded.filter((v, i) => v !== value || values[i] !== value).length;
        say(!!o.quiet, `room made: writes accepted again: ${recovered}; acknowledged writes lost (after a kill -9 and reload): ${lost}`);
        return { possible: true, acknowledgedBeforeFull: acked.length, refusal, lostAcknowledged: lost, recovered };
    } finally {
        await server.stop();
        spawnSync("umount", [dir], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export interface TruncatedResult {
    written: number;
    bytesCut: number;
    started: boolean;
    present: number;
}

/** The AOF's tail torn as by a power loss: the server starts and loses at most that last command. */
export async function truncatedAof(o: { quiet?: boolean } = {}): Promise<TruncatedResult> {
    const server = await RedisServer.start({ conf: dockerConf() });
    try {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        const written = 1000;
        for (let i = 0; i < written; i++) await c.set(`torn:${i}`, `value-${i}`);
        await sleep(1500); // past the everysec fsync
        c.disconnect();
        await server.kill9();
        const aofDir = path.join(server.dir, "appendonlydir");
        const incr = fs.readdirSync(aofDir).filter((f) => f.endsWith(".incr.aof")).sort().at(-1)!;
        const file = path.join(aofDir, incr);
        const bytesCut = 7;
        fs.truncateSync(file, fs.statSync(file).size - bytesCut);
        let started = true;
        try {
            await server.restart(TEST_PASSWORD);
        } catch {
            started = false;
        }
        let present = 0;
        if (started) {
            const after = server.client({ password: TEST_PASSWORD });
            await after.connect();
            const values = await after.mget(...Array.from({ length: written }, (_, i) => `torn:${i}`));
            present = values.filter((v, i) => v === `value-${i}`).length;
            after.disconnect();
        }
        say(!!o.quiet, `AOF cut by ${bytesCut} bytes: server started: ${started}; ${present} of ${written} writes present (the torn one is the last)`);
        return { written, bytesCut, started, present };
    } finally {
        await server.destroy();
    }
}

async function main(): Promise<void> {
    const cycles = Number(process.env.DRILL_CYCLES ?? 20);
    const out: Record<string, unknown> = {};
    process.stdout.write(`crash under load: ${cycles} cycles of kill -9 at a random moment\n`);
    out.crash = await crashUnderLoad({ cycles });
    process.stdout.write("\nmemory full\n");
    out.memoryFull = await memoryFull();
    process.stdout.write("\ndisk full\n");
    out.diskFull = await diskFull();
    process.stdout.write("\ntruncated AOF\n");
    out.truncatedAof = await truncatedAof();
    fs.writeFileSync(path.join(__dirname, "drills.json"), JSON.stringify({ date: new Date().toISOString(), redis: execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim(), ...out }, null, 2) + "\n");
    process.stdout.write(`\n${JSON.stringify(out, null, 2)}\n`);
}

if (require.main === module) {
    main().then(() => process.exit(0), (e) => { process.stderr.write(`drill failed: ${(e as Error).stack}\n`); process.exit(1); });
}
