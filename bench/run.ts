/**
 * `npm run bench`: what durability costs, what a `health` run costs the server, and how fast
 * the ops commands start, measured on this machine.
 *
 * Durability: three real redis-servers: (a) redis.conf as the docker target renders it, (b)
 * the same with persistence off (the in-memory ceiling), (c) appendfsync always. Workloads:
 * redis-benchmark pipelined SET, GET, LPUSH, RPOP with 50 clients, and the pipeline's own:
 * BullMQ producers adding jobs while workers complete them. Rounds interleave the
 * configurations; each round gives a ratio of (a) to (b) from servers measured back to back,
 * and the verdict reads the spread of those ratios, not one median.
 *
 * Health: one server grown to 0.1M, 1M and 4M keys (DEBUG POPULATE, named as BullMQ job keys);
 * at each size, the server time of a `health` run with --discover (a SCAN of the keyspace, what
 * every run did before) and without (the declared queues only), from INFO commandstats.
 *
 * Start-up: `npm run smoke -- --help` and `npm run smoke -- --outputs FILE` on a healthy server,
 * wall clock from starting npm to its exit.
 *
 * Results go to tmp/bench/ (untracked) unless --out names a folder; --write-results also
 * updates the tracked bench/results.json and bench/results.svg. Every server and folder is
 * removed on any exit: Ctrl-C, a closed output pipe, an error.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Queue, Worker } from "bullmq";
import { RedisServer, requireRedisServer } from "../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../tools/render";
import { outputsFor } from "../tools/outputs";
import { applyOverrides, parseRedisConf, renderRedisConf } from "../src/redisConf";
import { collectHealth } from "../src/ops/health";
import { installExitHandlers, isExiting, leave, onAbort } from "./exit";

export const USAGE = `Usage: npm run bench -- [options]

  --durability      only the durability comparison (a/b/c servers)
  --health          only the health cost at 0.1M, 1M and 4M keys
  --startup         only the ops commands' start-up: npm run smoke -- --help, and
                    npm run smoke -- --outputs FILE on a healthy server, wall clock with npm
                    (default: all three)
  --out DIR         where results.json and results.svg go (default tmp/bench/, untracked)
  --write-results   also update the tracked bench/results.json and bench/results.svg
  --plot            redraw results.svg from results.json in --out (default bench/), measure nothing
  -h, --help        this text

Environment (whole numbers): BENCH_ROUNDS (default 3, 1-100), BENCH_REQUESTS (200000),
BENCH_JOBS (5000), BENCH_CONCURRENCY (50), BENCH_HEALTH_RUNS (3 health runs per size),
BENCH_STARTUP_RUNS (5 runs of each start-up measure).
Exit status: 0 measured (whatever the verdict), 1 a measurement failed, 2 bad arguments or
variables (nothing was started). Ctrl-C, a closed output pipe or an error stop every server
and remove every folder.`;

export class UsageError extends Error {}

export interface BenchArgs {
    help: boolean;
    durability: boolean;
    health: boolean;
    startup: boolean;
    plot: boolean;
    out: string;
    writeResults: boolean;
    rounds: number;
    requests: number;
    jobs: number;
    concurrency: number;
    healthRuns: number;
    startupRuns: number;
}

const ROOT = path.join(__dirname, "..");

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
    const v = env[name];
    if (v === undefined) return fallback;
    if (!/^[0-9]+$/.test(v.trim()) || Number(v) < min || Number(v) > max)
        throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return Number(v);
}

/** Arguments and environment, validated before anything starts; each problem a UsageError. */
export function parseBenchArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchArgs {
    const a: BenchArgs = {
        help: false,
        durability: false,
        health: false,
        startup: false,
        plot: false,
        out: path.join(ROOT, "tmp", "bench"),
        writeResults: false,
        rounds: wholeNumber(env, "BENCH_ROUNDS", 3, 1, 100),
        requests: wholeNumber(env, "BENCH_REQUESTS", 200_000, 1000, 100_000_000),
        jobs: wholeNumber(env, "BENCH_JOBS", 5000, 10, 10_000_000),
        concurrency: wholeNumber(env, "BENCH_CONCURRENCY", 50, 1, 10_000),
        healthRuns: wholeNumber(env, "BENCH_HEALTH_RUNS", 3, 1, 100),
        startupRuns: wholeNumber(env, "BENCH_STARTUP_RUNS", 5, 1, 100),
    };
    let outGiven = false;
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]!;
        switch (arg) {
            case "-h":
            case "--help":
                a.help = true;
                break;
            case "--durability":
                a.durability = true;
                break;
            case "--health":
                a.health = true;
                break;
            case "--startup":
                a.startup = true;
                break;
            case "--plot":
                a.plot = true;
                break;
            case "--write-results":
                a.writeResults = true;
                break;
            case "--out": {
                const v = argv[++i];
                if (v === undefined || v.startsWith("-")) throw new UsageError("--out needs a folder");
                a.out = path.resolve(v);
                outGiven = true;
                break;
            }
            default:
                throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
        }
    }
    if (!a.durability && !a.health && !a.startup) a.durability = a.health = a.startup = true;
    if (a.plot && !outGiven) a.out = __dirname;
    return a;
}

