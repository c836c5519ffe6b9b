/**
 * Fault drills on real redis-servers started from the docker-rendered redis.conf: what the
 * seed promises ("max 1 second of data loss on crash", "fail writes when full, don't lose
 * data") measured under faults. `npm run drill` runs them in full; `npm test` a short version.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Queue, Worker } from "bullmq";
import { RedisServer, requireRedisServer, sleep } from "../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../tools/render";
import { absentOnServer } from "../tools/keys";
import { countCompleted, waitForDrain } from "../tools/queue";
import { installExitHandlers, onAbort, runCleanups } from "./exit";
import { redisVersion, requireLazyfs } from "../tools/lazyfs";
import { POWER_WINDOW_MS, type PowerLossResult, type TornWriteResult, powerLoss, tornWrite } from "./powerloss";

/** The everysec window: acknowledged writes younger than this at a crash may be lost. */
export const WINDOW_MS = 2000;
const QUEUE = "drill-jobs";

/** A started server, registered for cleanup on any exit until `untrack()` (after its own destroy). */
async function tracked(starting: Promise<RedisServer>): Promise<RedisServer & { untrack: () => void }> {
    const server = await starting;
    return Object.assign(server, { untrack: onAbort(`redis-server on port ${server.port} (${server.dir})`, () => server.destroy()) });
}

const connection = (s: RedisServer) => ({
    host: "127.0.0.1",
    port: s.port,
    password: TEST_PASSWORD,
    maxRetriesPerRequest: null,
    retryStrategy: () => null,
});
const say = (quiet: boolean, line: string) => {
    if (!quiet) process.stdout.write(`${line}\n`);
};

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
    const server = await tracked(RedisServer.start({ conf: dockerConf() }));
    const acked = new Map<string, number>();
    const result: CrashResult = { cycles: o.cycles, acknowledged: 0, lostOutsideWindow: 0, lostInsideWindow: 0, notCompleted: 0 };
    let next = 0;
    try {
        for (let cycle = 1; cycle <= o.cycles; cycle++) {
            const queue = new Queue(QUEUE, { connection: connection(server) });
            queue.on("error", () => undefined);
            const worker = new Worker(QUEUE, async () => "done", {
                connection: connection(server),
                concurrency: 20,
                stalledInterval: 1000,
                maxStalledCount: 100,
            });
            worker.on("error", () => undefined);
            // On an abort, closed before the server goes (a worker left on a dead connection spins).
            const untrackClients = onAbort("the crash drill's producers and worker", async () => {
                await Promise.allSettled([worker.close(true), queue.close()]);
            });
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
            untrackClients();
            await server.restart(TEST_PASSWORD);

            // A job is present when its hash is (bull:<queue>:<id>): one pipelined EXISTS per job.
            const check = server.client({ password: TEST_PASSWORD });
            await check.connect();
            let outside = 0;
            let inside = 0;
            for (const id of await absentOnServer(check, [...acked.keys()], (id) => `bull:${QUEUE}:${id}`)) {
                if (killedAt - acked.get(id)! > WINDOW_MS) outside++;
                else inside++;
                acked.delete(id);
            }
            check.disconnect();
            result.lostOutsideWindow += outside;
            result.lostInsideWindow += inside;
            say(
                !!o.quiet,
                `cycle ${String(cycle).padStart(2)}: killed after ${next} adds; ${acked.size} acknowledged jobs present; lost ${outside} outside the ${WINDOW_MS / 1000} s window, ${inside} inside it`,
            );
        }
        result.acknowledged = acked.size + result.lostInsideWindow + result.lostOutsideWindow;

        // Every acknowledged job that survived now ends completed (stalled ones are retried).
        const queue = new Queue(QUEUE, { connection: connection(server) });
        const worker = new Worker(QUEUE, async () => "done", {
            connection: connection(server),
            concurrency: 50,
            stalledInterval: 1000,
            maxStalledCount: 100,
        });
        worker.on("error", () => undefined);
        const untrackDrain = onAbort("the crash drill's drain", async () => {
            await Promise.allSettled([worker.close(true), queue.close()]);
        });
        // Until nothing is left, or nothing moved for 30 s (what is left is then counted as not completed).
        await waitForDrain(queue, ["wait", "active", "delayed", "prioritized", "failed"]);
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        result.notCompleted += acked.size - (await countCompleted(c, QUEUE, [...acked.keys()]));
        c.disconnect();
        await worker.close();
        await queue.close();
        untrackDrain();
        say(
            !!o.quiet,
            `after the last restart: ${acked.size - result.notCompleted} of ${acked.size} surviving acknowledged jobs completed`,
        );
        return result;
    } finally {
        await server.destroy();
        server.untrack();
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
    const server = await tracked(RedisServer.start({ conf: dockerConf({ maxmemory: "16mb" }) }));
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
        say(
            !!o.quiet,
            `evicted_keys ${evicted}; while full, workers completed ${completedWhileFull} jobs in 3 s${errorWhileFull ? ` ("${errorWhileFull}...")` : ""}`,
        );

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
        return {
            jobsAdded: ids.length,
            refusal,
            evictedKeys: evicted,
            completedWhileFull,
            errorWhileFull,
            completedAfterRoom: completed,
            lostJobs: lost,
            acceptedAfterDrain: accepted,
        };
    } finally {
        await server.destroy();
        server.untrack();
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
    let server: RedisServer | undefined;
    const cleanup = async () => {
        await server?.stop();
        spawnSync("umount", [dir], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
        fs.rmSync(dir, { recursive: true, force: true });
    };
    const untrack = onAbort(`disk-full tmpfs ${dir}`, cleanup);
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir], {
        encoding: "utf8",
        env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
    });
    if (mount.status !== 0) {
        untrack();
        fs.rmSync(dir, { recursive: true, force: true });
        const reason = `cannot mount a tmpfs here (${(mount.stderr || "mount failed").trim()}); run as root to drill a full disk`;
        say(!!o.quiet, `disk full: not run: ${reason}`);
        return { possible: false, reason, acknowledgedBeforeFull: 0, refusal: "", lostAcknowledged: 0, recovered: false };
    }
    // The rendered file's snapshots and rewrites would race the fill; the AOF alone is under test.
    try {
        server = await RedisServer.start({ conf: dockerConf(), dir, args: ["--auto-aof-rewrite-percentage", "0"] });
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
        await cleanup();
        untrack();
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
    const server = await tracked(RedisServer.start({ conf: dockerConf() }));
    try {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        const written = 1000;
        for (let i = 0; i < written; i++) await c.set(`torn:${i}`, `value-${i}`);
        await sleep(1500); // past the everysec fsync
        c.disconnect();
        await server.kill9();
        const aofDir = path.join(server.dir, "appendonlydir");
        const incr = fs
            .readdirSync(aofDir)
            .filter((f) => f.endsWith(".incr.aof"))
            .sort()
            .at(-1)!;
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
        say(
            !!o.quiet,
            `AOF cut by ${bytesCut} bytes: server started: ${started}; ${present} of ${written} writes present (the torn one is the last)`,
        );
        return { written, bytesCut, started, present };
    } finally {
        await server.destroy();
        server.untrack();
    }
}

