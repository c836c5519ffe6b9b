/**
 * `npm run health -- --stack NAME | --outputs FILE [--queues A,B] [--discover] [--json]
 * [--watch SECONDS] [--ca FILE]`: the server's vital signs, the stack's BullMQ queues, and the
 * checks smoke also makes; exit 1 on any problem.
 *
 * A run costs the server a fixed number of commands whatever the keyspace holds: INFO, three
 * CONFIG GETs, and fifteen O(1) or O(log n) reads per queue. Queues come from the stack's
 * `bullmq` output and `--queues`; `--discover` adds a SCAN of the keyspace, which costs the
 * server time in proportion to every key it holds, once per run (once per watch).
 */
import type Redis from "ioredis";
import type { Cluster } from "ioredis";
import type { ConnectionOutputs } from "../contract.ts";
import {
    type QueueDepths,
    type ServerConfig,
    type Verdict,
    elapsed,
    evictionVerdict,
    headroomVerdict,
    persistenceVerdict,
    retentionVerdict,
    snapshotState,
} from "./checks.ts";
import { EXIT_FAILED, EXIT_OK, UsageError, humanBytes, parseCommand, runAsCommand, scrub } from "./cli.ts";
import { CONNECT_TIMEOUT_MS, ConnectionError, connect, connectCluster, info, isCluster, named, place } from "./connection.ts";

/** A run that has not finished by then fails, naming the server (a hung one included). */
export const HEALTH_BUDGET_MS = 10_000;

export interface ServerHealth {
    version: string;
    runId: string;
    uptimeSeconds: number;
    usedMemory: number;
    usedMemoryHuman: string;
    maxmemory: number;
    maxmemoryHuman: string;
    /** used_memory as a percentage of maxmemory; null without a maxmemory. */
    memoryPercent: number | null;
    maxmemoryPolicy: string;
    connectedClients: number;
    opsPerSec: number;
    evictedKeys: number;
    aofEnabled: boolean;
    aofCurrentSize: number | null;
    aofLastWriteStatus: string | null;
    aofLastRewriteStatus: string | null;
    aofRewriteInProgress: boolean;
    rdbLastSaveStatus: string;
    /** true when no snapshot was written since the server started (its last-save time is then its start time). */
    rdbNeverSaved: boolean;
    rdbSnapshotInProgress: boolean;
    /** null when no snapshot was written since the server started. */
    rdbLastSaveAgeSeconds: number | null;
    rdbChangesSinceLastSave: number;
}

export interface QueueHealth extends QueueDepths {
    /** Where the name came from: the stack's `bullmq.queue`, `--queues`, or `--discover`. */
    source: "declared" | "--queues" | "--discover";
    retention: Verdict;
}

export interface Checks {
    "eviction-policy": Verdict;
    persistence: Verdict;
    "memory-headroom": Verdict;
}

export interface Health {
    target: string;
    host: string;
    port: number;
    server: ServerHealth;
    checks: Checks;
    queues: QueueHealth[];
    /** Every failed check, one line each; exit 1 when any. */
    problems: string[];
    /** What this run asked of the server. */
    cost: { commands: number; roundTrips: number; scanCommands: number };
}

export interface HealthOptions {
    caFile?: string;
    /** Queue names beyond the declared one. */
    queues?: string[];
    /** Queue names found by `discoverQueues` (a SCAN); pass them again to avoid scanning again. */
    discovered?: string[];
    /** Scan the keyspace for queues in this run. */
    discover?: boolean;
}

/** Key suffixes that only a BullMQ queue writes: `<prefix>:<queue>:<suffix>`. */
const QUEUE_KEY_SUFFIXES = new Set([
    "meta",
    "id",
    "wait",
    "paused",
    "active",
    "delayed",
    "completed",
    "failed",
    "prioritized",
    "events",
    "marker",
    "waiting-children",
    "stalled-check",
    "pc",
]);