// Everything that must go on any exit registers its cleanup (bench/exit.ts): servers (with
// their folders) and child processes.
const servers = new Map<RedisServer, () => void>();

async function startServer(conf: string, args: string[] = []): Promise<RedisServer> {
    const s = await RedisServer.start({ conf, args });
    servers.set(
        s,
        onAbort("redis-server", () => s.destroy()),
    );
    return s;
}
async function destroyServer(s: RedisServer): Promise<void> {
    await s.destroy();
    servers.get(s)?.();
    servers.delete(s);
}
const say = (text: string) => {
    if (!isExiting()) process.stdout.write(text);
};

function run(cmd: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(cmd, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
            off();
            if (err) reject(new Error(`${cmd} failed: ${err.message.split("\n")[0]}`));
            else resolve(stdout);
        });
        const off = onAbort(cmd, () => void child.kill("SIGKILL"));
    });
}

const COMMANDS = ["SET", "GET", "LPUSH", "RPOP"] as const;

/** Ratios of (a) to (b) the project aims for; tracked here and in the README, never asserted in a test. */
export const TARGETS = { pipelined: 0.95, bullmq: 0.9 };

const CONFIGS = {
    a: { label: "(a) repo redis.conf (AOF everysec + RDB)", conf: () => dockerConf() },
    b: { label: "(b) persistence off", conf: () => override({ appendonly: "no", save: ['""'] }) },
    c: { label: "(c) appendfsync always", conf: () => override({ appendfsync: "always" }) },
} as const;
type ConfigName = keyof typeof CONFIGS;

function override(extra: Record<string, string | string[]>): string {
    return renderRedisConf(applyOverrides(parseRedisConf(dockerConf()), { extra }));
}

interface Sample {
    ops: Record<(typeof COMMANDS)[number], number>;
    bullmq: { jobsPerSec: number; p50Ms: number; p99Ms: number };
}

