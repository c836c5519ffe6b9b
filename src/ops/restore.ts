/**
 * `npm run restore -- --stack NAME | --outputs FILE --in FILE [--force] [--ca FILE]`: a backup
 * into a stack's server, on every target.
 *
 * How the data reaches the server: the file is loaded into a scratch redis-server on this
 * machine, and each key travels as its DUMP payload through RESTORE (with its remaining TTL).
 * That is the one way in that every target takes: a managed cache (ElastiCache, MemoryDB)
 * gives no access to its disk and refuses DEBUG RELOAD and replication, and on the servers this
 * project runs with an AOF, a dump.rdb copied into the data directory would be ignored at start
 * (the AOF wins). RESTORE is an ordinary write: it replicates, lands in the AOF, and works
 * through a cluster client key by key.
 *
 * Refusals, all before anything is written: a damaged file (CRC64 trailer, end mark, a
 * FILE.sha256 beside it that does not match), a format the server (or this machine's
 * redis-server) does not read, a server that holds keys (unless --force: keys of the same name
 * are then replaced, others kept, and both counts said), a data set larger than the server's
 * free memory.
 */
import * as fs from "node:fs";
import type Redis from "ioredis";
import type { Cluster } from "ioredis";
import type { ConnectionOutputs } from "../contract.ts";
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommand, runAsCommand, scrub } from "./cli.ts";
import { connect, connectCluster, info, isCluster } from "./connection.ts";
import { checksumFile, cleanupOnSignals } from "./backup.ts";
import { Progress, humanBytes } from "./day2/progress.ts";
import { type QueueCounts, countQueues, diffCounts, formatCounts } from "./day2/queues.ts";
import { type RdbCheck, RdbError, checkRdbFile, formatRdbName, parseSha256File, readsRdb, serverRdbVersion } from "./day2/rdb.ts";
import { ScratchServer, localServerInfo } from "./day2/scratch.ts";

/** A restore that stopped before writing anything, and why. */
export class RestoreRefused extends Error {}

export interface RestoreOptions {
    force?: boolean;
    caFile?: string;
    progress?: (keys: number, total: number) => void;
    /** One line about each step (the CLI prints them). */
    log?: (line: string) => void;
}

export interface RestoreResult {
    check: RdbCheck;
    serverVersion: string;
    keysBefore: number;
    keysInFile: number;
    keysRestored: number;
    keysAfter: number;
    bytes: number;
    seconds: number;
    expected: QueueCounts[];
    actual: QueueCounts[];
    /** What the checks after the restore found wrong; empty when all is as in the file. */
    problems: string[];
}

/** Keys sent per round trip. */
const BATCH = 1000;
/** DUMP and PTTL of every key given, in order: payload (or nil when gone), then PTTL. */
const DUMP_SCRIPT =
    "local r = {} for i, k in ipairs(KEYS) do r[2 * i - 1] = redis.call('DUMP', k) r[2 * i] = redis.call('PTTL', k) end return r";
/** Batches written but not yet answered. */
const IN_FLIGHT = 4;

type Target = { client: Redis; cluster?: Cluster; masters: Redis[] };

async function openTarget(o: ConnectionOutputs, caFile?: string): Promise<Target> {
    // Long command timeout: RESTORE of one large key (a long list, a big stream) takes a while.
    const client = await connect(o, { caFile, commandTimeoutMs: 120_000 });
    if (!isCluster(o)) return { client, masters: [client] };
    const cluster = await connectCluster(o, { caFile });
    return { client, cluster, masters: cluster.nodes("master") };
}

async function keyTotal(nodes: Redis[]): Promise<number> {
    let n = 0;
    for (const node of nodes) {
        const ks = await info(node, "keyspace");
        for (const v of Object.values(ks)) n += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0);
    }
    return n;
}

