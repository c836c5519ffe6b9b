/**
 * The dev stack (Pulumi.dev.yaml) on a real Docker Engine, on a STAND-IN for the official redis
 * image (Debian's redis-server, built here; see test/helpers/standInImage.ts), started by a
 * dockerd private to this file:
 *
 * 1. the container exactly as the program registers it, and what it does;
 * 2. the routine changes, one after another as an operator would make them: each step's before
 *    and after under mocks, every property change classified with the Docker provider's replace
 *    rules (test/helpers/containerReplace.ts), then applied on the engine as the provider would
 *    (a replacement: stop, remove, create, upload, start, wait), the queue's data checked after
 *    each.
 */
import * as fs from "node:fs";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT_REDIS_CONF } from "../../src/redisConf";
import { CONF_PATH, DATA_DIR } from "../../src/targets/docker/docker";
import { changeProblems, diffRuns, type ResourceChange, verdicts } from "../helpers/changeSafety";
import { editedRedisConf } from "../helpers/confEdit";
import { DOCKER_CONTAINER_APPLIED_IN_PLACE, DOCKER_TABLE } from "../helpers/containerReplace";
import { type DockerEngine, listeningAddresses } from "../helpers/dockerEngine";
import { type DockerStack, runRegisteredContainer, startRegisteredStack } from "../helpers/dockerReplay";
import { promiseOf, runProgram, setupStack, single } from "../helpers/pulumiMocks";
import { freePort } from "../../tools/redisServer";
import { type StackRun, registerStack, stackConfig } from "../helpers/stackUnderMocks";
import { buildStandInImage } from "../helpers/standInImage";

interface Step {
    change: string;
    docker?: Record<string, unknown>;
    password: string;
    edit?: (t: string) => string;
    expected: Record<string, string>;
}

const P1 = "Dev-Password-One-0123456789";
const P2 = "Dev-Password-Two-0123456789";
const edit = (t: string) => t.replace("slowlog-max-len 256", "slowlog-max-len 512");
/** Each step starts from the one before it. */
const STEPS: Step[] = [
    {
        change: "image bump",
        docker: { image: "redis:7.4.12-bookworm" },
        password: P1,
        expected: { "redis-image": "replace", "redis-container": "replace (delete first)" },
    },
    {
        change: "password change",
        docker: { image: "redis:7.4.12-bookworm" },
        password: P2,
        expected: { "redis-container": "replace (delete first)" },
    },
    {
        change: "redis.conf edit",
        docker: { image: "redis:7.4.12-bookworm" },
        password: P2,
        edit,
        expected: { "redis-container": "replace (delete first)" },
    },
    {
        change: "memory limit",
        docker: { image: "redis:7.4.12-bookworm", memoryLimit: "1gb" },
        password: P2,
        edit,
        expected: { "redis-container": "replace (delete first)" },
    },
];

async function register(step: { docker?: Record<string, unknown>; password: string; edit?: (t: string) => string }): Promise<StackRun> {
    const world = step.edit ? { redisConf: editedRedisConf(step.edit) } : {};
    const run = await registerStack(
        "dev",
        { ...stackConfig("dev", step.docker ? { docker: step.docker } : {}), password: step.password },
        ["password"],
        undefined,
        world,
    );
    // The container's image is the RemoteImage's ID, which a new image name changes; the mocks
    // leave it unresolved, so it stands here as the name it is pulled by.
    const image = run.resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!;
    for (const r of run.resources) if (r.type === "docker:index/container:Container") r.inputs.image = `${image.inputs.name} (id)`;
    return run;
}

const container = (r: StackRun) => r.resources.find((x) => x.type === "docker:index/container:Container")!.inputs;

let engine: DockerEngine;
let stack: DockerStack;
let image: { id: string; name: string };
let hostPort: number;
let containerId: string;
let password: string;
let persistence: any;
const started = Date.now();
const images = new Map<string, string>();
const runs: StackRun[] = [];
const jobs = Array.from({ length: 500 }, (_, i) => `job-${i}`);

