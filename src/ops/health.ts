/**
 * `npm run health -- --stack NAME | --outputs FILE [--json] [--watch SECONDS] [--ca FILE]`:
 * the server's vital signs and every BullMQ queue under the stack's prefix.
 */
import { Queue } from "bullmq";
import Redis from "ioredis";
import { ConnectionOutputs } from "../contract";
import { EXIT_OK, UsageError, parseCommand, runMain } from "./cli";
import { connect, connectCluster, info, isCluster, redisOptions } from "./connection";
import { loadOutputs } from "./outputs";

export interface ServerHealth {
    version: string;
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
    rdbLastSaveStatus: string;
    rdbLastSaveAgeSeconds: number;
    rdbChangesSinceLastSave: number;
}

export interface QueueHealth {
    name: string;
    waiting: number;
    active: number;
    delayed: number;
    completed: number;
    failed: number;
}

export interface Health {
    target: string;
    host: string;
    port: number;
    server: ServerHealth;
    queues: QueueHealth[];
}

/** Key suffixes that only a BullMQ queue writes: `<prefix>:<queue>:<suffix>`. */
const QUEUE_KEY_SUFFIXES = new Set(["meta", "id", "wait", "paused", "active", "delayed", "completed", "failed", "prioritized", "events", "marker", "waiting-children", "stalled-check", "pc"]);

/** Names of every queue under the prefix, found by scanning keys (not from a list). */
export async function discoverQueues(client: Redis, prefix: string): Promise<string[]> {
    const names = new Set<string>();
    const escaped = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
    let cursor = "0";
    do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${escaped}:*`, "COUNT", 1000);
        cursor = next;
        for (const key of keys) {
            const rest = key.slice(prefix.length + 1);
            const i = rest.lastIndexOf(":");
            if (i > 0 && QUEUE_KEY_SUFFIXES.has(rest.slice(i + 1))) names.add(rest.slice(0, i));
        }
    } while (cursor !== "0");
    return [...names].sort();
}

export async function collectHealth(o: ConnectionOutputs, caFile?: string): Promise<Health> {
    const client = await connect(o, { caFile });
    try {
        const i = await info(client);
        const num = (k: string) => Number(i[k] ?? 0);
        const maxmemory = num("maxmemory");
        const server: ServerHealth = {
            version: i.redis_version ?? i.valkey_version ?? "unknown",
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
            rdbLastSaveStatus: i.rdb_last_bgsave_status ?? "unknown",
            rdbLastSaveAgeSeconds: Math.max(0, Math.round(Date.now() / 1000) - num("rdb_last_save_time")),
            rdbChangesSinceLastSave: num("rdb_changes_since_last_save"),
        };
        const queues: QueueHealth[] = [];
        // On a cluster the keys spread over the masters: scan each, and count through a cluster client.
        const cluster = isCluster(o) ? await connectCluster(o, { caFile }) : undefined;
        try {
            const scanned = cluster ? await Promise.all(cluster.nodes("master").map((node) => discoverQueues(node, o.bullmq.prefix))) : [await discoverQueues(client, o.bullmq.prefix)];
            const { host, port, username, password, tls } = redisOptions(o, { caFile });
            for (const name of [...new Set(scanned.flat())].sort()) {
                const queue = new Queue(name, { prefix: o.bullmq.prefix, connection: cluster ?? { host, port, username, password, tls, retryStrategy: () => null } });
                queue.on("error", () => undefined);
                try {
                    const c = await queue.getJobCounts("wait", "prioritized", "waiting-children", "active", "delayed", "completed", "failed");
                    queues.push({
                        name,
                        waiting: (c.wait ?? 0) + (c.prioritized ?? 0) + (c["waiting-children"] ?? 0),
                        active: c.active ?? 0,
                        delayed: c.delayed ?? 0,
                        completed: c.completed ?? 0,
                        failed: c.failed ?? 0,
                    });
                } finally {
                    await queue.close();
                }
            }
        } finally {
            cluster?.disconnect();
        }
        return { target: o.target, host: o.host, port: o.port, server, queues };
    } finally {
        client.disconnect();
    }
}

export function humanBytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) [v, u] = [v / 1024, u + 1];
    return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function duration(seconds: number): string {
    const d = Math.floor(seconds / 86400);
    const h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${seconds % 60}s` : `${seconds}s`;
}

/** The readable table. */
export function formatHealth(h: Health): string {
    const s = h.server;
    const rows: [string, string][] = [
        ["server", `${h.target} at ${h.host}:${h.port}, Redis ${s.version}, up ${duration(s.uptimeSeconds)}`],
        ["used_memory", `${s.usedMemoryHuman}${s.memoryPercent === null ? " (no maxmemory set)" : ` = ${s.memoryPercent}% of maxmemory ${s.maxmemoryHuman}`}`],
        ["maxmemory_policy", s.maxmemoryPolicy],
        ["evicted_keys", String(s.evictedKeys)],
        ["connected_clients", String(s.connectedClients)],
        ["ops_per_sec", String(s.opsPerSec)],
        ["aof", s.aofEnabled ? `on, ${humanBytes(s.aofCurrentSize ?? 0)}, last write ${s.aofLastWriteStatus}, last rewrite ${s.aofLastRewriteStatus}` : "off"],
        ["rdb", `last save ${s.rdbLastSaveStatus}, ${duration(s.rdbLastSaveAgeSeconds)} ago, ${s.rdbChangesSinceLastSave} changes since`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
    lines.push("");
    const header = ["queue", "waiting", "active", "delayed", "completed", "failed"];
    const table = [header, ...h.queues.map((q) => [q.name, q.waiting, q.active, q.delayed, q.completed, q.failed].map(String))];
    const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    if (h.queues.length === 0) lines.push("no BullMQ queues under this prefix");
    else for (const r of table) lines.push(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
    return lines.join("\n") + "\n";
}

const USAGE = "npm run health -- --stack NAME | --outputs FILE [--json] [--watch SECONDS] [--ca FILE]";

export async function main(argv: string[]): Promise<number> {
    const args = parseCommand(USAGE, argv, { json: { type: "boolean" }, watch: { type: "string" }, ca: { type: "string" } });
    const watch = args.watch === undefined ? undefined : Number(args.watch);
    if (watch !== undefined && !(watch >= 1 && watch <= 3600)) throw new UsageError(`--watch takes seconds from 1 to 3600; given ${String(args.watch)}`);
    const outputs = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const show = async () => {
        const h = await collectHealth(outputs, args.ca as string | undefined);
        if (args.json) return JSON.stringify(h, null, 2) + "\n";
        return formatHealth(h);
    };
    if (watch === undefined) {
        process.stdout.write(await show());
        return EXIT_OK;
    }
    for (;;) {
        const text = await show();
        if (process.stdout.isTTY && !args.json) process.stdout.write("\x1b[2J\x1b[H");
        process.stdout.write(args.json ? text : `${new Date().toISOString()}  (every ${watch} s, Ctrl-C to stop)\n${text}\n`);
        await new Promise((r) => setTimeout(r, watch * 1000));
    }
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