/** Checks the file and the server, refusing with RestoreRefused before any write; returns what the copy needs. */
export async function preflight(file: string, t: Target, opts: RestoreOptions) {
    let check: RdbCheck;
    try {
        check = await checkRdbFile(file);
    } catch (e) {
        if (e instanceof RdbError) throw new RestoreRefused(e.message);
        throw e;
    }
    const sumFile = checksumFile(file);
    if (fs.existsSync(sumFile)) {
        const want = parseSha256File(fs.readFileSync(sumFile, "utf8"));
        if (want !== check.sha256)
            throw new RestoreRefused(
                `${file} does not match ${sumFile} (sha256 ${check.sha256}, expected ${want ?? "unreadable"}): it is damaged or not the file that was backed up`,
            );
    }
    const writer = check.header.aux["valkey-ver"]
        ? `Valkey ${check.header.aux["valkey-ver"]}`
        : check.header.aux["redis-ver"]
          ? `Redis ${check.header.aux["redis-ver"]}`
          : "an unknown server";
    const fileName = `${formatRdbName(check.header)} (written by ${writer})`;
    const target = serverRdbVersion(await info(t.client, "server"));
    if (!readsRdb(target.rdb, check.header.version)) {
        throw new RestoreRefused(
            `${file} is ${fileName}, newer than the server reads: ${target.server} reads up to RDB ${target.rdb}; restore into a server at least as new as the one that wrote it`,
        );
    }
    const localInfo = localServerInfo();
    const localVersion = localInfo.version;
    const local = serverRdbVersion(localInfo.info);
    if (!readsRdb(local.rdb, check.header.version)) {
        throw new RestoreRefused(
            `${file} is ${fileName}; this machine's redis-server ${localVersion} reads up to RDB ${local.rdb}: install a redis-server at least as new as the one that wrote it to restore from here`,
        );
    }
    if (!readsRdb(target.rdb, local.rdb)) {
        throw new RestoreRefused(
            `keys travel as DUMP payloads of this machine's redis-server ${localVersion} (RDB ${local.rdb}), newer than ${target.server} reads (up to RDB ${target.rdb}): restore from a machine whose redis-server is no newer than the server's`,
        );
    }
    const keysBefore = await keyTotal(t.masters);
    if (keysBefore > 0 && !opts.force) {
        throw new RestoreRefused(
            `the server holds ${keysBefore} key${keysBefore === 1 ? "" : "s"}; restore never merges silently: empty it first, or pass --force to restore over them (keys of the same name are replaced, the others kept)`,
        );
    }
    return { check, fileName, target, keysBefore };
}

export async function restoreFile(o: ConnectionOutputs, file: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
    const log = opts.log ?? (() => undefined);
    const t = await openTarget(o, opts.caFile);
    let scratch: ScratchServer | undefined;
    try {
        const { check, fileName, target, keysBefore } = await preflight(file, t, opts);
        log(
            `file: ${fileName}, ${humanBytes(check.size)}, CRC64 ${check.crc64}${fs.existsSync(checksumFile(file)) ? `, sha256 matches ${checksumFile(file)}` : ""}`,
        );
        log(`server: ${target.server} (reads up to RDB ${target.rdb}), ${keysBefore} keys before`);
        scratch = await ScratchServer.load(file);
        const dbs = await scratch.databases();
        if (t.cluster && dbs.some((d) => d !== 0))
            throw new RestoreRefused(`the file holds keys in databases ${dbs.join(", ")}; a cluster has only database 0`);
        const keysInFile = await scratch.keyCount();
        const scratchMem = await info(scratch.client, "memory");
        const need = Number(scratchMem.used_memory ?? 0) - Number(scratchMem.used_memory_startup ?? 0);
        if (!t.cluster) {
            const mem = await info(t.client, "memory");
            const max = Number(mem.maxmemory ?? 0);
            const free = max - Number(mem.used_memory ?? 0);
            if (max > 0 && need > free) {
                throw new RestoreRefused(
                    `the data set takes about ${humanBytes(need)} in memory; the server has ${humanBytes(Math.max(free, 0))} free under maxmemory ${humanBytes(max)}: raise maxmemory (or the node size) first`,
                );
            }
        }
        const expected = await countQueues(scratch.client, o.bullmq.prefix);
        log(`loaded into a scratch redis-server: ${keysInFile} keys${dbs.length > 1 ? ` in databases ${dbs.join(", ")}` : ""}; copying`);

        const started = Date.now();
        let restored = 0;
        let volatile = 0;
        let bytes = 0;
        opts.progress?.(0, keysInFile);
        for (const db of dbs) {
            if (!t.cluster) {
                await scratch.client.select(db);
                await t.client.select(db);
            } else await scratch.client.select(0);
            // Reading the next batch from the scratch server overlaps the writes of the last ones
            // (up to IN_FLIGHT batches on the wire); a failed write stops the copy.
            const inFlight: Promise<void>[] = [];
            let failure: Error | undefined;
            const extra = opts.force ? ["REPLACE"] : [];
            const write = async (items: [Buffer, number, Buffer][]) => {
                let results: (Error | null)[];
                if (t.cluster) {
                    const cluster = t.cluster;
                    results = await Promise.all(
                        items.map(([k, ttl, p]) =>
                            cluster.call("RESTORE", k, ttl, p, ...extra).then(
                                () => null,
                                (e: Error) => e,
                            ),
                        ),
                    );
                } else {
                    const pipe = t.client.pipeline();
                    for (const [k, ttl, p] of items) pipe.call("RESTORE", k, ttl, p, ...extra);
                    results = ((await pipe.exec()) ?? []).map(([e]) => e);
                }
                const failed = results.findIndex((e) => e !== null);
                restored += results.filter((e) => e === null).length;
                if (failed >= 0) {
                    failure ??= new Error(
                        `RESTORE of ${items[failed]![0].toString("latin1").slice(0, 100)} failed: ${results[failed]!.message}; ${restored} of ${keysInFile} keys were written before it stopped`,
                    );
                    return;
                }
                opts.progress?.(restored, keysInFile);
            };
            let cursor = "0";
            do {
                const [next, keys] = await scratch.client.scanBuffer(cursor, "COUNT", BATCH);
                cursor = String(next);
                if (keys.length === 0) continue;
                // One script call per batch on the scratch server (a local, throwaway server):
                // each key's DUMP and PTTL, without a round of client bookkeeping per command.
                const got = (await scratch.client.callBuffer("EVAL", DUMP_SCRIPT, keys.length, ...keys)) as (Buffer | number | null)[];
                const items: [Buffer, number, Buffer][] = [];
                for (let i = 0; i < keys.length; i++) {
                    const payload = got[2 * i] as Buffer | null;
                    const pttl = Number(got[2 * i + 1]);
                    if (!payload || pttl === -2) continue; // expired since the scan
                    items.push([keys[i]!, Math.max(pttl, 0), payload]);
                    if (pttl > 0) volatile++;
                    bytes += payload.length;
                }
                inFlight.push(write(items));
                if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
                if (failure) break;
            } while (cursor !== "0");
            await Promise.all(inFlight);
            if (failure) throw failure;
        }
        if (!t.cluster) {
            await t.client.select(0);
            await scratch.client.select(0);
        }
        const seconds = (Date.now() - started) / 1000;
        const keysAfter = await keyTotal(t.masters);
        const actual = await countQueues(
            t.cluster ?? t.client,
            o.bullmq.prefix,
            expected.map((q) => q.name),
        );
        const problems = diffCounts(expected, actual);
        // Keys restored with a TTL (job locks, the stall check, rate limits) may lapse before the count.
        const low = restored - volatile;
        if (!opts.force && (keysAfter < low || keysAfter > restored))
            problems.unshift(`the server holds ${keysAfter} keys; ${restored} were restored (${volatile} with a TTL)`);
        if (opts.force && keysAfter < low)
            problems.unshift(`the server holds ${keysAfter} keys, fewer than the ${restored} restored (${volatile} with a TTL)`);
        return {
            check,
            serverVersion: target.server,
            keysBefore,
            keysInFile,
            keysRestored: restored,
            keysAfter,
            bytes,
            seconds,
            expected,
            actual,
            problems,
        };
    } finally {
        await scratch?.stop();
        t.client.disconnect();
        t.cluster?.disconnect();
    }
}

