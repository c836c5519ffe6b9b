/**
 * `npm run queue -- VERB --stack NAME | --outputs FILE [--queue NAME] [--yes] ...`: queue
 * maintenance through BullMQ's own API (never FLUSHDB or DEL by hand: BullMQ's scripts keep a
 * queue's lists, sets, job hashes and events consistent, which a bare DEL does not).
 *
 *   counts                 depths of every queue under the prefix (or --queue)
 *   clean [--state S]      apply the retention the `bullmq` output declares now: finished jobs
 *                          older than its age, then beyond its count (oldest first); BullMQ
 *                          applies it only when another job finishes
 *   retry [--state S]      failed (or completed) jobs back to waiting
 *   drain [--delayed]      remove waiting (and delayed) jobs; active ones finish
 *   obliterate [--force]   remove the queue and all its jobs (--force even with active jobs)
 *   pause | resume         workers stop / start taking jobs (producers can still add)
 *
 * clean, retry, drain and obliterate print what they would do and do nothing without --yes.
 */
import type { Queue } from "bullmq";
import type Redis from "ioredis";
import type { Cluster } from "ioredis";
import type { ConnectionOutputs } from "../contract.ts";
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommand, runAsCommand, scrub } from "./cli.ts";
import { connect, connectCluster, isCluster } from "./connection.ts";
import { type QueueCounts, countQueue, countQueues, formatCounts, openQueue } from "./day2/queues.ts";

export const VERBS = ["counts", "clean", "retry", "drain", "obliterate", "pause", "resume"] as const;
export type Verb = (typeof VERBS)[number];
const DESTRUCTIVE: Verb[] = ["clean", "retry", "drain", "obliterate"];

type Finished = "completed" | "failed";

export interface Plan {
    queue: string;
    /** One line per action, in the words the CLI prints. */
    actions: string[];
    /** Jobs the actions touch. */
    jobs: number;
}

/** What `clean` removes under the declared retention: by age, then what stays above the count. */
export async function cleanPlan(q: Queue, client: Redis | Cluster, o: ConnectionOutputs, states: Finished[], now = Date.now()) {
    const out: { state: Finished; total: number; byAge: number; byCount: number; ageSeconds: number; keep: number }[] = [];
    for (const state of states) {
        const r = state === "completed" ? o.bullmq.defaultJobOptions.removeOnComplete : o.bullmq.defaultJobOptions.removeOnFail;
        const ageSeconds = r.age;
        const keep = r.count;
        const total = await client.zcard(q.toKey(state));
        // The finished sets are scored by finishedOn (ms).
        const byAge = ageSeconds > 0 ? await client.zcount(q.toKey(state), "-inf", String(now - ageSeconds * 1000)) : 0;
        const byCount = Math.max(0, total - byAge - keep);
        out.push({ state, total, byAge, byCount, ageSeconds, keep });
    }
    return out;
}

function hours(s: number): string {
    return s % 86400 === 0 ? `${s / 86400} d` : s % 3600 === 0 ? `${s / 3600} h` : `${s} s`;
}

export async function plan(
    verb: Verb,
    q: Queue,
    conn: Redis | Cluster,
    c: QueueCounts,
    o: ConnectionOutputs,
    opts: { states: Finished[]; delayed: boolean; force: boolean },
): Promise<Plan> {
    const n = c.counts;
    const actions: string[] = [];
    let jobs = 0;
    if (verb === "clean") {
        for (const p of await cleanPlan(q, conn, o, opts.states)) {
            actions.push(
                `remove ${p.byAge} ${p.state} jobs finished more than ${hours(p.ageSeconds)} ago, then ${p.byCount} more, oldest first, to keep the newest ${p.keep} (${p.total} ${p.state} now)`,
            );
            jobs += p.byAge + p.byCount;
        }
    } else if (verb === "retry") {
        for (const s of opts.states) {
            actions.push(`move ${n[s]} ${s} jobs back to waiting`);
            jobs += n[s];
        }
    } else if (verb === "drain") {
        const waiting = n.wait + n.prioritized;
        actions.push(
            `remove ${waiting} waiting jobs${opts.delayed ? ` and ${n.delayed} delayed jobs` : ` (${n.delayed} delayed jobs kept; --delayed removes them too)`}; ${n.active} active jobs finish`,
        );
        jobs = waiting + (opts.delayed ? n.delayed : 0);
    } else if (verb === "obliterate") {
        const all = Object.values(n).reduce((a, b) => a + b, 0);
        actions.push(
            `remove queue ${c.name} and all its ${all} jobs (${
                Object.entries(n)
                    .filter(([, v]) => v > 0)
                    .map(([k, v]) => `${v} ${k}`)
                    .join(", ") || "none"
            })`,
        );
        if (n.active > 0 && !opts.force)
            actions.push(
                `${n.active} jobs are active: BullMQ refuses to obliterate unless --force is given too (their workers then fail to complete them)`,
            );
        jobs = all;
    } else if (verb === "pause") actions.push("pause: workers stop taking new jobs; active ones finish");
    else if (verb === "resume") actions.push("resume: workers take jobs again");
    return { queue: c.name, actions, jobs };
}

