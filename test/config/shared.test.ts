/**
 * Rules the stack config and a component both apply (src/rules.ts, src/memory.ts, src/awsRules.ts)
 * are one predicate each: on the same table of values, the config refuses exactly what the
 * component refuses, each in its own words.
 */
import { describe, expect, it } from "vitest";
import { dockerSchema, externalSchema, kubernetesSchema, elasticacheSchema, vmSchema } from "../../src/config";
import { authTokenProblem, AUTH_TOKEN_CHARACTERS, AUTH_TOKEN_FORBIDDEN, multiAzOf } from "../../src/awsRules";
import { isRedisMemorySize, parseQuantity, QUANTITY } from "../../src/memory";
import {
    dockerHostIpProblem,
    metricsNamespacesProblem,
    networkPolicySourcesProblem,
    plaintextProblem,
    unreachableProblem,
} from "../../src/rules";
import { checkHostIp, dockerSettings, type DockerRedisArgs } from "../../src/targets/docker/docker";
import { externalSettings, type ExternalRedisArgs } from "../../src/targets/external/external";
import { kubernetesSettings, type KubernetesRedisArgs } from "../../src/targets/kubernetes/kubernetes";

const refuses = (f: () => unknown): boolean => {
    try {
        f();
        return false;
    } catch {
        return true;
    }
};
const docker = (a: Partial<DockerRedisArgs>) => dockerSettings({ stack: "dev", ...a } as DockerRedisArgs);
const kubernetes = (a: Partial<KubernetesRedisArgs>) => kubernetesSettings(a as KubernetesRedisArgs);
const external = (a: Partial<ExternalRedisArgs>) => externalSettings({ host: "redis.example.com", ...a } as ExternalRedisArgs);
const messages = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
    r.success ? [] : r.error!.issues.map((i) => i.message);

describe("docker.hostIp: an IP address, never a name", () => {
    it.each([
        ["127.0.0.1", true],
        ["::1", true],
        ["192.0.2.10", true],
        ["0.0.0.0", true],
        ["::", true],
        ["fe80::1", true],
        ["1:2:3:4:5:6:7::", true],
        ["redis.local", false],
        ["01.2.3.4", false],
        ["256.1.1.1", false],
        ["1.2.3", false],
        [":::", false],
        [":", false],
        ["fe80::1%eth0", false],
        ["::ffff:192.0.2.1", false],
        ["1::2::3", false],
        ["", false],
    ])("%j accepted: %s, by config and by the component alike", (hostIp, ok) => {
        expect(dockerSchema.safeParse({ hostIp, tls: true, exposeToNetwork: true }).success).toBe(ok);
        expect(refuses(() => checkHostIp(hostIp))).toBe(!ok);
        expect(refuses(() => docker({ hostIp, tls: true }))).toBe(!ok);
        expect(dockerHostIpProblem(hostIp, "config") === undefined).toBe(ok);
    });

    it("config takes localhost and * for the addresses they mean; the component, handed what config gives, takes the address", () => {
        expect(dockerSchema.parse({ hostIp: "localhost" }).hostIp).toBe("127.0.0.1");
        expect(dockerSchema.parse({ hostIp: "*", tls: true, exposeToNetwork: true }).hostIp).toBe("0.0.0.0");
        expect(refuses(() => checkHostIp("localhost"))).toBe(true);
    });

    it("each says it in its own words", () => {
        expect(messages(dockerSchema.safeParse({ hostIp: "redis.local", tls: true }))).toEqual([
            dockerHostIpProblem("redis.local", "config"),
        ]);
        expect(() => checkHostIp("redis.local")).toThrow(dockerHostIpProblem("redis.local", "args")!);
    });
});

describe("docker.memoryLimit: a memory size as redis.conf writes it", () => {
    it.each([
        ["1gb", true],
        ["512mb", true],
        ["536870912", true],
        [" 1GB ", true],
        [1073741824, true],
        ["512 mb", false],
        ["1.5gb", false],
        ["1GiB", false],
        ["lots", false],
        ["-1", false],
        [-1, false],
        [1.5, false],
        ["99999999999999999999", false],
    ] as [string | number, boolean][])("%j accepted: %s, by config and by the component alike", (memoryLimit, ok) => {
        expect(dockerSchema.safeParse({ memoryLimit }).success).toBe(ok);
        expect(refuses(() => docker({ memoryLimit }))).toBe(!ok);
        expect(isRedisMemorySize(memoryLimit)).toBe(ok);
    });

    it("config alone adds maxmemory's floor of 16mb (the component sizes maxmemory from any limit)", () => {
        expect(dockerSchema.safeParse({ memoryLimit: "8mb" }).success).toBe(false);
        expect(refuses(() => docker({ memoryLimit: "8mb" }))).toBe(false);
        expect(isRedisMemorySize("8mb", 16 * 1024 * 1024)).toBe(false);
    });
});

