/**
 * `npm run smoke -- --stack NAME | --outputs FILE [--ca FILE] [--check]`: checks a live server
 * against the output contract, one line per check; exit 0 only when every check passes.
 * `--outputs FILE --check` checks the file alone, every problem at once, without connecting.
 */
import { randomUUID } from "crypto";
import { ConnectionOptions, Queue, Worker } from "bullmq";
import Redis, { Cluster } from "ioredis";
import { ConnectionOutputs } from "../contract";
import { evictionVerdict, headroomVerdict, persistenceVerdict, retentionVerdict } from "./checks";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, parseCommand, runMain, scrub } from "./cli";
import { ConnectionError, connect, connectCluster, info, isCluster, named, place, redisOptions } from "./connection";
import { readQueues, serverConfig } from "./health";
import { checkOutputsFile, loadOutputs, urlProblems } from "./outputs";

export type Status = "pass" | "fail" | "skip";
export interface CheckResult {
    name: string;
    status: Status;
    detail: string;
}

export const CHECKS = ["reachable", "auth", "tls", "url", "eviction-policy", "persistence", "memory-headroom", "round-trip", "bullmq", "retention"] as const;
export { HEADROOM_LIMIT } from "./checks";
/** Time for everything when the server does not answer (refused, dropped, or hung). */
export const DOWN_BUDGET_MS = 10_000;
/** One protocol's try; two of them fit in the budget with room to report. */
const PROBE_TIMEOUT_MS = 4000;
const BULLMQ_TIMEOUT_MS = 5000;

export interface SmokeOptions {
    caFile?: string;
}

/** Runs every check in order; a check that needs what an earlier one could not give is skipped, with why. */
export async function runSmoke(o: ConnectionOutputs, opts: SmokeOptions = {}): Promise<CheckResult[]> {
    const results: CheckResult[] = [];
    const add = (name: (typeof CHECKS)[number], status: Status, detail: string) => results.push({ name, status, detail });
    const skipRest = (reason: string) => {
        for (const name of CHECKS) if (!results.some((r) => r.name === name)) add(name, "skip", reason);
    };
    const started = Date.now();

    // 1. reachable: over the declared protocol first, then the other, to tell a TLS mismatch from a dead server.
    const declared = await probe(o, o.tls, opts, PROBE_TIMEOUT_MS);
    const other = declared.ok ? undefined : await probe(o, !o.tls, opts, Math.max(500, Math.min(PROBE_TIMEOUT_MS, DOWN_BUDGET_MS - 1500 - (Date.now() - started))));
    const working = declared.ok ? declared : other?.ok ? other : undefined;
    if (!working) {
        add("reachable", "fail", `no answer: ${declared.error}; also tried ${other!.error}`);
        skipRest("needs a reachable server");
        return results;
    }
    add("reachable", "pass", `${o.host}:${o.port} answered PING (${working.answer}) over ${working.tls ? "TLS" : "plain TCP"}; round trip ${working.medianMs!.toFixed(2)} ms (median of 20 PINGs)`);

    // Credentials go only where the outputs said they may: never in plain text when TLS was
    // declared, never over a TLS connection whose certificate could not be verified.
    const mismatch = working.tls !== o.tls;
    const credentialsSafe = !mismatch || (working.tls && working.verified);

    // 2. auth: refused without the password, accepted with it (sent with AUTH, its reply read).
    let client: Redis | undefined;
    const anonymous = await session(o, working, opts, (c) => replyOf(c.ping())).catch((e: Error) => `error ${e.message}`);
    if (!credentialsSafe) {
        add("auth", "skip", `the password was not sent: ${o.tls ? "TLS was declared and the server speaks plain TCP" : "the server's certificate could not be verified (pass --ca FILE)"}`);
    } else if (anonymous === "PONG") {
        add("auth", "fail", "the server answered PING without a password: requirepass (or the default user's ACL) is not set");
    } else {
        try {
            client = await connect(o, { tls: working.tls, anonymous: true, caFile: opts.caFile });
            const reply = await replyOf(client.auth(o.username, o.password));
            if (reply !== "OK") throw new Error(reply.replace(/^error /, ""));
            // A server whose last save failed refuses PING with MISCONF, after the password was
            // taken: that is the persistence check's to report.
            const pong = await replyOf(client.ping());
            if (pong !== "PONG" && !pong.startsWith("error MISCONF")) throw new Error(pong.replace(/^error /, ""));
            add("auth", "pass", `${anonymous.replace(/^error /, "").split(" ")[0]} without the password; accepted with it as ${o.username}`);
        } catch (e) {
            add("auth", "fail", `the outputs' password was refused: ${(e as Error).message}`);
            client?.disconnect();
            client = undefined;
        }
    }

    // 3. tls
    if (!mismatch) {
        add("tls", "pass", o.tls ? `TLS as declared${working.verified ? ", certificate verified" : ""}` : "plain TCP as declared (tls: false)");
    } else if (o.tls) {
        add("tls", "fail", `the outputs declare tls: true but ${o.host}:${o.port} speaks plain TCP (the TLS handshake failed: ${declared.reason})`);
    } else {
        add("tls", "fail", `the outputs declare tls: false but ${o.host}:${o.port} wants TLS (a plain connection failed: ${declared.reason})`);
    }

    // 4. url: agrees with the other outputs, and connects as the workers will with it.
    if (!credentialsSafe) add("url", "skip", "the password was not sent (see auth)");
    else if (mismatch) add("url", "skip", "needs the declared protocol to work (see tls)");
    else if (!client) add("url", "skip", "needs the outputs' password accepted (see auth)");
    else add("url", ...(await urlCheck(o, opts)));

    if (!client) {
        skipRest("needs an authenticated connection");
        return results;
    }
    try {
        await checksOnServer(client, o, add, { ...opts, tls: working.tls });
    } finally {
        client.disconnect();
    }
    return results;
}

