/**
 * Routine changes to the dev stack (Pulumi.dev.yaml), one after another as an operator would
 * make them: each step's before and after under mocks, every property change classified with
 * the Docker provider's replace rules (test/helpers/containerReplace.ts), then the step applied
 * on a real Docker Engine as the provider would (a replacement: stop, remove, create, upload,
 * start, wait for healthy) on the STAND-IN for the official redis image, with the queue's data
 * checked after each.
 */
import * as fs from "fs";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROOT_REDIS_CONF } from "../../src/redisConf";
import { changeProblems, diffRuns, ResourceChange } from "../helpers/changeSafety";
import { DOCKER_CONTAINER_APPLIED_IN_PLACE, DOCKER_TABLE } from "../helpers/containerReplace";
import { DockerEngine } from "../helpers/dockerEngine";
import { createRegisteredVolume, runRegisteredContainer } from "../helpers/dockerReplay";
import { freePort } from "../helpers/redisServer";
import { StackRun, registerStack, stackConfig } from "../helpers/stackUnderMocks";
import { buildStandInImage } from "../helpers/standInImage";

let confEdit: ((text: string) => string) | undefined;
vi.mock("fs", async (importOriginal) => {
    const real = await importOriginal<typeof import("fs")>();
    const readFileSync = ((file: any, ...rest: any[]) => {
        const out = (real.readFileSync as any)(file, ...rest);
        return confEdit && file === ROOT_REDIS_CONF ? confEdit(String(out)) : out;
    }) as typeof real.readFileSync;
    return { ...real, readFileSync, default: { ...real, readFileSync } };
});

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
    { change: "image bump", docker: { image: "redis:7.4.12-bookworm" }, password: P1, expected: { "redis-image": "replace", "redis-container": "replace (delete first)" } },
    { change: "password change", docker: { image: "redis:7.4.12-bookworm" }, password: P2, expected: { "redis-container": "replace (delete first)" } },
    { change: "redis.conf edit", docker: { image: "redis:7.4.12-bookworm" }, password: P2, edit, expected: { "redis-container": "replace (delete first)" } },
    { change: "memory limit", docker: { image: "redis:7.4.12-bookworm", memoryLimit: "1gb" }, password: P2, edit, expected: { "redis-container": "replace (delete first)" } },
];

async function register(step: { docker?: Record<string, unknown>; password: string; edit?: (t: string) => string }): Promise<StackRun> {
    confEdit = step.edit;
    try {
        const run = await registerStack("dev", { ...stackConfig("dev", step.docker ? { docker: step.docker } : {}), password: step.password }, ["password"]);
        // The container's image is the RemoteImage's ID, which a new image name changes; the mocks
        // leave it unresolved, so it stands here as the name it is pulled by.
        const image = run.resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!;
        for (const r of run.resources) if (r.type === "docker:index/container:Container") r.inputs.image = `${image.inputs.name} (id)`;
        return run;
    } finally {
        confEdit = undefined;
    }
}

const verdicts = (changes: ResourceChange[]) => Object.fromEntries(changes.filter((c) => c.verdict !== "unchanged").map((c) => [c.name, c.verdict]));
const container = (r: StackRun) => r.resources.find((x) => x.type === "docker:index/container:Container")!.inputs;

let engine: DockerEngine;
let hostPort: number;
let containerId: string;
const images = new Map<string, string>();
const runs: StackRun[] = [];
const started = Date.now();
const jobs = Array.from({ length: 500 }, (_, i) => `job-${i}`);

async function imageFor(run: StackRun): Promise<string> {
    const name = run.resources.find((r) => r.type === "docker:index/remoteImage:RemoteImage")!.inputs.name as string;
    if (!images.has(name)) images.set(name, (await buildStandInImage(engine, name)).id);
    return images.get(name)!;
}

async function connect(password: string): Promise<Redis> {
    const r = new Redis({ host: "127.0.0.1", port: hostPort, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
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

beforeAll(async () => {
    runs.push(await register({ password: P1 }));
    for (const s of STEPS) runs.push(await register(s));
    engine = await DockerEngine.start();
    hostPort = await freePort();
    const base = runs[0]!;
    await createRegisteredVolume(engine, base.resources.find((r) => r.type === "docker:index/volume:Volume")!.inputs);
    containerId = await runRegisteredContainer(engine, container(base), { imageId: await imageFor(base), hostPort });
    await engine.waitForHealth(containerId, "healthy", 40_000);
    const r = await connect(P1);
    await r.rpush("bull:pipeline-jobs:wait", ...jobs);
    await r.set("steps", "0");
    r.disconnect();
}, 120_000);

afterAll(async () => {
    await engine?.stop();
    expect(fs.existsSync(ROOT_REDIS_CONF)).toBe(true);
    console.log(`[engine] dev-changes.engine.test.ts wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 60_000);

describe("routine changes to the dev stack, classified under mocks and applied on a real engine", () => {
    it.each(STEPS.map((s, i) => ({ ...s, i })))("$change: $expected; the queue's data survives", async ({ i, expected, password }) => {
        const before = runs[i]!, after = runs[i + 1]!;
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
    }, 90_000);

    it("after the password change the old password is refused", async () => {
        const r = new Redis({ host: "127.0.0.1", port: hostPort, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
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

    it("a healthcheck change alone would be an in-place update the running container never sees", () => {
        const before = runs[0]!;
        const after: StackRun = { ...before, resources: before.resources.map((r) => (r.type === "docker:index/container:Container" ? { ...r, inputs: { ...r.inputs, healthcheck: { ...r.inputs.healthcheck, retries: 6 } } } : r)) };
        const c = diffRuns(before, after, DOCKER_TABLE).find((x) => x.name === "redis-container")!;
        expect(c.verdict).toBe("in place");
        expect(c.changed.some((p) => DOCKER_CONTAINER_APPLIED_IN_PLACE.includes(p))).toBe(false);
    });
});
