/**
 * `npm run smoke -- --stack NAME | --outputs FILE [--ca FILE] [--check]`: checks a live server
 * against the output contract, one line per check; exit 0 only when every check passes.
 * `--outputs FILE --check` checks the file alone, every problem at once, without connecting.
 */
import { randomUUID } from "node:crypto";
import type { ConnectionOptions } from "bullmq";
import type Redis from "ioredis";
import type { Cluster } from "ioredis";
import type { ConnectionOutputs } from "../contract.ts";
import { type ServerConfig, type Verdict, evictionVerdict, headroomVerdict, persistenceVerdict, retentionVerdict } from "./checks.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, parseCommand, runAsCommand, scrub } from "./cli.ts";
import { ConnectionError, connect, connectCluster, info, isCluster, named, place, redisOptions } from "./connection.ts";
import { readQueues, serverConfig } from "./health.ts";

export type Status = "pass" | "fail" | "skip";
export interface CheckResult {
    name: string;
    status: Status;
    detail: string;
}

export { HEADROOM_LIMIT } from "./checks.ts";
/** Time for everything when the server does not answer (refused, dropped, or hung). */
export const DOWN_BUDGET_MS = 10_000;
/** One protocol's try; two of them fit in the budget with room to report. */
const PROBE_TIMEOUT_MS = 4000;
const BULLMQ_TIMEOUT_MS = 5000;

export interface SmokeOptions {
    caFile?: string;
}

/** What the checks find as they go, for the checks after them. */
export interface SmokeRun {
    readonly o: ConnectionOutputs;
    readonly opts: SmokeOptions;
    readonly started: number;
    /** The probe over the declared protocol (reachable). */
    declared?: Probe;
    /** The probe that got an answer, over the declared protocol or the other (reachable). */
    reached?: Probe;
    /** A connection that authenticated with the outputs' credentials, over the protocol reached (auth). */
    client?: Redis;
    /** INFO and CONFIG GET, read once for the checks that judge them. */
    server?: Promise<[Record<string, string>, ServerConfig]>;
}

type Outcome = [Status, string];

/** One smoke check: its name (the first column of the output), what it checks, and how. */
export interface SmokeCheck {
    readonly name: string;
    /** What the check proves, in a line. */
    readonly checks: string;
    /** Why it cannot run, given what the checks before it found; undefined when it can. */
    readonly needs?: (r: SmokeRun) => string | undefined;
    readonly run: (r: SmokeRun) => Outcome | Promise<Outcome>;
}

/** The checks in the order they run: a check that needs what an earlier one could not give is skipped, with why. */
export const SMOKE_CHECKS = [
    {
        name: "reachable",
        checks: "a Redis server answers PING at host:port, over the declared protocol (or, to tell a mismatch from a dead server, the other)",
        run: reachable,
    },
    {
        name: "auth",
        checks: "the server refuses a client without the password and accepts the outputs' username and password",
        needs: (r) => reachedNeeded(r) ?? credentialsWithheld(r),
        run: auth,
    },
    {
        name: "tls",
        checks: "the server speaks the protocol the outputs declare (tls), its certificate verified",
        needs: reachedNeeded,
        run: tls,
    },
    {
        name: "url",
        checks: "the url output names the same server, user and password as the other outputs, and connects",
        needs: urlNeeds,
        run: url,
    },
    {
        name: "eviction-policy",
        checks: "maxmemory-policy is noeviction: a full server refuses writes and drops no job",
        needs: authenticatedNeeded,
        run: (r) => judged(r, (i, cfg) => evictionVerdict(i, cfg)),
    },
    {
        name: "persistence",
        checks: "the server keeps writes as the persistence output declares (AOF, save points, replicas), and its last writes to disk succeeded",
        needs: authenticatedNeeded,
        run: (r) => judged(r, (i, cfg) => persistenceVerdict(r.o.persistence, i, cfg)),
    },
    {
        name: "memory-headroom",
        checks: "used_memory is under the headroom limit of maxmemory",
        needs: authenticatedNeeded,
        run: (r) => judged(r, (i) => headroomVerdict(i)),
    },
    {
        name: "round-trip",
        checks: "a key is written with a TTL, read back and deleted, through the client the pipeline would use",
        needs: authenticatedNeeded,
        run: roundTrip,
    },
    {
        name: "bullmq",
        checks: "a job added to a throwaway queue is completed by a worker and its result read back",
        needs: authenticatedNeeded,
        run: (r) => bullmqRoundTrip(r.o, { ...r.opts, tls: r.reached!.tls }),
    },
    {
        name: "retention",
        checks: "the declared queue keeps its finished jobs as the stack's removeOnComplete and removeOnFail say",
        needs: authenticatedNeeded,
        run: retention,
    },
] as const satisfies readonly SmokeCheck[];