async function redisBenchmark(server: RedisServer, requests: number): Promise<Sample["ops"]> {
    // -a on the command line is visible to `ps` on this machine for the few seconds of a run; the
    // server is a throwaway on loopback with a test password.
    const csv = await run("redis-benchmark", [
        "-h",
        "127.0.0.1",
        "-p",
        String(server.port),
        "-a",
        TEST_PASSWORD,
        "-c",
        "50",
        "-P",
        "16",
        "-n",
        String(requests),
        "-t",
        "set,get,lpush,rpop",
        "--csv",
        "-q",
    ]);
    const ops = {} as Sample["ops"];
    for (const line of csv.trim().split("\n")) {
        const cells = line.split(",").map((c) => c.replace(/"/g, ""));
        const name = cells[0]!.split(" ")[0] as (typeof COMMANDS)[number];
        if ((COMMANDS as readonly string[]).includes(name)) ops[name] = Number(cells[1]);
    }
    for (const c of COMMANDS) if (!(ops[c]! > 0)) throw new Error(`redis-benchmark gave no ${c} figure`);
    return ops;
}

async function bullmqWorkload(server: RedisServer, jobs: number, concurrency: number): Promise<Sample["bullmq"]> {
    const connection = { host: "127.0.0.1", port: server.port, password: TEST_PASSWORD, maxRetriesPerRequest: null };
    const name = `bench-${Date.now()}`;
    const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000 } });
    const latencies: number[] = [];
    const worker = new Worker(name, async () => "ok", { connection, concurrency, autorun: false });
    const done = new Promise<void>((resolve) => {
        worker.on("completed", (job) => {
            latencies.push(Date.now() - job.timestamp);
            if (latencies.length === jobs) resolve();
        });
    });
    const started = Date.now();
    void worker.run();
    // Four producers, each adding its share one job at a time, as the pipeline's API handlers do.
    await Promise.all(
        Array.from({ length: 4 }, async (_, p) => {
            for (let i = p; i < jobs; i += 4) await queue.add("job", { i });
        }),
    );
    await done;
    const seconds = (Date.now() - started) / 1000;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    latencies.sort((x, y) => x - y);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    return { jobsPerSec: jobs / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A ratio across rounds: its median and its spread. */
export interface Spread {
    median: number;
    min: number;
    max: number;
    rounds: number;
}
export function spread(xs: number[]): Spread {
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), rounds: xs.length };
}

/**
 * Whether a ratio meets its target, said with the noise: "met" only when every round's ratio
 * is at or above it, "NOT met" only when every one is below, and "not measurable here" when
 * the rounds fall on both sides (or there are too few to tell).
 */
export function verdict(s: Spread, target: number): string {
    const range = `${s.median.toFixed(3)} (${s.min.toFixed(3)} to ${s.max.toFixed(3)} across ${s.rounds} round${s.rounds > 1 ? "s" : ""})`;
    if (s.rounds < 3)
        return `${range}: not measurable with ${s.rounds} round${s.rounds > 1 ? "s" : ""} against ${target} (BENCH_ROUNDS=5 or more)`;
    if (s.min >= target) return `${range}: met (>= ${target})`;
    if (s.max < target) return `${range}: NOT met (< ${target})`;
    return `${range}: not measurable here, the spread covers the target ${target}`;
}

type Summary = Record<ConfigName, { label: string; ops: Record<string, number>; bullmq: Sample["bullmq"] }>;

