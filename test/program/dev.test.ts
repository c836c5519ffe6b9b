/** The dev stack (Pulumi.dev.yaml) under mocks: what it registers and exports. */
import * as pulumi from "@pulumi/pulumi";
import { expectPolicyClean } from "../helpers/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { CONTRACT_OUTPUTS } from "../../src/contract";
import { AOF_LOAD_BUDGET_SECONDS, goDuration } from "../../src/targets/docker/docker";
import { parseRedisConf, getDirective, getAll } from "../../src/redisConf";
import { ofType, promiseOf, runProgram, secretInput, setupStack, single } from "../helpers/pulumiMocks";
import { type ProgramExports, type ProgramResource, runStack } from "../helpers/stackUnderMocks";

let resources: ProgramResource[];
let program: ProgramExports;

beforeAll(async () => {
    ({ resources, program } = await runStack("dev"));
});

describe("dev stack (target docker)", () => {
    it("registers one image, one volume, one container, a generated password, under one component", async () => {
        await promiseOf(program.url!);
        const types = resources.map((r) => r.type).sort();
        expect(types).toEqual([
            "docker:index/container:Container",
            "docker:index/remoteImage:RemoteImage",
            "docker:index/volume:Volume",
            "mspbyte:redis:Docker",
            "random:index/randomPassword:RandomPassword",
        ]);
        expect(single(resources, "mspbyte:redis:Docker").name).toBe("redis");
        expect(
            resources
                .filter((r) => r.type.startsWith("docker:"))
                .map((r) => r.name)
                .sort(),
        ).toEqual(["redis-container", "redis-data", "redis-image"]);
    });

    it("pins the official Redis 7 image and keeps it on destroy", () => {
        const image = single(resources, "docker:index/remoteImage:RemoteImage");
        expect(image.inputs.name).toBe("redis:7.4.11-bookworm");
        expect(image.inputs.keepLocally).toBe(true);
    });

    it("names the volume as the compose setup did and labels it", () => {
        const volume = single(resources, "docker:index/volume:Volume");
        expect(volume.inputs.name).toBe("mspbyte-redis-data");
        expect(volume.inputs.labels).toContainEqual({ label: "com.mspbyte.role", value: "redis-data" });
    });

    it("runs the container as the seed did, published on loopback only", () => {
        const c = single(resources, "docker:index/container:Container").inputs;
        expect(c.name).toBe("mspbyte-redis");
        expect(c.command).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
        expect(c.ports).toEqual([{ internal: 6379, external: 6379, ip: "127.0.0.1" }]);
        expect(c.restart).toBe("unless-stopped");
        expect(c.volumes).toEqual([{ volumeName: "mspbyte-redis-data", containerPath: "/data" }]);
        expect(c.removeVolumes).toBe(false);
        expect(c.logDriver).toBe("json-file");
        expect(c.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
        expect(secretInput(c.envs)).toEqual(["REDISCLI_AUTH=Mock0Generated0Password0Abcdefgh"]);
        expect(c.healthcheck).toEqual({
            tests: ["CMD-SHELL", "redis-cli -p 6379 ping | grep -qx PONG"],
            interval: "10s",
            timeout: "3s",
            retries: 5,
            startPeriod: "10m0s",
        });
        expect(c.wait).toBe(true);
        expect(c.waitTimeout).toBe(620);
    });

    it("writes every healthcheck duration as the provider reads it back (Go's time.Duration.String)", () => {
        const c = single(resources, "docker:index/container:Container").inputs;
        // Go's canonical form: hours, minutes, seconds, each present once a larger unit is.
        const canonical = (secs: number) =>
            secs >= 3600
                ? `${Math.floor(secs / 3600)}h${Math.floor((secs % 3600) / 60)}m${secs % 60}s`
                : secs >= 60
                  ? `${Math.floor(secs / 60)}m${secs % 60}s`
                  : `${secs}s`;
        const seconds = (d: string) => {
            const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d)!;
            return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
        };
        for (const key of ["interval", "timeout", "startPeriod"]) {
            expect(c.healthcheck[key], key).toBe(canonical(seconds(c.healthcheck[key])));
        }
        expect(goDuration(60)).toBe("1m0s");
        expect(goDuration(3600)).toBe("1h0m0s");
        expect(goDuration(3)).toBe("3s");
        expect(goDuration(0)).toBe("0s");
    });

    it("waits for health longer than the AOF load budget the start period allows", () => {
        const c = single(resources, "docker:index/container:Container").inputs;
        expect(c.waitTimeout).toBeGreaterThan(AOF_LOAD_BUDGET_SECONDS);
        expect(c.healthcheck.startPeriod).toBe(goDuration(AOF_LOAD_BUDGET_SECONDS));
    });

    it("uploads the rendered redis.conf: the seed's settings, the password, the container's dir", () => {
        const c = single(resources, "docker:index/container:Container").inputs;
        const uploads = secretInput(c.uploads);
        expect(uploads).toHaveLength(1);
        const upload = uploads[0];
        expect(upload).toMatchObject({ file: "/usr/local/etc/redis/redis.conf", owner: "999", group: "999", permissions: "0600" });
        const conf = parseRedisConf(upload.content);
        expect(getDirective(conf, "appendonly")).toBe("yes");
        expect(getDirective(conf, "appendfsync")).toBe("everysec");
        expect(getAll(conf, "save")).toEqual([
            ["900", "1"],
            ["300", "10"],
            ["60", "10000"],
        ]);
        expect(getDirective(conf, "maxmemory")).toBe("512mb");
        expect(getDirective(conf, "maxmemory-policy")).toBe("noeviction");
        expect(getDirective(conf, "requirepass")).toBe("Mock0Generated0Password0Abcdefgh");
        expect(getDirective(conf, "dir")).toBe("/data");
        expect(getDirective(conf, "port")).toBe("6379");
    });

    it("generates a 32-character alphanumeric password", () => {
        const p = single(resources, "random:index/randomPassword:RandomPassword").inputs;
        expect(p).toMatchObject({ length: 32, special: false });
    });

    it("exports the whole output contract", async () => {
        expect(
            Object.keys(program)
                .filter((k) => !k.startsWith("__"))
                .sort(),
        ).toEqual([...CONTRACT_OUTPUTS, "details"].sort());
        expect(await promiseOf(program.details!)).toEqual({
            containerName: "mspbyte-redis",
            volumeName: "mspbyte-redis-data",
            image: "redis:7.4.11-bookworm",
        });
        expect(await promiseOf(program.target!)).toBe("docker");
        expect(await promiseOf(program.host!)).toBe("127.0.0.1");
        expect(await promiseOf(program.port!)).toBe(6379);
        expect(await promiseOf(program.tls!)).toBe(false);
        expect(await promiseOf(program.username!)).toBe("default");
        expect(await promiseOf(program.password!)).toBe("Mock0Generated0Password0Abcdefgh");
        expect(await promiseOf(program.url!)).toBe("redis://default:Mock0Generated0Password0Abcdefgh@127.0.0.1:6379");
        expect(await promiseOf(program.bullmq!)).toEqual({
            prefix: "bull",
            queue: "pipeline-jobs",
            defaultJobOptions: {
                removeOnComplete: { count: 1000, age: 86400 },
                removeOnFail: { count: 5000, age: 604800 },
            },
        });
        expect(await promiseOf(program.persistence!)).toEqual({
            mode: "aof+rdb",
            aof: true,
            appendfsync: "everysec",
            rdbSavePoints: ["900 1", "300 10", "60 10000"],
            maxmemory: "512mb",
            maxmemoryPolicy: "noeviction",
            unsupported: [],
        });
    });

    it("keeps the password and the URL secret, and nothing else", async () => {
        expect(await pulumi.isSecret(program.password as pulumi.Output<unknown>)).toBe(true);
        expect(await pulumi.isSecret(program.url as pulumi.Output<unknown>)).toBe(true);
        for (const name of ["target", "host", "port", "tls", "username", "bullmq", "persistence"]) {
            expect(await pulumi.isSecret(program[name] as pulumi.Output<unknown>), name).toBe(false);
        }
    });

    it("registers nothing else", () => {
        expect(ofType(resources, "docker:index/network:Network")).toHaveLength(0);
    });
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "dev");
});

describe("the program's entry (index.ts)", () => {
    let exported: Record<string, pulumi.Output<unknown>>;

    beforeAll(async () => {
        exported = await runProgram(await setupStack("dev"), () => import("../../src/index"));
    });

    it("loads the stack's config and exports what createRedis returns: the contract and details, nothing else", async () => {
        expect(
            Object.keys(exported)
                .filter((k) => !k.startsWith("__"))
                .sort(),
        ).toEqual([...CONTRACT_OUTPUTS, "details"].sort());
        for (const name of [...CONTRACT_OUTPUTS, "details"]) {
            expect(await promiseOf(exported[name]!), name).toEqual(await promiseOf(program[name]!));
            expect(await pulumi.isSecret(exported[name]!), name).toBe(await pulumi.isSecret(program[name]!));
        }
    });
});
