import { describe, expect, it } from "vitest";
import { CONTRACT_OUTPUTS, TARGETS, bullmqSettings, connectionOutputsSchema, envFile, envValue, redisUrl } from "../src/contract";
import { outputsFor } from "../tools/outputs";
import { dataResourceOptions, serverResourceOptions } from "../src/protection";
import { formatMemorySize, maxmemoryFor, parseMemorySize } from "../src/memory";

describe("redisUrl", () => {
    it.each([
        [{ tls: false, username: "default", password: "abc", host: "127.0.0.1", port: 6379 }, "redis://default:abc@127.0.0.1:6379"],
        [
            { tls: true, username: "app", password: "p@ss:w/rd#?", host: "cache.example.com", port: 6380 },
            "rediss://app:p%40ss%3Aw%2Frd%23%3F@cache.example.com:6380",
        ],
        [{ tls: false, username: "default", password: "x", host: "::1", port: 6379 }, "redis://default:x@[::1]:6379"],
    ])("%j", (c, url) => {
        expect(redisUrl(c)).toBe(url);
        // What the pipeline's client sees: the same parts, decoded.
        const parsed = new URL(url);
        expect(decodeURIComponent(parsed.password)).toBe(c.password);
    });
});

describe("envFile", () => {
    it("writes the pipeline's variables, quoting what a shell would split", () => {
        expect(envFile({ host: "127.0.0.1", port: 6379, tls: false, username: "default", password: "it's a pw" })).toBe(
            [
                "REDIS_HOST=127.0.0.1",
                "REDIS_PORT=6379",
                "REDIS_USERNAME=default",
                `REDIS_PASSWORD="it's a pw"`,
                "REDIS_TLS=false",
                "REDIS_URL=redis://default:it%27s%20a%20pw@127.0.0.1:6379",
                "",
            ].join("\n"),
        );
    });
});

describe("bullmqSettings", () => {
    it("keeps completed jobs for 1000 or 24 h and failed ones for 5000 or 7 days", () => {
        expect(bullmqSettings("bull", "pipeline-jobs").defaultJobOptions).toEqual({
            removeOnComplete: { count: 1000, age: 86_400 },
            removeOnFail: { count: 5000, age: 604_800 },
        });
    });
});

describe("dataResourceOptions", () => {
    it.each([
        [
            { protect: false, deleteData: false },
            { protect: false, retainOnDelete: true },
        ],
        [
            { protect: true, deleteData: false },
            { protect: true, retainOnDelete: true },
        ],
        [
            { protect: false, deleteData: true },
            { protect: false, retainOnDelete: false },
        ],
        [
            { protect: true, deleteData: true },
            { protect: false, retainOnDelete: false },
        ],
    ])("%j", (given, expected) => {
        expect(dataResourceOptions(given)).toEqual(expected);
    });
});

describe("serverResourceOptions", () => {
    it("protects a managed cache or StatefulSet when asked, and never leaves it running after destroy", () => {
        expect(serverResourceOptions(true)).toEqual({ protect: true });
        expect(serverResourceOptions(false, { deleteBeforeReplace: true })).toEqual({ protect: false, deleteBeforeReplace: true });
    });
});

describe("memory sizes", () => {
    it.each([
        ["512mb", 536_870_912],
        ["1gb", 1_073_741_824],
        ["100", 100],
        ["1k", 1000],
        ["2KB", 2048],
        ["1tb", undefined],
        ["-1", undefined],
        ["12 mb", 12_582_912],
    ])("%s", (given, bytes) => expect(parseMemorySize(given)).toBe(bytes));
    it("formats whole units", () => {
        expect(formatMemorySize(536_870_912)).toBe("512mb");
        expect(formatMemorySize(1_073_741_824)).toBe("1gb");
        expect(formatMemorySize(1000)).toBe("1000");
    });
    it("leaves 40% of a container's memory for fork copy-on-write and buffers", () => {
        expect(maxmemoryFor(1024 * 1024 * 1024)).toBe(614 * 1024 * 1024);
        expect(maxmemoryFor(4 * 1024 ** 3, 256 * 1024 ** 2)).toBe(2304 * 1024 * 1024);
    });
});

describe("envValue reads back unchanged in a shell", () => {
    it.each(["plain", "with space", "it's", 'say "hi"', "$HOME", "a\\b"])("%j", async (v) => {
        const { execFileSync } = await import("node:child_process");
        const out = execFileSync("sh", ["-c", `X=${envValue(v)}; printf %s "$X"`], { encoding: "utf8" });
        expect(out).toBe(v);
    });
    it("refuses what no quoting keeps intact for both readers", () => {
        expect(() => envValue(`it's "both"`)).toThrow(/use the REDIS_URL/);
    });
});

describe("connectionOutputsSchema", () => {
    it("reads a stack's outputs as the contract has them, extras (details) dropped", () => {
        const outputs = outputsFor({ port: 6379 });
        const parsed = connectionOutputsSchema.parse({ ...outputs, details: { containerName: "redis" } });
        expect(parsed).toEqual(outputs);
        expect(Object.keys(parsed).sort()).toEqual([...CONTRACT_OUTPUTS].sort());
    });

    it("takes every target, and no other", () => {
        for (const target of TARGETS)
            expect(connectionOutputsSchema.safeParse({ ...outputsFor({ port: 6379 }), target }).success, target).toBe(true);
        const wrong = connectionOutputsSchema.safeParse({ ...outputsFor({ port: 6379 }), target: "lambda" });
        expect(wrong.success).toBe(false);
        expect(wrong.error?.issues.map((i) => i.path.join("."))).toEqual(["target"]);
    });

    it("refuses what the ops tools could not use: a port out of range, an evicting policy, a negative retention", () => {
        const o = outputsFor({ port: 6379 });
        const problems = (edit: object) => connectionOutputsSchema.safeParse({ ...o, ...edit }).error?.issues.map((i) => i.path.join("."));
        expect(problems({ port: 70000 })).toEqual(["port"]);
        expect(problems({ persistence: { ...o.persistence, maxmemoryPolicy: "allkeys-lru" } })).toEqual(["persistence.maxmemoryPolicy"]);
        expect(
            problems({
                bullmq: { ...o.bullmq, defaultJobOptions: { ...o.bullmq.defaultJobOptions, removeOnFail: { count: -1, age: 60 } } },
            }),
        ).toEqual(["bullmq.defaultJobOptions.removeOnFail.count"]);
    });
});