export const DRILLS = ["crash", "memory", "disk", "torn", "powerloss"] as const;
export type DrillName = (typeof DRILLS)[number];

export const USAGE = `Usage: npm run drill -- [options]

Fault drills on real redis-servers started from the docker-rendered redis.conf.

  --only LIST          drills to run, comma-separated (default: all):
                         crash      kill -9 under queue load, N cycles
                         memory     maxmemory reached under queue load
                         disk       the data directory's disk fills up (root: mounts a tmpfs)
                         torn       the AOF's tail cut off, restart
                         powerloss  LazyFS power cuts: N everysec cycles; always and kill-only
                                    controls; cuts during an AOF rewrite; torn writes (root, FUSE)
  --cycles N           crash and power-loss cycles (default 20; env DRILL_CYCLES)
  --control-cycles N   cycles of each power-loss control and of the rewrite cut (default 5;
                       env DRILL_CONTROL_CYCLES)
  --out FILE           where the results go (default tmp/drills.json, untracked)
  --write-results      also update the tracked bench/drills.json (drills not run keep their
                       last results there)
  -h, --help           this text

Environment: LAZYFS_BIN, the LazyFS binary for the power-loss drill (else \`lazyfs\` on the PATH).
Exit status: 0 every claim held, 1 a claim failed or a drill could not run, 2 bad arguments,
variables or a missing tool (nothing was started).
Ctrl-C, a closed output pipe or an error stop every server, unmount and remove every folder.`;

export interface DrillArgs {
    help: boolean;
    only: DrillName[];
    cycles: number;
    controlCycles: number;
    out: string;
    writeResults: boolean;
}

export class UsageError extends Error {}

