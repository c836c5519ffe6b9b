/**
 * The smoke checks against real redis-servers: a server from the dev stack's rendered config
 * passes every check; each broken server fails exactly the check named.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKS, type CheckResult, SMOKE_CHECKS, runSmoke } from "../../src/ops/smoke";
import { applyOverrides, loadRedisConf, parseRedisConf, renderRedisConf } from "../../src/redisConf";
import { outputsFor } from "../../tools/outputs";
import { RedisServer, freePort } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";
import { type TestCerts, makeCerts } from "../helpers/tls";
import { opsArgv } from "./npmScript";

const failed = (results: CheckResult[]) => results.filter((r) => r.status === "fail").map((r) => r.name);
const line = (results: CheckResult[], name: string) => results.find((r) => r.name === name)!;
const servers: RedisServer[] = [];
async function start(conf: string, o: { args?: string[]; tls?: boolean } = {}): Promise<RedisServer> {
    const s = await RedisServer.start({ conf, ...o });
    servers.push(s);
    return s;
}
afterAll(async () => {
    for (const s of servers) await s.destroy();
});

describe("a server from the dev stack's rendered config", () => {
    it("passes every check, in about a second at most", async () => {
        const server = await start(dockerConf());
        const t = Date.now();
        const results = await runSmoke(outputsFor(server));
        const seconds = (Date.now() - t) / 1000;
        expect(results.map((r) => [r.name, r.status])).toEqual(CHECKS.map((c) => [c, "pass"]));
        expect(line(results, "reachable").detail).toMatch(/round trip \d+\.\d\d ms \(median of 20 PINGs\)/);
        expect(line(results, "bullmq").detail).toMatch(/completed by a worker, result read back; queue obliterated/);
        console.log(`smoke on a healthy local server: ${seconds.toFixed(2)} s`);
        // The throwaway queue and key are gone.
        const c = server.client({ password: TEST_PASSWORD });
        await c.connect();
        expect(await c.keys("bull:smoke-*")).toEqual([]);
        expect(await c.keys("mspbyte:smoke:*")).toEqual([]);
        c.disconnect();
    });
});

describe("the table of checks", () => {
    it("ten named checks in the order they run, each saying what it checks, names unique", () => {
        expect(CHECKS).toEqual([
            "reachable",
            "auth",
            "tls",
            "url",
            "eviction-policy",
            "persistence",
            "memory-headroom",
            "round-trip",
            "bullmq",
            "retention",
        ]);
        expect(SMOKE_CHECKS.map((c) => c.name)).toEqual(CHECKS);
        for (const c of SMOKE_CHECKS) expect(c.checks.length, c.name).toBeGreaterThan(20);
    });
});

describe("each fault fails exactly its check", () => {
    it("maxmemory-policy allkeys-lru fails eviction-policy", async () => {
        const server = await start(dockerConf(), { args: ["--maxmemory-policy", "allkeys-lru"] });
        const results = await runSmoke(outputsFor(server));
        expect(failed(results)).toEqual(["eviction-policy"]);
        expect(line(results, "eviction-policy").detail).toBe(
            "maxmemory-policy is allkeys-lru: a full server would evict keys, and with them jobs; set noeviction",
        );
    });

    it("appendonly no, while the outputs declare AOF, fails persistence", async () => {
        const server = await start(dockerConf(), { args: ["--appendonly", "no"] });
        const results = await runSmoke(outputsFor(server));
        expect(failed(results)).toEqual(["persistence"]);
        expect(line(results, "persistence").detail).toBe("the outputs declare AOF but the server runs with appendonly no");
    });

    it("no password on the server fails auth", async () => {
        const server = await start(renderRedisConf(applyOverrides(parseRedisConf(dockerConf()), { extra: { requirepass: '""' } })));
        const results = await runSmoke(outputsFor(server));
        expect(failed(results)).toEqual(["auth"]);
        expect(line(results, "auth").detail).toBe(
            "the server answered PING without a password: requirepass (or the default user's ACL) is not set",
        );
    });

    it("a wrong password in the outputs fails auth; what needs a session is skipped", async () => {
        const server = await start(dockerConf());
        const results = await runSmoke(outputsFor(server, { password: "Not-The-Password-0123456789" }));
        expect(failed(results)).toEqual(["auth"]);
        expect(line(results, "auth").detail).toMatch(/^the outputs' password was refused: .*WRONGPASS/);
        expect(results.filter((r) => r.status === "skip").map((r) => r.name)).toEqual([
            "url",
            "eviction-policy",
            "persistence",
            "memory-headroom",
            "round-trip",
            "bullmq",
            "retention",
        ]);
        expect(line(results, "url").detail).toBe("needs the outputs' password accepted (see auth)");
        for (const r of results.slice(4)) expect(r).toEqual({ name: r.name, status: "skip", detail: "needs an authenticated connection" });
    });

    it("a server that is down fails reachable, naming host, port and both protocols tried, within 10 s", async () => {
        const port = await freePort();
        const t = Date.now();
        const results = await runSmoke(outputsFor({ port }));
        expect(Date.now() - t).toBeLessThan(10_000);
        expect(failed(results)).toEqual(["reachable"]);
        expect(line(results, "reachable").detail).toBe(
            `no answer: 127.0.0.1:${port} over plain TCP: connection refused (connect ECONNREFUSED 127.0.0.1:${port}): nothing listens there; ` +
                `also tried 127.0.0.1:${port} over TLS: connection refused (connect ECONNREFUSED 127.0.0.1:${port}): nothing listens there`,
        );
        expect(results.slice(1)).toEqual(CHECKS.slice(1).map((name) => ({ name, status: "skip", detail: "needs a reachable server" })));
    });
});

describe("the url output is checked against the other outputs and connected with", () => {
    let server: RedisServer;
    beforeAll(async () => {
        server = await start(dockerConf());
    });

    it("a url that agrees connects and passes", async () => {
        const results = await runSmoke(outputsFor(server));
        expect(line(results, "url")).toEqual({
            name: "url",
            status: "pass",
            detail: `redis://default:<password>@127.0.0.1:${server.port} agrees with host, port, tls, username and password; PING through it answered PONG`,
        });
    });

    it.each([
        { given: "http://default:PW@127.0.0.1:PORT", detail: "output url does not start with redis:// or rediss://" },
        { given: "PW", detail: "output url is not a URL; expected redis://default:<password>@127.0.0.1:PORT" },
        { given: "redis://default:Not-The-Password-0123@127.0.0.1:PORT", detail: "output url holds another password than output password" },
        { given: "rediss://default:PW@127.0.0.1:PORT", detail: "output url starts with rediss:// but output tls is false" },
        { given: "redis://default:PW@127.0.0.2:PORT", detail: "output url names another host than output host 127.0.0.1" },
        { given: "redis://default:PW@127.0.0.1:1", detail: "output url names another port than output port PORT" },
        { given: "redis://admin:PW@127.0.0.1:PORT", detail: "output url names another user than output username default" },
    ])("url $given fails url, and only url, without showing the password", async ({ given, detail }) => {
        const url = given.replace("PW", TEST_PASSWORD).replace("PORT", String(server.port));
        const results = await runSmoke(outputsFor(server, { url }));
        expect(failed(results)).toEqual(["url"]);
        expect(line(results, "url").detail).toBe(detail.replace("PORT", String(server.port)));
        for (const r of results) expect(r.detail).not.toContain(TEST_PASSWORD.slice(0, 8));
    });
});

describe("a managed-like server where CONFIG is blocked", () => {
    it("reads the eviction policy from INFO instead, and checks replicas as the stand-in for the AOF", async () => {
        const { elasticachePersistence } = await import("../../src/persistence");
        const { elasticacheSchema } = await import("../../src/config");
        const config = elasticacheSchema.parse({ vpcId: "vpc-0abc", subnetIds: ["subnet-0a"], allowedCidrs: ["10.0.0.0/8"], replicas: 0 });
        const server = await start(
            renderRedisConf(applyOverrides(parseRedisConf(dockerConf()), { extra: { "rename-command": ['CONFIG ""'] } })),
        );
        const results = await runSmoke(outputsFor(server, { persistence: elasticachePersistence(config, loadRedisConf()) }));
        expect(failed(results)).toEqual([]);
        expect(line(results, "eviction-policy").detail).toMatch(/^maxmemory-policy is noeviction/);
        expect(line(results, "persistence").detail).toBe("0 replica(s) connected");
    });
});

describe("TLS as declared", () => {
    let certs: TestCerts;
    let tlsServer: RedisServer;
    let plainServer: RedisServer;
    beforeAll(async () => {
        certs = makeCerts();
        const tlsConf = renderRedisConf(
            applyOverrides(parseRedisConf(dockerConf()), {
                tls: { certFile: certs.certFile, keyFile: certs.keyFile, caFile: certs.caFile },
            }),
        );
        tlsServer = await start(tlsConf, { tls: true });
        plainServer = await start(dockerConf());
    });
    afterAll(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

    it("a TLS server declared as TLS passes every check, certificate verified", async () => {
        const results = await runSmoke(outputsFor(tlsServer, { tls: true }), { caFile: certs.caFile });
        expect(failed(results)).toEqual([]);
        expect(line(results, "tls").detail).toBe("TLS as declared, certificate verified");
    });

    it("TLS declared but the server plain fails tls, and the password is not sent in plain text", async () => {
        const results = await runSmoke(outputsFor(plainServer, { tls: true }), { caFile: certs.caFile });
        expect(failed(results)).toEqual(["tls"]);
        expect(line(results, "tls").detail).toMatch(
            new RegExp(`^the outputs declare tls: true but 127.0.0.1:${plainServer.port} speaks plain TCP \\(the TLS handshake failed: `),
        );
        expect(line(results, "auth")).toEqual({
            name: "auth",
            status: "skip",
            detail: "the password was not sent: TLS was declared and the server speaks plain TCP",
        });
        expect(line(results, "url")).toEqual({ name: "url", status: "skip", detail: "the password was not sent (see auth)" });
        for (const r of results.slice(4)) expect(r).toEqual({ name: r.name, status: "skip", detail: "needs an authenticated connection" });
    });

    it("a TLS server reached as plain fails tls", async () => {
        const results = await runSmoke(outputsFor(tlsServer, { tls: false }), { caFile: certs.caFile });
        expect(failed(results)).toEqual(["tls"]);
        expect(line(results, "tls").detail).toMatch(
            new RegExp(`^the outputs declare tls: false but 127.0.0.1:${tlsServer.port} wants TLS \\(a plain connection failed: `),
        );
        // The certificate verified: the password went over TLS, and the checks that need a session ran through it.
        expect(line(results, "url")).toEqual({ name: "url", status: "skip", detail: "needs the declared protocol to work (see tls)" });
        expect(results.filter((r) => r.status === "pass").map((r) => r.name)).toEqual([
            "reachable",
            "auth",
            "eviction-policy",
            "persistence",
            "memory-headroom",
            "round-trip",
            "bullmq",
            "retention",
        ]);
    });
});

describe("npm run smoke: exit codes and one-line errors", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-smoke-cli-"));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const run = (...args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
                process.execPath,
                opsArgv("src/ops/smoke.ts", ...args),
                { cwd: path.join(__dirname, "..", ".."), timeout: 55_000 },
                (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
            );
        });

    it("0 when all pass, 1 when one fails, 2 for bad input, never a stack trace", async () => {
        const good = await start(dockerConf());
        const bad = await start(dockerConf(), { args: ["--maxmemory-policy", "volatile-lru"] });
        const write = (name: string, content: string) => {
            const f = path.join(dir, name);
            fs.writeFileSync(f, content);
            return f;
        };
        const goodFile = write("good.json", JSON.stringify(outputsFor(good)));
        const badFile = write("bad.json", JSON.stringify(outputsFor(bad)));
        const notJson = write("not.json", "{ nope");
        const { password: _, ...rest } = outputsFor(good);
        const missing = write("missing.json", JSON.stringify(rest));
        const [ok, fail, absent, broken, incomplete, usage] = await Promise.all([
            run("--outputs", goodFile),
            run("--outputs", badFile),
            run("--outputs", path.join(dir, "absent.json")),
            run("--outputs", notJson),
            run("--outputs", missing),
            run("--stack"),
        ]);
        expect(ok.code).toBe(0);
        expect(ok.stdout.trim().split("\n").at(-1)).toMatch(/^10 checks: 10 passed, 0 failed, 0 skipped in \d+\.\d\d s$/);
        expect(fail.code).toBe(1);
        expect(fail.stdout).toContain("FAIL eviction-policy  maxmemory-policy is volatile-lru");
        expect(absent).toMatchObject({ code: 2, stderr: `error: cannot read ${path.join(dir, "absent.json")}: ENOENT\n` });
        expect(broken.code).toBe(2);
        expect(broken.stderr).toBe(
            `error: ${notJson} is not valid JSON: a value or name without double quotes at line 1, column 3 (the text is not shown: it may hold the password)\n`,
        );
        expect(incomplete).toMatchObject({
            code: 2,
            stderr: `error: ${missing}: missing output password (is it an mspbyte-redis stack?)\n`,
        });
        expect(usage.code).toBe(2);
        expect(usage.stderr).toMatch(/^error: Option '--stack <value>' argument missing/);
        for (const r of [absent, broken, incomplete, usage]) expect(r.stderr).not.toMatch(/\n\s+at /);
    });
});
