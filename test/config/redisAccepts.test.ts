/**
 * Memory sizes against the real redis-server: every spelling config accepts for maxmemory is
 * taken by Redis (CONFIG SET, and a start from the rendered file) with the bytes config
 * computes; every spelling Redis refuses is refused by config first, with a spelling Redis takes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type Redis from "ioredis";
import { ConfigError, parseStackConfig } from "../../src/config";
import { parseMemorySize } from "../../src/memory";
import { dockerConf, TEST_PASSWORD } from "../../tools/render";
import { RedisServer } from "../../tools/redisServer";

let server: RedisServer;
let client: Redis;

beforeAll(async () => {
    server = await RedisServer.start({ conf: dockerConf() });
    client = server.client({ password: TEST_PASSWORD });
    await client.connect();
});

afterAll(async () => {
    client?.disconnect();
    await server?.destroy();
});

/** What Redis makes of a maxmemory value: its bytes, or its error. */
async function redisTakes(value: string): Promise<number | string> {
    try {
        await client.config("SET", "maxmemory", value);
        const [, bytes] = (await client.config("GET", "maxmemory")) as [string, string];
        return Number(bytes);
    } catch (e) {
        return (e as Error).message;
    }
}

function configMaxmemory(value: string | number): string | Error {
    try {
        return parseStackConfig({ target: "docker", maxmemory: value }, "dev").maxmemory!;
    } catch (e) {
        return e as Error;
    }
}

const ACCEPTED = [
    "16mb",
    "512mb",
    "512MB",
    "512Mb",
    "1gb",
    "1GB",
    "1g",
    "1G",
    "600m",
    "600M",
    "536870912",
    "16777216b",
    "16777216B",
    "524288kb",
    "20000k",
    "0512mb",
    " 512mb ",
];

describe("every maxmemory spelling config accepts, Redis takes with the same bytes", () => {
    it.each(ACCEPTED)("%j", async (value) => {
        const rendered = configMaxmemory(value);
        expect(rendered).not.toBeInstanceOf(Error);
        expect(await redisTakes(rendered as string)).toBe(parseMemorySize(rendered as string));
    });

    it("and a server starts from each rendered file with it", async () => {
        for (const value of ACCEPTED) {
            const maxmemory = configMaxmemory(value) as string;
            const s = await RedisServer.start({ conf: dockerConf({ maxmemory }) });
            try {
                const c = s.client({ password: TEST_PASSWORD });
                await c.connect();
                expect(((await c.config("GET", "maxmemory")) as string[])[1]).toBe(String(parseMemorySize(maxmemory)));
                c.disconnect();
            } finally {
                await s.destroy();
            }
        }
    });

    it("a JSON number is bytes", async () => {
        expect(configMaxmemory(536870912)).toBe("536870912");
        expect(await redisTakes("536870912")).toBe(536870912);
    });
});

describe("every spelling Redis refuses, config refuses first, with one Redis takes", () => {
    it.each([
        ["512 MB", "512mb"],
        ["512 mb", "512mb"],
        ["1.5gb", "1536mb"],
        ["1.5 GB", "1536mb"],
        ["+512mb", "512mb"],
        ["512MiB", "512mb"],
        ["512Mi", "512mb"],
        ["1Gi", "1gb"],
        ["1tb", "1024gb"],
        ["2 TB", "2048gb"],
        ["512 megs", "512mb"],
        ["0.5gb", "512mb"],
        ["-1", undefined],
        ["0x10", undefined],
        ["lots", undefined],
        ["1e9", undefined],
    ] as [string, string | undefined][])("%j (wants %s)", async (value, wanted) => {
        expect(typeof (await redisTakes(value)), "Redis refuses it").toBe("string");
        const result = configMaxmemory(value);
        expect(result).toBeInstanceOf(ConfigError);
        const message = (result as Error).message;
        if (wanted) {
            expect(message).toMatch(new RegExp(`; write it ${wanted}$`));
            expect(await redisTakes(wanted)).toBe(parseMemorySize(wanted));
        } else {
            expect(message).not.toMatch(/write it/);
        }
    });

    it.each(["0", "", "1mb", "15mb", "16777215"])(
        "%j: Redis takes it (CONFIG SET), config refuses it (a queue needs a ceiling of at least 16mb)",
        async (value) => {
            expect(typeof (await redisTakes(value))).toBe("number");
            expect(configMaxmemory(value)).toBeInstanceOf(ConfigError);
        },
    );
});