async function durability(a: BenchArgs): Promise<Record<string, unknown>> {
    const samples: Record<ConfigName, Sample[]> = { a: [], b: [], c: [] };
    const started = {} as Record<ConfigName, RedisServer>;
    try {
        for (const name of Object.keys(CONFIGS) as ConfigName[]) started[name] = await startServer(CONFIGS[name].conf());
        for (let round = 1; round <= a.rounds; round++) {
            // Rotate the order each round so that no configuration always runs first (warm caches, page cache).
            const order = (["a", "b", "c"] as ConfigName[]).map((_, i, all) => all[(i + round - 1) % all.length]!);
            for (const name of order) {
                say(`round ${round}/${a.rounds} ${CONFIGS[name].label}: redis-benchmark ... `);
                const ops = await redisBenchmark(started[name], a.requests);
                say(`BullMQ ${a.jobs} jobs ... `);
                const bullmq = await bullmqWorkload(started[name], a.jobs, a.concurrency);
                samples[name].push({ ops, bullmq });
                say(`${Math.round(ops.SET)} SET/s, ${Math.round(bullmq.jobsPerSec)} jobs/s\n`);
            }
        }
    } finally {
        for (const s of Object.values(started)) await destroyServer(s);
    }

    const summary = Object.fromEntries(
        (Object.keys(CONFIGS) as ConfigName[]).map((name) => {
            const s = samples[name];
            return [
                name,
                {
                    label: CONFIGS[name].label,
                    ops: Object.fromEntries(COMMANDS.map((cmd) => [cmd, median(s.map((x) => x.ops[cmd]))])),
                    bullmq: {
                        jobsPerSec: median(s.map((x) => x.bullmq.jobsPerSec)),
                        p50Ms: median(s.map((x) => x.bullmq.p50Ms)),
                        p99Ms: median(s.map((x) => x.bullmq.p99Ms)),
                    },
                },
            ];
        }),
    ) as Summary;
    // Per-round ratios: (a) and (b) of the same round ran back to back, under the same load.
    const perRound = (name: ConfigName) =>
        ({
            ...Object.fromEntries(COMMANDS.map((cmd) => [cmd, spread(samples[name].map((x, r) => x.ops[cmd] / samples.b[r]!.ops[cmd]))])),
            bullmq: spread(samples[name].map((x, r) => x.bullmq.jobsPerSec / samples.b[r]!.bullmq.jobsPerSec)),
        }) as Record<string, Spread>;
    const ratios = { a: perRound("a"), c: perRound("c") };

    const rows = [["configuration", ...COMMANDS.map((c) => `${c}/s`), "BullMQ jobs/s", "p50 ms", "p99 ms"]];
    for (const name of Object.keys(CONFIGS) as ConfigName[]) {
        const s = summary[name];
        rows.push([
            s.label,
            ...COMMANDS.map((c) => String(Math.round(s.ops[c]!))),
            String(Math.round(s.bullmq.jobsPerSec)),
            String(s.bullmq.p50Ms),
            String(s.bullmq.p99Ms),
        ]);
    }
    say(`\n${table(rows)}`);
    say(`\n(a)/(b) per round, median (lowest to highest):\n`);
    for (const w of [...COMMANDS, "bullmq"])
        say(`  ${w.padEnd(6)}  ${verdict(ratios.a[w]!, w === "bullmq" ? TARGETS.bullmq : TARGETS.pipelined)}\n`);
    return {
        machine: machine(),
        redis: execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim(),
        settings: {
            rounds: a.rounds,
            requests: a.requests,
            clients: 50,
            pipeline: 16,
            jobs: a.jobs,
            workerConcurrency: a.concurrency,
            producers: 4,
        },
        summary,
        ratioToB: ratios,
        verdicts: Object.fromEntries(
            [...COMMANDS, "bullmq"].map((w) => [w, verdict(ratios.a[w]!, w === "bullmq" ? TARGETS.bullmq : TARGETS.pipelined)]),
        ),
        targets: TARGETS,
        samples,
    };
}

/** Keyspace sizes the health section grows one server through. */
export const HEALTH_SIZES = [100_000, 1_000_000, 4_000_000];

interface HealthRun {
    serverMs: number;
    commands: number;
    wallMs: number;
}

/** Server time (INFO commandstats usec, summed) and commands of one health run, from a reset. */
async function measureHealth(admin: ReturnType<RedisServer["client"]>, server: RedisServer, discover: boolean): Promise<HealthRun> {
    await admin.config("RESETSTAT");
    const t = process.hrtime.bigint();
    await collectHealth(outputsFor(server), { discover });
    const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
    const text = await admin.info("commandstats");
    let usec = 0;
    let commands = 0;
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        if (m[1] === "config|resetstat") continue;
        commands += Number(m[2]);
        usec += Number(m[3]);
    }
    return { serverMs: usec / 1000, commands, wallMs };
}

