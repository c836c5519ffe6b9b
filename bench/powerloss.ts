/**
 * The power-loss drill: the data directory on LazyFS (tools/lazyfs.ts), producers recording
 * when each write and each BullMQ job was acknowledged, then a cut at a random moment: the
 * server is killed with SIGKILL and LazyFS drops every byte not yet fsynced, as a power loss
 * would; restart on the same folder; every acknowledged write is looked for. The loss window of
 * a cycle is the age, at the cut, of the oldest acknowledged write that did not survive.
 *
 * Order matters: kill first, then drop the cache (dropping it under a live server leaves holes
 * in the file that the server keeps appending after).
 */
import { type ChildProcess, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Queue, Worker } from "bullmq";
import Redis from "ioredis";
import { applyOverrides, parseRedisConf, renderRedisConf } from "../src/redisConf";
import { freePort, logTail, requireRedisServer, serverCommandArgs, sleep } from "../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../tools/render";
import { absentOnServer } from "../tools/keys";
import { countCompleted, waitForDrain } from "../tools/queue";
import { onAbort } from "./exit";
import { LazyFs, requireLazyfs } from "../tools/lazyfs";

/** Redis's documented worst case for `appendfsync everysec`: the claim the drill checks. */
export const POWER_WINDOW_MS = 2000;
const QUEUE = "powerloss-jobs";
/**
 * Job locks of the drill's workers: a job active at the cut is taken up again once its lock
 * expires (BullMQ's default is 30 s; shorter here so the drain after the last cycle is quick).
 */
const LOCK_MS = 5000;

/** A redis-server inside the LazyFS mount's namespace, its data directory on the mount. */
class MountedServer {
    private proc?: ChildProcess;
    private exited?: Promise<void>;
    readonly confFile: string;
    readonly logFile: string;

    constructor(
        readonly lazy: LazyFs,
        readonly work: string,
        readonly port: number,
        readonly extraArgs: string[],
    ) {
        this.confFile = path.join(work, "redis.conf");
        this.logFile = path.join(work, "redis.log");
        fs.writeFileSync(this.confFile, renderRedisConf(applyOverrides(parseRedisConf(dockerConf()), { dir: lazy.mnt })), { mode: 0o600 });
    }

    get pid(): number | undefined {
        return this.proc && this.proc.exitCode === null && this.proc.signalCode === null ? this.proc.pid : undefined;
    }

    /** Starts (or restarts on the same folder) and waits until the AOF is loaded; a refusal to start throws with the log's tail. */
    async start(): Promise<void> {
        const args = serverCommandArgs({
            confFile: this.confFile,
            port: this.port,
            dir: this.lazy.mnt,
            logFile: this.logFile,
            extraArgs: this.extraArgs,
        });
        const proc = this.lazy.spawn("redis-server", args);
        this.proc = proc;
        this.exited = new Promise((r) => proc.once("exit", () => r()));
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
            if (proc.exitCode !== null || proc.signalCode !== null)
                throw new Error(`redis-server on LazyFS exited (${proc.exitCode ?? proc.signalCode}):\n${this.tail()}`);
            const c = this.client();
            try {
                await c.connect();
                if ((await c.ping()) === "PONG" && /loading:0/.test(await c.info("persistence"))) return;
            } catch {
                /* not listening or still loading */
            } finally {
                c.disconnect();
            }
            await sleep(50);
        }
        throw new Error(`redis-server on LazyFS not ready within 60 s:\n${this.tail()}`);
    }

    client(): Redis {
        const c = new Redis({
            host: "127.0.0.1",
            port: this.port,
            password: TEST_PASSWORD,
            lazyConnect: true,
            enableReadyCheck: false,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
        });
        c.on("error", () => undefined);
        return c;
    }

    async kill9(): Promise<void> {
        if (this.pid !== undefined) {
            this.proc!.kill("SIGKILL");
            await this.exited;
        }
    }

    tail(lines = 12): string {
        return logTail(this.logFile, lines);
    }

    logSince(offset: number): string {
        try {
            return fs.readFileSync(this.logFile, "utf8").slice(offset);
        } catch {
            return "";
        }
    }

    logSize(): number {
        try {
            return fs.statSync(this.logFile).size;
        } catch {
            return 0;
        }
    }
}

