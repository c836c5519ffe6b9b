/**
 * backup and restore on real redis-servers rendered as the docker target renders them: a backup
 * taken while 4 producers and a worker run, restored into a fresh server, where every job
 * acknowledged before the backup's instant is found and completes; the refusals (a server
 * holding keys, truncated, corrupted, mismatched and too-new files) with nothing written.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { Job, Queue, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main as backupMain, backupToFile, checksumFile, verifyBackup } from "../../../src/ops/backup";
import { RestoreRefused, main as restoreMain, restoreFile } from "../../../src/ops/restore";
import { UsageError } from "../../../src/ops/cli";
import { ReplicationRefused } from "../../../src/ops/day2/replication";
import { Crc64, checkRdbFile } from "../../../src/ops/day2/rdb";
import { outputsFor } from "../../../tools/outputs";
import { RedisServer, sleep } from "../../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../../tools/render";
import { opsArgv } from "../npmScript";

const ROOT = path.join(__dirname, "..", "..", "..");
const connection = (s: RedisServer) => ({ host: "127.0.0.1", port: s.port, password: TEST_PASSWORD });
const servers: RedisServer[] = [];
let dir: string;
let source: RedisServer;
let backupFile: string;
/** Job ids acknowledged to a producer before the backup was asked for. */
let ackedBefore: string[] = [];
let ackedTotal = 0;

async function server(): Promise<RedisServer> {
    const s = await RedisServer.start({ conf: dockerConf() });
    servers.push(s);
    return s;
}

async function dbsize(s: RedisServer): Promise<number> {
    const c = s.client({ password: TEST_PASSWORD });
    await c.connect();
    try {
        return await c.dbsize();
    } finally {
        c.disconnect();
    }
}

const run = (script: string, ...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, opsArgv(script, ...args), { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
    });

function writeOutputs(s: RedisServer, name: string): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(outputsFor(s)));
    return f;
}

/** A copy of the backup with `edit` applied, without its .sha256 (so the file's own checks are what refuse it). */
function damaged(name: string, edit: (b: Buffer) => Buffer): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, edit(fs.readFileSync(backupFile)));
    return f;
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-day2-"));
    source = await server();
    backupFile = path.join(dir, "pipeline.rdb");

    // 4 producers adding jobs one after another, a worker completing them more slowly than they come.
    const queue = "pipeline-jobs";
    let stop = false;
    const acked: string[] = [];
    const producers = [0, 1, 2, 3].map(async (p) => {
        const q = new Queue(queue, { connection: connection(source) });
        for (let i = 0; !stop; i++) {
            const job = await q.add("work", { producer: p, i, pad: "x".repeat(200) });
            acked.push(job.id!);
        }
        await q.close();
    });
    // A short lock and stall check (defaults 30 s each, and both travel in the backup as keys with
    // a TTL), so that jobs active at the backup's instant are found stalled soon after the restore.
    const worker = new Worker(queue, async () => sleep(5), {
        connection: connection(source),
        concurrency: 4,
        lockDuration: 2000,
        stalledInterval: 1000,
    });
    worker.on("error", () => undefined);
    await sleep(1500);
    ackedBefore = [...acked];
    const result = await backupToFile(outputsFor(source), backupFile);
    await sleep(300);
    stop = true;
    await Promise.all(producers);
    await worker.close();
    ackedTotal = acked.length;
    expect(result.bytes).toBeGreaterThan(0);
});