const MAX_CYCLES = 1000;

function positiveInt(value: string, what: string): number {
    if (!/^[0-9]+$/.test(value.trim()) || Number(value) < 1 || Number(value) > MAX_CYCLES) {
        throw new UsageError(`${what} must be a whole number from 1 to ${MAX_CYCLES}, got ${JSON.stringify(value)}`);
    }
    return Number(value);
}

/** Arguments and environment, validated; every problem is a UsageError naming what to fix. */
export function parseDrillArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): DrillArgs {
    const a: DrillArgs = {
        help: false,
        only: [...DRILLS],
        cycles: 20,
        controlCycles: 5,
        out: path.join(__dirname, "..", "tmp", "drills.json"),
        writeResults: false,
    };
    if (env.DRILL_CYCLES !== undefined) a.cycles = positiveInt(env.DRILL_CYCLES, "DRILL_CYCLES");
    if (env.DRILL_CONTROL_CYCLES !== undefined) a.controlCycles = positiveInt(env.DRILL_CONTROL_CYCLES, "DRILL_CONTROL_CYCLES");
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]!;
        const [flag, inline] =
            arg.startsWith("--") && arg.includes("=")
                ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
                : [arg, undefined];
        const value = () => {
            const v = inline ?? argv[++i];
            if (v === undefined || (inline === undefined && v.startsWith("-"))) throw new UsageError(`${flag} needs a value`);
            return v;
        };
        switch (flag) {
            case "-h":
            case "--help":
                a.help = true;
                break;
            case "--cycles":
                a.cycles = positiveInt(value(), "--cycles");
                break;
            case "--control-cycles":
                a.controlCycles = positiveInt(value(), "--control-cycles");
                break;
            case "--only": {
                const names = value()
                    .split(",")
                    .map((x) => x.trim())
                    .filter(Boolean);
                const bad = names.filter((n) => !(DRILLS as readonly string[]).includes(n));
                if (bad.length || !names.length)
                    throw new UsageError(`--only takes drills from ${DRILLS.join(", ")}; got ${JSON.stringify(bad.join(",") || "")}`);
                a.only = DRILLS.filter((d) => names.includes(d));
                break;
            }
            case "--out":
                a.out = path.resolve(value());
                break;
            case "--write-results":
                a.writeResults = true;
                break;
            default:
                throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
        }
    }
    return a;
}

export interface Verdict {
    drill: string;
    pass: boolean;
    line: string;
}

const n = (x: number) => x.toLocaleString("en-US");

const cuts = (k: number) => `${k} cut${k === 1 ? "" : "s"}`;

/** What a p95 over few cycles is: with 20 cycles, the second largest value. */
function rankFromTop(cycles: number): string {
    const r = cycles - Math.ceil(0.95 * cycles) + 1;
    return `with ${cycles} cycles the p95 is the ${r === 1 ? "largest value" : r === 2 ? "second largest value" : `${r}th largest value`}`;
}