export async function apply(
    verb: Verb,
    q: Queue,
    conn: Redis | Cluster,
    o: ConnectionOutputs,
    opts: { states: Finished[]; delayed: boolean; force: boolean },
): Promise<void> {
    if (verb === "clean") {
        for (const p of await cleanPlan(q, conn, o, opts.states)) {
            if (p.ageSeconds > 0) await q.clean(p.ageSeconds * 1000, 0, p.state);
            // Counted again: jobs may have finished since the plan.
            const left = (await conn.zcard(q.toKey(p.state))) - p.keep;
            if (left > 0) await q.clean(0, left, p.state);
        }
    } else if (verb === "retry") {
        for (const s of opts.states) await q.retryJobs({ state: s, count: 1000 });
    } else if (verb === "drain") await q.drain(opts.delayed);
    else if (verb === "obliterate") await q.obliterate({ force: opts.force });
    else if (verb === "pause") await q.pause();
    else if (verb === "resume") await q.resume();
}

const USAGE = `npm run queue -- ${VERBS.join("|")} --stack NAME | --outputs FILE [--queue NAME] [--yes] [--state completed|failed] [--delayed] [--force] [--json] [--ca FILE]`;

async function open(o: ConnectionOutputs, caFile?: string): Promise<Redis | Cluster> {
    if (isCluster(o)) return connectCluster(o, { caFile });
    return connect(o, { caFile, commandTimeoutMs: 60_000 });
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
    if (argv[0] === "--help" || argv[0] === "-h") {
        out(`usage: ${USAGE}\n`);
        return EXIT_OK;
    }
    const verb = argv[0] as Verb;
    if (!VERBS.includes(verb))
        throw new UsageError(
            `${argv[0] === undefined ? "no verb" : `unknown verb ${argv[0]}`}: one of ${VERBS.join(", ")}\nusage: ${USAGE}`,
        );
    const args = parseCommand(USAGE, argv.slice(1), {
        queue: { type: "string" },
        yes: { type: "boolean" },
        state: { type: "string" },
        delayed: { type: "boolean" },
        force: { type: "boolean" },
        json: { type: "boolean" },
        ca: { type: "string" },
    });
    const state = args.state as string | undefined;
    if (state !== undefined && state !== "completed" && state !== "failed")
        throw new UsageError(`--state takes completed or failed; given ${state}`);
    if (state !== undefined && verb !== "clean" && verb !== "retry") throw new UsageError(`--state is for clean and retry`);
    if (args.delayed && verb !== "drain") throw new UsageError("--delayed is for drain");
    if (args.force && verb !== "obliterate") throw new UsageError("--force is for obliterate");
    const states: Finished[] = state ? [state as Finished] : verb === "retry" ? ["failed"] : ["completed", "failed"];
    const { loadOutputs } = await import("./outputs.ts");
    const o = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const conn = await open(o, args.ca as string | undefined);
    try {
        if (verb === "counts") {
            const rows = await countQueues(conn, o.bullmq.prefix, args.queue ? [args.queue as string] : undefined);
            out(args.json ? `${JSON.stringify(rows, null, 2)}\n` : formatCounts(rows));
            return EXIT_OK;
        }
        const name = (args.queue as string | undefined) ?? o.bullmq.queue;
        const q = await openQueue(conn, o.bullmq.prefix, name);
        try {
            const before = await countQueue(conn, o.bullmq.prefix, name);
            out(`queue ${o.bullmq.prefix}:${name} at ${o.host}:${o.port}, now:\n${formatCounts([before])}`);
            const opts = { states, delayed: args.delayed === true, force: args.force === true };
            const p = await plan(verb, q, conn, before, o, opts);
            const dry = DESTRUCTIVE.includes(verb) && !args.yes;
            for (const a of p.actions) out(`${dry ? "would " : ""}${a}\n`);
            if (dry) {
                out(`nothing done: add --yes to ${verb} ${name}\n`);
                return EXIT_OK;
            }
            await apply(verb, q, conn, o, opts);
            const after = await countQueue(conn, o.bullmq.prefix, name);
            out(`done; now:\n${formatCounts([after])}`);
            return EXIT_OK;
        } catch (e) {
            out(`FAIL ${verb} ${name}: ${scrub((e as Error).message)}\n`);
            return EXIT_FAILED;
        } finally {
            await q.close();
        }
    } finally {
        conn.disconnect();
    }
}

runAsCommand("queue.ts", main);