/**
 * Names of every queue under the prefix, found by scanning keys. Costs the server time in
 * proportion to the whole keyspace: only on request (`--discover`).
 */
export async function discoverQueues(client: Redis, prefix: string): Promise<{ names: string[]; commands: number }> {
    const names = new Set<string>();
    const escaped = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    let cursor = "0";
    let commands = 0;
    do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${escaped}:*`, "COUNT", 1000);
        commands++;
        cursor = next;
        for (const key of keys) {
            const rest = key.slice(prefix.length + 1);
            const i = rest.lastIndexOf(":");
            if (i > 0 && QUEUE_KEY_SUFFIXES.has(rest.slice(i + 1))) names.add(rest.slice(0, i));
        }
    } while (cursor !== "0");
    return { names: [...names].sort(), commands };
}

/** Reads sent per queue by `readQueues`. */
export const COMMANDS_PER_QUEUE = 15;

/**
 * Depths of the named queues from BullMQ's own keys (the lists and sorted sets its scripts
 * write, the `paused` field of its meta hash): exact, and none of the reads grows with the
 * keyspace. One pipeline per queue: on a cluster a queue's keys share one slot.
 */
export async function readQueues(client: Redis | Cluster, prefix: string, names: string[]): Promise<QueueDepths[]> {
    return Promise.all(
        names.map(async (name) => {
            const k = (s: string) => `${prefix}:${name}:${s}`;
            const p = client
                .pipeline()
                .exists(k("meta"))
                .hget(k("meta"), "paused")
                .llen(k("wait"))
                .lindex(k("wait"), -1)
                .llen(k("paused"))
                .zcard(k("prioritized"))
                .zcard(k("waiting-children"))
                .llen(k("active"))
                .zcard(k("delayed"))
                .zcard(k("completed"))
                .zcard(k("failed"))
                .zrange(k("completed"), 0, 0, "WITHSCORES")
                .zrange(k("completed"), -1, -1, "WITHSCORES")
                .zrange(k("failed"), 0, 0, "WITHSCORES")
                .zrange(k("failed"), -1, -1, "WITHSCORES");
            const replies = (await p.exec()) ?? [];
            const r = replies.map(([err, value], i) => {
                if (err) throw new Error(`queue ${name}: reply ${i + 1} of its reads failed: ${err.message}`);
                return value;
            });
            const n = (i: number) => Number(r[i] ?? 0);
            const score = (i: number) => ((r[i] as string[]).length === 2 ? Number((r[i] as string[])[1]) : null);
            // BullMQ before v6 left a "0:<ts>" marker at the tail of the wait list: not a job.
            const marker = typeof r[3] === "string" && r[3].startsWith("0:") ? 1 : 0;
            return {
                name,
                exists: n(0) === 1,
                paused: r[1] === "1",
                waiting: n(2) - marker + n(4) + n(5) + n(6),
                prioritized: n(5),
                waitingChildren: n(6),
                active: n(7),
                delayed: n(8),
                completed: n(9),
                failed: n(10),
                completedOldestMs: score(11),
                completedNewestMs: score(12),
                failedOldestMs: score(13),
                failedNewestMs: score(14),
            };
        }),
    );
}

/** CONFIG GET for the three settings the checks need, in one round trip; undefined where blocked. */
export async function serverConfig(client: Redis): Promise<ServerConfig> {
    const names = ["maxmemory-policy", "appendfsync", "save"] as const;
    const p = client.pipeline();
    for (const name of names) p.config("GET", name);
    const replies = (await p.exec()) ?? [];
    const value = (i: number) => {
        const [err, reply] = replies[i] ?? [];
        return !err && Array.isArray(reply) && reply.length >= 2 ? String(reply[1]) : undefined;
    };
    return { maxmemoryPolicy: value(0), appendfsync: value(1), save: value(2) };
}

export function serverHealth(i: Record<string, string>): ServerHealth {
    const num = (k: string) => Number(i[k] ?? 0);
    const maxmemory = num("maxmemory");
    const snap = snapshotState(i);
    return {
        version: i.redis_version ?? i.valkey_version ?? "unknown",
        runId: i.run_id ?? "",
        uptimeSeconds: num("uptime_in_seconds"),
        usedMemory: num("used_memory"),
        usedMemoryHuman: i.used_memory_human ?? "",
        maxmemory,
        maxmemoryHuman: i.maxmemory_human ?? "",
        memoryPercent: maxmemory ? Math.round((num("used_memory") / maxmemory) * 1000) / 10 : null,
        maxmemoryPolicy: i.maxmemory_policy ?? "unknown",
        connectedClients: num("connected_clients"),
        opsPerSec: num("instantaneous_ops_per_sec"),
        evictedKeys: num("evicted_keys"),
        aofEnabled: i.aof_enabled === "1",
        aofCurrentSize: i.aof_current_size !== undefined ? Number(i.aof_current_size) : null,
        aofLastWriteStatus: i.aof_enabled === "1" ? (i.aof_last_write_status ?? null) : null,
        aofLastRewriteStatus: i.aof_enabled === "1" ? (i.aof_last_bgrewrite_status ?? null) : null,
        aofRewriteInProgress: i.aof_rewrite_in_progress === "1",
        rdbLastSaveStatus: snap.lastStatus,
        rdbNeverSaved: snap.neverSaved,
        rdbSnapshotInProgress: snap.inProgress,
        rdbLastSaveAgeSeconds: snap.lastSaveAgeSeconds,
        rdbChangesSinceLastSave: num("rdb_changes_since_last_save"),
    };
}

/** The queue names a run reads, each with where it came from, the declared one first. */
export function queueNames(o: ConnectionOutputs, opts: HealthOptions, discovered: string[] = []): [string, QueueHealth["source"]][] {
    const out = new Map<string, QueueHealth["source"]>([[o.bullmq.queue, "declared"]]);
    for (const q of opts.queues ?? []) if (!out.has(q)) out.set(q, "--queues");
    for (const q of discovered) if (!out.has(q)) out.set(q, "--discover");
    return [...out];
}

export async function collectHealth(o: ConnectionOutputs, opts: HealthOptions = {}): Promise<Health> {
    let timer: NodeJS.Timeout | undefined;
    // A SCAN of a large keyspace takes as long as it takes (each SCAN still within the
    // command timeout): the budget holds for runs without --discover.
    const budget = new Promise<never>((_, reject) => {
        if (!opts.discover)
            timer = setTimeout(
                () => reject(new ConnectionError(place(o, o.tls), `no complete answer within ${HEALTH_BUDGET_MS / 1000} s`)),
                HEALTH_BUDGET_MS,
            );
    });
    const clients: { disconnect(): void }[] = [];
    try {
        return await Promise.race([budget, collect(o, opts, clients)]);
    } finally {
        clearTimeout(timer);
        for (const c of clients) c.disconnect();
    }
}

async function collect(o: ConnectionOutputs, opts: HealthOptions, clients: { disconnect(): void }[]): Promise<Health> {
    const client = await connect(o, { caFile: opts.caFile });
    clients.push(client);
    const [i, cfg] = await named(o, o.tls, Promise.all([info(client), serverConfig(client)]));
    let scanCommands = 0;
    let roundTrips = 2;
    // On a cluster the keys spread over the masters: scan each, and read through a cluster client.
    const cluster = isCluster(o) ? await connectCluster(o, { caFile: opts.caFile }) : undefined;
    if (cluster) clients.push(cluster);
    let discovered = opts.discovered ?? [];
    if (opts.discover) {
        const scans = await named(
            o,
            o.tls,
            Promise.all((cluster ? cluster.nodes("master") : [client]).map((node) => discoverQueues(node, o.bullmq.prefix))),
            CONNECT_TIMEOUT_MS,
        );
        discovered = [...new Set(scans.flatMap((s) => s.names))].sort();
        scanCommands = scans.reduce((sum, s) => sum + s.commands, 0);
        roundTrips += scanCommands;
    }
    const names = queueNames(o, opts, discovered);
    const depths = await named(
        o,
        o.tls,
        readQueues(
            cluster ?? client,
            o.bullmq.prefix,
            names.map(([n]) => n),
        ),
    );
    roundTrips += 1;
    const queues: QueueHealth[] = depths.map((d, k) => ({ ...d, source: names[k]![1], retention: retentionVerdict(d, o.bullmq) }));
    const checks: Checks = {
        "eviction-policy": evictionVerdict(i, cfg),
        persistence: persistenceVerdict(o.persistence, i, cfg),
        "memory-headroom": headroomVerdict(i),
    };
    const problems = [
        ...Object.entries(checks)
            .filter(([, v]) => v.status === "fail")
            .map(([k, v]) => `${k}: ${v.detail}`),
        ...queues.filter((q) => q.retention.status === "fail").map((q) => `retention: ${q.retention.detail}`),
    ];
    return {
        target: o.target,
        host: o.host,
        port: o.port,
        server: serverHealth(i),
        checks,
        queues,
        problems,
        cost: { commands: 4 + names.length * COMMANDS_PER_QUEUE + scanCommands, roundTrips, scanCommands },
    };
}

function rdbLine(s: ServerHealth): string {
    const state =
        s.rdbLastSaveStatus !== "ok"
            ? `last save FAILED (${s.rdbLastSaveStatus})`
            : s.rdbNeverSaved
              ? "never saved since the server started"
              : `last save ok, ${elapsed(s.rdbLastSaveAgeSeconds!)} ago`;
    return `${state}${s.rdbSnapshotInProgress ? ", snapshot in progress" : ""}, ${s.rdbChangesSinceLastSave} changes since`;
}

/** The readable table. */
export function formatHealth(h: Health): string {
    const s = h.server;
    const aof = s.aofEnabled
        ? `on, ${humanBytes(s.aofCurrentSize ?? 0)}, last write ${s.aofLastWriteStatus}, last rewrite ${s.aofLastRewriteStatus}${s.aofRewriteInProgress ? ", rewrite in progress" : ""}`
        : "off";
    const rows: [string, string][] = [
        ["server", `${h.target} at ${h.host}:${h.port}, Redis ${s.version}, up ${elapsed(s.uptimeSeconds)}`],
        [
            "used_memory",
            `${s.usedMemoryHuman}${s.memoryPercent === null ? " (no maxmemory set)" : ` = ${s.memoryPercent}% of maxmemory ${s.maxmemoryHuman}`}`,
        ],
        ["maxmemory_policy", s.maxmemoryPolicy],
        ["evicted_keys", String(s.evictedKeys)],
        ["connected_clients", String(s.connectedClients)],
        ["ops_per_sec", String(s.opsPerSec)],
        ["aof", aof],
        ["rdb", rdbLine(s)],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
    lines.push("");
    const header = ["queue", "state", "waiting", "active", "delayed", "completed", "failed"];
    const state = (q: QueueHealth) => (!q.exists ? "no keys" : q.paused ? "PAUSED" : "running");
    const table = [header, ...h.queues.map((q) => [q.name, state(q), q.waiting, q.active, q.delayed, q.completed, q.failed].map(String))];
    const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    for (const r of table) lines.push(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
    lines.push("");
    for (const [name, v] of Object.entries(h.checks)) lines.push(`${v.status === "pass" ? "ok  " : "FAIL"} ${name}: ${v.detail}`);
    for (const q of h.queues) lines.push(`${q.retention.status === "pass" ? "ok  " : "FAIL"} retention: ${q.retention.detail}`);
    const sources = h.queues.map((q) => `${q.name} (${q.source})`).join(", ");
    lines.push(
        `cost: ${h.cost.commands} commands in ${h.cost.roundTrips} round trips, ${h.cost.scanCommands ? `${h.cost.scanCommands} of them SCANs of the keyspace` : "no key scan"}; queues: ${sources}`,
    );
    lines.push(h.problems.length === 0 ? "no problems" : `${h.problems.length} problem${h.problems.length > 1 ? "s" : ""}`);
    return `${lines.join("\n")}\n`;
}

const USAGE = "npm run health -- --stack NAME | --outputs FILE [--queues A,B] [--discover] [--json] [--watch SECONDS] [--ca FILE]";

export async function main(argv: string[]): Promise<number> {
    const args = parseCommand(USAGE, argv, {
        json: { type: "boolean" },
        watch: { type: "string" },
        ca: { type: "string" },
        queues: { type: "string" },
        discover: { type: "boolean" },
    });
    const watch = args.watch === undefined ? undefined : Number(args.watch);
    if (watch !== undefined && !(watch >= 1 && watch <= 3600))
        throw new UsageError(`--watch takes seconds from 1 to 3600; given ${String(args.watch)}`);
    const queues =
        args.queues === undefined
            ? []
            : String(args.queues)
                  .split(",")
                  .map((q) => q.trim());
    if (queues.some((q) => q === "" || /[\s*?]/.test(q)))
        throw new UsageError(`--queues takes queue names separated by commas; given ${String(args.queues)}`);
    const { loadOutputs } = await import("./outputs.ts");
    const outputs = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const opts: HealthOptions = { caFile: args.ca as string | undefined, queues, discover: args.discover === true };
    const render = (h: Health) => (args.json ? `${JSON.stringify(h, null, 2)}\n` : formatHealth(h));
    if (watch === undefined) {
        const h = await collectHealth(outputs, opts);
        process.stdout.write(scrub(render(h)));
        return h.problems.length === 0 ? EXIT_OK : EXIT_FAILED;
    }
    await watchHealth(outputs, opts, watch, args.json === true);
    return EXIT_OK;
}

/**
 * Polls every `seconds` until stopped. A failed poll (a restart, a network cut) is printed and
 * the next one tried; a changed run_id says the server restarted. `--discover` scans once, at
 * the first poll that reaches the server, and reuses the names.
 */
async function watchHealth(o: ConnectionOutputs, opts: HealthOptions, seconds: number, json: boolean): Promise<never> {
    let runId: string | undefined;
    let failures = 0;
    let discovered: string[] | undefined;
    for (;;) {
        const stamp = new Date().toISOString();
        try {
            const h = await collectHealth(o, discovered ? { ...opts, discover: false, discovered } : opts);
            if (opts.discover && !discovered) discovered = h.queues.filter((q) => q.source === "--discover").map((q) => q.name);
            const notes: string[] = [];
            if (failures > 0) notes.push(`answering again after ${failures} failed poll${failures > 1 ? "s" : ""}`);
            if (runId !== undefined && h.server.runId !== runId)
                notes.push(`the server restarted (new run_id, up ${elapsed(h.server.uptimeSeconds)})`);
            runId = h.server.runId;
            failures = 0;
            if (json) {
                process.stdout.write(scrub(`${JSON.stringify({ time: stamp, notes, ...h })}\n`));
            } else {
                if (process.stdout.isTTY) process.stdout.write("\x1b[2J\x1b[H");
                const head = `${stamp}  (every ${seconds} s, Ctrl-C to stop)${notes.length ? `  ${notes.join("; ")}` : ""}`;
                process.stdout.write(scrub(`${head}\n${formatHealth(h)}\n`));
            }
        } catch (e) {
            failures++;
            const message = `poll failed: ${(e as Error).message}; trying again in ${seconds} s`;
            process.stdout.write(
                scrub(json ? `${JSON.stringify({ time: stamp, error: message })}\n` : `${stamp}  ${message} (Ctrl-C to stop)\n\n`),
            );
        }
        await new Promise((r) => setTimeout(r, seconds * 1000));
    }
}

runAsCommand("health.ts", main);