/** The power-loss drill's claims and what limits them, one verdict line each. */
export function powerLossVerdicts(p: PowerLossReport): Verdict[] {
    const e = p.everysec;
    const w = e.windowMs;
    const noise = `acknowledgement times recorded up to ${e.timingNoiseMs.p99} ms late (event-loop delay p99; max ${e.timingNoiseMs.max}); LazyFS's fsync is nearly free, so this is the fast-disk case; ${rankFromTop(e.cycles)}`;
    const out: Verdict[] = [
        {
            drill: "power loss, everysec",
            pass: e.lostOlderThanClaim === 0 && w.max < POWER_WINDOW_MS,
            line: `${cuts(e.cycles)}: window min ${w.min} / median ${w.median} / p95 ${w.p95} / max ${w.max} ms against the ${POWER_WINDOW_MS / 1000} s claim; ${e.lostOlderThanClaim} acknowledged writes or jobs older than that lost (${n(e.lostWrites)} writes and ${n(e.lostJobs)} jobs lost inside it, of ${n(e.acknowledgedWrites)} and ${n(e.acknowledgedJobs)}). Noise: ${noise}`,
        },
        {
            drill: "power loss, jobs complete",
            pass: e.jobsCompletedAfterRestart === e.jobsSurviving,
            line: `${n(e.jobsCompletedAfterRestart)} of ${n(e.jobsSurviving)} surviving acknowledged jobs completed after the last restart; ${n(e.jobsRunTwice)} ran twice (done before the cut, completion lost or not yet written: BullMQ runs a job at least once)`,
        },
    ];
    for (const [name, c] of [
        ["always control", p.always],
        ["kill-only control", p.killOnly],
    ] as const) {
        out.push({
            drill: `power loss, ${name}`,
            pass: c.lostWrites + c.lostJobs === 0 && c.jobsCompletedAfterRestart === c.jobsSurviving,
            line: `${cuts(c.cycles)}: ${c.lostWrites + c.lostJobs} of ${n(c.acknowledgedWrites + c.acknowledgedJobs)} acknowledged lost (must be 0: the method finds only what the fsync policy allows)`,
        });
    }
    const r = p.duringRewrite;
    out.push({
        drill: "power loss during an AOF rewrite",
        pass: r.lostOlderThanClaim === 0 && r.windowMs.max < POWER_WINDOW_MS,
        line: `${cuts(r.cycles)} (${r.perCycle.filter((c) => c.rewriteInProgress).length} landed while the rewrite ran): window max ${r.windowMs.max} ms, ${r.lostOlderThanClaim} older than the claim lost. Limit: LazyFS caches file data only, so the renames that switch a rewritten AOF in are durable at once here (Redis fsyncs the manifest and its folder after each rename; a filesystem that loses a rename anyway is not modelled)`,
    });
    const ta = p.tornAlways;
    out.push({
        drill: "torn write, always",
        pass: ta.faultFired && ta.startedAlone && ta.lost === 0,
        line: `fault fired: ${ta.faultFired}; started by itself: ${ta.startedAlone} (${ta.loadMessage || "no AOF message"}); ${ta.lost} acknowledged lost`,
    });
    const te = p.tornEverysec;
    out.push({
        drill: "torn write, everysec",
        // A finding, not a claim of the contract: reported, fails only if something older than the window is lost.
        pass: te.faultFired && te.lostOlderThanClaim === 0,
        line: te.startedAlone
            ? `fault fired: ${te.faultFired}; started by itself; ${te.lost} acknowledged lost, ${te.lostOlderThanClaim} older than ${POWER_WINDOW_MS / 1000} s`
            : `fault fired: ${te.faultFired}; the server REFUSED to start (${te.loadMessage}); aof-load-truncated covers a cut tail, not zeros before it. After redis-check-aof --fix: started ${te.fixedByCheckAof?.startedAfter}, ${te.lost} acknowledged lost, ${te.lostOlderThanClaim} older than ${POWER_WINDOW_MS / 1000} s`,
    });
    return out;
}

export interface PowerLossReport {
    everysec: PowerLossResult;
    always: PowerLossResult;
    killOnly: PowerLossResult;
    duringRewrite: PowerLossResult;
    tornAlways: TornWriteResult;
    tornEverysec: TornWriteResult;
}

export async function powerLossDrill(o: {
    cycles: number;
    controlCycles: number;
    quiet?: boolean;
    lazyBin?: string;
}): Promise<PowerLossReport> {
    const say = (line: string) => {
        if (!o.quiet) process.stdout.write(`${line}\n`);
    };
    const lazyBin = o.lazyBin ?? requireLazyfs();
    const common = { quiet: o.quiet, lazyBin };
    say(`appendfsync everysec: ${o.cycles} cuts at a random moment 1.5 to 4 s into the load`);
    const everysec = await powerLoss({ ...common, mode: "everysec", cycles: o.cycles });
    say(`control, appendfsync always: ${o.controlCycles} cuts`);
    const always = await powerLoss({ ...common, mode: "always", cycles: o.controlCycles });
    say(`control, everysec, kill -9 only (LazyFS keeps its cache): ${o.controlCycles} kills`);
    const killOnly = await powerLoss({ ...common, mode: "kill-only", cycles: o.controlCycles });
    say(`everysec, cut during an AOF rewrite: ${o.controlCycles} cuts`);
    const duringRewrite = await powerLoss({ ...common, mode: "everysec", cycles: o.controlCycles, duringRewrite: true });
    say("torn writes (LazyFS torn-op: half of one AOF write reaches the disk, then the power goes)");
    const tornAlways = await tornWrite({ ...common, appendfsync: "always" });
    const tornEverysec = await tornWrite({ ...common, appendfsync: "everysec" });
    return { everysec, always, killOnly, duringRewrite, tornAlways, tornEverysec };
}