/** A LazyFS mount and a server on it, in a temp folder; everything registered for cleanup on any exit. */
async function mountedServer(o: {
    extraArgs?: string[];
    lazyBin: string;
}): Promise<{ lazy: LazyFs; server: MountedServer; close: () => Promise<void> }> {
    requireRedisServer();
    // Short on purpose (see LazyFsOptions.work): /tmp, not TMPDIR. No "-" either: LazyFS's
    // argument parser takes a config path containing "-o" (any case) for a FUSE option and
    // falls back to config/default.toml (main.cpp, strcasestr), so "/tmp/mpl-O…" would fail.
    const work = fs.mkdtempSync("/tmp/mpl");
    let lazy: LazyFs | undefined;
    let server: MountedServer | undefined;
    const close = async () => {
        await server?.kill9();
        await lazy?.stop();
        fs.rmSync(work, { recursive: true, force: true });
    };
    const unregister = onAbort(`power-loss folder ${work}`, close);
    try {
        lazy = await LazyFs.start({ bin: o.lazyBin, work });
        server = new MountedServer(lazy, work, await freePort(), o.extraArgs ?? []);
        await server.start();
    } catch (e) {
        await close();
        unregister();
        throw e;
    }
    return {
        lazy,
        server,
        close: async () => {
            await close();
            unregister();
        },
    };
}

/** Producers: no retries, so an add in flight at the cut fails instead of waiting for the restart. */
const producerConnection = (port: number) => ({
    host: "127.0.0.1",
    port,
    password: TEST_PASSWORD,
    maxRetriesPerRequest: null,
    retryStrategy: () => null,
    enableOfflineQueue: false,
});
/**
 * Workers: reconnect and wait. A BullMQ worker whose connection has ended for good retries
 * its fetch without pause and starves the event loop (timers, signals) until it is closed.
 */
const workerConnection = (port: number) => ({
    host: "127.0.0.1",
    port,
    password: TEST_PASSWORD,
    maxRetriesPerRequest: null,
    retryStrategy: () => 500,
});

/** Acknowledgement times (ms since epoch) of everything acknowledged and not yet found lost. */
interface Ledger {
    writes: Map<string, number>;
    jobs: Map<string, number>;
    next: number;
    /** How many times each job id was processed (a completion lost in the window runs the job again). */
    processed: Map<string, number>;
}

function newLedger(): Ledger {
    return { writes: new Map(), jobs: new Map(), next: 0, processed: new Map() };
}

interface Load {
    stop: () => Promise<void>;
}

/**
 * Two writers (SET, about 1,000 a second each) and two BullMQ producers (about 500 jobs a
 * second each), every acknowledgement timed; a worker completes the jobs. Rates are capped so
 * two shared cores keep up and the acknowledgement times stay close to the server's.
 */
function startLoad(port: number, ledger: Ledger): Load {
    let stopped = false;
    const clients: Redis[] = [];
    const queue = new Queue(QUEUE, { connection: producerConnection(port) });
    queue.on("error", () => undefined);
    const worker = new Worker(
        QUEUE,
        async (job) => {
            ledger.processed.set(job.id!, (ledger.processed.get(job.id!) ?? 0) + 1);
        },
        { connection: workerConnection(port), concurrency: 20, stalledInterval: 1000, maxStalledCount: 100, lockDuration: LOCK_MS },
    );
    worker.on("error", () => undefined);
    const paced = async (everyMs: number, op: () => Promise<void>) => {
        const t0 = Date.now();
        for (let i = 0; !stopped; i++) {
            const wait = t0 + i * everyMs - Date.now();
            if (wait > 0) await sleep(wait);
            try {
                await op();
            } catch {
                return; // the server is gone: this one was never acknowledged
            }
        }
    };
    const writers = [0, 1].map(() => {
        const c = new Redis({
            host: "127.0.0.1",
            port,
            password: TEST_PASSWORD,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
            enableOfflineQueue: false,
        });
        c.on("error", () => undefined);
        clients.push(c);
        return (async () => {
            while (c.status !== "ready") {
                if (stopped || c.status === "end") return;
                await sleep(5);
            }
            await paced(1, async () => {
                const key = `pl:${ledger.next++}`;
                await c.set(key, key);
                ledger.writes.set(key, Date.now());
            });
        })();
    });
    const producers = [0, 1].map(() =>
        paced(2, async () => {
            const id = `j${ledger.next++}`;
            await queue.add("work", { id }, { jobId: id, removeOnComplete: false, removeOnFail: false });
            ledger.jobs.set(id, Date.now());
        }),
    );
    let stopping: Promise<void> | undefined;
    const stop = () =>
        (stopping ??= (async () => {
            stopped = true;
            for (const c of clients) c.disconnect();
            await Promise.allSettled([...writers, ...producers]);
            const closing = Promise.allSettled([worker.close(true), queue.close()]);
            await Promise.race([closing, sleep(5000)]);
        })());
    // Registered after the server, so an abort closes the clients first.
    const untrack = onAbort("the drill's producers and worker", stop);
    return { stop: () => stop().finally(untrack) };
}