async function healthCost(a: BenchArgs): Promise<Record<string, unknown>> {
    // Persistence off and room for 4M keys: the keyspace is built, not kept.
    const server = await startServer(dockerConf(), [
        "--enable-debug-command",
        "yes",
        "--maxmemory",
        "2gb",
        "--appendonly",
        "no",
        "--save",
        "",
    ]);
    const admin = server.client({ password: TEST_PASSWORD });
    const sizes: Record<string, unknown>[] = [];
    try {
        await admin.connect();
        const queue = new Queue("pipeline-jobs", { connection: { host: "127.0.0.1", port: server.port, password: TEST_PASSWORD } });
        await queue.addBulk([1, 2, 3].map((i) => ({ name: "w", data: { i } })));
        await queue.close();
        const rows = [
            [
                "keys",
                "with --discover (before): server ms",
                "commands",
                "wall ms",
                "declared queues (after): server ms",
                "commands",
                "wall ms",
            ],
        ];
        for (const keys of HEALTH_SIZES) {
            say(`health: growing the keyspace to ${keys.toLocaleString("en")} keys ... `);
            await admin.call("DEBUG", "POPULATE", String(keys), "bull:pipeline-jobs:job");
            const before: HealthRun[] = [];
            const after: HealthRun[] = [];
            for (let r = 0; r < a.healthRuns; r++) {
                before.push(await measureHealth(admin, server, true));
                after.push(await measureHealth(admin, server, false));
            }
            say("measured\n");
            const ms = (runs: HealthRun[], k: "serverMs" | "wallMs") => spread(runs.map((x) => x[k]));
            const cell = (s: Spread) =>
                s.rounds > 1 ? `${s.median.toFixed(1)} (${s.min.toFixed(1)}-${s.max.toFixed(1)})` : s.median.toFixed(1);
            rows.push([
                keys.toLocaleString("en"),
                cell(ms(before, "serverMs")),
                String(before[0]!.commands),
                cell(ms(before, "wallMs")),
                cell(ms(after, "serverMs")),
                String(after[0]!.commands),
                cell(ms(after, "wallMs")),
            ]);
            sizes.push({ keys: Number(await admin.dbsize()), before, after });
        }
        say(`\nhealth, one run, median of ${a.healthRuns} (lowest-highest):\n${table(rows)}`);
    } finally {
        admin.disconnect();
        await destroyServer(server);
    }
    return {
        machine: machine(),
        redis: execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim(),
        runs: a.healthRuns,
        sizes,
    };
}

/** Wall-clock seconds the ops commands may take to start and answer, npm included; tracked here and in the README, never asserted in a test. */
export const STARTUP_TARGETS = { help: 0.5, smoke: 1 };

/** Seconds from starting `npm run ARGS` in the repository to its exit; rejects when it fails. */
function timedNpm(args: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
        const t = process.hrtime.bigint();
        const child = execFile("npm", ["run", ...args], { cwd: ROOT, encoding: "utf8" }, (err, _stdout, stderr) => {
            off();
            if (err) reject(new Error(`npm run ${args.join(" ")} failed: ${(stderr.trim() || err.message).split("\n")[0]}`));
            else resolve(Number(process.hrtime.bigint() - t) / 1e9);
        });
        const off = onAbort("npm", () => void child.kill("SIGKILL"));
    });
}

/**
 * The ops commands' start-up, as a user meets it: `npm run smoke -- --help`, and `npm run smoke
 * -- --outputs FILE` against a healthy local server (every check passing), each timed from
 * starting npm to its exit, after one unmeasured run (which fills Node's compile cache, as a
 * user's first run does).
 */
