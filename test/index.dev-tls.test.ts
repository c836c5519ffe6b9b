/** Pulumi.dev.yaml published on every interface, with TLS (docker.tls), under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { getDirective, parseRedisConf } from "../src/redisConf";
import { expectPolicyClean } from "./helpers/policy";
import { Registered, promiseOf, runProgram, secretInput, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("dev")["mspbyte-redis:docker"]!);
    resources = await setupStack("dev", { overrides: { "mspbyte-redis:docker": JSON.stringify({ ...base, hostIp: "0.0.0.0", exposeToNetwork: true, tls: true }) } });
    program = await runProgram(resources, () => import("../src/index"));
});

it("uploads the certificate, the key (secret, 0600) and the CA beside a TLS-only redis.conf", () => {
    const c = single(resources, "docker:index/container:Container").inputs;
    const uploads = secretInput<{ file: string; permissions: string; content: string }[]>(c.uploads);
    expect(uploads.map((u) => [u.file, u.permissions])).toEqual([
        ["/usr/local/etc/redis/redis.conf", "0600"],
        ["/usr/local/etc/redis/tls/tls.crt", "0644"],
        ["/usr/local/etc/redis/tls/tls.key", "0600"],
        ["/usr/local/etc/redis/tls/ca.crt", "0644"],
    ]);
    const conf = parseRedisConf(uploads[0]!.content);
    expect(getDirective(conf, "port")).toBe("0");
    expect(getDirective(conf, "tls-port")).toBe("6379");
    expect(getDirective(conf, "tls-ca-cert-file")).toBe("/usr/local/etc/redis/tls/ca.crt");
    expect(c.healthcheck.tests).toEqual(["CMD-SHELL", "redis-cli -p 6379 --tls --cacert /usr/local/etc/redis/tls/ca.crt ping | grep -qx PONG"]);
    expect(c.ports).toEqual([{ internal: 6379, external: 6379, ip: "0.0.0.0" }]);
});

it("exports tls: true, a rediss:// URL and the CA", async () => {
    expect(await promiseOf(program.tls!)).toBe(true);
    expect(await promiseOf(program.url!)).toBe("rediss://default:Mock0Generated0Password0Abcdefgh@localhost:6379");
    expect(await promiseOf(program.details!)).toMatchObject({ caCertPem: expect.stringContaining("BEGIN CERTIFICATE") });
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "dev");
});