type Add = (name: (typeof CHECKS)[number], status: Status, detail: string) => void;

async function checksOnServer(client: Redis, o: ConnectionOutputs, add: Add, opts: SmokeOptions & { tls: boolean }): Promise<void> {
    // The same judgements health makes, on the same INFO and CONFIG GET (CONFIG is blocked or
    // renamed on managed services: INFO stands in where it can).
    const [i, cfg] = await named(o, opts.tls, Promise.all([info(client), serverConfig(client)]));
    for (const [name, v] of [["eviction-policy", evictionVerdict(i, cfg)], ["persistence", persistenceVerdict(o.persistence, i, cfg)], ["memory-headroom", headroomVerdict(i)]] as const) {
        add(name, v.status, v.detail);
    }

    // 7. write, read, delete: through the client the pipeline would use (a cluster client on a cluster)
    const key = `mspbyte:smoke:${randomUUID()}`;
    const value = randomUUID();
    let rt: Redis | Cluster | undefined;
    try {
        rt = isCluster(o) ? await connectCluster(o, { caFile: opts.caFile, tls: opts.tls }) : client;
        await rt.set(key, value, "EX", 60);
        const read = await rt.get(key);
        const ttl = await rt.ttl(key);
        const deleted = await rt.del(key);
        if (read !== value) add("round-trip", "fail", `wrote ${key} and read back ${JSON.stringify(read)}`);
        else if (deleted !== 1) add("round-trip", "fail", `${key} could not be deleted`);
        else add("round-trip", "pass", `SET with a ${ttl} s TTL, GET, DEL on ${key}${isCluster(o) ? " through a cluster client" : ""}`);
    } catch (e) {
        add("round-trip", "fail", `${key}: ${(e as Error).message}`);
    } finally {
        if (rt && rt !== client) rt.disconnect();
    }

    // 8. a real job through BullMQ
    add("bullmq", ...(await bullmqRoundTrip(o, opts)));

    // 9. the declared queue's finished jobs against the stack's retention
    let rc: Cluster | undefined;
    try {
        rc = isCluster(o) ? await connectCluster(o, { caFile: opts.caFile, tls: opts.tls }) : undefined;
        const [q] = await named(o, opts.tls, readQueues(rc ?? client, o.bullmq.prefix, [o.bullmq.queue]));
        const v = retentionVerdict(q!, o.bullmq);
        add("retention", v.status, v.detail);
    } catch (e) {
        add("retention", "fail", (e as Error).message);
    } finally {
        rc?.disconnect();
    }
}