async function startup(a: BenchArgs): Promise<Record<string, unknown>> {
    const server = await startServer(dockerConf());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-bench-startup-"));
    const offDir = onAbort("folder", () => fs.rmSync(dir, { recursive: true, force: true }));
    try {
        const file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputsFor(server)), { mode: 0o600 });
        say(`startup: ${a.startupRuns} runs of each ... `);
        await timedNpm(["smoke", "--", "--help"]);
        const help: number[] = [];
        const smoke: number[] = [];
        for (let r = 0; r < a.startupRuns; r++) {
            help.push(await timedNpm(["smoke", "--", "--help"]));
            smoke.push(await timedNpm(["smoke", "--", "--outputs", file]));
        }
        say("measured\n");
        const row = (what: string, xs: number[], target: number) => {
            const s = spread(xs);
            const within = s.max <= target ? "met" : s.min > target ? "NOT met" : "not measurable here, the spread covers the target";
            return [what, `${s.median.toFixed(2)} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`, `${target}`, within];
        };
        const rows = [
            ["command", "wall s, median (lowest-highest)", "target s", "verdict"],
            row("npm run smoke -- --help", help, STARTUP_TARGETS.help),
            row("npm run smoke -- --outputs FILE", smoke, STARTUP_TARGETS.smoke),
        ];
        say(`\nops start-up, npm included (load average ${os.loadavg()[0]!.toFixed(1)}):\n${table(rows)}`);
        return { machine: machine(), runs: a.startupRuns, targets: STARTUP_TARGETS, helpSeconds: help, smokeSeconds: smoke };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        offDir();
        await destroyServer(server);
    }
}

function machine() {
    return {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
        node: process.version,
        loadAverage: os.loadavg().map((l) => Math.round(l * 10) / 10),
    };
}

function table(rows: string[][]): string {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    return `${rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n")}\n`;
}

/** Writes results into `dir`, keeping the sections of an earlier results.json that this run did not measure. */
function writeResults(dir: string, sections: Record<string, unknown>): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "results.json");
    let previous: Record<string, unknown> = {};
    try {
        previous = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        /* none yet */
    }
    // An earlier file held the durability section at its top level.
    const old = previous.durability ?? (previous.summary ? previous : undefined);
    const merged = { date: new Date().toISOString(), durability: old, health: previous.health, startup: previous.startup, ...sections };
    fs.writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
    const written = [file];
    const d = merged.durability as { summary?: Summary } | undefined;
    if (d?.summary) {
        fs.writeFileSync(path.join(dir, "results.svg"), plot(d.summary));
        written.push(path.join(dir, "results.svg"));
    }
    return written;
}