export type CheckName = (typeof SMOKE_CHECKS)[number]["name"];
export const CHECKS: readonly CheckName[] = SMOKE_CHECKS.map((c) => c.name);

/** Runs every check in order; a check that needs what an earlier one could not give is skipped, with why. */
export async function runSmoke(o: ConnectionOutputs, opts: SmokeOptions = {}): Promise<CheckResult[]> {
    const r: SmokeRun = { o, opts, started: Date.now() };
    const results: CheckResult[] = [];
    try {
        for (const check of SMOKE_CHECKS as readonly SmokeCheck[]) {
            const skip = check.needs?.(r);
            const [status, detail] = skip !== undefined ? (["skip", skip] as Outcome) : await check.run(r);
            results.push({ name: check.name, status, detail });
        }
    } finally {
        r.client?.disconnect();
    }
    return results;
}

// What a check needs of the ones before it: undefined when it is there, else why it is skipped.

function reachedNeeded(r: SmokeRun): string | undefined {
    return r.reached ? undefined : "needs a reachable server";
}

/** Credentials go only where the outputs said they may: never in plain text when TLS was declared, never over a TLS connection whose certificate could not be verified. */
function credentialsWithheld(r: SmokeRun): string | undefined {
    const p = r.reached!;
    if (p.tls === r.o.tls || (p.tls && p.verified)) return undefined;
    return `the password was not sent: ${r.o.tls ? "TLS was declared and the server speaks plain TCP" : "the server's certificate could not be verified (pass --ca FILE)"}`;
}

function urlNeeds(r: SmokeRun): string | undefined {
    const unreached = reachedNeeded(r);
    if (unreached) return unreached;
    if (credentialsWithheld(r)) return "the password was not sent (see auth)";
    if (r.reached!.tls !== r.o.tls) return "needs the declared protocol to work (see tls)";
    if (!r.client) return "needs the outputs' password accepted (see auth)";
    return undefined;
}

function authenticatedNeeded(r: SmokeRun): string | undefined {
    return reachedNeeded(r) ?? (r.client ? undefined : "needs an authenticated connection");
}

// The checks.

async function reachable(r: SmokeRun): Promise<Outcome> {
    const { o, opts } = r;
    const declared = await probe(o, o.tls, opts, PROBE_TIMEOUT_MS);
    r.declared = declared;
    const other = declared.ok
        ? undefined
        : await probe(o, !o.tls, opts, Math.max(500, Math.min(PROBE_TIMEOUT_MS, DOWN_BUDGET_MS - 1500 - (Date.now() - r.started))));
    const reached = declared.ok ? declared : other?.ok ? other : undefined;
    if (!reached) return ["fail", `no answer: ${declared.error}; also tried ${other?.error}`];
    r.reached = reached;
    return [
        "pass",
        `${o.host}:${o.port} answered PING (${reached.answer}) over ${reached.tls ? "TLS" : "plain TCP"}; round trip ${reached.medianMs?.toFixed(2)} ms (median of 20 PINGs)`,
    ];
}