afterAll(async () => {
    await Promise.all(servers.map((s) => s.destroy()));
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("backup", () => {
    it("writes a whole RDB with its checksum beside it, taken while producers and a worker run", async () => {
        const check = await checkRdbFile(backupFile);
        expect(check.header).toMatchObject({ magic: "REDIS", version: 10, db: 0 });
        expect(check.header.aux["redis-ver"]).toMatch(/^7\./);
        expect(check.crc64).toBe("ok");
        expect(fs.readFileSync(checksumFile(backupFile), "utf8")).toBe(`${check.sha256}  pipeline.rdb\n`);
        expect(fs.statSync(backupFile).mode & 0o777).toBe(0o600);
        expect(fs.existsSync(`${backupFile}.partial`)).toBe(false);
        // Producers went on after the instant: the file holds fewer jobs than were added in all.
        expect(ackedBefore.length).toBeGreaterThan(50);
        expect(ackedTotal).toBeGreaterThan(ackedBefore.length);
    });

    it("--verify: a scratch redis-server loads it; its key count is the header's, less keys whose TTL lapsed since", async () => {
        const check = await checkRdbFile(backupFile);
        const v = await verifyBackup(backupFile, "bull");
        // A server drops expired keys as it loads: the 4 job locks and the stall-check key
        // (2 s and 1 s TTLs) may have lapsed between the backup and this load.
        expect(check.header.keys! - v.keys).toBeGreaterThanOrEqual(0);
        expect(check.header.keys! - v.keys).toBeLessThanOrEqual(5);
        expect(v.queues.map((q) => q.name)).toEqual(["pipeline-jobs"]);
        const c = v.queues[0]!.counts;
        expect(c.wait + c.active + c.completed).toBeGreaterThanOrEqual(ackedBefore.length);
    });
});

describe("restore", () => {
    it("into a fresh server: every job acknowledged before the instant is there and completes", async () => {
        const target = await server();
        const r = await restoreFile(outputsFor(target), backupFile);
        expect(r.problems).toEqual([]);
        expect(r.keysBefore).toBe(0);
        // Equal, less job locks and the stall-check key if their TTL lapsed meanwhile.
        expect(r.keysAfter).toBeLessThanOrEqual(r.keysInFile);
        expect(r.keysAfter).toBeGreaterThanOrEqual(r.keysInFile - 5);
        expect(r.actual).toEqual(r.expected);

        // One instant, not a mix: every job the queue's lists name has its hash, and no id is above the counter.
        const c = target.client({ password: TEST_PASSWORD });
        await c.connect();
        const counter = Number(await c.get("bull:pipeline-jobs:id"));
        const listed = [
            ...(await c.lrange("bull:pipeline-jobs:wait", 0, -1)),
            ...(await c.lrange("bull:pipeline-jobs:active", 0, -1)),
            ...(await c.zrange("bull:pipeline-jobs:completed", 0, -1)),
        ];
        for (const id of listed) {
            expect(Number(id)).toBeLessThanOrEqual(counter);
            expect(await c.exists(`bull:pipeline-jobs:${id}`)).toBe(1);
        }
        c.disconnect();

        // The pipeline's worker, pointed at the restored server: the jobs that were active at the
        // instant are found stalled once their locks lapse and run again; all complete.
        const worker = new Worker("pipeline-jobs", async () => "done", {
            connection: connection(target),
            concurrency: 50,
            stalledInterval: 500,
        });
        worker.on("error", () => undefined);
        const queue = new Queue("pipeline-jobs", { connection: connection(target) });
        try {
            const deadline = Date.now() + 40_000;
            for (;;) {
                const n = await queue.getJobCounts("wait", "active", "delayed", "prioritized");
                if (Object.values(n).every((v) => v === 0)) break;
                if (Date.now() > deadline) throw new Error(`jobs left: ${JSON.stringify(n)}`);
                await sleep(200);
            }
            const states = await Promise.all(ackedBefore.map(async (id) => (await Job.fromId(queue, id))?.getState()));
            const missing = ackedBefore.filter((_, i) => states[i] === undefined);
            expect(missing).toEqual([]);
            expect(new Set(states)).toEqual(new Set(["completed"]));
        } finally {
            await worker.close();
            await queue.close();
        }
    });

    it("refuses a server that holds keys, writing nothing; --force restores over them", async () => {
        const target = await server();
        const c = target.client({ password: TEST_PASSWORD });
        await c.connect();
        await c.set("bull:pipeline-jobs:id", "999999");
        await c.set("unrelated", "kept");
        await expect(restoreFile(outputsFor(target), backupFile)).rejects.toThrow(
            new RestoreRefused(
                "the server holds 2 keys; restore never merges silently: empty it first, or pass --force to restore over them (keys of the same name are replaced, the others kept)",
            ),
        );
        expect(await c.dbsize()).toBe(2);
        expect(await c.get("bull:pipeline-jobs:id")).toBe("999999");

        const r = await restoreFile(outputsFor(target), backupFile, { force: true });
        expect(r.problems).toEqual([]);
        expect(r.keysBefore).toBe(2);
        expect(r.keysAfter).toBeLessThanOrEqual(r.keysInFile + 1);
        expect(r.keysAfter).toBeGreaterThanOrEqual(r.keysInFile + 1 - 5);
        expect(await c.get("unrelated")).toBe("kept");
        expect(await c.get("bull:pipeline-jobs:id")).not.toBe("999999");
        c.disconnect();
    });

    it.each([
        {
            name: "truncated.rdb",
            edit: (b: Buffer) => b.subarray(0, b.length - 100),
            error: /truncated\.rdb does not end with the RDB end-of-file mark: it is truncated or damaged/,
        },
        {
            name: "cut-in-half.rdb",
            edit: (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)),
            error: /does not end with the RDB end-of-file mark/,
        },
        {
            name: "corrupted.rdb",
            edit: (b: Buffer) => {
                const c = Buffer.from(b);
                c[Math.floor(c.length / 2)]! ^= 0xff;
                return c;
            },
            error: /corrupted\.rdb fails its CRC64 check \(trailer [0-9a-f]{16}, content [0-9a-f]{16}\): it is damaged or truncated/,
        },
        { name: "not-rdb.rdb", edit: () => Buffer.from("*1\r\n$4\r\nPING\r\n"), error: /not an RDB file/ },
    ])("refuses $name before writing anything", async ({ name, edit, error }) => {
        const target = await server();
        const file = damaged(name, edit);
        await expect(restoreFile(outputsFor(target), file)).rejects.toThrow(error);
        await expect(restoreFile(outputsFor(target), file)).rejects.toBeInstanceOf(RestoreRefused);
        expect(await dbsize(target)).toBe(0);
    });

    it("refuses a file that does not match the .sha256 beside it", async () => {
        const target = await server();
        const file = path.join(dir, "swapped.rdb");
        fs.copyFileSync(backupFile, file);
        fs.writeFileSync(checksumFile(file), `${"0".repeat(64)}  swapped.rdb\n`);
        await expect(restoreFile(outputsFor(target), file)).rejects.toThrow(
            /swapped\.rdb does not match .*swapped\.rdb\.sha256 \(sha256 [0-9a-f]{64}, expected 0{64}\): it is damaged or not the file that was backed up/,
        );
        expect(await dbsize(target)).toBe(0);
    });

    it("refuses an RDB newer than the server reads, naming both", async () => {
        const target = await server();
        // The same data, labelled RDB 12 (Redis 7.4) and its CRC64 made right again: only the version is wrong.
        const file = damaged("newer.rdb", (b) => {
            const c = Buffer.from(b);
            c.write("REDIS0012", 0, "latin1");
            new Crc64()
                .update(c.subarray(0, c.length - 8))
                .digest()
                .copy(c, c.length - 8);
            return c;
        });
        await expect(restoreFile(outputsFor(target), file)).rejects.toThrow(
            /newer\.rdb is RDB 12 \(written by Redis 7\.0\.\d+\), newer than the server reads: Redis 7\.0\.\d+ reads up to RDB 10; restore into a server at least as new as the one that wrote it/,
        );
        expect(await dbsize(target)).toBe(0);
    });
});

describe("migration between two servers", () => {
    it("pause, back up, restore, resume on the new server: every job there, each completes once", async () => {
        const a = await server();
        const b = await server();
        const qa = new Queue("pipeline-jobs", { connection: connection(a) });
        await qa.addBulk(Array.from({ length: 300 }, (_, i) => ({ name: "work", data: { i } })));
        await qa.add("later", {}, { delay: 1000 });
        await qa.pause(); // workers on the old server stop taking jobs
        const file = path.join(dir, "migrate.rdb");
        await backupToFile(outputsFor(a), file);
        const r = await restoreFile(outputsFor(b), file);
        expect(r.problems).toEqual([]);
        expect(r.actual[0]).toMatchObject({ name: "pipeline-jobs", paused: true, counts: { wait: 300, delayed: 1 } });
        await qa.close();

        const qb = new Queue("pipeline-jobs", { connection: connection(b) });
        const seen = new Map<string, number>();
        const worker = new Worker("pipeline-jobs", async (job) => void seen.set(job.id!, (seen.get(job.id!) ?? 0) + 1), {
            connection: connection(b),
            concurrency: 20,
        });
        worker.on("error", () => undefined);
        await qb.resume();
        try {
            const deadline = Date.now() + 20_000;
            while (seen.size < 301 && Date.now() < deadline) await sleep(100);
            expect(seen.size).toBe(301);
            expect([...seen.values()].every((n) => n === 1)).toBe(true);
        } finally {
            await worker.close();
            await qb.close();
        }
    });
});

describe("the commands", () => {
    it("backup --verify and restore through their entry points: output, exit codes 0, 1 and 2, no password in any line", async () => {
        const out = path.join(dir, "cli.rdb");
        const b = await run("src/ops/backup.ts", "--outputs", writeOutputs(source, "source.json"), "--out", out, "--verify");
        expect(b.stderr).toMatch(/received: .* \(100%\)/);
        expect(b.stdout).toMatch(/^backup: .* \(target docker\) at 127\.0\.0\.1:\d+ to .*cli\.rdb$/m);
        expect(b.stdout).toMatch(/^wrote .*cli\.rdb: .*, RDB 10 from Redis 7\.0\.\d+, \d+ keys, CRC64 ok, in [\d.]+ s \([\d.]+ MB\/s\)$/m);
        expect(b.stdout).toMatch(/^verify: a scratch redis-server 7\.0\.\d+ loaded .*: RDB 10, \d+ keys$/m);
        expect(b.code).toBe(0);
        await expect(backupMain(["--outputs", writeOutputs(source, "source.json"), "--out", out])).rejects.toThrow(
            new UsageError(`${out} exists; pass --force to replace it`),
        );

        const target = await server();
        const targetOutputs = writeOutputs(target, "target.json");
        const r1 = await run("src/ops/restore.ts", "--outputs", targetOutputs, "--in", out);
        expect(r1.stdout).toMatch(/^PASS \d+ keys on the server, \d+ in the file; queue depths as in the file$/m);
        expect(r1.code).toBe(0);
        const r2 = await run("src/ops/restore.ts", "--outputs", targetOutputs, "--in", out);
        expect(r2.stdout).toMatch(/^FAIL the server holds \d+ keys; restore never merges silently: .*; nothing was written$/m);
        expect(r2.code).toBe(1);
        await expect(restoreMain(["--outputs", targetOutputs])).rejects.toThrow(UsageError);
        for (const r of [b, r1, r2]) expect(r.stdout + r.stderr).not.toContain(TEST_PASSWORD);
    });

    it("a refused AUTH fails the backup without a partial file, the password in no message", async () => {
        const out = path.join(dir, "wrong.rdb");
        const err = await backupToFile(outputsFor(source, { password: "not-the-password-0000" }), out).catch((e: Error) => e);
        expect(err).toBeInstanceOf(ReplicationRefused);
        expect((err as Error).message).toMatch(/^the server refused the credentials: WRONGPASS/);
        expect((err as Error).message).not.toContain("not-the-password-0000");
        expect(fs.existsSync(out) || fs.existsSync(`${out}.partial`)).toBe(false);
    });
});