const USAGE = "npm run restore -- --stack NAME | --outputs FILE --in FILE [--force] [--ca FILE]";

export async function main(argv: string[]): Promise<number> {
    const args = parseCommand(USAGE, argv, { in: { type: "string" }, force: { type: "boolean" }, ca: { type: "string" } });
    if (args.in === undefined) throw new UsageError(`--in FILE is required\nusage: ${USAGE}`);
    const file = args.in as string;
    if (!fs.existsSync(file)) throw new UsageError(`${file} does not exist`);
    const { loadStack } = await import("./day2/stack.ts");
    const stack = await loadStack({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const o = stack.outputs;
    cleanupOnSignals(
        "the scratch server is stopped; keys copied before the interruption stay on the server (restore again with --force, or empty it)",
    );
    process.stdout.write(`restore: ${file} into ${stack.label} (target ${o.target}) at ${o.host}:${o.port}\n`);
    const progress = new Progress("restored", "keys");
    let r: RestoreResult;
    try {
        r = await restoreFile(o, file, {
            force: args.force === true,
            caFile: args.ca as string | undefined,
            progress: (n, t) => progress.update(n, t),
            log: (l) => process.stdout.write(`${l}\n`),
        });
    } catch (e) {
        if (e instanceof UsageError) throw e;
        const refused = e instanceof RestoreRefused;
        process.stdout.write(`FAIL ${scrub((e as Error).message)}${refused ? "; nothing was written" : ""}\n`);
        return EXIT_FAILED;
    }
    process.stdout.write(
        `restored ${r.keysRestored} keys (${humanBytes(r.bytes)} of DUMP payloads) in ${r.seconds.toFixed(1)} s (${(r.bytes / 1e6 / Math.max(r.seconds, 0.001)).toFixed(1)} MB/s)\n`,
    );
    process.stdout.write(formatCounts(r.actual));
    if (r.problems.length) {
        for (const p of r.problems) process.stdout.write(`FAIL ${p}\n`);
        process.stdout.write("(a worker or producer connected during the restore changes the counts: pause them first, see README)\n");
        return EXIT_FAILED;
    }
    const merged = r.keysBefore > 0 ? ` (${r.keysBefore} were there before; --force)` : "";
    process.stdout.write(`PASS ${r.keysAfter} keys on the server${merged}, ${r.keysInFile} in the file; queue depths as in the file\n`);
    return EXIT_OK;
}

runAsCommand("restore.ts", main);