/** Looks for every acknowledged key still in the ledger; those missing are removed and returned with their acknowledgement times. */
async function findLost(server: MountedServer, ledger: Ledger): Promise<{ writes: number[]; jobs: number[] }> {
    const c = server.client();
    await c.connect();
    try {
        const missing = async (m: Map<string, number>, key: (k: string) => string) =>
            (await absentOnServer(c, [...m.keys()], key)).map((id) => {
                const acknowledgedAt = m.get(id)!;
                m.delete(id);
                return acknowledgedAt;
            });
        return { writes: await missing(ledger.writes, (k) => k), jobs: await missing(ledger.jobs, (id) => `bull:${QUEUE}:${id}`) };
    } finally {
        c.disconnect();
    }
}

export type PowerMode = "everysec" | "always" | "kill-only";

export interface CycleResult {
    cycle: number;
    /** Acknowledgements in this cycle (writes + jobs). */
    acknowledged: number;
    lostWrites: number;
    lostJobs: number;
    /** Age at the cut of the oldest acknowledged write or job lost; 0 when nothing was lost. */
    windowMs: number;
    /** Lost and acknowledged more than POWER_WINDOW_MS before the cut: the claim says 0. */
    lostOlderThanClaim: number;
    /** Age at the cut of the newest acknowledgement: shows the load ran up to the cut. */
    lastAckAgeMs: number;
    /** What a cut during an AOF rewrite found: the rewrite was still running at the cut. */
    rewriteInProgress?: boolean;
}

export interface Distribution {
    min: number;
    median: number;
    p95: number;
    max: number;
}

export interface PowerLossResult {
    mode: PowerMode | "everysec, cut during an AOF rewrite";
    cycles: number;
    acknowledgedWrites: number;
    acknowledgedJobs: number;
    lostWrites: number;
    lostJobs: number;
    lostOlderThanClaim: number;
    windowMs: Distribution;
    /** Jobs acknowledged and still present after the last restart that a worker then completed, of how many. */
    jobsCompletedAfterRestart: number;
    jobsSurviving: number;
    /** Jobs a worker ran twice: run before the cut, their completion lost in the window or never written (at least once, as BullMQ promises). */
    jobsRunTwice: number;
    /** Event-loop delay of the drill's own process while it ran (p99, max): how late an acknowledgement time can be recorded. */
    timingNoiseMs: { p99: number; max: number };
    perCycle: CycleResult[];
}

export function distribution(values: number[]): Distribution {
    if (!values.length) return { min: 0, median: 0, p95: 0, max: 0 };
    const s = [...values].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
    const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    return { min: s[0]!, median: Math.round(mid), p95: at(0.95), max: s.at(-1)! };
}

export interface PowerLossOptions {
    mode: PowerMode;
    cycles: number;
    /** Load before each cut, chosen uniformly in [min, max] ms. */
    loadMs?: [number, number];
    /** Cut while an AOF rewrite runs (the rewrite slowed with rdb-key-save-delay so the cut can land in it). */
    duringRewrite?: boolean;
    quiet?: boolean;
    lazyBin?: string;
}