/** The url output: the same server, user and password as the other outputs, and it connects. */
async function urlCheck(o: ConnectionOutputs, opts: SmokeOptions): Promise<[Status, string]> {
    const problems = urlProblems(o);
    if (problems.length > 0) return ["fail", problems.join("; ")];
    const shown = `${o.tls ? "rediss" : "redis"}://${o.username}:<password>@${o.host}:${o.port}`;
    const { tls, connectTimeout, commandTimeout } = redisOptions(o, { caFile: opts.caFile });
    // The URL first: its host, port and credentials win over the options, as in a worker that
    // passes it alone; only the TLS file options (a CA) come from here.
    const c = new Redis(o.url, { ...(o.tls ? { tls } : {}), connectTimeout, commandTimeout, lazyConnect: true, enableReadyCheck: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => undefined);
    try {
        await named(o, o.tls, c.connect());
        const pong = await replyOf(c.ping());
        if (pong !== "PONG") return ["fail", `connected with ${shown} but PING answered ${pong.replace(/^error /, "")}`];
        return ["pass", `${shown} agrees with host, port, tls, username and password; PING through it answered PONG`];
    } catch (e) {
        return ["fail", `${shown}: ${(e as Error).message}`];
    } finally {
        c.disconnect();
    }
}

async function bullmqRoundTrip(o: ConnectionOutputs, opts: SmokeOptions & { tls: boolean }): Promise<[Status, string]> {
    const name = `smoke-${randomUUID().slice(0, 8)}`;
    const { host, port, username, password, tls, connectTimeout } = redisOptions(o, { caFile: opts.caFile, tls: opts.tls });
    // BullMQ's workers block on the connection: they need maxRetriesPerRequest null.
    let cluster: Cluster | undefined;
    try {
        if (isCluster(o)) cluster = await connectCluster(o, { caFile: opts.caFile, tls: opts.tls });
    } catch (e) {
        return ["fail", `cluster connection: ${(e as Error).message}`];
    }
    const connection: ConnectionOptions = cluster ?? { host, port, username, password, tls, connectTimeout, maxRetriesPerRequest: null, retryStrategy: () => null };
    const queue = new Queue(name, { prefix: o.bullmq.prefix, connection });
    const worker = new Worker(name, async (job) => ({ echo: (job.data as { token: string }).token }), { prefix: o.bullmq.prefix, connection, autorun: false });
    queue.on("error", () => undefined);
    worker.on("error", () => undefined);
    const token = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    try {
        const completed = new Promise<string>((resolve, reject) => {
            worker.on("completed", (job) => resolve(job.id!));
            worker.on("failed", (_job, err) => reject(err));
            timer = setTimeout(() => reject(new Error(`no completion within ${BULLMQ_TIMEOUT_MS / 1000} s`)), BULLMQ_TIMEOUT_MS);
        });
        completed.catch(() => undefined); // awaited below; an earlier failure must not leave it unhandled
        const job = await queue.add("smoke", { token });
        void worker.run();
        await completed;
        const done = await queue.getJob(job.id!);
        const echo = (done?.returnvalue as { echo?: string } | undefined)?.echo;
        if (echo !== token) return ["fail", `job ${job.id} completed but its result read back as ${JSON.stringify(done?.returnvalue)}`];
        return ["pass", `job added to ${o.bullmq.prefix}:${name}, completed by a worker, result read back; queue obliterated`];
    } catch (e) {
        return ["fail", `${o.bullmq.prefix}:${name}: ${(e as Error).message}`];
    } finally {
        clearTimeout(timer);
        await worker.close().catch(() => undefined);
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close().catch(() => undefined);
        cluster?.disconnect();
    }
}

interface Probe {
    ok: boolean;
    tls: boolean;
    verified: boolean;
    answer?: string;
    medianMs?: number;
    /** What failed, starting with host:port and the protocol. */
    error?: string;
    /** The same without the place. */
    reason?: string;
}

/**
 * Connects without credentials and sends PING: any Redis reply (PONG, or NOAUTH) proves a
 * Redis server speaks this protocol here. Over TLS the certificate is verified; where it
 * cannot be, the probe tries once more unverified, only to tell what the server speaks.
 */
async function probe(o: ConnectionOutputs, tls: boolean, opts: SmokeOptions, timeoutMs: number): Promise<Probe> {
    const attempt = async (insecure: boolean): Promise<Probe> => {
        let c: Redis | undefined;
        try {
            c = await connect(o, { tls, anonymous: true, caFile: opts.caFile, connectTimeoutMs: timeoutMs, ...(insecure ? { insecure } : {}) });
            const answer = (await named(o, tls, replyOf(c.ping()), timeoutMs)).replace(/^error /, "").split(" ")[0]!;
            const times: number[] = [];
            for (let i = 0; i < 20; i++) {
                const t = process.hrtime.bigint();
                await named(o, tls, replyOf(c.ping()), timeoutMs);
                times.push(Number(process.hrtime.bigint() - t) / 1e6);
            }
            times.sort((a, b) => a - b);
            return { ok: true, tls, verified: tls && !insecure, answer, medianMs: (times[9]! + times[10]!) / 2 };
        } catch (e) {
            const error = e instanceof ConnectionError ? e : new ConnectionError(place(o, tls), (e as Error).message);
            return { ok: false, tls, verified: false, error: error.message, reason: error.reason };
        } finally {
            c?.disconnect();
        }
    };
    const first = await attempt(false);
    if (first.ok || !tls || !/certificate|self.signed|unable to verify/i.test(first.error ?? "")) return first;
    const unverified = await attempt(true);
    return unverified.ok ? unverified : first;
}

/** A short anonymous session over the protocol the probe found, closed whatever happens. */
async function session<T>(o: ConnectionOutputs, p: Probe, opts: SmokeOptions, use: (c: Redis) => Promise<T>): Promise<T> {
    const c = await connect(o, { tls: p.tls, anonymous: true, caFile: opts.caFile, ...(p.tls && !p.verified ? { insecure: true } : {}) });
    try {
        return await use(c);
    } finally {
        c.disconnect();
    }
}

/** A command's reply, with a Redis error reply as `error <message>` instead of a rejection. */
async function replyOf(p: Promise<unknown>): Promise<string> {
    try {
        return String(await p);
    } catch (e) {
        const err = e as Error;
        if (err.name === "ReplyError") return `error ${err.message}`;
        throw err;
    }
}

export function formatResults(results: CheckResult[], seconds: number): string {
    const width = Math.max(...results.map((r) => r.name.length));
    const lines = results.map((r) => `${r.status.toUpperCase().padEnd(4)} ${r.name.padEnd(width)}  ${r.detail}`);
    const count = (s: Status) => results.filter((r) => r.status === s).length;
    lines.push(`${results.length} checks: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped in ${seconds.toFixed(2)} s`);
    return lines.join("\n") + "\n";
}

const USAGE = "npm run smoke -- --stack NAME | --outputs FILE [--ca FILE] [--check]";

export async function main(argv: string[]): Promise<number> {
    const args = parseCommand(USAGE, argv, { ca: { type: "string" }, check: { type: "boolean" } });
    if (args.check) {
        if (args.outputs === undefined) throw new UsageError(`--check checks an outputs file: give --outputs FILE\nusage: ${USAGE}`);
        const file = String(args.outputs);
        const problems = checkOutputsFile(file);
        process.stdout.write(scrub(problems.length === 0
            ? `${file}: every output as the contract says\n`
            : `${file}: ${problems.length} problem${problems.length > 1 ? "s" : ""}\n${problems.map((p) => `  ${p}\n`).join("")}`));
        return problems.length === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const outputs = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    process.stdout.write(`smoke: ${args.stack ? `stack ${args.stack}` : String(args.outputs)} (target ${outputs.target}) at ${outputs.host}:${outputs.port}\n`);
    const started = Date.now();
    const results = await runSmoke(outputs, { caFile: args.ca as string | undefined });
    process.stdout.write(scrub(formatResults(results, (Date.now() - started) / 1000)));
    return results.every((r) => r.status === "pass") ? EXIT_OK : EXIT_FAILED;
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
