/**
 * Stacks with bad config: the program stops with the config error before creating anything.
 * The first case imports the program's entry (index.ts); the others run it as a function, many
 * stack files in one process.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config";
import { type Registered, setupStack } from "../helpers/pulumiMocks";
import { runStackFailing } from "../helpers/stackUnderMocks";

let resources: Registered[];

beforeAll(async () => {
    resources = await setupStack("dev", { overrides: { "mspbyte-redis:docker": JSON.stringify({ hostPort: 99999, hostIp: "0.0.0.0" }) } });
});

it("throws the config error and registers no resource", async () => {
    const error = await import("../../src/index").then(
        () => undefined,
        (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
        [
            "invalid stack config (Pulumi.<stack>.yaml, namespace mspbyte-redis):",
            "  - mspbyte-redis:docker.hostPort: given 99999; allowed: an integer from 1 to 65535",
            '  - mspbyte-redis:docker.hostIp: given "0.0.0.0"; allowed: 127.0.0.1, ::1 or one interface\'s address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well',
            "  - mspbyte-redis:docker.tls: given false; allowed: true when docker.hostIp (0.0.0.0) is not a loopback address: traffic then leaves this machine, and the password and every job with it",
        ].join("\n"),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(resources).toEqual([]);
});

const KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDfB7nQx2u5T3vGzYq1Xw8pKcR";
const KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`;
const CERT = "-----BEGIN CERTIFICATE-----\nMIIDazCCAlOgAwIBAgIUYkz7\n-----END CERTIFICATE-----\n";

describe("the issue's cases, each on a real stack file, stop the program before any resource", () => {
    it.each([
        {
            case: 'maxmemory "512 MB"',
            stack: "dev",
            overrides: { "mspbyte-redis:maxmemory": "512 MB" },
            expected: /maxmemory: given "512 MB"; .*; write it 512mb$/m,
        },
        {
            case: "maxmemory over the container's limit",
            stack: "dev",
            overrides: { "mspbyte-redis:maxmemory": "1gb", "mspbyte-redis:docker": JSON.stringify({ memoryLimit: "1gb" }) },
            expected: /maxmemory: given "1gb"; allowed: at most 614mb for docker.memoryLimit 1gb/,
        },
        {
            case: "maxmemory over the instance type's memory",
            stack: "vm",
            overrides: { "mspbyte-redis:maxmemory": "2gb" },
            expected: /at most 1075mb for vm.instanceType t4g.small/,
        },
        {
            case: "maxmemory over the pod's limit",
            stack: "kubernetes",
            overrides: { "mspbyte-redis:maxmemory": "1gb" },
            expected: /at most 614mb for kubernetes.memoryLimit 1Gi/,
        },
        {
            case: "an elasticache block on the docker stack",
            stack: "dev",
            overrides: { "mspbyte-redis:elasticache": JSON.stringify({ nodeType: "cache.r7g.large" }) },
            expected: /elasticache: .*unset for target docker; this block configures target elasticache/,
        },
        {
            case: "external host with the console's port",
            stack: "external",
            overrides: { "mspbyte-redis:external": JSON.stringify({ host: "redis-12345.example.com:12345" }) },
            secrets: { "mspbyte-redis:password": "External-Password-0123456789" },
            expected: /here host redis-12345.example.com and external.port 12345/,
        },
        {
            case: "sources that together are the whole internet",
            stack: "vm",
            overrides: {
                "mspbyte-redis:vm": JSON.stringify({
                    vpcId: "vpc-0123456789abcdef0",
                    subnetId: "subnet-0a1b2c3d4e5f60001",
                    allowedCidrs: ["0.0.0.0/1", "128.0.0.0/1"],
                    allowPublicCidrs: true,
                }),
            },
            expected: /together these cover every IPv4 address on the internet/,
        },
        {
            case: "a public range without the opt-in",
            stack: "vm",
            overrides: {
                "mspbyte-redis:vm": JSON.stringify({
                    vpcId: "vpc-0123456789abcdef0",
                    subnetId: "subnet-0a1b2c3d4e5f60001",
                    allowedCidrs: ["52.0.0.0/16"],
                }),
            },
            expected: /52.0.0.0\/16 reaches public addresses, which needs vm.allowPublicCidrs: true/,
        },
        {
            case: "certificate and key swapped",
            stack: "dev",
            secrets: { "mspbyte-redis:tlsCertificate": KEY, "mspbyte-redis:tlsKey": CERT, "mspbyte-redis:tlsCa": CERT },
            expected: /tlsCertificate: given a secret of \d+ characters/,
        },
        {
            case: "protection lifted on prod",
            stack: "prod",
            overrides: { "mspbyte-redis:protect": "false" },
            expected: /protect: given false; allowed: true or unset on stack prod/,
        },
    ] as { case: string; stack: string; overrides?: Record<string, string>; secrets?: Record<string, string>; expected: RegExp }[])(
        "$case",
        async ({ stack, overrides, secrets, expected }) => {
            const { error, resources: registered } = await runStackFailing(stack, { overrides, secrets });
            expect((error as Error).message).toMatch(/^invalid stack config/);
            expect((error as Error).message).toMatch(expected);
            expect((error as Error).message).not.toContain(KEY_BODY);
            expect(registered).toEqual([]);
        },
    );
});