/**
 * N cycles of load, cut, restart on one LazyFS mount and one data folder. `always` and
 * `kill-only` are the controls: the first must lose nothing (every acknowledged write was
 * fsynced), the second too (a kill alone leaves written data with the kernel).
 */
export async function powerLoss(o: PowerLossOptions): Promise<PowerLossResult> {
    const lazyBin = o.lazyBin ?? requireLazyfs();
    const say = (line: string) => {
        if (!o.quiet) process.stdout.write(`${line}\n`);
    };
    const [minLoad, maxLoad] = o.loadMs ?? [1500, 4000];
    const { lazy, server, close } = await mountedServer({ lazyBin, extraArgs: o.mode === "always" ? ["--appendfsync", "always"] : [] });
    const ledger = newLedger();
    const perCycle: CycleResult[] = [];
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    let acknowledgedWrites = 0;
    let acknowledgedJobs = 0;
    try {
        for (let cycle = 1; cycle <= o.cycles; cycle++) {
            const [w0, j0] = [ledger.writes.size, ledger.jobs.size];
            const load = startLoad(server.port, ledger);
            let rewriteInProgress: boolean | undefined;
            if (o.duringRewrite) rewriteInProgress = await rewriteThenWait(server, minLoad, maxLoad);
            else await sleep(minLoad + Math.random() * (maxLoad - minLoad));
            const cutAt = Date.now();
            await server.kill9();
            if (o.mode !== "kill-only") await lazy.clearCache();
            await load.stop();
            const acknowledged = ledger.writes.size - w0 + ledger.jobs.size - j0;
            acknowledgedWrites += ledger.writes.size - w0;
            acknowledgedJobs += ledger.jobs.size - j0;
            let lastAck = 0;
            for (const m of [ledger.writes, ledger.jobs]) for (const t of m.values()) lastAck = Math.max(lastAck, t);
            await server.start();
            const lost = await findLost(server, ledger);
            const ages = [...lost.writes, ...lost.jobs].map((t) => cutAt - t);
            const r: CycleResult = {
                cycle,
                acknowledged,
                lostWrites: lost.writes.length,
                lostJobs: lost.jobs.length,
                windowMs: ages.reduce((a, b) => Math.max(a, b), 0),
                lostOlderThanClaim: ages.filter((a) => a > POWER_WINDOW_MS).length,
                lastAckAgeMs: cutAt - lastAck,
                ...(rewriteInProgress === undefined ? {} : { rewriteInProgress }),
            };
            perCycle.push(r);
            say(
                `  ${o.mode} cycle ${String(cycle).padStart(2)}: ${r.acknowledged} acknowledged, cut ${r.lastAckAgeMs} ms after the last; lost ${r.lostWrites} writes and ${r.lostJobs} jobs, window ${r.windowMs} ms${rewriteInProgress === undefined ? "" : rewriteInProgress ? " (cut during the rewrite)" : " (the rewrite had ended before the cut)"}`,
            );
        }
        const drained = await drain(server, ledger);
        say(
            `  after the last restart: ${drained.completed} of ${drained.surviving} surviving acknowledged jobs completed; ${drained.runTwice} ran twice`,
        );
        lag.disable();
        return {
            mode: o.duringRewrite ? "everysec, cut during an AOF rewrite" : o.mode,
            cycles: o.cycles,
            acknowledgedWrites,
            acknowledgedJobs,
            lostWrites: perCycle.reduce((a, r) => a + r.lostWrites, 0),
            lostJobs: perCycle.reduce((a, r) => a + r.lostJobs, 0),
            lostOlderThanClaim: perCycle.reduce((a, r) => a + r.lostOlderThanClaim, 0),
            windowMs: distribution(perCycle.map((r) => r.windowMs)),
            jobsCompletedAfterRestart: drained.completed,
            jobsSurviving: drained.surviving,
            jobsRunTwice: drained.runTwice,
            timingNoiseMs: { p99: Math.round(lag.percentile(99) / 1e6), max: Math.round(lag.max / 1e6) },
            perCycle,
        };
    } finally {
        lag.disable();
        await close();
    }
}

