/**
 * `npm run backup -- --stack NAME | --outputs FILE --out FILE [--verify] [--force] [--ca FILE]`:
 * one instant of the pipeline's data. Where the server allows replication (docker, vm,
 * kubernetes, external servers that do), the server's own snapshot streamed to FILE: an RDB any
 * redis-server of the same or a newer version loads, its SHA-256 beside it in FILE.sha256.
 * On ElastiCache and MemoryDB, a named native snapshot through the AWS SDK, waited for
 * (`--snapshot-name`, `--region`, `--timeout`); --out is then not used.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import type { ConnectionOutputs } from "../contract.ts";
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommand, runAsCommand, scrub } from "./cli.ts";
// The AWS SDK loads only for managed stacks (types here are erased): the other targets start fast.
import type { ManagedTarget, NativeOptions, NativeResult } from "./day2/native.ts";
import { Progress, humanBytes } from "./day2/progress.ts";
import { type QueueCounts, countQueues, formatCounts } from "./day2/queues.ts";
import { Crc64, FIRST_CHECKSUMMED_VERSION, RdbError, type RdbHeader, formatRdbName, parseRdbHeader, sha256Line } from "./day2/rdb.ts";
import { streamSnapshot } from "./day2/replication.ts";
import { ScratchServer, localServerVersion, stopAllScratch } from "./day2/scratch.ts";

export interface BackupResult {
    file: string;
    bytes: number;
    seconds: number;
    header: RdbHeader;
    sha256: string;
    crc64: "ok" | "disabled" | "none";
    /** When the server forked: the instant the file holds. */
    instant: Date;
    replicationOffset: number;
}

export interface BackupOptions {
    caFile?: string;
    force?: boolean;
    progress?: (bytes: number, total: number) => void;
    /** Called once the snapshot's instant is fixed (the server has forked). */
    onInstant?: () => void;
}

/** Files a backup leaves: the RDB and its checksum. */
export function checksumFile(file: string): string {
    return `${file}.sha256`;
}

/**
 * Streams the server's snapshot into `file` (through `file.partial`, renamed once whole and
 * checked: CRC64 trailer, end mark, header), then writes `file.sha256`. A failure leaves no file.
 */
export async function backupToFile(o: ConnectionOutputs, file: string, opts: BackupOptions = {}): Promise<BackupResult> {
    if (fs.existsSync(file) && !opts.force) throw new UsageError(`${file} exists; pass --force to replace it`);
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new UsageError(`${dir} does not exist`);
    const partial = `${file}.partial`;
    PARTIALS.add(partial);
    const started = Date.now();
    const out = fs.createWriteStream(partial, { mode: 0o600 });
    const sha = createHash("sha256");
    const crc = new Crc64();
    // The last 8 bytes are the CRC64 trailer, not part of what it covers: held back until more come.
    let held: Buffer = Buffer.alloc(0);
    let head: Buffer = Buffer.alloc(0);
    const sink = new Writable({
        highWaterMark: 4 * 1024 * 1024,
        write(chunk: Buffer, _enc, cb) {
            sha.update(chunk);
            if (head.length < 64 * 1024) head = Buffer.concat([head, chunk.subarray(0, 64 * 1024 - head.length)]);
            const all = held.length ? Buffer.concat([held, chunk]) : chunk;
            crc.update(all.subarray(0, Math.max(0, all.length - 8)));
            held = Buffer.from(all.subarray(Math.max(0, all.length - 8)));
            out.write(chunk, cb);
        },
        final(cb) {
            out.end(() => cb());
        },
    });
    let instant = new Date();
    try {
        const r = await streamSnapshot(o, sink, {
            caFile: opts.caFile,
            onProgress: opts.progress,
            onInstant: () => {
                instant = new Date();
                opts.onInstant?.();
            },
        });
        await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())));
        await new Promise<void>((resolve) => (out.closed ? resolve() : out.once("close", () => resolve())));
        const header = parseRdbHeader(head);
        let status: BackupResult["crc64"] = "none";
        if (header.version >= FIRST_CHECKSUMMED_VERSION) {
            if (held.equals(Buffer.alloc(8))) status = "disabled";
            else if (!held.equals(crc.digest()))
                throw new RdbError(
                    `the snapshot received fails its CRC64 check (trailer ${Buffer.from(held).reverse().toString("hex")}, content ${crc.hex()})`,
                );
            else status = "ok";
        }
        const fd = fs.openSync(partial, "r");
        const tail = Buffer.alloc(Math.min(r.bytes, 9));
        fs.readSync(fd, tail, 0, tail.length, r.bytes - tail.length);
        fs.closeSync(fd);
        if (tail[header.version >= FIRST_CHECKSUMMED_VERSION ? 0 : tail.length - 1] !== 0xff)
            throw new RdbError("the snapshot received does not end with the RDB end-of-file mark");
        fs.renameSync(partial, file);
        PARTIALS.delete(partial);
        const digest = sha.digest("hex");
        fs.writeFileSync(checksumFile(file), sha256Line(digest, path.basename(file)), { mode: 0o600 });
        return {
            file,
            bytes: r.bytes,
            seconds: (Date.now() - started) / 1000,
            header,
            sha256: digest,
            crc64: status,
            instant,
            replicationOffset: r.offset,
        };
    } catch (e) {
        sink.destroy();
        out.destroy();
        fs.rmSync(partial, { force: true });
        PARTIALS.delete(partial);
        throw e;
    }
}

