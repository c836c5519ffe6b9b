/**
 * The dev stack with TLS (docker.tls, the stack's own certificate) on a real Docker Engine, on
 * the STAND-IN for the official redis image: TLS clients verified by the CA get in, plain
 * clients do not, and the healthcheck speaks TLS.
 */
import * as fs from "node:fs";
import * as tls from "node:tls";
import Redis from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DockerEngine, listeningAddresses } from "../helpers/dockerEngine";
import { type DockerStack, startRegisteredStack } from "../helpers/dockerReplay";
import { promiseOf, runProgram, setupStack, stackFileConfig } from "../helpers/pulumiMocks";
import { type TestCerts, makeCerts } from "../helpers/tls";

let engine: DockerEngine;
let stack: DockerStack;
let certs: TestCerts;
let hostPort: number;
let containerId: string;
let password: string;
const started = Date.now();

beforeAll(async () => {
    certs = makeCerts();
    const base = JSON.parse(stackFileConfig("dev")["mspbyte-redis:docker"]!);
    const resources = await setupStack("dev", {
        overrides: { "mspbyte-redis:docker": JSON.stringify({ ...base, tls: true }) },
        secrets: {
            "mspbyte-redis:tlsCertificate": fs.readFileSync(certs.certFile, "utf8"),
            "mspbyte-redis:tlsKey": fs.readFileSync(certs.keyFile, "utf8"),
            "mspbyte-redis:tlsCa": fs.readFileSync(certs.caFile, "utf8"),
        },
    });
    const program = await runProgram(resources, () => import("../../src/index"));
    password = (await promiseOf(program.password as any)) as string;
    ({ engine, stack, hostPort, containerId } = await startRegisteredStack(resources));
}, 120_000);

afterAll(async () => {
    await engine?.stop();
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
    console.log(`[engine] dev-tls.engine.test.ts wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 60_000);

it("becomes healthy: the healthcheck speaks TLS with the CA", async () => {
    const state = await engine.waitForHealth(containerId, "healthy", 40_000);
    expect(state.Health.Log.at(-1).ExitCode).toBe(0);
    expect(stack.container.healthcheck.tests[1]).toContain("--tls --cacert");
}, 60_000);

it("a TLS client verifying the CA gets PONG", async () => {
    const r = new Redis({
        host: "127.0.0.1",
        port: hostPort,
        password,
        tls: { ca: fs.readFileSync(certs.caFile), servername: "localhost" },
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    await r.connect();
    expect(await r.ping()).toBe("PONG");
    r.disconnect();
});

it("a plain-text client is refused", async () => {
    const r = new Redis({
        host: "127.0.0.1",
        port: hostPort,
        password,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 3000,
    });
    r.on("error", () => undefined);
    await expect(
        (async () => {
            await r.connect();
            return r.ping();
        })(),
    ).rejects.toThrow();
    r.disconnect();
});

it("a TLS client that does not trust the CA is refused", async () => {
    const err = await new Promise<Error | undefined>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: hostPort, servername: "localhost" }, () => {
            s.end();
            resolve(undefined);
        });
        s.on("error", (e) => resolve(e));
    });
    expect(err?.message).toMatch(/self[- ]signed|unable to verify|certificate/i);
});

it("is published on 127.0.0.1 only", async () => {
    const info = await engine.inspect(containerId);
    expect(info.NetworkSettings.Ports["6379/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(hostPort) }]);
    expect(listeningAddresses(hostPort)).toEqual(["127.0.0.1"]);
});

it("the key is the redis user's, 0600; the certificates 0644", async () => {
    const out = await engine.exec(containerId, ["sh", "-c", "stat -c '%n %u:%g %a' /usr/local/etc/redis/tls/*"]);
    expect(out.output.trim().split("\n").sort()).toEqual([
        "/usr/local/etc/redis/tls/ca.crt 999:999 644",
        "/usr/local/etc/redis/tls/tls.crt 999:999 644",
        "/usr/local/etc/redis/tls/tls.key 999:999 600",
    ]);
});
