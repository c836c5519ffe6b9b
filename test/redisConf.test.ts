import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { persistenceOf } from "../src/persistence";
import {
    applyOverrides,
    getAll,
    getDirective,
    loadRedisConf,
    parseRedisConf,
    renderRedisConf,
    quoteArg,
    splitArgs,
    renderForTarget,
    ROOT_REDIS_CONF,
} from "../src/redisConf";
import { dockerConf } from "../tools/render";

describe("parse and render", () => {
    it("renders the root file unchanged when nothing is overridden", () => {
        expect(renderRedisConf(loadRedisConf())).toBe(fs.readFileSync(ROOT_REDIS_CONF, "utf8"));
    });

    it("reads the seed's settings from the root file", () => {
        const conf = loadRedisConf();
        expect(getDirective(conf, "appendonly")).toBe("yes");
        expect(getDirective(conf, "appendfsync")).toBe("everysec");
        expect(getAll(conf, "save")).toEqual([
            ["900", "1"],
            ["300", "10"],
            ["60", "10000"],
        ]);
        expect(getDirective(conf, "maxmemory")).toBe("512mb");
        expect(getDirective(conf, "maxmemory-policy")).toBe("noeviction");
    });

    it.each([
        ["plain words", "save 900 1", ["save", "900", "1"]],
        ["double quotes with escapes", 'requirepass "a \\"b\\" \\\\c\\x41"', ["requirepass", 'a "b" \\cA']],
        ["single quotes", "requirepass 'it\\'s'", ["requirepass", "it's"]],
        ["an empty argument", 'save ""', ["save", ""]],
    ])("splits %s as redis-server does", (_, line, args) => {
        expect(splitArgs(line)).toEqual(args);
    });

    it.each(["simple", "with space", 'q"uote', "back\\slash", "", "#hash", "tab\there", "new\nline"])(
        "quotes %j so that it reads back unchanged",
        (arg) => {
            expect(splitArgs(`x ${quoteArg(arg)}`)).toEqual(["x", arg]);
        },
    );
});

describe("overrides", () => {
    it("replaces a directive in place and keeps every other line", () => {
        const before = loadRedisConf();
        const after = applyOverrides(before, { maxmemory: "1gb" });
        const changed = after.lines.filter((l, i) => l.raw !== before.lines[i]?.raw);
        expect(changed.map((l) => l.raw)).toEqual(["maxmemory 1gb"]);
        expect(after.lines).toHaveLength(before.lines.length);
    });

    it("appends target directives under one marked section", () => {
        const text = renderForTarget({ port: 6380, bind: ["10.0.0.5", "127.0.0.1"], dir: "/var/lib/redis", password: "p w" });
        expect(
            text.endsWith(
                [
                    "",
                    "# --- Set for this target by mspbyte-redis (src/redisConf.ts) ---",
                    "port 6380",
                    "bind 10.0.0.5 127.0.0.1",
                    "dir /var/lib/redis",
                    'requirepass "p w"',
                    "",
                ].join("\n"),
            ),
        ).toBe(true);
    });

    it("closes the plain port when TLS is on", () => {
        const conf = applyOverrides(loadRedisConf(), { port: 6379, tls: { certFile: "/c.pem", keyFile: "/k.pem", caFile: "/ca.pem" } });
        expect(getDirective(conf, "port")).toBe("0");
        expect(getDirective(conf, "tls-port")).toBe("6379");
        expect(getDirective(conf, "tls-cert-file")).toBe("/c.pem");
        expect(getDirective(conf, "tls-key-file")).toBe("/k.pem");
        expect(getDirective(conf, "tls-ca-cert-file")).toBe("/ca.pem");
        expect(getDirective(conf, "tls-auth-clients")).toBe("no");
    });

    it("replaces every save line with the new set, at the first one's place", () => {
        const conf = applyOverrides(loadRedisConf(), { extra: { save: ["3600 1"] } });
        expect(getAll(conf, "save")).toEqual([["3600", "1"]]);
    });

    it("reports the persistence a rendered file gives", () => {
        expect(persistenceOf(parseRedisConf(dockerConf()))).toEqual({
            mode: "aof+rdb",
            aof: true,
            appendfsync: "everysec",
            rdbSavePoints: ["900 1", "300 10", "60 10000"],
            maxmemory: "512mb",
            maxmemoryPolicy: "noeviction",
            unsupported: [],
        });
    });
});

describe("the docker-rendered file (snapshot, beside the real-server tests in test/integration)", () => {
    it("matches the snapshot", () => {
        expect(dockerConf({ password: "SNAPSHOT-PASSWORD-0123456789" })).toMatchSnapshot();
    });
});