export interface VerifyResult {
    serverVersion: string;
    rdbVersion: number;
    keys: number;
    queues: QueueCounts[];
}

/** Loads the file into a scratch redis-server: proof that a server reads it whole; its key count and queue depths. */
export async function verifyBackup(file: string, prefix: string): Promise<VerifyResult> {
    const serverVersion = localServerVersion();
    const header = parseRdbHeader(readHead(file));
    const scratch = await ScratchServer.load(file);
    try {
        return {
            serverVersion,
            rdbVersion: header.version,
            keys: await scratch.keyCount(),
            queues: await countQueues(scratch.client, prefix),
        };
    } finally {
        await scratch.stop();
    }
}

function readHead(file: string): Buffer {
    const fd = fs.openSync(file, "r");
    try {
        const b = Buffer.alloc(64 * 1024);
        const n = fs.readSync(fd, b, 0, b.length, 0);
        return b.subarray(0, n);
    } finally {
        fs.closeSync(fd);
    }
}

/** Partial files to remove if the process is interrupted. */
const PARTIALS = new Set<string>();

/** On Ctrl-C or SIGTERM: no partial file, no scratch server left behind; `said` is the last line. */
export function cleanupOnSignals(said = "no partial file or scratch server left behind"): void {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            for (const p of PARTIALS) fs.rmSync(p, { force: true });
            void stopAllScratch().finally(() => {
                process.stderr.write(`\ninterrupted (${sig}): ${said}\n`);
                process.exit(EXIT_FAILED);
            });
        });
    }
}

const USAGE =
    "npm run backup -- --stack NAME | --outputs FILE --out FILE [--verify] [--force] [--ca FILE] | on ElastiCache/MemoryDB: [--snapshot-name NAME] [--region REGION] [--timeout SECONDS]";

function rate(bytes: number, seconds: number): string {
    return `${(bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s`;
}

export async function runNative(
    target: ManagedTarget,
    label: string,
    args: Record<string, string | boolean | undefined>,
    region: string | undefined,
    o: NativeOptions = {},
): Promise<NativeResult> {
    const { SNAPSHOT_NAME_RE, defaultSnapshotName, nativeSnapshot } = await import("./day2/native.ts");
    const source = target.service === "elasticache" ? target.replicationGroupId : target.clusterName;
    const name = (args["snapshot-name"] as string | undefined) ?? defaultSnapshotName(source);
    if (!SNAPSHOT_NAME_RE.test(name)) throw new UsageError(`--snapshot-name ${name}: letters, digits and hyphens, starting with a letter`);
    const timeout = args.timeout === undefined ? 3600 : Number(args.timeout);
    if (!(timeout >= 1)) throw new UsageError(`--timeout takes seconds (1 or more); given ${String(args.timeout)}`);
    const what = target.service === "elasticache" ? "ElastiCache" : "MemoryDB";
    process.stdout.write(
        `backup: ${label} is on ${what}, which refuses replication commands: taking native snapshot ${name} of ${source}${region ? ` in ${region}` : ""} through the AWS API\n`,
    );
    const r = await nativeSnapshot(target, name, {
        region,
        timeoutMs: timeout * 1000,
        onStatus: (s, secs) => process.stderr.write(`snapshot ${name}: ${s} after ${secs} s\n`),
        ...o,
    });
    process.stdout.write(
        `snapshot ${r.name} of ${r.source} is available after ${r.seconds} s${r.sizeBytes !== undefined ? ` (${humanBytes(r.sizeBytes)})` : ""}; it stays in AWS: restore it with elasticache.restoreFromSnapshot (see README), or export it to S3 for restore --in\n`,
    );
    return r;
}

