/** What the day-2 tools read of an RDB without loading it, checked on files a real redis-server wrote. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Crc64, RdbError, checkRdbFile, parseRdbHeader, readsRdb, serverRdbVersion } from "../../../src/ops/day2/rdb";
import { RedisServer } from "../../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../../tools/render";

let server: RedisServer;
let file: string;
let dir: string;

beforeAll(async () => {
    server = await RedisServer.start({ conf: dockerConf() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-rdb-"));
    const c = server.client({ password: TEST_PASSWORD });
    await c.connect();
    for (let i = 0; i < 25; i++) await c.set(`k${i}`, "v".repeat(i * 10));
    await c.set("with-ttl", "x", "EX", 600);
    await c.select(3);
    await c.set("in-db-3", "x");
    await c.save();
    c.disconnect();
    file = path.join(dir, "dump.rdb");
    fs.copyFileSync(path.join(server.dir, "dump.rdb"), file);
});
afterAll(async () => {
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("RDB files", () => {
    it("CRC64 is Redis's (Jones, reflected): the check value of src/crc64.c, in any split", () => {
        expect(new Crc64().update(Buffer.from("123456789")).hex()).toBe("e9c6d914c4b8d9ca");
        const c = new Crc64();
        for (const part of ["1", "2345678", "9"]) c.update(Buffer.from(part));
        expect(c.hex()).toBe("e9c6d914c4b8d9ca");
    });

    it("reads the header, the aux fields and the first database's key count of a real dump", async () => {
        const check = await checkRdbFile(file);
        expect(check.crc64).toBe("ok");
        expect(check.header).toMatchObject({ magic: "REDIS", version: 10, db: 0, keys: 26 });
        expect(check.header.aux).toMatchObject({ "redis-ver": expect.stringMatching(/^7\.0\./), "redis-bits": "64", "aof-base": "0" });
    });

    it("an empty server's dump holds no key", () => {
        expect(parseRdbHeader(Buffer.concat([Buffer.from("REDIS0010"), Buffer.from([0xff])]))).toMatchObject({ keys: 0, db: null });
    });

    it.each([
        { given: "REDIS0009", version: 9, magic: "REDIS" },
        { given: "VALKEY080", version: 80, magic: "VALKEY" },
    ])("reads the magic of $given", ({ given, version, magic }) => {
        expect(parseRdbHeader(Buffer.from(given))).toMatchObject({ magic, version });
    });

    it("refuses what is not an RDB", () => {
        expect(() => parseRdbHeader(Buffer.from("*1\r\n$4\r\nPING\r\n"))).toThrow(
            new RdbError("not an RDB file (it does not start with REDIS or VALKEY and a version)"),
        );
    });

    it.each([
        { info: { redis_version: "7.0.15" }, rdb: 10, server: "Redis 7.0.15" },
        { info: { redis_version: "7.1.0" }, rdb: 10, server: "Redis 7.1.0" },
        { info: { redis_version: "7.2.4" }, rdb: 11, server: "Redis 7.2.4" },
        { info: { redis_version: "7.4.11" }, rdb: 12, server: "Redis 7.4.11" },
        { info: { redis_version: "8.0.2" }, rdb: 12, server: "Redis 8.0.2" },
        { info: { redis_version: "6.2.14" }, rdb: 9, server: "Redis 6.2.14" },
        { info: { redis_version: "7.2.4", valkey_version: "8.0.1", server_name: "valkey" }, rdb: 11, server: "Valkey 8.0.1" },
        { info: { valkey_version: "9.0.0", server_name: "valkey" }, rdb: 80, server: "Valkey 9.0.0" },
    ])("$server reads up to RDB $rdb", ({ info, rdb, server }) => {
        expect(serverRdbVersion(info as Record<string, string>)).toEqual({ rdb, server });
    });

    it.each([
        { server: 10, file: 10, reads: true },
        { server: 10, file: 11, reads: false },
        { server: 12, file: 11, reads: true },
        { server: 11, file: 12, reads: false },
        { server: 80, file: 12, reads: false },
        { server: 80, file: 11, reads: true },
    ])("a server of RDB $server reads RDB $file: $reads", ({ server, file, reads }) => {
        expect(readsRdb(server, file)).toBe(reads);
    });
});