/** Refused without the password, accepted with it (sent with AUTH, its reply read). */
async function auth(r: SmokeRun): Promise<Outcome> {
    const { o, opts } = r;
    const anonymous = await session(o, r.reached!, opts, (c) => replyOf(c.ping())).catch((e: Error) => `error ${e.message}`);
    if (anonymous === "PONG")
        return ["fail", "the server answered PING without a password: requirepass (or the default user's ACL) is not set"];
    let client: Redis | undefined;
    try {
        client = await connect(o, { tls: r.reached!.tls, anonymous: true, caFile: opts.caFile });
        const reply = await replyOf(client.auth(o.username, o.password));
        if (reply !== "OK") throw new Error(reply.replace(/^error /, ""));
        // A server whose last save failed refuses PING with MISCONF, after the password was
        // taken: that is the persistence check's to report.
        const pong = await replyOf(client.ping());
        if (pong !== "PONG" && !pong.startsWith("error MISCONF")) throw new Error(pong.replace(/^error /, ""));
        r.client = client;
        return ["pass", `${anonymous.replace(/^error /, "").split(" ")[0]} without the password; accepted with it as ${o.username}`];
    } catch (e) {
        client?.disconnect();
        return ["fail", `the outputs' password was refused: ${(e as Error).message}`];
    }
}

function tls(r: SmokeRun): Outcome {
    const { o } = r;
    const reached = r.reached!;
    if (reached.tls === o.tls)
        return [
            "pass",
            o.tls ? `TLS as declared${reached.verified ? ", certificate verified" : ""}` : "plain TCP as declared (tls: false)",
        ];
    if (o.tls)
        return [
            "fail",
            `the outputs declare tls: true but ${o.host}:${o.port} speaks plain TCP (the TLS handshake failed: ${r.declared?.reason})`,
        ];
    return ["fail", `the outputs declare tls: false but ${o.host}:${o.port} wants TLS (a plain connection failed: ${r.declared?.reason})`];
}

function url(r: SmokeRun): Promise<Outcome> {
    return urlCheck(r.o, r.opts);
}

/**
 * A judgement health also makes, on the same INFO and CONFIG GET, read once for every check
 * that needs them (CONFIG is blocked or renamed on managed services: INFO stands in where it can).
 */
async function judged(r: SmokeRun, verdict: (info: Record<string, string>, cfg: ServerConfig) => Verdict): Promise<Outcome> {
    const client = r.client!;
    r.server ??= named(r.o, r.reached!.tls, Promise.all([info(client), serverConfig(client)]));
    const v = verdict(...(await r.server));
    return [v.status, v.detail];
}

/** Write, read, delete: through the client the pipeline would use (a cluster client on a cluster). */
async function roundTrip(r: SmokeRun): Promise<Outcome> {
    const { o, opts } = r;
    const key = `mspbyte:smoke:${randomUUID()}`;
    const value = randomUUID();
    let rt: Redis | Cluster | undefined;
    try {
        rt = isCluster(o) ? await connectCluster(o, { caFile: opts.caFile, tls: r.reached!.tls }) : r.client!;
        await rt.set(key, value, "EX", 60);
        const read = await rt.get(key);
        const ttl = await rt.ttl(key);
        const deleted = await rt.del(key);
        if (read !== value) return ["fail", `wrote ${key} and read back ${JSON.stringify(read)}`];
        if (deleted !== 1) return ["fail", `${key} could not be deleted`];
        return ["pass", `SET with a ${ttl} s TTL, GET, DEL on ${key}${isCluster(o) ? " through a cluster client" : ""}`];
    } catch (e) {
        return ["fail", `${key}: ${(e as Error).message}`];
    } finally {
        if (rt && rt !== r.client) rt.disconnect();
    }
}

/** The declared queue's finished jobs against the stack's retention. */
async function retention(r: SmokeRun): Promise<Outcome> {
    const { o, opts } = r;
    let rc: Cluster | undefined;
    try {
        rc = isCluster(o) ? await connectCluster(o, { caFile: opts.caFile, tls: r.reached!.tls }) : undefined;
        const [q] = await named(o, r.reached!.tls, readQueues(rc ?? r.client!, o.bullmq.prefix, [o.bullmq.queue]));
        const v = retentionVerdict(q!, o.bullmq);
        return [v.status, v.detail];
    } catch (e) {
        return ["fail", (e as Error).message];
    } finally {
        rc?.disconnect();
    }
}