/**
 * Starts BGREWRITEAOF slowed to last about 3 s (rdb-key-save-delay, per key), waits a random
 * part of that, and returns whether the rewrite was still running just before the cut.
 */
async function rewriteThenWait(server: MountedServer, minLoad: number, maxLoad: number): Promise<boolean> {
    await sleep(minLoad);
    const c = server.client();
    await c.connect();
    try {
        const keys = Math.max(1000, await c.dbsize());
        await c.config("SET", "rdb-key-save-delay", String(Math.round(3_000_000 / keys)));
        await c.bgrewriteaof();
        const until = Date.now() + 2000;
        while (!/aof_rewrite_in_progress:1/.test(await c.info("persistence")) && Date.now() < until) await sleep(10);
        await sleep(Math.random() * Math.max(500, maxLoad - minLoad));
        return /aof_rewrite_in_progress:1/.test(await c.info("persistence"));
    } finally {
        c.disconnect();
    }
}

/** A worker drains the queue; every surviving acknowledged job must end completed. */
async function drain(server: MountedServer, ledger: Ledger): Promise<{ surviving: number; completed: number; runTwice: number }> {
    const queue = new Queue(QUEUE, { connection: producerConnection(server.port) });
    const worker = new Worker(
        QUEUE,
        async (job) => {
            ledger.processed.set(job.id!, (ledger.processed.get(job.id!) ?? 0) + 1);
        },
        { connection: workerConnection(server.port), concurrency: 50, stalledInterval: 1000, maxStalledCount: 100 },
    );
    worker.on("error", () => undefined);
    queue.on("error", () => undefined);
    const closeAll = async () => {
        await Promise.race([Promise.allSettled([worker.close(true), queue.close()]), sleep(5000)]);
    };
    const untrack = onAbort("the drain's worker", closeAll);
    try {
        await waitForDrain(queue, ["wait", "active", "delayed", "prioritized"]);
        const c = server.client();
        await c.connect();
        const ids = [...ledger.jobs.keys()];
        const completed = await countCompleted(c, QUEUE, ids);
        c.disconnect();
        const runTwice = [...ledger.processed.values()].filter((n) => n > 1).length;
        return { surviving: ids.length, completed, runTwice };
    } finally {
        await closeAll();
        untrack();
    }
}

export interface TornWriteResult {
    appendfsync: "always" | "everysec";
    /** LazyFS cut the write and died (its log says so). */
    faultFired: boolean;
    acknowledged: number;
    lost: number;
    /** Lost and acknowledged more than POWER_WINDOW_MS before the fault. */
    lostOlderThanClaim: number;
    /** The server started on the torn AOF by itself (aof-load-truncated covered it). */
    startedAlone: boolean;
    /** When it did not: what `redis-check-aof --fix` said and whether the server then started. */
    fixedByCheckAof?: { output: string; startedAfter: boolean };
    /** What the server said about the AOF on the restart (its log lines on the AOF's load). */
    loadMessage: string;
}