/** Two panels: throughput relative to (b) per workload, and BullMQ latency per configuration. */
export function plot(summary: Record<ConfigName, { label: string; ops: Record<string, number>; bullmq: Sample["bullmq"] }>): string {
    const names = ["a", "b", "c"] as ConfigName[];
    const colors: Record<ConfigName, string> = { a: "#2b6cb0", b: "#a0aec0", c: "#c05621" };
    const workloads = [...COMMANDS, "BullMQ"];
    const rel = (name: ConfigName, w: string) =>
        w === "BullMQ" ? summary[name].bullmq.jobsPerSec / summary.b.bullmq.jobsPerSec : summary[name].ops[w]! / summary.b.ops[w]!;
    const W = 900,
        H = 360,
        left = 60,
        top = 40,
        ph = 240,
        pw = 480;
    const out: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
        `<rect width="${W}" height="${H}" fill="white"/>`,
    ];
    out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">Throughput relative to persistence off (b)</text>`);
    const max = 1.2;
    for (const t of [0, 0.25, 0.5, 0.75, 1, 1.2]) {
        const y = top + ph - (t / max) * ph;
        out.push(
            `<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="#e2e8f0"/><text x="${left - 8}" y="${y + 4}" text-anchor="end">${t.toFixed(2)}</text>`,
        );
    }
    const groupW = pw / workloads.length;
    workloads.forEach((w, gi) => {
        names.forEach((n, ni) => {
            const v = Math.min(rel(n, w), max);
            const h = (v / max) * ph;
            const x = left + gi * groupW + 10 + ni * ((groupW - 20) / 3);
            out.push(
                `<rect x="${x.toFixed(1)}" y="${(top + ph - h).toFixed(1)}" width="${((groupW - 20) / 3 - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[n]}"><title>${summary[n].label} ${w}: ${rel(n, w).toFixed(3)}</title></rect>`,
            );
        });
        out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + ph + 16}" text-anchor="middle">${w}</text>`);
    });
    const lx = left + pw + 60;
    out.push(`<text x="${lx}" y="20" font-size="14" font-weight="bold">BullMQ enqueue-to-complete (ms)</text>`);
    const lmax = Math.max(...names.map((n) => summary[n].bullmq.p99Ms), 1);
    names.forEach((n, i) => {
        const y = top + 20 + i * 60;
        const b = summary[n].bullmq;
        for (const [k, v, dy] of [
            ["p50", b.p50Ms, 0],
            ["p99", b.p99Ms, 22],
        ] as const) {
            const wpx = (v / lmax) * 220;
            out.push(
                `<text x="${lx}" y="${y + dy + 13}">${n} ${k}</text><rect x="${lx + 50}" y="${y + dy}" width="${wpx.toFixed(1)}" height="18" fill="${colors[n]}" opacity="${k === "p50" ? 1 : 0.6}"/><text x="${(lx + 56 + wpx).toFixed(1)}" y="${y + dy + 13}">${v}</text>`,
            );
        }
    });
    const target = top + ph - (TARGETS.pipelined / max) * ph;
    out.push(
        `<line x1="${left}" x2="${left + pw}" y1="${target}" y2="${target}" stroke="#2b6cb0" stroke-dasharray="4 3"/><text x="${left + pw}" y="${target - 4}" text-anchor="end" fill="#2b6cb0">target for (a): ${TARGETS.pipelined}</text>`,
    );
    for (const [i, n] of names.entries()) {
        out.push(
            `<rect x="${left + i * 280}" y="${H - 40}" width="12" height="12" fill="${colors[n]}"/><text x="${left + i * 280 + 18}" y="${H - 30}">${summary[n].label}</text>`,
        );
    }
    out.push("</svg>");
    return `${out.join("\n")}\n`;
}

/** `--plot`: redraw results.svg from results.json without measuring again. */
function replot(dir: string): void {
    const results = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
    const summary = (results.durability ?? results).summary;
    if (!summary) throw new UsageError(`${path.join(dir, "results.json")} holds no durability results to plot`);
    fs.writeFileSync(path.join(dir, "results.svg"), plot(summary));
    say(`wrote ${path.relative(process.cwd(), path.join(dir, "results.svg"))} from results.json\n`);
}

export async function main(argv: string[]): Promise<number> {
    let a: BenchArgs;
    try {
        a = parseBenchArgs(argv);
    } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`bench: ${e.message}\nRun \`npm run bench -- --help\` for usage.\n`);
        return 2;
    }
    if (a.help) {
        say(`${USAGE}\n`);
        return 0;
    }
    if (a.plot) {
        replot(a.out);
        return 0;
    }
    try {
        requireRedisServer();
    } catch (e) {
        process.stderr.write(`bench: ${(e as Error).message}\n`);
        return 2;
    }
    installExitHandlers({ prefix: "bench: ", name: "bench", what: () => `stopping ${servers.size} server(s) and removing their folders` });
    const sections: Record<string, unknown> = {};
    if (a.durability) sections.durability = await durability(a);
    if (a.health) sections.health = await healthCost(a);
    if (a.startup) sections.startup = await startup(a);
    const written = [...writeResults(a.out, sections), ...(a.writeResults ? writeResults(__dirname, sections) : [])];
    say(`wrote ${written.map((f) => path.relative(process.cwd(), f)).join(", ")}\n`);
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (isExiting() ? undefined : process.exit(code)),
        (e: Error) => leave(1, `failed: ${e.message}`),
    );
}
