/** BullMQ queue depths on any connection (a stack's server, a scratch server), through BullMQ's own API (loaded at first use). */
import type { Queue } from "bullmq";
import type Redis from "ioredis";
import type { Cluster } from "ioredis";
import { discoverQueues } from "../health.ts";

export const STATES = ["wait", "prioritized", "waiting-children", "active", "delayed", "completed", "failed"] as const;
export type State = (typeof STATES)[number];

export interface QueueCounts {
    name: string;
    counts: Record<State, number>;
    paused: boolean;
}

/** Every queue under the prefix, found by scanning keys, each master of a cluster. */
export async function findQueues(conn: Redis | Cluster, prefix: string): Promise<string[]> {
    const { Cluster } = await import("ioredis");
    const nodes = conn instanceof Cluster ? conn.nodes("master") : [conn];
    const found = await Promise.all(nodes.map(async (n) => (await discoverQueues(n, prefix)).names));
    return [...new Set(found.flat())].sort();
}

/**
 * A Queue on an existing connection (BullMQ leaves a connection it was given open on close).
 * skipMetasUpdate: a Queue otherwise writes its meta hash when it opens, so a count would
 * create a key for a queue that does not exist, and recreate one just obliterated.
 */
export async function openQueue(conn: Redis | Cluster, prefix: string, name: string): Promise<Queue> {
    const { Queue } = await import("bullmq");
    const q = new Queue(name, { prefix, connection: conn, skipMetasUpdate: true });
    q.on("error", () => undefined);
    return q;
}

export async function countQueue(conn: Redis | Cluster, prefix: string, name: string): Promise<QueueCounts> {
    const q = await openQueue(conn, prefix, name);
    try {
        const c = await q.getJobCounts(...STATES);
        const counts = Object.fromEntries(STATES.map((s) => [s, c[s] ?? 0])) as Record<State, number>;
        return { name, counts, paused: await q.isPaused() };
    } finally {
        await q.close();
    }
}

export async function countQueues(conn: Redis | Cluster, prefix: string, names?: string[]): Promise<QueueCounts[]> {
    const list = names ?? (await findQueues(conn, prefix));
    const out: QueueCounts[] = [];
    for (const name of list) out.push(await countQueue(conn, prefix, name));
    return out;
}

/** The table `queue counts`, `backup --verify` and `restore` print. */
export function formatCounts(rows: QueueCounts[]): string {
    if (rows.length === 0) return "no BullMQ queues under this prefix\n";
    const header = ["queue", ...STATES];
    const table = [header, ...rows.map((r) => [r.name + (r.paused ? " (paused)" : ""), ...STATES.map((s) => String(r.counts[s]))])];
    const widths = header.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    return `${table.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n")}\n`;
}

/** Where two sets of counts differ, one phrase each; empty when they agree. */
export function diffCounts(expected: QueueCounts[], actual: QueueCounts[]): string[] {
    const out: string[] = [];
    const byName = new Map(actual.map((r) => [r.name, r]));
    for (const e of expected) {
        const a = byName.get(e.name);
        if (!a) {
            out.push(`queue ${e.name} is missing`);
            continue;
        }
        for (const s of STATES) if (e.counts[s] !== a.counts[s]) out.push(`${e.name} ${s}: ${a.counts[s]}, expected ${e.counts[s]}`);
    }
    return out;
}