/** The url output: the same server, user and password as the other outputs, and it connects. */
async function urlCheck(o: ConnectionOutputs, opts: SmokeOptions): Promise<Outcome> {
    const { urlProblems } = await import("./outputs.ts");
    const problems = urlProblems(o);
    if (problems.length > 0) return ["fail", problems.join("; ")];
    const shown = `${o.tls ? "rediss" : "redis"}://${o.username}:<password>@${o.host}:${o.port}`;
    const { tls, connectTimeout, commandTimeout } = redisOptions(o, { caFile: opts.caFile });
    // The URL first: its host, port and credentials win over the options, as in a worker that
    // passes it alone; only the TLS file options (a CA) come from here.
    const ioredis = await import("ioredis");
    const c = new ioredis.default(o.url, {
        ...(o.tls ? { tls } : {}),
        connectTimeout,
        commandTimeout,
        lazyConnect: true,
        enableReadyCheck: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
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

async function bullmqRoundTrip(o: ConnectionOutputs, opts: SmokeOptions & { tls: boolean }): Promise<Outcome> {
    const { Queue, Worker } = await import("bullmq");
    const name = `smoke-${randomUUID().slice(0, 8)}`;
    const { host, port, username, password, tls, connectTimeout } = redisOptions(o, { caFile: opts.caFile, tls: opts.tls });
    // BullMQ's workers block on the connection: they need maxRetriesPerRequest null.
    let cluster: Cluster | undefined;
    try {
        if (isCluster(o)) cluster = await connectCluster(o, { caFile: opts.caFile, tls: opts.tls });
    } catch (e) {
        return ["fail", `cluster connection: ${(e as Error).message}`];
    }
    const connection: ConnectionOptions = cluster ?? {
        host,
        port,
        username,
        password,
        tls,
        connectTimeout,
        maxRetriesPerRequest: null,
        retryStrategy: () => null,
    };
    const queue = new Queue(name, { prefix: o.bullmq.prefix, connection });
    const worker = new Worker(name, async (job) => ({ echo: (job.data as { token: string }).token }), {
        prefix: o.bullmq.prefix,
        connection,
        autorun: false,
    });
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
            c = await connect(o, {
                tls,
                anonymous: true,
                caFile: opts.caFile,
                connectTimeoutMs: timeoutMs,
                ...(insecure ? { insecure } : {}),
            });
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
    lines.push(
        `${results.length} checks: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped in ${seconds.toFixed(2)} s`,
    );
    return `${lines.join("\n")}\n`;
}

const USAGE = "npm run smoke -- --stack NAME | --outputs FILE [--ca FILE] [--check]";

export async function main(argv: string[]): Promise<number> {
    const args = parseCommand(USAGE, argv, { ca: { type: "string" }, check: { type: "boolean" } });
    if (args.check) {
        if (args.outputs === undefined) throw new UsageError(`--check checks an outputs file: give --outputs FILE\nusage: ${USAGE}`);
        const file = String(args.outputs);
        const { checkOutputsFile } = await import("./outputs.ts");
        const problems = checkOutputsFile(file);
        process.stdout.write(
            scrub(
                problems.length === 0
                    ? `${file}: every output as the contract says\n`
                    : `${file}: ${problems.length} problem${problems.length > 1 ? "s" : ""}\n${problems.map((p) => `  ${p}\n`).join("")}`,
            ),
        );
        return problems.length === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const { loadOutputs } = await import("./outputs.ts");
    const outputs = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    process.stdout.write(
        `smoke: ${args.stack ? `stack ${args.stack}` : String(args.outputs)} (target ${outputs.target}) at ${outputs.host}:${outputs.port}\n`,
    );
    const started = Date.now();
    const results = await runSmoke(outputs, { caFile: args.ca as string | undefined });
    process.stdout.write(scrub(formatResults(results, (Date.now() - started) / 1000)));
    return results.every((r) => r.status === "pass") ? EXIT_OK : EXIT_FAILED;
}

runAsCommand("smoke.ts", main);