export async function main(argv: string[], native: NativeOptions = {}): Promise<number> {
    const args = parseCommand(USAGE, argv, {
        out: { type: "string" },
        verify: { type: "boolean" },
        force: { type: "boolean" },
        ca: { type: "string" },
        "snapshot-name": { type: "string" },
        region: { type: "string" },
        timeout: { type: "string" },
    });
    const { loadStack, managedService, regionOf } = await import("./day2/stack.ts");
    const stack = await loadStack({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const managed = managedService(stack);
    if (managed) {
        await runNative(managed, stack.label, args, (args.region as string | undefined) ?? regionOf(stack), native);
        return EXIT_OK;
    }
    if (args.out === undefined) throw new UsageError(`--out FILE is required\nusage: ${USAGE}`);
    const file = args.out as string;
    const o = stack.outputs;
    cleanupOnSignals();
    process.stdout.write(`backup: ${stack.label} (target ${o.target}) at ${o.host}:${o.port} to ${file}\n`);
    const progress = new Progress("received", "bytes");
    let r: BackupResult;
    try {
        r = await backupToFile(o, file, {
            caFile: args.ca as string | undefined,
            force: args.force === true,
            progress: (n, t) => progress.update(n, t),
            onInstant: () =>
                process.stdout.write(
                    `snapshot instant ${new Date().toISOString()}: the server forked; writes after this are not in the file\n`,
                ),
        });
    } catch (e) {
        if (e instanceof UsageError) throw e;
        process.stdout.write(`FAIL ${scrub((e as Error).message)}\n`);
        return EXIT_FAILED;
    }
    const keys =
        r.header.keys === null ? "key count not in the header" : `${r.header.keys} keys${r.header.db ? ` in db ${r.header.db}` : ""}`;
    const writer = r.header.aux["redis-ver"]
        ? ` from Redis ${r.header.aux["redis-ver"]}`
        : r.header.aux["valkey-ver"]
          ? ` from Valkey ${r.header.aux["valkey-ver"]}`
          : "";
    process.stdout.write(
        `wrote ${file}: ${humanBytes(r.bytes)}, ${formatRdbName(r.header)}${writer}, ${keys}, CRC64 ${r.crc64}, in ${r.seconds.toFixed(1)} s (${rate(r.bytes, r.seconds)})\n`,
    );
    process.stdout.write(`sha256 ${r.sha256} in ${checksumFile(file)}\n`);
    if (!args.verify) return EXIT_OK;
    try {
        const v = await verifyBackup(file, o.bullmq.prefix);
        process.stdout.write(
            `verify: a scratch redis-server ${v.serverVersion} loaded ${file}: ${formatRdbName(r.header)}, ${v.keys} keys\n`,
        );
        process.stdout.write(formatCounts(v.queues));
        if (r.header.keys !== null && v.keys > r.header.keys) {
            process.stdout.write(`FAIL the scratch server holds ${v.keys} keys, the file's header says ${r.header.keys}\n`);
            return EXIT_FAILED;
        }
        return EXIT_OK;
    } catch (e) {
        process.stdout.write(`FAIL verify: ${scrub((e as Error).message)}\n`);
        return EXIT_FAILED;
    }
}

runAsCommand("backup.ts", main);
