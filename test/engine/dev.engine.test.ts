/**
 * The dev stack (Pulumi.dev.yaml) on a real Docker Engine: the container exactly as the program
 * registers it, on a STAND-IN for the official redis image (Debian's redis-server, built here;
 * see test/helpers/standInImage.ts), started by a dockerd private to this file.
 */
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONF_PATH, DATA_DIR } from "../../src/targets/docker";
import { DockerEngine, listeningAddresses } from "../helpers/dockerEngine";
import { DockerStack, createRegisteredVolume, dockerStack, runRegisteredContainer } from "../helpers/dockerReplay";
import { promiseOf, runProgram, setupStack, single } from "../helpers/pulumiMocks";
import { freePort } from "../helpers/redisServer";
import { buildStandInImage } from "../helpers/standInImage";

let engine: DockerEngine;
let stack: DockerStack;
let image: { id: string; name: string };
let hostPort: number;
let containerId: string;
let password: string;
let persistence: any;
const started = Date.now();

beforeAll(async () => {
    const resources = await setupStack("dev");
    const program = await runProgram(resources, () => import("../../src/index"));
    password = (await promiseOf(program.password as any)) as string;
    persistence = await promiseOf(program.persistence as any);
    stack = dockerStack(resources);
    engine = await DockerEngine.start();
    image = await buildStandInImage(engine, single(resources, "docker:index/remoteImage:RemoteImage").inputs.name);
    hostPort = await freePort();
    await createRegisteredVolume(engine, stack.volume);
    containerId = await runRegisteredContainer(engine, stack.container, { imageId: image.id, hostPort });
}, 120_000);