describe("kubernetes: the NetworkPolicy and the exporter admit someone, never every pod", () => {
    const cases: [string, Partial<KubernetesRedisArgs>, boolean][] = [
        ["labels", { allowedPodLabels: { app: "worker" } }, true],
        ["namespaces", { allowedNamespaces: ["pipeline"] }, true],
        ["neither", {}, false],
        ["empty both", { allowedPodLabels: {}, allowedNamespaces: [] }, false],
        ["metrics with namespaces", { allowedNamespaces: ["pipeline"], metrics: true, metricsNamespaces: ["monitoring"] }, true],
        ["metrics with the default namespaces", { allowedNamespaces: ["pipeline"], metrics: true }, true],
        ["metrics with none", { allowedNamespaces: ["pipeline"], metrics: true, metricsNamespaces: [] }, false],
        ["no metrics, no namespaces", { allowedNamespaces: ["pipeline"], metrics: false, metricsNamespaces: [] }, true],
    ];
    it.each(cases)("%s accepted: %s, by config and by the component alike", (_, args, ok) => {
        expect(kubernetesSchema.safeParse(args).success).toBe(ok);
        expect(refuses(() => kubernetes(args))).toBe(!ok);
    });

    it("each says it in its own words", () => {
        expect(messages(kubernetesSchema.safeParse({}))).toEqual([networkPolicySourcesProblem({}, [], "config")]);
        expect(() => kubernetes({})).toThrow(networkPolicySourcesProblem({}, [], "args")!);
        const noMetricsNamespaces = { allowedNamespaces: ["pipeline"], metrics: true, metricsNamespaces: [] };
        expect(messages(kubernetesSchema.safeParse(noMetricsNamespaces))).toEqual([metricsNamespacesProblem(true, [], "config")]);
        expect(() => kubernetes(noMetricsNamespaces)).toThrow(metricsNamespacesProblem(true, [], "args")!);
    });

    it("memoryLimit is read by the one quantity pattern config checks it with", () => {
        for (const q of ["1Gi", "512Mi", "1.5G", "64Mi", "lots", "1GiB", "1 Gi", "-1Gi"]) {
            expect(QUANTITY.test(q)).toBe(parseQuantity(q) !== undefined);
            expect(refuses(() => kubernetes({ allowedNamespaces: ["pipeline"], memoryLimit: q }))).toBe(parseQuantity(q) === undefined);
        }
    });
});

describe("external: TLS to another host unless plain text is accepted", () => {
    it.each([
        ["redis.example.com", true, false, true],
        ["redis.example.com", false, false, false],
        ["redis.example.com", false, true, true],
        ["127.0.0.1", false, false, true],
        ["localhost", false, false, true],
        ["::1", false, false, true],
        ["192.0.2.10", false, false, false],
    ] as [string, boolean, boolean, boolean][])(
        "%s tls %s allowPlaintext %s accepted: %s, by config and by the component alike",
        (host, tls, allowPlaintext, ok) => {
            expect(externalSchema.safeParse({ host, tls, allowPlaintext }).success).toBe(ok);
            expect(refuses(() => external({ host, tls, allowPlaintext }))).toBe(!ok);
        },
    );

    it("each says it in its own words", () => {
        const x = { host: "redis.example.com", tls: false, allowPlaintext: false };
        expect(messages(externalSchema.safeParse(x))).toEqual([plaintextProblem(x, "config")]);
        expect(() => external(x)).toThrow(plaintextProblem(x, "args")!);
    });
});

describe("AWS blocks: the rules vm and elasticache share", () => {
    const elasticache = { vpcId: "vpc-0123", subnetIds: ["subnet-0123", "subnet-4567"] };
    const vm = { vpcId: "vpc-0123", subnetId: "subnet-0123" };

    it("with no CIDR block and no security group, nothing can reach the server: one rule, both blocks", () => {
        expect(messages(vmSchema.safeParse(vm))).toEqual([unreachableProblem("vm", { allowedCidrs: [], allowedSecurityGroupIds: [] })]);
        expect(messages(elasticacheSchema.safeParse(elasticache))).toEqual([
            unreachableProblem("elasticache", { allowedCidrs: [], allowedSecurityGroupIds: [] }),
        ]);
        expect(vmSchema.safeParse({ ...vm, allowedSecurityGroupIds: ["sg-0123"] }).success).toBe(true);
        expect(elasticacheSchema.safeParse({ ...elasticache, allowedCidrs: ["10.0.0.0/16"] }).success).toBe(true);
    });

    it.each([
        ["vpcId", "vpc-xyz"],
        ["allowedSecurityGroupIds", ["sg-XYZ"]],
        ["kmsKeyArn", "arn:aws:s3:::bucket"],
        ["alarmEmail", "ops at example"],
    ] as [string, unknown][])("%s %j is refused by both blocks with the same text", (key, value) => {
        const both = [
            vmSchema.safeParse({ ...vm, allowedSecurityGroupIds: ["sg-0123"], [key]: value }),
            elasticacheSchema.safeParse({ ...elasticache, allowedSecurityGroupIds: ["sg-0123"], [key]: value }),
        ];
        expect(both.map((r) => r.success)).toEqual([false, false]);
        expect(messages(both[0]!)).toEqual(messages(both[1]!));
    });

    it("AUTH tokens: the forbidden characters are the allowed ones' complement", () => {
        for (const t of [
            "Abcdefgh-12345678",
            "Abc!def&ghi#jkl$mno^p<q>r",
            "Abcdefgh%12345678",
            "Abcdefgh 12345678",
            "Abcdefgh\u00e912345678",
        ]) {
            expect(AUTH_TOKEN_FORBIDDEN.test(t)).toBe(!AUTH_TOKEN_CHARACTERS.test(t));
            expect(authTokenProblem(t) === undefined).toBe(AUTH_TOKEN_CHARACTERS.test(t));
        }
    });

    it("Multi-AZ: as set, or on whenever there is a replica", () => {
        expect([multiAzOf(undefined, 0), multiAzOf(undefined, 1), multiAzOf(false, 2), multiAzOf(true, 1)]).toEqual([
            false,
            true,
            false,
            true,
        ]);
    });
});
