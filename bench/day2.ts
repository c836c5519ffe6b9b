/**
 * `npx tsx bench/day2.ts [--size MB] [--job-kb KB] [--json FILE]`: backup and restore
 * throughput for a queue of the given size (default 512 MiB of BullMQ jobs) on this machine.
 * Two real redis-servers rendered as the docker target renders them (maxmemory raised to hold
 * the data): the source filled with jobs carrying incompressible payloads, then
 * `backupToFile` (the server's snapshot streamed, SHA-256 and CRC64 computed as it comes) and
 * `restoreFile` into the empty second server (file check, scratch server load, DUMP/RESTORE,
 * counts compared); `redis-cli --rdb` of the same server for scale. Prints the numbers; writes
 * them as JSON only with --json. Both servers,
 * the scratch server and the temp directory are removed on every exit, Ctrl-C included.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { RedisServer } from "../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../tools/render";
import { outputsFor } from "../tools/outputs";
import { backupToFile } from "../src/ops/backup";
import { restoreFile } from "../src/ops/restore";
import { stopAllScratch } from "../src/ops/day2/scratch";

const USAGE = `usage: npx tsx bench/day2.ts [--size MB] [--job-kb KB] [--json FILE]
  --size MB     queue size to fill, as the server's used_memory (default 512, 16 to 8192)
  --job-kb KB   payload per job (default 4, 1 to 512)
  --json FILE   also write the results as JSON to FILE`;

function options() {
    let values: { size?: string; "job-kb"?: string; json?: string; help?: boolean };
    try {
        ({ values } = parseArgs({
            options: {
                size: { type: "string" },
                "job-kb": { type: "string" },
                json: { type: "string" },
                help: { type: "boolean", short: "h" },
            },
            strict: true,
            allowPositionals: false,
        }));
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message.split("\n")[0]}\n${USAGE}\n`);
        process.exit(2);
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
    }
    const size = Number(values.size ?? 512);
    const jobKb = Number(values["job-kb"] ?? 4);
    const bad = !(Number.isInteger(size) && size >= 16 && size <= 8192)
        ? `--size takes whole MB from 16 to 8192; given ${values.size}`
        : !(Number.isInteger(jobKb) && jobKb >= 1 && jobKb <= 512)
          ? `--job-kb takes whole KB from 1 to 512; given ${values["job-kb"]}`
          : undefined;
    if (bad) {
        process.stderr.write(`error: ${bad}\n${USAGE}\n`);
        process.exit(2);
    }
    return { sizeMiB: size, jobKb, json: values.json };
}

const servers: RedisServer[] = [];
let dir: string | undefined;

async function cleanup(): Promise<void> {
    await stopAllScratch();
    await Promise.all(servers.splice(0).map((s) => s.destroy()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => void cleanup().finally(() => process.exit(1)));
}

async function usedMemory(s: RedisServer): Promise<number> {
    const c = s.client({ password: TEST_PASSWORD });
    await c.connect();
    try {
        return Number(/used_memory:(\d+)/.exec(await c.info("memory"))![1]);
    } finally {
        c.disconnect();
    }
}

async function fill(s: RedisServer, bytes: number, jobKb: number): Promise<number> {
    const connection = { host: "127.0.0.1", port: s.port, password: TEST_PASSWORD };
    const queues = [0, 1, 2, 3].map(() => new Queue("pipeline-jobs", { connection }));
    const payload = () => randomBytes(Math.floor((jobKb * 1024 * 3) / 4)).toString("base64");
    let jobs = 0;
    try {
        while ((await usedMemory(s)) < bytes) {
            await Promise.all(
                queues.map((q) => q.addBulk(Array.from({ length: 250 }, () => ({ name: "work", data: { payload: payload() } })))),
            );
            jobs += 1000;
        }
    } finally {
        await Promise.all(queues.map((q) => q.close()));
    }
    return jobs;
}

async function main(): Promise<void> {
    const o = options();
    const maxmemory = `${Math.ceil((o.sizeMiB * 3) / 1024)}gb`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-bench-day2-"));
    const source = await RedisServer.start({ conf: dockerConf({ maxmemory }) });
    servers.push(source);
    const target = await RedisServer.start({ conf: dockerConf({ maxmemory }) });
    servers.push(target);

    let t = Date.now();
    const jobs = await fill(source, o.sizeMiB * 1024 * 1024, o.jobKb);
    const fillSeconds = (Date.now() - t) / 1000;
    const used = await usedMemory(source);
    process.stdout.write(
        `queue: ${jobs} jobs of ${o.jobKb} KiB, used_memory ${(used / 1048576).toFixed(0)} MiB, filled in ${fillSeconds.toFixed(1)} s\n`,
    );

    const file = path.join(dir, "bench.rdb");
    t = Date.now();
    const b = await backupToFile(outputsFor(source), file);
    const backupSeconds = (Date.now() - t) / 1000;
    const mb = b.bytes / 1e6;
    process.stdout.write(
        `backup: ${mb.toFixed(0)} MB RDB (${b.header.keys} keys) in ${backupSeconds.toFixed(1)} s = ${(mb / backupSeconds).toFixed(1)} MB/s (server fork and write, stream, SHA-256 and CRC64)\n`,
    );

    // The reference client on the same server, for scale: redis-cli --rdb (same protocol, no checks).
    const ref = path.join(dir, "redis-cli.rdb");
    t = Date.now();
    try {
        execFileSync("redis-cli", ["-h", "127.0.0.1", "-p", String(source.port), "--rdb", ref], {
            stdio: "ignore",
            env: { ...process.env, REDISCLI_AUTH: TEST_PASSWORD },
        });
    } catch (e) {
        throw new Error(`redis-cli --rdb failed (install redis-tools: sudo apt-get install -y redis-tools): ${(e as Error).message}`);
    }
    const refSeconds = (Date.now() - t) / 1000;
    fs.rmSync(ref, { force: true });
    process.stdout.write(
        `reference: redis-cli --rdb of the same server in ${refSeconds.toFixed(1)} s = ${(mb / refSeconds).toFixed(1)} MB/s\n`,
    );

    t = Date.now();
    const r = await restoreFile(outputsFor(target), file);
    const restoreSeconds = (Date.now() - t) / 1000;
    if (r.problems.length) throw new Error(`restore found: ${r.problems.join("; ")}`);
    process.stdout.write(
        `restore: ${mb.toFixed(0)} MB in ${restoreSeconds.toFixed(1)} s = ${(mb / restoreSeconds).toFixed(1)} MB/s (file check, scratch load, then ${r.keysRestored} keys by DUMP/RESTORE in ${r.seconds.toFixed(1)} s = ${(r.bytes / 1e6 / r.seconds).toFixed(1)} MB/s of payloads, counts compared)\n`,
    );

    const results = {
        machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
        queueMiB: o.sizeMiB,
        jobs,
        jobKb: o.jobKb,
        usedMemoryBytes: used,
        rdbBytes: b.bytes,
        backup: { seconds: backupSeconds, mbPerSec: mb / backupSeconds },
        redisCliRdb: { seconds: refSeconds, mbPerSec: mb / refSeconds },
        restore: { seconds: restoreSeconds, mbPerSec: mb / restoreSeconds, copySeconds: r.seconds, keys: r.keysRestored },
    };
    if (o.json) {
        fs.writeFileSync(o.json, `${JSON.stringify(results, null, 2)}\n`);
        process.stdout.write(`wrote ${o.json}\n`);
    }
}

main().then(
    () => cleanup().then(() => process.exit(0)),
    (e: unknown) => {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        void cleanup().finally(() => process.exit(1));
    },
);