afterAll(async () => {
    await engine?.stop();
    console.log(`[engine] dev.engine.test.ts wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 60_000);

const client = (pw?: string) => new Redis({ host: "127.0.0.1", port: hostPort, password: pw, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });

describe("the dev container on a real engine (stand-in image for the official redis image)", () => {
    it("the stand-in is named as one", () => {
        expect(image.name).toBe("mspbyte-standin/redis-official-standin:7.4.11-bookworm-standin");
    });

    it("becomes healthy under the registered healthcheck", async () => {
        const state = await engine.waitForHealth(containerId, "healthy", 40_000);
        expect(state.Health.Log.at(-1).ExitCode).toBe(0);
    }, 60_000);

    it("answers PONG with the password and NOAUTH without it, through the published port", async () => {
        const ok = client(password);
        await ok.connect();
        expect(await ok.ping()).toBe("PONG");
        ok.disconnect();
        const anon = client();
        await anon.connect();
        await expect(anon.ping()).rejects.toThrow(/NOAUTH/);
        anon.disconnect();
    });

    it("runs with the contract's persistence and memory settings", async () => {
        const r = client(password);
        await r.connect();
        const get = async (k: string) => ((await r.config("GET", k)) as string[])[1];
        expect(await get("appendonly")).toBe(persistence.aof ? "yes" : "no");
        expect(await get("appendfsync")).toBe(persistence.appendfsync);
        expect(await get("save")).toBe(persistence.rdbSavePoints.join(" "));
        expect(await get("maxmemory")).toBe(String(512 * 1024 * 1024));
        expect(await get("maxmemory-policy")).toBe(persistence.maxmemoryPolicy);
        expect(await get("dir")).toBe(DATA_DIR);
        r.disconnect();
    });

    it("is published on 127.0.0.1 only: the engine's port map and the host's listening sockets", async () => {
        const info = await engine.inspect(containerId);
        expect(stack.container.ports).toEqual([{ internal: 6379, external: 6379, ip: "127.0.0.1" }]);
        expect(info.NetworkSettings.Ports["6379/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: String(hostPort) }]);
        expect(listeningAddresses(hostPort)).toEqual(["127.0.0.1"]);
    });

    it("has the registered restart policy, log options, memory and stop settings", async () => {
        const info = await engine.inspect(containerId);
        expect(info.HostConfig.RestartPolicy).toEqual({ Name: "unless-stopped", MaximumRetryCount: 0 });
        expect(info.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
        expect(info.HostConfig.Memory).toBe(0);
        expect(info.Config.StopSignal).toBe("SIGTERM");
        expect(info.Config.StopTimeout).toBe(30);
        expect(info.Config.Healthcheck).toMatchObject({ Interval: 10e9, Timeout: 3e9, StartPeriod: 600e9, Retries: 5 });
    });

    it("the uploaded redis.conf is the redis user's, 0600; the server runs as uid 999", async () => {
        const conf = await engine.exec(containerId, ["stat", "-c", "%u:%g %a", CONF_PATH]);
        expect(conf.output.trim()).toBe("999:999 600");
        const ps = await engine.exec(containerId, ["stat", "-c", "%u", "/proc/1"]);
        expect(ps.output.trim()).toBe("999");
    });

    it("writes the AOF and the RDB as 0600 (the entrypoint's umask)", async () => {
        const r = client(password);
        await r.connect();
        await r.set("mode-check", "1");
        await r.bgsave();
        for (let i = 0; i < 50 && (await engine.exec(containerId, ["sh", "-c", "test -f /data/dump.rdb"])).exitCode !== 0; i++) await new Promise((res) => setTimeout(res, 200));
        r.disconnect();
        const modes = await engine.exec(containerId, ["sh", "-c", "find /data -type f -exec stat -c '%a %u %n' {} +"]);
        const lines = modes.output.trim().split("\n").sort();
        expect(lines.some((l) => l.endsWith("/data/dump.rdb"))).toBe(true);
        expect(lines.some((l) => /appendonlydir\/.*\.aof$/.test(l))).toBe(true);
        for (const l of lines) expect(l, l).toMatch(/^600 999 /);
    }, 30_000);

    it("keeps the data across a container replacement on the same volume (an image bump or config change)", async () => {
        const r = client(password);
        await r.connect();
        const jobs = Array.from({ length: 200 }, (_, i) => `job-${i}`);
        await r.rpush("bull:pipeline-jobs:wait", ...jobs);
        await r.set("marker", "before-replacement");
        r.disconnect();
        // The provider's replacement with deleteBeforeReplace: stop (SIGTERM, stopTimeout), remove, create anew.
        await engine.stopContainer(containerId, stack.container.stopTimeout);
        await engine.removeContainer(containerId);
        containerId = await runRegisteredContainer(engine, stack.container, { imageId: image.id, hostPort });
        await engine.waitForHealth(containerId, "healthy", 40_000);
        const after = client(password);
        await after.connect();
        expect(await after.get("marker")).toBe("before-replacement");
        expect(await after.lrange("bull:pipeline-jobs:wait", 0, -1)).toEqual(jobs);
        after.disconnect();
    }, 90_000);

    it("is unhealthy when the healthcheck's password is wrong (NOAUTH is not PONG)", async () => {
        const port = await freePort();
        const id = await runRegisteredContainer(engine, stack.container, {
            imageId: image.id, hostPort: port, name: "mspbyte-redis-wrong-password",
            override: (b) => {
                b.Env = ["REDISCLI_AUTH=Not-The-Password-0123456789"];
                // The registered test command, on a short clock so the case ends in seconds.
                b.HostConfig.Mounts = [];
                b.Healthcheck = { ...b.Healthcheck, Interval: 1e9, StartPeriod: 0, Retries: 3 };
            },
        });
        const state = await engine.waitForHealth(id, "unhealthy", 30_000);
        expect(state.Health.Log.at(-1).ExitCode).not.toBe(0);
        const cli = await engine.exec(id, ["sh", "-c", "redis-cli -p 6379 ping"], { env: ["REDISCLI_AUTH=Not-The-Password-0123456789"] });
        expect(cli.output).toMatch(/WRONGPASS|NOAUTH/);
        await engine.removeContainer(id);
    }, 60_000);
});

describe("what the engine does with a host name in a port binding", () => {
    it("publishes `localhost` on every address (0.0.0.0 and ::): why config resolves names", async () => {
        const port = await freePort();
        const id = await engine.createContainer("hostname-binding", {
            Image: image.id, Cmd: ["sleep", "60"], ExposedPorts: { "6379/tcp": {} },
            HostConfig: { NetworkMode: engine.network, PortBindings: { "6379/tcp": [{ HostIp: "localhost", HostPort: String(port) }] } },
        });
        await engine.startContainer(id);
        const info = await engine.inspect(id);
        expect(info.NetworkSettings.Ports["6379/tcp"].map((b: any) => b.HostIp).sort()).toEqual(["0.0.0.0", "::"]);
        expect(listeningAddresses(port)).toEqual(["0.0.0.0", "::"]);
        await engine.removeContainer(id);
    }, 30_000);
});
