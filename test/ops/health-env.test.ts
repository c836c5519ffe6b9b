/** health and env against a real redis-server holding known queues and keys. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectHealth, discoverQueues, formatHealth } from "../../src/ops/health";
import { writeEnvFile } from "../../src/ops/env";
import { UsageError } from "../../src/ops/cli";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";
import { opsArgv } from "./npmScript";

const ROOT = path.join(__dirname, "..", "..");
let server: RedisServer;
let dir: string;
const run = (script: string, ...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, opsArgv(script, ...args), { cwd: ROOT, timeout: 55_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
    });

beforeAll(async () => {
    server = await RedisServer.start({ conf: dockerConf() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-ops-"));
    const connection = { host: "127.0.0.1", port: server.port, password: TEST_PASSWORD };
    // Known state: pipeline-jobs with 3 waiting and 2 delayed, emails with 1 waiting, a queue under another prefix, a plain key.
    const pipeline = new Queue("pipeline-jobs", { connection });
    await pipeline.addBulk([1, 2, 3].map((i) => ({ name: "work", data: { i } })));
    await pipeline.add("later", {}, { delay: 600_000 });
    await pipeline.add("later", {}, { delay: 600_000 });
    const emails = new Queue("emails", { connection });
    await emails.add("send", { to: "ops@example.com" });
    const other = new Queue("not-ours", { connection, prefix: "other" });
    await other.add("x", {});
    await Promise.all([pipeline.close(), emails.close(), other.close()]);
    const c = server.client({ password: TEST_PASSWORD });
    await c.connect();
    await c.set("plain:key", "not a queue");
    c.disconnect();
});
afterAll(async () => {
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("health", () => {
    it("--discover finds every queue under the prefix by scanning, and no other", async () => {
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        expect((await discoverQueues(c, "bull")).names).toEqual(["emails", "pipeline-jobs"]);
        expect((await discoverQueues(c, "other")).names).toEqual(["not-ours"]);
        c.disconnect();
        const h = await collectHealth(outputsFor(server), { discover: true });
        expect(h.queues.map((q) => [q.name, q.source])).toEqual([
            ["pipeline-jobs", "declared"],
            ["emails", "--discover"],
        ]);
        expect(h.cost.scanCommands).toBeGreaterThanOrEqual(1);
    });

    it("without --discover: the declared queue and --queues, no SCAN", async () => {
        const h = await collectHealth(outputsFor(server), { queues: ["emails", "absent"] });
        expect(h.queues.map((q) => [q.name, q.source, q.exists, q.waiting])).toEqual([
            ["pipeline-jobs", "declared", true, 3],
            ["emails", "--queues", true, 1],
            ["absent", "--queues", false, 0],
        ]);
        expect(h.cost).toEqual({ commands: 4 + 3 * 15, roundTrips: 3, scanCommands: 0 });
    });

    it("--json: the seed's metrics and the queue depths", async () => {
        const r = await run("src/ops/health.ts", "--outputs", writeOutputs(), "--json", "--queues", "emails");
        expect(r.code).toBe(0);
        const h = JSON.parse(r.stdout);
        expect(h).toMatchObject({ target: "docker", host: "127.0.0.1", port: server.port });
        expect(h.server).toMatchObject({
            version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
            maxmemory: 536_870_912,
            maxmemoryHuman: "512.00M",
            maxmemoryPolicy: "noeviction",
            evictedKeys: 0,
            aofEnabled: true,
            aofLastWriteStatus: "ok",
            aofLastRewriteStatus: "ok",
            rdbLastSaveStatus: "ok",
            rdbNeverSaved: true,
            rdbLastSaveAgeSeconds: null,
        });
        expect(h.server.usedMemory).toBeGreaterThan(0);
        expect(h.server.memoryPercent).toBeCloseTo((h.server.usedMemory / 536_870_912) * 100, 0);
        expect(h.server.connectedClients).toBeGreaterThanOrEqual(1);
        expect(h.server.aofCurrentSize).toBeGreaterThan(0);
        const depths = (q: Record<string, unknown>) => [q.name, q.source, q.paused, q.waiting, q.active, q.delayed, q.completed, q.failed];
        expect(h.queues.map(depths)).toEqual([
            ["pipeline-jobs", "declared", false, 3, 0, 2, 0, 0],
            ["emails", "--queues", false, 1, 0, 0, 0, 0],
        ]);
        expect(h.problems).toEqual([]);
        expect(Object.keys(h.checks)).toEqual(["eviction-policy", "persistence", "memory-headroom"]);
    });

    it("--watch redraws every N seconds until stopped", async () => {
        const { spawn } = await import("node:child_process");
        const child = spawn(process.execPath, opsArgv("src/ops/health.ts", "--outputs", writeOutputs(), "--watch", "1"), { cwd: ROOT });
        let out = "";
        const framesSeen = () => (out.match(/\(every 1 s, Ctrl-C to stop\)/g) ?? []).length;
        // Waits for two frames (or gives up after 20 s and lets the assertion say so).
        await new Promise<void>((resolve) => {
            const giveUp = setTimeout(resolve, 20_000);
            child.stdout.on("data", (d) => {
                out += d;
                if (framesSeen() >= 2) {
                    clearTimeout(giveUp);
                    resolve();
                }
            });
        });
        child.kill("SIGINT");
        await new Promise((r) => child.once("exit", r));
        expect(framesSeen()).toBeGreaterThanOrEqual(2);
        expect(out).toContain("pipeline-jobs  running        3       0        2          0       0");
    });

    it("--stack without the Pulumi CLI: exit 2, one line saying what to do", async () => {
        const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
            execFile(
                process.execPath,
                opsArgv("src/ops/health.ts", "--stack", "dev"),
                { cwd: ROOT, env: { PATH: path.dirname(process.execPath) } },
                (err, _o, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
            );
        });
        expect(r).toEqual({
            code: 2,
            stderr: "error: the pulumi CLI is not on the PATH: install it (see README) or pass --outputs FILE\n",
        });
    });

    it("the table reads as the seed's checks did", async () => {
        const text = formatHealth(await collectHealth(outputsFor(server)));
        expect(text).toMatch(/^server +docker at 127\.0\.0\.1:\d+, Redis \d+\.\d+\.\d+, up \d+s\n/);
        expect(text).toMatch(/\nused_memory +[\d.]+[KM] = [\d.]+% of maxmemory 512\.00M\n/);
        expect(text).toMatch(/\nmaxmemory_policy +noeviction\n/);
        expect(text).toMatch(/\naof +on, [\d.]+ (B|KiB|MiB), last write ok, last rewrite ok\n/);
        expect(text).toMatch(/\nrdb +never saved since the server started, \d+ changes since\n/);
        expect(text).toContain("queue          state    waiting  active  delayed  completed  failed\n");
        expect(text).toContain("pipeline-jobs  running        3       0        2          0       0\n");
        expect(text).toContain("ok   retention: pipeline-jobs: 0 completed (keeps 1000, 24h); 0 failed (keeps 5000, 7d)\n");
        expect(text).toMatch(/\ncost: 19 commands in 3 round trips, no key scan; queues: pipeline-jobs \(declared\)\nno problems\n$/);
    });
});

function writeOutputs(): string {
    const f = path.join(dir, "outputs.json");
    fs.writeFileSync(f, JSON.stringify(outputsFor(server)));
    return f;
}

describe("env", () => {
    it("prints the pipeline's .env", async () => {
        const r = await run("src/ops/env.ts", "--outputs", writeOutputs());
        expect(r).toMatchObject({ code: 0, stderr: "" });
        expect(r.stdout).toBe(
            [
                "REDIS_HOST=127.0.0.1",
                `REDIS_PORT=${server.port}`,
                "REDIS_USERNAME=default",
                `REDIS_PASSWORD=${TEST_PASSWORD}`,
                "REDIS_TLS=false",
                `REDIS_URL=redis://default:${TEST_PASSWORD}@127.0.0.1:${server.port}`,
                "",
            ].join("\n"),
        );
    });

    it("--out writes mode 0600, keeps a different file without --force, replaces it with", async () => {
        const out = path.join(dir, ".env");
        const first = await run("src/ops/env.ts", "--outputs", writeOutputs(), "--out", out);
        expect(first).toMatchObject({ code: 0, stderr: `${out}: written (mode 0600)\n` });
        expect(fs.statSync(out).mode & 0o777).toBe(0o600);
        const content = fs.readFileSync(out, "utf8");
        expect(content).toContain(`REDIS_PASSWORD=${TEST_PASSWORD}\n`);

        fs.writeFileSync(out, "REDIS_HOST=elsewhere\n");
        expect(() => writeEnvFile(out, content, false)).toThrow(
            new UsageError(`${out} exists and differs from these outputs; pass --force to replace it`),
        );
        const refused = await run("src/ops/env.ts", "--outputs", writeOutputs(), "--out", out);
        expect(refused).toMatchObject({
            code: 2,
            stderr: `error: ${out} exists and differs from these outputs; pass --force to replace it\n`,
        });
        expect(fs.readFileSync(out, "utf8")).toBe("REDIS_HOST=elsewhere\n");

        expect(writeEnvFile(out, content, true)).toBe("replaced");
        expect(fs.readFileSync(out, "utf8")).toBe(content);
        expect(writeEnvFile(out, content, false)).toBe("unchanged");
        expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    });

    it("the .env connects: a client built from it reaches the server", async () => {
        const out = path.join(dir, "check.env");
        writeEnvFile(out, fs.readFileSync(path.join(dir, ".env"), "utf8"), true);
        const env = Object.fromEntries(
            fs
                .readFileSync(out, "utf8")
                .trim()
                .split("\n")
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
        const { default: Redis } = await import("ioredis");
        const c = new Redis(env.REDIS_URL!, { lazyConnect: true });
        await c.connect();
        expect(await c.ping()).toBe("PONG");
        c.disconnect();
    });
});
