/**
 * The root redis.conf and the docker-rendered one on a real redis-server: the seed's settings
 * read back, auth enforced, the container's health check judged on real answers.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT_REDIS_CONF, loadRedisConf, targetDirectivesIn } from "../../src/redisConf";
import { healthcheckCommand } from "../../src/targets/docker/docker";
import { RedisServer } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";
import { type TestCerts, makeCerts } from "../helpers/tls";

const SEED = {
    appendonly: "yes",
    appendfsync: "everysec",
    save: "900 1 300 10 60 10000",
    maxmemory: String(512 * 1024 * 1024),
    "maxmemory-policy": "noeviction",
};

async function configGet(server: RedisServer, password: string | undefined, names: string[]): Promise<Record<string, string>> {
    const c = server.client({ password });
    await c.connect();
    try {
        const out: Record<string, string> = {};
        for (const name of names) {
            const [, value] = (await c.config("GET", name)) as string[];
            out[name] = value!;
        }
        return out;
    } finally {
        c.disconnect();
    }
}

describe("the root redis.conf", () => {
    let server: RedisServer;
    beforeAll(async () => {
        server = await RedisServer.start({ conf: fs.readFileSync(ROOT_REDIS_CONF, "utf8") });
    });
    afterAll(() => server?.destroy());

    it("holds no target-only directive", () => {
        expect(targetDirectivesIn(loadRedisConf())).toEqual([]);
    });

    it("starts as-is with --port and --dir, and the seed's settings read back", async () => {
        expect(server.commandArgs().slice(0, 5)).toEqual([server.confFile, "--port", String(server.port), "--dir", server.dir]);
        expect(await configGet(server, undefined, Object.keys(SEED))).toEqual(SEED);
    });
});

describe("the docker-rendered redis.conf", () => {
    let server: RedisServer;
    beforeAll(async () => {
        server = await RedisServer.start({ conf: dockerConf() });
    });
    afterAll(() => server?.destroy());

    it("keeps the seed's settings and sets the password", async () => {
        expect(await configGet(server, TEST_PASSWORD, [...Object.keys(SEED), "requirepass"])).toEqual({
            ...SEED,
            requirepass: TEST_PASSWORD,
        });
    });

    it("refuses commands without the password (NOAUTH)", async () => {
        const c = server.client();
        await c.connect();
        await expect(c.set("k", "v")).rejects.toThrow(/NOAUTH/);
        c.disconnect();
    });

    it("refuses a wrong password", async () => {
        const c = server.client();
        await c.connect();
        await expect(c.auth("not-the-password-at-all")).rejects.toThrow(/WRONGPASS/);
        c.disconnect();
    });

    it("the container's health check passes with REDISCLI_AUTH and fails without it", () => {
        const run = (env: Record<string, string>) =>
            spawnSync("sh", ["-c", healthcheckCommand(server.port)], { env: { PATH: process.env.PATH!, ...env } }).status;
        expect(run({ REDISCLI_AUTH: TEST_PASSWORD })).toBe(0);
        expect(run({})).not.toBe(0);
        expect(run({ REDISCLI_AUTH: "wrong-password-wrong-password" })).not.toBe(0);
        // What the check guards against: plain `redis-cli ping` exits 0 on NOAUTH.
        expect(spawnSync("redis-cli", ["-p", String(server.port), "ping"], { encoding: "utf8" })).toMatchObject({
            status: 0,
            stdout: expect.stringMatching(/NOAUTH/),
        });
    });

    it("the seed's `redis-cli ping` answers PONG with REDISCLI_AUTH set, as in the container", () => {
        const out = execFileSync("redis-cli", ["-p", String(server.port), "ping"], {
            env: { PATH: process.env.PATH!, REDISCLI_AUTH: TEST_PASSWORD },
            encoding: "utf8",
        });
        expect(out.trim()).toBe("PONG");
    });
});

describe("a password with quotes, spaces and backslashes survives rendering", () => {
    const password = `we "quote" it, \\back\\ and 'single' #hash`;
    let server: RedisServer;
    beforeAll(async () => {
        server = await RedisServer.start({ conf: dockerConf({ password }) });
    });
    afterAll(() => server?.destroy());

    it("authenticates with exactly that password", async () => {
        const c = server.client({ password });
        await c.connect();
        expect(await c.ping()).toBe("PONG");
        c.disconnect();
    });
});

describe("the docker-rendered redis.conf with TLS", () => {
    let server: RedisServer;
    let certs: TestCerts;
    beforeAll(async () => {
        certs = makeCerts();
        for (const [from, to] of [
            [certs.certFile, "tls.crt"],
            [certs.keyFile, "tls.key"],
            [certs.caFile, "ca.crt"],
        ] as const)
            fs.copyFileSync(from, `${certs.dir}/${to}`);
        server = await RedisServer.start({ conf: dockerConf({ tls: true, tlsDir: certs.dir }), tls: true });
    });
    afterAll(async () => {
        await server?.destroy();
        fs.rmSync(certs.dir, { recursive: true, force: true });
    });

    it("the container's health check passes over TLS with the password, and fails without TLS or the password", () => {
        const run = (cmd: string, env: Record<string, string>) =>
            spawnSync("sh", ["-c", cmd], { env: { PATH: process.env.PATH!, ...env } }).status;
        expect(run(healthcheckCommand(server.port, true, certs.dir), { REDISCLI_AUTH: TEST_PASSWORD })).toBe(0);
        expect(run(healthcheckCommand(server.port, true, certs.dir), {})).not.toBe(0);
        expect(run(healthcheckCommand(server.port, false, certs.dir), { REDISCLI_AUTH: TEST_PASSWORD })).not.toBe(0);
    });
});
