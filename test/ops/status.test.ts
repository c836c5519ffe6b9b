/**
 * Persistence status from what the server really did, on real redis-servers: never saved, a
 * snapshot written, a snapshot that failed, an AOF rewrite in progress; and health failing on
 * exactly what smoke fails, with the same words (one judgement, shared).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { persistenceVerdict } from "../../src/ops/checks";
import { collectHealth } from "../../src/ops/health";
import { info } from "../../src/ops/connection";
import { runSmoke } from "../../src/ops/smoke";
import { outputsFor } from "../../tools/outputs";
import { RedisServer, sleep } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";
import { opsArgv } from "./npmScript";

const ROOT = path.join(__dirname, "..", "..");
const servers: RedisServer[] = [];
async function start(args: string[] = []): Promise<RedisServer> {
    const s = await RedisServer.start({ conf: dockerConf(), args });
    servers.push(s);
    return s;
}
afterAll(async () => {
    for (const s of servers) await s.destroy();
});
async function withClient<T>(s: RedisServer, use: (c: ReturnType<RedisServer["client"]>) => Promise<T>): Promise<T> {
    const c = s.client({ password: TEST_PASSWORD });
    await c.connect();
    try {
        return await use(c);
    } finally {
        c.disconnect();
    }
}
async function until(s: RedisServer, field: RegExp): Promise<void> {
    await withClient(s, async (c) => {
        for (let i = 0; i < 200 && !field.test(await c.info("persistence")); i++) await sleep(50);
    });
}

describe("snapshots as they happened", () => {
    it("a server that never wrote an RDB says so (its last-save time is only its start time)", async () => {
        const s = await start();
        const smoke = await runSmoke(outputsFor(s));
        const detail = smoke.find((r) => r.name === "persistence")!.detail;
        expect(detail).toMatch(
            /RDB save points 900 1 300 10 60 10000, no snapshot yet since the server started \d+ s ago \(\d+ changes\)$/,
        );
        expect(detail).not.toContain("last snapshot ok");
        const h = await collectHealth(outputsFor(s));
        expect(h.server).toMatchObject({ rdbNeverSaved: true, rdbLastSaveAgeSeconds: null, rdbLastSaveStatus: "ok" });

        await withClient(s, (c) => c.bgsave());
        await until(s, /rdb_bgsave_in_progress:0\r\n[\s\S]*rdb_saves:1/);
        const after = await collectHealth(outputsFor(s));
        expect(after.server).toMatchObject({ rdbNeverSaved: false, rdbLastSaveStatus: "ok" });
        expect(after.checks.persistence.detail).toMatch(/, last snapshot ok \d+ s ago$/);
    });

    it("a failed snapshot fails smoke's persistence check and health, with the same words", async () => {
        const s = await start();
        // A folder where the snapshot is renamed to: the write succeeds, the rename fails, as
        // with a full or read-only disk (root ignores permissions, not this).
        fs.mkdirSync(path.join(s.dir, "dump.rdb"));
        await withClient(s, (c) => c.bgsave());
        await until(s, /rdb_last_bgsave_status:err/);
        const smoke = await runSmoke(outputsFor(s));
        const persistence = smoke.find((r) => r.name === "persistence")!;
        expect(persistence).toEqual({
            name: "persistence",
            status: "fail",
            detail: "the last snapshot failed (rdb_last_bgsave_status:err)",
        });
        const h = await collectHealth(outputsFor(s));
        expect(h.problems).toContain("persistence: the last snapshot failed (rdb_last_bgsave_status:err)");
        expect(h.server.rdbLastSaveStatus).toBe("err");
        // The shutdown save must succeed for the server to stop.
        fs.rmdirSync(path.join(s.dir, "dump.rdb"));
    });

    it("an AOF rewrite in progress is shown, and is not a fault", async () => {
        const s = await start();
        await withClient(s, async (c) => {
            await c.mset("a", "1", "b", "2", "c", "3");
            // Slows the rewrite's child to 3 s a key: long enough to be seen in progress.
            await c.config("SET", "rdb-key-save-delay", "3000000");
            await c.bgrewriteaof();
        });
        await until(s, /aof_rewrite_in_progress:1/);
        const h = await collectHealth(outputsFor(s));
        expect(h.server.aofRewriteInProgress).toBe(true);
        expect(h.checks.persistence).toMatchObject({
            status: "pass",
            detail: expect.stringContaining("AOF on, last write ok; AOF rewrite in progress; appendfsync everysec"),
        });
        // The shutdown save would take 3 s a key too.
        await withClient(s, (c) => c.config("SET", "rdb-key-save-delay", "0"));
    });
});

describe("health exits non-zero on what smoke fails", () => {
    const health = (file: string) =>
        new Promise<{ code: number; stdout: string }>((resolve) => {
            execFile(process.execPath, opsArgv("src/ops/health.ts", "--outputs", file), { cwd: ROOT, timeout: 55_000 }, (err, stdout) =>
                resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout }),
            );
        });

    it.each([
        { fault: "maxmemory-policy allkeys-lru", args: ["--maxmemory-policy", "allkeys-lru"], check: "eviction-policy" },
        { fault: "appendonly no", args: ["--appendonly", "no"], check: "persistence" },
        { fault: "no maxmemory", args: ["--maxmemory", "0"], check: "memory-headroom" },
    ])("$fault: smoke fails $check, health lists the same line and exits 1", async ({ args, check }) => {
        const s = await start(args);
        const smoke = await runSmoke(outputsFor(s));
        const failed = smoke.filter((r) => r.status === "fail");
        expect(failed.map((r) => r.name)).toEqual([check]);
        const file = path.join(s.dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputsFor(s)));
        const r = await health(file);
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(`FAIL ${check}: ${failed[0]!.detail.replace(/\(used .*/, "")}`);
        expect(r.stdout).toMatch(/\n1 problem\n$/);
    });
});

describe("persistence judged from INFO (fields as a real server gives them, then faulted)", () => {
    it.each([
        {
            field: "aof_last_write_status",
            value: "err",
            detail: "the last AOF write or fsync failed (aof_last_write_status:err): the server refuses writes until the disk takes them",
        },
        { field: "aof_last_bgrewrite_status", value: "err", detail: "the last AOF rewrite failed (aof_last_bgrewrite_status:err)" },
        { field: "rdb_last_bgsave_status", value: "err", detail: "the last snapshot failed (rdb_last_bgsave_status:err)" },
    ])("$field:$value fails", async ({ field, value, detail }) => {
        const s = await start();
        const i = await withClient(s, (c) => info(c));
        const o = outputsFor(s);
        expect(persistenceVerdict(o.persistence, i, { appendfsync: "everysec", save: "900 1 300 10 60 10000" }).status).toBe("pass");
        expect(
            persistenceVerdict(o.persistence, { ...i, [field]: value }, { appendfsync: "everysec", save: "900 1 300 10 60 10000" }),
        ).toEqual({ status: "fail", detail });
    });

    it("a save point that should have fired and did not is overdue; one in progress is not", async () => {
        const s = await start();
        const i = await withClient(s, (c) => info(c));
        const o = outputsFor(s);
        const cfg = { appendfsync: "everysec", save: "900 1 300 10 60 10000" };
        const now = Number(i.server_time_usec) / 1e6;
        const stale = {
            ...i,
            uptime_in_seconds: "4000",
            rdb_last_save_time: String(Math.floor(now) - 4000),
            rdb_changes_since_last_save: "5",
        };
        expect(persistenceVerdict(o.persistence, stale, cfg)).toEqual({
            status: "fail",
            detail: 'no snapshot for 4000 s with 5 changes: save point "900 1" should have written one',
        });
        expect(persistenceVerdict(o.persistence, { ...stale, rdb_bgsave_in_progress: "1" }, cfg).status).toBe("pass");
    });
});