beforeAll(async () => {
    const resources = await setupStack("dev");
    const program = await runProgram(resources, () => import("../../src/index"));
    password = (await promiseOf(program.password as any)) as string;
    persistence = await promiseOf(program.persistence as any);
    runs.push(await register({ password: P1 }));
    for (const s of STEPS) runs.push(await register(s));
    ({ engine, stack, image, hostPort, containerId } = await startRegisteredStack(resources));
    images.set(single(resources, "docker:index/remoteImage:RemoteImage").inputs.name, image.id);
}, 120_000);

afterAll(async () => {
    await engine?.stop();
    expect(fs.existsSync(ROOT_REDIS_CONF)).toBe(true);
    console.log(`[engine] dev.engine.test.ts wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 60_000);

async function imageFor(run: StackRun): Promise<string> {
    const name = run.resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!.inputs.name as string;
    if (!images.has(name)) images.set(name, (await buildStandInImage(engine, name)).id);
    return images.get(name)!;
}

async function connect(password: string): Promise<Redis> {
    const r = new Redis({
        host: "127.0.0.1",
        port: hostPort,
        password,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    r.on("error", () => undefined);
    await r.connect();
    return r;
}

/**
 * What the provider does for the container's verdict. `pulumi up` then waits for healthy; the
 * registered check first runs 10 s after start, so the steps between the first and the last
 * wait for the server's own PONG instead (each step's health is the same check on the same
 * image; the first and last steps wait for it).
 */
async function apply(change: ResourceChange, after: StackRun, password: string, waitHealthy: boolean): Promise<void> {
    const c = container(after);
    if (change.verdict === "replace (delete first)") {
        await engine.stopContainer(containerId, c.stopTimeout);
        await engine.removeContainer(containerId);
        containerId = await runRegisteredContainer(engine, c, { imageId: await imageFor(after), hostPort });
        if (waitHealthy) {
            await engine.waitForHealth(containerId, "healthy", 40_000);
        } else {
            for (let i = 0; ; i++) {
                const r = await engine.exec(containerId, ["sh", "-c", "redis-cli -p 6379 ping"], { env: [`REDISCLI_AUTH=${password}`] });
                if (r.output.trim() === "PONG") break;
                if (i > 100) throw new Error(`no PONG after the replacement: ${r.output}`);
                await new Promise((res) => setTimeout(res, 200));
            }
        }
    } else if (change.verdict === "in place" && change.changed.some((p) => DOCKER_CONTAINER_APPLIED_IN_PLACE.includes(p))) {
        throw new Error("an in-place container update is not part of these steps");
    }
}

const client = (pw?: string) =>
    new Redis({
        host: "127.0.0.1",
        port: hostPort,
        password: pw,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 3000,
    });

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
        for (let i = 0; i < 50 && (await engine.exec(containerId, ["sh", "-c", "test -f /data/dump.rdb"])).exitCode !== 0; i++)
            await new Promise((res) => setTimeout(res, 200));
        r.disconnect();
        const modes = await engine.exec(containerId, ["sh", "-c", "find /data -type f -exec stat -c '%a %u %n' {} +"]);
        const lines = modes.output.trim().split("\n").sort();
        expect(lines.some((l) => l.endsWith("/data/dump.rdb"))).toBe(true);
        expect(lines.some((l) => /appendonlydir\/.*\.aof$/.test(l))).toBe(true);
        for (const l of lines) expect(l, l).toMatch(/^600 999 /);
    }, 30_000);

    it("is unhealthy when the healthcheck's password is wrong (NOAUTH is not PONG)", async () => {
        const port = await freePort();
        const id = await runRegisteredContainer(engine, stack.container, {
            imageId: image.id,
            hostPort: port,
            name: "mspbyte-redis-wrong-password",
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
            Image: image.id,
            Cmd: ["sleep", "60"],
            ExposedPorts: { "6379/tcp": {} },
            HostConfig: { NetworkMode: engine.network, PortBindings: { "6379/tcp": [{ HostIp: "localhost", HostPort: String(port) }] } },
        });
        await engine.startContainer(id);
        const info = await engine.inspect(id);
        expect(info.NetworkSettings.Ports["6379/tcp"].map((b: any) => b.HostIp).sort()).toEqual(["0.0.0.0", "::"]);
        expect(listeningAddresses(port)).toEqual(["0.0.0.0", "::"]);
        await engine.removeContainer(id);
    }, 30_000);
});

describe("routine changes to the dev stack, classified under mocks and applied on a real engine", () => {
    it("the jobs are written, then the password is set (the stack's generated one replaced by P1): a replacement", async () => {
        const r = await connect(password);
        await r.rpush("bull:pipeline-jobs:wait", ...jobs);
        await r.set("steps", "0");
        r.disconnect();
        await apply(
            {
                key: "",
                type: "docker:index/container:Container",
                name: "redis-container",
                verdict: "replace (delete first)",
                changed: ["envs", "uploads"],
                forcedBy: ["envs", "uploads"],
            },
            runs[0]!,
            P1,
            false,
        );
        const after = await connect(P1);
        expect(await after.lrange("bull:pipeline-jobs:wait", 0, -1)).toEqual(jobs);
        after.disconnect();
    }, 60_000);

    it.each(STEPS.map((s, i) => ({ ...s, i })))(
        "$change: $expected; the queue's data survives",
        async ({ i, expected, password }) => {
            const before = runs[i]!,
                after = runs[i + 1]!;
            const changes = diffRuns(before, after, DOCKER_TABLE);
            expect(verdicts(changes)).toEqual(expected);
            // The data volume is never replaced, and the replacement frees the name and port first.
            expect(changes.find((c) => c.name === "redis-data")!.verdict).toBe("unchanged");
            expect(changeProblems(before, after, DOCKER_TABLE)).toEqual([]);

            await apply(changes.find((c) => c.name === "redis-container")!, after, password, i === 0 || i === STEPS.length - 1);
            const r = await connect(password);
            expect(await r.lrange("bull:pipeline-jobs:wait", 0, -1)).toEqual(jobs);
            expect(await r.incr("steps")).toBe(i + 1);
            r.disconnect();
        },
        90_000,
    );

    it("after the password change the old password is refused", async () => {
        const r = new Redis({
            host: "127.0.0.1",
            port: hostPort,
            lazyConnect: true,
            enableReadyCheck: false,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
        });
        r.on("error", () => undefined);
        await r.connect();
        await expect(r.call("AUTH", P1)).rejects.toThrow(/WRONGPASS/);
        expect(await r.call("AUTH", P2)).toBe("OK");
        r.disconnect();
    });

    it("after the memory limit the container has it, and maxmemory was sized from it", async () => {
        const info = await engine.inspect(containerId);
        expect(info.HostConfig.Memory).toBe(1024 * 1024 * 1024);
        const uploaded = container(runs.at(-1)!).uploads[0].content as string;
        const want = /^maxmemory (\S+)$/m.exec(uploaded)![1]!;
        const r = await connect(P2);
        const got = ((await r.config("GET", "maxmemory")) as string[])[1];
        expect(Number(got)).toBe(Number(want.replace(/mb$/, "")) * 1024 * 1024);
        expect(((await r.config("GET", "slowlog-max-len")) as string[])[1]).toBe("512");
        r.disconnect();
    });

    it("a volume rename replaces the volume: the server would start empty, the old volume kept", async () => {
        const before = runs[0]!;
        const after = await register({ docker: { volumeName: "mspbyte-redis-data-2" }, password: P1 });
        const changes = diffRuns(before, after, DOCKER_TABLE);
        expect(verdicts(changes)).toEqual({ "redis-data": "replace", "redis-container": "replace (delete first)" });
        expect(changeProblems(before, after, DOCKER_TABLE)).toEqual([
            "docker:index/volume:Volume::redis-data: holds the queue's data and is replaced (name)",
        ]);
        expect(before.resources.find((r) => r.name === "redis-data")!.opts.retainOnDelete).toBe(true);
    });

    it("a healthcheck change alone would be an in-place update the running container never sees", () => {
        const before = runs[0]!;
        const after: StackRun = {
            ...before,
            resources: before.resources.map((r) =>
                r.type === "docker:index/container:Container"
                    ? { ...r, inputs: { ...r.inputs, healthcheck: { ...r.inputs.healthcheck, retries: 6 } } }
                    : r,
            ),
        };
        const c = diffRuns(before, after, DOCKER_TABLE).find((x) => x.name === "redis-container")!;
        expect(c.verdict).toBe("in place");
        expect(c.changed.some((p) => DOCKER_CONTAINER_APPLIED_IN_PLACE.includes(p))).toBe(false);
    });
});
