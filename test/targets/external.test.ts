/**
 * The external component built directly from its args under mocks: nothing is provisioned, so
 * the cases are what each arg and each default becomes in the endpoint, what it refuses, and
 * the outputs it registers.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyOverrides, loadRedisConf } from "../../src/redisConf";
import { EXTERNAL_DEFAULTS } from "../../src/targets/external/config";
import { ExternalRedis, type ExternalRedisArgs, externalSettings } from "../../src/targets/external/external";
import { type ComponentRun, buildUnderMocks, registeredOutputs } from "../helpers/stackUnderMocks";
import { promiseOf } from "../helpers/pulumiMocks";

const ROOT_CONF = loadRedisConf();
const PASSWORD = "Provider0Password0123456789";
/** The args every case starts from: only what has no default. */
const REQUIRED: ExternalRedisArgs = {
    redisConf: ROOT_CONF,
    password: PASSWORD,
    host: "redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com",
};

function build(args: Partial<ExternalRedisArgs> = {}): Promise<ComponentRun<ExternalRedis>> {
    return buildUnderMocks("external", () => new ExternalRedis("redis", { ...REQUIRED, ...args }));
}

afterEach(() => vi.restoreAllMocks());

describe("defaults: only the args without one", () => {
    it("the defaults documented on the args are EXTERNAL_DEFAULTS, the config's own", () => {
        expect(EXTERNAL_DEFAULTS).toEqual({ port: 6379, tls: true, allowPlaintext: false, username: "default", aof: false });
    });

    it("registers the component alone: nothing is provisioned, so there is no child to transform", async () => {
        const b = await build();
        expect(b.resources.map((r) => `${r.type} ${r.name}`)).toEqual(["mspbyte:redis:External redis"]);
    });

    it("the endpoint: the host given, TLS on 6379 as the default user", async () => {
        const e = (await build()).component.endpoint;
        expect({ host: e.host, port: e.port, tls: e.tls, username: e.username }).toEqual({
            host: REQUIRED.host,
            port: 6379,
            tls: true,
            username: "default",
        });
        expect(await promiseOf(pulumi.output(e.password))).toBe(PASSWORD);
    });

    it("persistence: the provider's, no AOF claimed", async () => {
        expect((await build()).component.endpoint.persistence).toEqual({
            mode: "provider-managed",
            aof: false,
            rdbSavePoints: [],
            maxmemory: "set by the provider's plan",
            maxmemoryPolicy: "noeviction",
            unsupported: [
                {
                    directive: "*",
                    reason: "the provider runs the server; this program sets none of redis.conf on it",
                    insteadUse:
                        "the provider's settings: choose the noeviction policy and append-only persistence in its console; smoke checks both",
                },
            ],
        });
    });
});

describe("each arg", () => {
    it("port and username as given", async () => {
        const e = (await build({ port: 16379, username: "pipeline" })).component.endpoint;
        expect({ port: e.port, username: e.username }).toEqual({ port: 16379, username: "pipeline" });
    });

    it("aof: the appendfsync of the redis.conf given is what smoke expects", async () => {
        expect((await build({ aof: true })).component.endpoint.persistence).toMatchObject({ aof: true, appendfsync: "everysec" });
        const edited = applyOverrides(ROOT_CONF, { extra: { appendfsync: "always" } });
        expect((await build({ aof: true, redisConf: edited })).component.endpoint.persistence).toMatchObject({
            aof: true,
            appendfsync: "always",
        });
    });

    it.each([
        { args: { tls: false }, refused: true },
        { args: { tls: false, allowPlaintext: true }, refused: false },
        { args: { tls: false, host: "127.0.0.1" }, refused: false },
        { args: { tls: false, host: "localhost" }, refused: false },
        { args: { tls: true }, refused: false },
    ])("plain text to another host needs the opt-in: $args refused $refused", ({ args, refused }) => {
        const attempt = () => externalSettings({ ...REQUIRED, ...args });
        if (refused) {
            expect(attempt).toThrow(
                `external: tls must be true for a server on another host (${REQUIRED.host}); plain text sends the password and every job over the network (allowPlaintext: true accepts that)`,
            );
            expect(() => new ExternalRedis("redis", { ...REQUIRED, ...args })).toThrow(/tls must be true/);
        } else {
            expect(attempt().tls).toBe(args.tls);
        }
    });
});

describe("outputs", () => {
    it("the endpoint and details are registered; the password is secret even when given plain", async () => {
        const { run: b, outputs } = await registeredOutputs(() => build());
        expect(Object.keys(outputs).sort()).toEqual(["details", "endpoint"]);
        expect(await pulumi.isSecret(outputs.endpoint.password)).toBe(true);
        expect(await pulumi.isSecret(pulumi.output(b.component.endpoint.password))).toBe(true);
    });

    it("details: nothing provisioned (typed ExternalDetails)", async () => {
        expect(await promiseOf((await build()).component.details)).toEqual({ service: "external", provisioned: false });
    });
});
