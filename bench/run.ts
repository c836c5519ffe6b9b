/**
 * `npm run bench`: what durability costs, measured side by side on this machine.
 * Three real redis-servers: (a) redis.conf as the docker target renders it, (b) the same with
 * persistence off (the in-memory ceiling), (c) appendfsync always. Workloads: redis-benchmark
 * pipelined SET, GET, LPUSH, RPOP with 50 clients, and the pipeline's own: BullMQ producers
 * adding jobs while workers complete them. Rounds interleave the configurations; medians are
 * reported, with each configuration's ratio to (b). Writes bench/results.json and
 * bench/results.svg.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Queue, Worker } from "bullmq";
import { RedisServer } from "../test/helpers/redisServer";
import { TEST_PASSWORD, dockerConf } from "../test/helpers/render";
import { applyOverrides, parseRedisConf, renderRedisConf } from "../src/redisConf";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200_000);
const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
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

function redisBenchmark(server: RedisServer): Sample["ops"] {
    // -a on the command line is visible to `ps` on this machine for the few seconds of a run; the
    // server is a throwaway on loopback with a test password.
    const csv = execFileSync("redis-benchmark", [
        "-h", "127.0.0.1", "-p", String(server.port), "-a", TEST_PASSWORD, "-c", "50",
        "-P", "16", "-n", String(REQUESTS), "-t", "set,get,lpush,rpop", "--csv", "-q",
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const ops = {} as Sample["ops"];
    for (const line of csv.trim().split("\n")) {
        const cells = line.split(",").map((c) => c.replace(/"/g, ""));
        const name = cells[0]!.split(" ")[0] as (typeof COMMANDS)[number];
        if ((COMMANDS as readonly string[]).includes(name)) ops[name] = Number(cells[1]);
    }
    return ops;
}

async function bullmqWorkload(server: RedisServer): Promise<Sample["bullmq"]> {
    const connection = { host: "127.0.0.1", port: server.port, password: TEST_PASSWORD, maxRetriesPerRequest: null };
    const name = `bench-${Date.now()}`;
    const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000 } });
    const latencies: number[] = [];
    const worker = new Worker(name, async () => "ok", { connection, concurrency: CONCURRENCY, autorun: false });
    const done = new Promise<void>((resolve) => {
        worker.on("completed", (job) => {
            latencies.push(Date.now() - job.timestamp);
            if (latencies.length === JOBS) resolve();
        });
    });
    const started = Date.now();
    void worker.run();
    // Four producers, each adding its share one job at a time, as the pipeline's API handlers do.
    await Promise.all(Array.from({ length: 4 }, async (_, p) => {
        for (let i = p; i < JOBS; i += 4) await queue.add("job", { i });
    }));
    await done;
    const seconds = (Date.now() - started) / 1000;
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    latencies.sort((x, y) => x - y);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    return { jobsPerSec: JOBS / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

async function main(): Promise<void> {
    const servers = {} as Record<ConfigName, RedisServer>;
    for (const name of Object.keys(CONFIGS) as ConfigName[]) servers[name] = await RedisServer.start({ conf: CONFIGS[name].conf() });
    const samples: Record<ConfigName, Sample[]> = { a: [], b: [], c: [] };
    try {
        for (let round = 1; round <= ROUNDS; round++) {
            // Rotate the order each round so that no configuration always runs first (warm caches, page cache).
            const order = (["a", "b", "c"] as ConfigName[]).map((_, i, all) => all[(i + round - 1) % all.length]!);
            for (const name of order) {
                process.stdout.write(`round ${round}/${ROUNDS} ${CONFIGS[name].label}: redis-benchmark ... `);
                const ops = redisBenchmark(servers[name]);
                process.stdout.write(`BullMQ ${JOBS} jobs ... `);
                const bullmq = await bullmqWorkload(servers[name]);
                samples[name].push({ ops, bullmq });
                process.stdout.write(`${Math.round(ops.SET)} SET/s, ${Math.round(bullmq.jobsPerSec)} jobs/s\n`);
            }
        }
    } finally {
        for (const s of Object.values(servers)) await s.destroy();
    }

    const summary = Object.fromEntries((Object.keys(CONFIGS) as ConfigName[]).map((name) => {
        const s = samples[name];
        return [name, {
            label: CONFIGS[name].label,
            ops: Object.fromEntries(COMMANDS.map((cmd) => [cmd, median(s.map((x) => x.ops[cmd]))])),
            bullmq: { jobsPerSec: median(s.map((x) => x.bullmq.jobsPerSec)), p50Ms: median(s.map((x) => x.bullmq.p50Ms)), p99Ms: median(s.map((x) => x.bullmq.p99Ms)) },
        }];
    })) as Record<ConfigName, { label: string; ops: Record<string, number>; bullmq: Sample["bullmq"] }>;
    const ratio = (name: ConfigName): Record<string, number> => ({
        ...Object.fromEntries(COMMANDS.map((cmd) => [cmd, summary[name].ops[cmd]! / summary.b.ops[cmd]!])),
        bullmq: summary[name].bullmq.jobsPerSec / summary.b.bullmq.jobsPerSec,
    });

    const rows = [["configuration", ...COMMANDS.map((c) => `${c}/s`), "BullMQ jobs/s", "p50 ms", "p99 ms", "ratio to (b): cmds min", "BullMQ"]];
    for (const name of Object.keys(CONFIGS) as ConfigName[]) {
        const s = summary[name];
        const r = ratio(name);
        rows.push([s.label, ...COMMANDS.map((c) => String(Math.round(s.ops[c]!))), String(Math.round(s.bullmq.jobsPerSec)), String(s.bullmq.p50Ms), String(s.bullmq.p99Ms),
            Math.min(...COMMANDS.map((c) => r[c]!)).toFixed(3), r.bullmq!.toFixed(3)]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    process.stdout.write("\n" + rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n") + "\n");
    const ra = ratio("a");
    const pipelinedOk = COMMANDS.every((c) => ra[c]! >= TARGETS.pipelined);
    process.stdout.write(`\ntargets: (a)/(b) >= ${TARGETS.pipelined} for pipelined commands: ${pipelinedOk ? "met" : "NOT met"}; >= ${TARGETS.bullmq} for BullMQ jobs/s: ${ra.bullmq! >= TARGETS.bullmq ? "met" : "NOT met"}\n`);

    const results = {
        date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version },
        redis: execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim(),
        settings: { rounds: ROUNDS, requests: REQUESTS, clients: 50, pipeline: 16, jobs: JOBS, workerConcurrency: CONCURRENCY, producers: 4 },
        summary,
        ratioToB: { a: ratio("a"), c: ratio("c") },
        targets: TARGETS,
        samples,
    };
    fs.writeFileSync(path.join(__dirname, "results.json"), JSON.stringify(results, null, 2) + "\n");
    fs.writeFileSync(path.join(__dirname, "results.svg"), plot(summary));
    process.stdout.write("wrote bench/results.json and bench/results.svg\n");
}

/** Two panels: throughput relative to (b) per workload, and BullMQ latency per configuration. */
export function plot(summary: Record<ConfigName, { label: string; ops: Record<string, number>; bullmq: Sample["bullmq"] }>): string {
    const names = ["a", "b", "c"] as ConfigName[];
    const colors: Record<ConfigName, string> = { a: "#2b6cb0", b: "#a0aec0", c: "#c05621" };
    const workloads = [...COMMANDS, "BullMQ"];
    const rel = (name: ConfigName, w: string) => (w === "BullMQ" ? summary[name].bullmq.jobsPerSec / summary.b.bullmq.jobsPerSec : summary[name].ops[w]! / summary.b.ops[w]!);
    const W = 900, H = 360, left = 60, top = 40, ph = 240, pw = 480;
    const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
    out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">Throughput relative to persistence off (b)</text>`);
    const max = 1.2;
    for (const t of [0, 0.25, 0.5, 0.75, 1, 1.2]) {
        const y = top + ph - (t / max) * ph;
        out.push(`<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="#e2e8f0"/><text x="${left - 8}" y="${y + 4}" text-anchor="end">${t.toFixed(2)}</text>`);
    }
    const groupW = pw / workloads.length;
    workloads.forEach((w, gi) => {
        names.forEach((n, ni) => {
            const v = Math.min(rel(n, w), max);
            const h = (v / max) * ph;
            const x = left + gi * groupW + 10 + ni * ((groupW - 20) / 3);
            out.push(`<rect x="${x.toFixed(1)}" y="${(top + ph - h).toFixed(1)}" width="${((groupW - 20) / 3 - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[n]}"><title>${summary[n].label} ${w}: ${rel(n, w).toFixed(3)}</title></rect>`);
        });
        out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${top + ph + 16}" text-anchor="middle">${w}</text>`);
    });
    const lx = left + pw + 60;
    out.push(`<text x="${lx}" y="20" font-size="14" font-weight="bold">BullMQ enqueue-to-complete (ms)</text>`);
    const lmax = Math.max(...names.map((n) => summary[n].bullmq.p99Ms), 1);
    names.forEach((n, i) => {
        const y = top + 20 + i * 60;
        const b = summary[n].bullmq;
        for (const [k, v, dy] of [["p50", b.p50Ms, 0], ["p99", b.p99Ms, 22]] as const) {
            const wpx = (v / lmax) * 220;
            out.push(`<text x="${lx}" y="${y + dy + 13}">${n} ${k}</text><rect x="${lx + 50}" y="${y + dy}" width="${wpx.toFixed(1)}" height="18" fill="${colors[n]}" opacity="${k === "p50" ? 1 : 0.6}"/><text x="${(lx + 56 + wpx).toFixed(1)}" y="${y + dy + 13}">${v}</text>`);
        }
    });
    const target = top + ph - (TARGETS.pipelined / max) * ph;
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${target}" y2="${target}" stroke="#2b6cb0" stroke-dasharray="4 3"/><text x="${left + pw}" y="${target - 4}" text-anchor="end" fill="#2b6cb0">target for (a): ${TARGETS.pipelined}</text>`);
    names.forEach((n, i) => out.push(`<rect x="${left + i * 280}" y="${H - 40}" width="12" height="12" fill="${colors[n]}"/><text x="${left + i * 280 + 18}" y="${H - 30}">${summary[n].label}</text>`));
    out.push("</svg>");
    return out.join("\n") + "\n";
}

/** `npm run bench -- --plot`: redraw bench/results.svg from bench/results.json without measuring again. */
function replot(): void {
    const results = JSON.parse(fs.readFileSync(path.join(__dirname, "results.json"), "utf8"));
    fs.writeFileSync(path.join(__dirname, "results.svg"), plot(results.summary));
    process.stdout.write("wrote bench/results.svg from bench/results.json\n");
}

if (require.main === module && process.argv.includes("--plot")) {
    replot();
} else if (require.main === module) {
    main().then(() => process.exit(0), (e) => { process.stderr.write(`bench failed: ${(e as Error).message}\n`); process.exit(1); });
}