function aofMessages(log: string): string {
    return log
        .split("\n")
        .filter(
            (l) =>
                /AOF|append only|truncat|Bad file|Unexpected|short read/i.test(l) &&
                !/ready to accept|DB loaded|Opening AOF incr|RDB is base|Reading RDB base/i.test(l),
        )
        .map((l) => l.replace(/^\d+:\w \d+ \w+ \d+ [\d:.]+ [*#.-] /, ""))
        .join(" | ");
}

function lastLines(text: string, n: number): string {
    return text.trim().split("\n").slice(-n).join("\n");
}

/**
 * LazyFS's torn-op fault on the AOF: the next write to the current incr file is cut in two,
 * only the first half reaches the disk, and LazyFS dies with everything unsynced. Restart on
 * the same folder: with `aof-load-truncated yes` the server should drop the torn tail and start.
 * With `always`, everything before that write was fsynced, so the half write sits right at the
 * file's end; with `everysec` the unsynced second before it is gone, so the half write lands
 * past the file's synced end and the gap reads back as zeros.
 */
export async function tornWrite(o: { appendfsync: "always" | "everysec"; quiet?: boolean; lazyBin?: string }): Promise<TornWriteResult> {
    const lazyBin = o.lazyBin ?? requireLazyfs();
    const say = (line: string) => {
        if (!o.quiet) process.stdout.write(`${line}\n`);
    };
    const { lazy, server, close } = await mountedServer({
        lazyBin,
        extraArgs: o.appendfsync === "always" ? ["--appendfsync", "always"] : [],
    });
    try {
        const acked = new Map<number, number>();
        const c = server.client();
        c.on("error", () => undefined);
        await c.connect();
        let stop = false;
        const writer = (async () => {
            for (let i = 0; !stop; i++) {
                try {
                    await c.set(`torn:${i}`, `value-${i}`.padEnd(200, "."));
                    acked.set(i, Date.now());
                } catch {
                    return;
                }
                if (i % 10 === 0) await sleep(1);
            }
        })();
        await sleep(1300);
        const aofDir = path.join(lazy.root, "appendonlydir");
        const incr = fs
            .readdirSync(aofDir)
            .filter((f) => f.endsWith(".incr.aof"))
            .sort()
            .at(-1)!;
        lazy.tornOp(path.join(aofDir, incr), 2, [1]);
        const faultAt = Date.now();
        const deadline = Date.now() + 5000;
        while (lazy.daemonAlive && Date.now() < deadline) await sleep(10);
        const faultFired = !lazy.daemonAlive && /will persist/.test(fs.readFileSync(lazy.log, "utf8"));
        await sleep(200);
        stop = true;
        c.disconnect();
        await writer;
        await server.kill9();
        await lazy.remount();
        const logAt = server.logSize();
        let started = true;
        try {
            await server.start();
        } catch {
            started = false;
        }
        const loadMessage = aofMessages(server.logSince(logAt));
        // What an operator would do next: redis-check-aof --fix cuts the AOF at the first bad
        // command (here the start of the zeros); then the server starts with what came before.
        let fixedByCheckAof: TornWriteResult["fixedByCheckAof"];
        if (!started) {
            const manifest = fs.readdirSync(path.join(lazy.root, "appendonlydir")).find((f) => f.endsWith(".manifest"))!;
            const fix = spawnSync("redis-check-aof", ["--fix", path.join(lazy.root, "appendonlydir", manifest)], {
                input: "y\n",
                encoding: "utf8",
            });
            await lazy.remount();
            try {
                await server.start();
                started = true;
                fixedByCheckAof = { output: lastLines(fix.stdout + fix.stderr, 3), startedAfter: true };
            } catch {
                fixedByCheckAof = { output: lastLines(fix.stdout + fix.stderr, 3), startedAfter: false };
            }
        }
        let lost = 0;
        let lostOlder = 0;
        if (started) {
            const after = server.client();
            await after.connect();
            const ids = [...acked.keys()];
            for (let i = 0; i < ids.length; i += 5000) {
                const batch = ids.slice(i, i + 5000);
                const values = await after.mget(...batch.map((n) => `torn:${n}`));
                values.forEach((v, j) => {
                    if (v !== null) return;
                    lost++;
                    if (faultAt - acked.get(batch[j]!)! > POWER_WINDOW_MS) lostOlder++;
                });
            }
            after.disconnect();
        }
        say(
            `  torn write, appendfsync ${o.appendfsync}: fault fired ${faultFired}; ${acked.size} acknowledged; the server ${fixedByCheckAof ? "refused to start" : "started"}: ${loadMessage || "(no AOF message)"}`,
        );
        if (fixedByCheckAof)
            say(`  after redis-check-aof --fix: ${fixedByCheckAof.output.replace(/\n/g, " | ")}; started: ${fixedByCheckAof.startedAfter}`);
        if (started)
            say(`  acknowledged writes lost: ${lost} (acknowledged more than ${POWER_WINDOW_MS / 1000} s before the fault: ${lostOlder})`);
        return {
            appendfsync: o.appendfsync,
            faultFired,
            acknowledged: acked.size,
            startedAlone: !fixedByCheckAof,
            ...(fixedByCheckAof ? { fixedByCheckAof } : {}),
            lost: started ? lost : acked.size,
            lostOlderThanClaim: started ? lostOlder : -1,
            loadMessage,
        };
    } finally {
        await close();
    }
}