async function main(a: DrillArgs, lazyBin: string | undefined): Promise<number> {
    const out: Record<string, unknown> = {};
    const verdicts: Verdict[] = [];
    if (a.only.includes("crash")) {
        process.stdout.write(`crash under load: ${a.cycles} cycles of kill -9 at a random moment\n`);
        const r = await crashUnderLoad({ cycles: a.cycles });
        out.crash = r;
        verdicts.push({
            drill: "crash under load",
            pass: r.lostOutsideWindow === 0 && r.notCompleted === 0,
            line: `${a.cycles} kills: ${r.lostOutsideWindow} acknowledged jobs lost outside the ${WINDOW_MS / 1000} s window, ${r.lostInsideWindow} inside it, of ${n(r.acknowledged)}; ${r.notCompleted} survivors not completed`,
        });
    }
    if (a.only.includes("memory")) {
        process.stdout.write("\nmemory full\n");
        const r = await memoryFull();
        out.memoryFull = r;
        verdicts.push({
            drill: "memory full",
            pass: r.evictedKeys === 0 && r.lostJobs === 0 && r.acceptedAfterDrain,
            line: `refused after ${n(r.jobsAdded)} jobs; ${r.evictedKeys} evicted; ${r.lostJobs} lost; accepts work again: ${r.acceptedAfterDrain}`,
        });
    }
    if (a.only.includes("disk")) {
        process.stdout.write("\ndisk full\n");
        const r = await diskFull();
        out.diskFull = r;
        verdicts.push({
            drill: "disk full",
            pass: r.possible && r.lostAcknowledged === 0 && r.recovered,
            line: r.possible
                ? `refused after ${r.acknowledgedBeforeFull} writes; ${r.lostAcknowledged} acknowledged lost; writes resumed: ${r.recovered}`
                : `not run: ${r.reason}`,
        });
    }
    if (a.only.includes("torn")) {
        process.stdout.write("\ntruncated AOF\n");
        const r = await truncatedAof();
        out.truncatedAof = r;
        verdicts.push({
            drill: "truncated AOF",
            pass: r.started && r.present >= r.written - 1,
            line: `started: ${r.started}; ${r.present} of ${r.written} writes present`,
        });
    }
    if (a.only.includes("powerloss")) {
        process.stdout.write("\npower loss (LazyFS)\n");
        const r = await powerLossDrill({ cycles: a.cycles, controlCycles: a.controlCycles, lazyBin });
        out.powerLoss = r;
        verdicts.push(...powerLossVerdicts(r));
    }
    const result = { date: new Date().toISOString(), redis: redisVersion(), ...out };
    fs.mkdirSync(path.dirname(a.out), { recursive: true });
    fs.writeFileSync(a.out, `${JSON.stringify(result, null, 2)}\n`);
    const written = [a.out];
    if (a.writeResults) {
        const tracked = path.join(__dirname, "drills.json");
        let previous: Record<string, unknown> = {};
        try {
            previous = JSON.parse(fs.readFileSync(tracked, "utf8")) as Record<string, unknown>;
        } catch {
            /* none yet */
        }
        fs.writeFileSync(tracked, `${JSON.stringify({ ...previous, ...result }, null, 2)}\n`);
        written.push(tracked);
    }
    process.stdout.write("\n");
    for (const v of verdicts) process.stdout.write(`${v.pass ? "PASS" : "FAIL"} ${v.drill}: ${v.line}\n`);
    process.stdout.write(`\nresults: ${written.map((f) => path.relative(process.cwd(), f) || f).join(", ")}\n`);
    return verdicts.every((v) => v.pass) ? 0 : 1;
}

if (require.main === module) {
    let args: DrillArgs;
    try {
        args = parseDrillArgs(process.argv.slice(2));
    } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`drill: ${e.message}\nRun \`npm run drill -- --help\` for usage.\n`);
        process.exit(2);
    }
    if (args.help) {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
    }
    // Tools are checked before anything starts: a missing one is reported in one line.
    let lazyBin: string | undefined;
    try {
        requireRedisServer();
        if (args.only.includes("powerloss")) lazyBin = requireLazyfs();
    } catch (e) {
        process.stderr.write(`drill: ${(e as Error).message}\n`);
        process.exit(2);
    }
    installExitHandlers();
    main(args, lazyBin).then(
        (code) => runCleanups().then(() => process.exit(code)),
        (e) => {
            process.stderr.write(`drill failed: ${(e as Error).stack ?? String(e)}\n`);
            void runCleanups((l) => process.stderr.write(`${l}\n`)).then(() => process.exit(1));
        },
    );
}
