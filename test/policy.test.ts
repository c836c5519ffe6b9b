/**
 * Each policy called directly on passing and failing resources (the policy CLI cannot run here),
 * and the pack on what the program builds under mocks, with the resource options its components
 * give (a stack transformation sees them).
 */
import { encodeUserData } from "../src/targets/vm/cloudInit";
import { describe, expect, it } from "vitest";
import {
    isPinned,
    policies,
    stackOf,
    stackPolicies,
    validateDataProtected,
    validateEncryption,
    validateMemoryFits,
    validateMemoryFitsTogether,
    validateNoOpenIngress,
    validateNoOpenIngressTogether,
    validateNoPlainPassword,
    validateNoeviction,
    validatePersistence,
    validatePinnedImages,
} from "../policy/policies";
import { type StackConfig, parseStackConfig } from "../src/config";
import { UNPROTECTED_STACKS } from "../src/rules";
import { renderForTarget } from "../src/redisConf";
import { dockerConf } from "../tools/render";
import { policyViolations } from "./helpers/policy";
import { single, stackFileConfig } from "./helpers/pulumiMocks";
import { runStack } from "./helpers/stackUnderMocks";

type V = typeof validateNoeviction;
const urn = (stack: string, type: string) => `urn:pulumi:${stack}::mspbyte-redis::${type}::r`;
function violations(
    validate: V,
    type: string,
    props: Record<string, unknown>,
    o: { stack?: string; protect?: boolean; config?: object } = {},
): string[] {
    const found: string[] = [];
    const getConfig = o.config ? <T extends object>() => o.config as T : undefined;
    validate({ type, props, urn: urn(o.stack ?? "prod", type), name: "r", opts: { protect: o.protect ?? true }, getConfig }, (m) =>
        found.push(m ?? ""),
    );
    return found;
}
const container = (conf: string, extra: object = {}) => ({
    uploads: [{ file: "/usr/local/etc/redis/redis.conf", content: conf }],
    ...extra,
});
const withConf = (extra: Record<string, string | string[]>) => renderForTarget({ extra });

describe("redis-noeviction", () => {
    it("passes the rendered config and a noeviction parameter group", () => {
        expect(violations(validateNoeviction, "docker:index/container:Container", container(dockerConf()))).toEqual([]);
        expect(
            violations(validateNoeviction, "aws:elasticache/parameterGroup:ParameterGroup", {
                parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
            }),
        ).toEqual([]);
    });
    it.each([
        [
            "a container upload",
            "docker:index/container:Container",
            container(withConf({ "maxmemory-policy": "allkeys-lru" })),
            "upload /usr/local/etc/redis/redis.conf: maxmemory-policy is allkeys-lru; a job queue needs noeviction",
        ],
        [
            "a ConfigMap",
            "kubernetes:core/v1:ConfigMap",
            { data: { "redis.conf": withConf({ "maxmemory-policy": "volatile-lru" }) } },
            "data.redis.conf: maxmemory-policy is volatile-lru; a job queue needs noeviction",
        ],
        [
            "cloud-init user data",
            "aws:ec2/instance:Instance",
            {
                userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "maxmemory-policy allkeys-random\\n"\n`,
            },
            "user data /etc/redis/redis.conf: maxmemory-policy is allkeys-random; a job queue needs noeviction",
        ],
        [
            "a parameter group without it",
            "aws:elasticache/parameterGroup:ParameterGroup",
            { parameters: [] },
            "parameter group: maxmemory-policy is not set (the family's default evicts: volatile-lru); a job queue needs noeviction",
        ],
    ])("fails %s", (_, type, props, message) => {
        expect(violations(validateNoeviction, type, props)).toEqual([message]);
    });
});

it("reads only files named redis.conf", () => {
    const userData = `#cloud-config\nwrite_files:\n  - path: /etc/sysctl.d/60-mspbyte-redis.conf\n    content: "vm.overcommit_memory = 1\\n"\n`;
    expect(violations(validateNoeviction, "aws:ec2/instance:Instance", { userData })).toEqual([]);
});

describe("redis-persistence", () => {
    it("passes AOF with everysec and save points, and snapshots on managed", () => {
        expect(violations(validatePersistence, "docker:index/container:Container", container(dockerConf()))).toEqual([]);
        expect(violations(validatePersistence, "aws:elasticache/replicationGroup:ReplicationGroup", { snapshotRetentionLimit: 7 })).toEqual(
            [],
        );
    });
    it("fails appendonly no, appendfsync no, no save points, snapshots off", () => {
        expect(
            violations(
                validatePersistence,
                "docker:index/container:Container",
                container(withConf({ appendonly: "no", appendfsync: "no", save: ['""'] })),
            ),
        ).toEqual([
            "upload /usr/local/etc/redis/redis.conf: appendonly is not yes; servers we run keep an AOF",
            "upload /usr/local/etc/redis/redis.conf: appendfsync no can lose more than a second of jobs",
            "upload /usr/local/etc/redis/redis.conf: no RDB save points; snapshots back the AOF up",
        ]);
        expect(violations(validatePersistence, "aws:memorydb/cluster:Cluster", { snapshotRetentionLimit: 0 })).toEqual([
            "snapshotRetentionLimit is 0: snapshots must be on (they stand in for the AOF)",
        ]);
    });
});

describe("redis-encryption", () => {
    it("passes encrypted resources", () => {
        expect(
            violations(validateEncryption, "aws:elasticache/replicationGroup:ReplicationGroup", {
                transitEncryptionEnabled: true,
                transitEncryptionMode: "required",
                atRestEncryptionEnabled: true,
            }),
        ).toEqual([]);
        expect(violations(validateEncryption, "aws:ebs/volume:Volume", { encrypted: true })).toEqual([]);
        expect(
            violations(validateEncryption, "aws:ec2/instance:Instance", {
                rootBlockDevice: { encrypted: true },
                metadataOptions: { httpTokens: "required" },
            }),
        ).toEqual([]);
    });
    it("fails what is not", () => {
        expect(
            violations(validateEncryption, "aws:elasticache/replicationGroup:ReplicationGroup", {
                transitEncryptionEnabled: true,
                transitEncryptionMode: "preferred",
                atRestEncryptionEnabled: false,
            }),
        ).toEqual(["transitEncryptionMode is preferred; it must be required", "atRestEncryptionEnabled must be true"]);
        expect(violations(validateEncryption, "aws:memorydb/cluster:Cluster", { tlsEnabled: false })).toEqual(["tlsEnabled must be true"]);
        expect(violations(validateEncryption, "aws:ebs/volume:Volume", {})).toEqual(["the data volume must be encrypted"]);
        expect(violations(validateEncryption, "aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "optional" } })).toEqual([
            "the root disk must be encrypted",
            "IMDSv2 must be required (metadataOptions.httpTokens: required)",
        ]);
    });
});

describe("redis-no-open-ingress", () => {
    it("passes private sources", () => {
        expect(
            violations(validateNoOpenIngress, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv4: "10.0.0.0/16" }),
        ).toEqual([]);
        expect(
            violations(validateNoOpenIngress, "aws:ec2/securityGroup:SecurityGroup", { egress: [{ cidrBlocks: ["0.0.0.0/0"] }] }),
        ).toEqual([]);
    });
    const WHOLE = (c: string) => `a private CIDR block; ${c} would admit the whole internet to the queue`;
    const PUBLIC = (c: string) =>
        `a private CIDR block (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7); ${c} reaches public addresses, which needs the policy config allowPublicCidrs: true`;
    it.each([
        [
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            { cidrIpv4: "0.0.0.0/0" },
            `ingress from 0.0.0.0/0: ${WHOLE("0.0.0.0/0")}`,
        ],
        ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv6: "::/0" }, `ingress from ::/0: ${WHOLE("::/0")}`],
        ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv6: "0::/0" }, `ingress from 0::/0: ${WHOLE("::/0")}`],
        ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv6: "::/1" }, `ingress from ::/1: ${WHOLE("::/1")}`],
        [
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            { cidrIpv4: "8.8.8.0/24" },
            `ingress from 8.8.8.0/24: ${PUBLIC("8.8.8.0/24")}`,
        ],
        [
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            { type: "ingress", cidrBlocks: ["0.0.0.0/0"] },
            `ingress from 0.0.0.0/0: ${WHOLE("0.0.0.0/0")}`,
        ],
        ["aws:ec2/securityGroup:SecurityGroup", { ingress: [{ ipv6CidrBlocks: ["::/0"] }] }, `inline ingress from ::/0: ${WHOLE("::/0")}`],
    ])("fails %s %j", (type, props, message) => {
        expect(violations(validateNoOpenIngress, type, props)).toEqual([message]);
    });
    it("judges a group's inline rules together, as config judges a list", () => {
        expect(
            violations(
                validateNoOpenIngress,
                "aws:ec2/securityGroup:SecurityGroup",
                { ingress: [{ cidrBlocks: ["0.0.0.0/1"] }, { cidrBlocks: ["128.0.0.0/1"] }] },
                { config: { allowPublicCidrs: true } },
            ),
        ).toEqual([
            "inline ingress from 0.0.0.0/1, 128.0.0.0/1: private CIDR blocks; together these cover every IPv4 address on the internet, as 0.0.0.0/0 would",
        ]);
    });
    it("admits public ranges only with the pack's allowPublicCidrs opt-in, never the whole internet", () => {
        const rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
        expect(violations(validateNoOpenIngress, rule, { cidrIpv4: "8.8.8.0/24" }, { config: { allowPublicCidrs: true } })).toEqual([]);
        expect(violations(validateNoOpenIngress, rule, { cidrIpv4: "0.0.0.0/0" }, { config: { allowPublicCidrs: true } })).toEqual([
            `ingress from 0.0.0.0/0: ${WHOLE("0.0.0.0/0")}`,
        ]);
    });
    it("the stack policy unions separate rules: two halves of the internet are refused even with the opt-in", () => {
        const found: string[] = [];
        const rules = ["0.0.0.0/1", "128.0.0.0/1"].map((c) => ({
            type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            props: { cidrIpv4: c },
        }));
        validateNoOpenIngressTogether(rules, true, (m) => found.push(m ?? ""));
        expect(found).toEqual([
            "the stack's ingress rules together (0.0.0.0/1, 128.0.0.0/1): private CIDR blocks; together these cover every IPv4 address on the internet, as 0.0.0.0/0 would",
        ]);
        const fine: string[] = [];
        validateNoOpenIngressTogether(
            [{ type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", props: { cidrIpv4: "10.0.0.0/16" } }],
            false,
            (m) => fine.push(m ?? ""),
        );
        expect(fine).toEqual([]);
    });
    it.each([
        [["0.0.0.0/1", "128.0.0.0/1"], true],
        [["0::/0"], false],
        [["::/1"], true],
        [["8.8.8.0/24"], false],
        [["8.8.8.0/24"], true],
        [["10.0.0.0/8", "192.168.0.0/16"], false],
        [["2000::/4", "3000::/4"], true],
        [["fd00::/8"], false],
    ] as [string[], boolean][])("config and the pack agree on %j (opt-in %s)", (cidrs, optIn) => {
        let configRefuses = false;
        try {
            parseStackConfig(
                {
                    target: "vm",
                    vm: JSON.stringify({
                        vpcId: "vpc-0123456789abcdef0",
                        subnetId: "subnet-0a1b2c3d4e5f60001",
                        allowedCidrs: cidrs,
                        allowPublicCidrs: optIn,
                    }),
                },
                "dev",
            );
        } catch {
            configRefuses = true;
        }
        const found: string[] = [];
        const rules = cidrs.map((c) => ({
            type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            props: c.includes(":") ? { cidrIpv6: c } : { cidrIpv4: c },
        }));
        for (const r of rules) found.push(...violations(validateNoOpenIngress, r.type, r.props, { config: { allowPublicCidrs: optIn } }));
        validateNoOpenIngressTogether(rules, optIn, (m) => found.push(m ?? ""));
        expect(found.length > 0).toBe(configRefuses);
    });
});

describe("redis-pinned-images", () => {
    it.each([
        "redis",
        "redis:latest",
        "redis:LATEST",
        "registry.local:5000/redis",
        "registry.local:5000/redis:7.4",
        "redis:7.4.11-bookworm",
        `redis@sha256:${"a".repeat(64)}`,
        "Redis:7",
        "redis:7 ",
        "localhost/redis:7.4",
    ])("config and the pack agree on %j", (image) => {
        let configAccepts = true;
        try {
            parseStackConfig({ target: "docker", docker: JSON.stringify({ image }) }, "dev");
        } catch {
            configAccepts = false;
        }
        expect(isPinned(image)).toBe(configAccepts);
    });
    it.each([
        ["redis:7.4.7-bookworm", true],
        ["redis", false],
        ["redis:latest", false],
        ["registry:5000/redis", false],
        ["registry:5000/redis:7.4", true],
        [`redis@sha256:${"a".repeat(64)}`, true],
    ])("%s pinned: %s", (image, pinned) => {
        expect(isPinned(image)).toBe(pinned);
    });
    it("fails an unpinned image in a StatefulSet", () => {
        expect(
            violations(validatePinnedImages, "kubernetes:apps/v1:StatefulSet", {
                spec: { template: { spec: { containers: [{ image: "redis:7.4.7" }, { image: "oliver006/redis_exporter:latest" }] } } },
            }),
        ).toEqual(["image oliver006/redis_exporter:latest is not pinned by tag or digest"]);
        expect(violations(validatePinnedImages, "docker:index/remoteImage:RemoteImage", { name: "redis" })).toEqual([
            "image redis is not pinned by tag or digest",
        ]);
    });
});

describe("redis-data-protected", () => {
    it("requires protect on data-holding resources outside dev", () => {
        expect(stackOf(urn("prod", "x"))).toBe("prod");
        expect(
            violations(validateDataProtected, "aws:elasticache/replicationGroup:ReplicationGroup", {}, { stack: "prod", protect: true }),
        ).toEqual([]);
        expect(violations(validateDataProtected, "aws:ebs/volume:Volume", {}, { stack: "vm", protect: false })).toEqual([
            "r holds the queue's data and must be protected on stack vm",
        ]);
        expect(violations(validateDataProtected, "docker:index/volume:Volume", {}, { stack: "dev", protect: false })).toEqual([]);
        expect(violations(validateDataProtected, "aws:sns/topic:Topic", {}, { stack: "prod", protect: false })).toEqual([]);
    });
    it.each(["dev", "staging", "prod"])("config and the pack agree on stack %s", (stack) => {
        let configAllowsUnprotected = true;
        try {
            parseStackConfig({ target: "docker", protect: "false" }, stack);
        } catch {
            configAllowsUnprotected = false;
        }
        expect(violations(validateDataProtected, "docker:index/volume:Volume", {}, { stack, protect: false }).length === 0).toBe(
            configAllowsUnprotected,
        );
        expect(UNPROTECTED_STACKS.includes(stack)).toBe(configAllowsUnprotected);
    });
});

describe("redis-data-protected on what the program builds, with the options its components give", () => {
    const MEMORYDB = {
        "mspbyte-redis:elasticache": JSON.stringify({
            ...JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!),
            service: "memorydb",
            nodeType: "db.t4g.small",
            engineVersion: "7.3",
        }),
    };
    it.each([
        { stack: "prod", data: "aws:elasticache/replicationGroup:ReplicationGroup" },
        { stack: "prod", data: "aws:memorydb/cluster:Cluster", overrides: MEMORYDB },
        { stack: "vm", data: "aws:ebs/volume:Volume" },
        { stack: "kubernetes", data: "kubernetes:apps/v1:StatefulSet" },
    ] as { stack: string; data: string; overrides?: Record<string, string> }[])(
        "$stack: $data is protected, and the whole pack passes",
        async ({ stack, data, overrides }) => {
            const { resources } = await runStack(stack, { overrides });
            expect(single(resources, data).opts.protect).toBe(true);
            expect(policyViolations(resources, stack)).toEqual([]);
        },
    );

    it("refuses the docker volume of a build left unprotected on a stack that must protect it, and allows it on dev", async () => {
        const unprotected = (c: StackConfig) => ({ ...c, protect: false });
        const staging = await runStack("dev", { as: "staging", adjust: unprotected });
        expect(single(staging.resources, "docker:index/volume:Volume").opts.protect).toBe(false);
        expect(policyViolations(staging.resources, "staging")).toEqual([
            "redis-data-protected redis-data: redis-data holds the queue's data and must be protected on stack staging",
        ]);
        const dev = await runStack("dev", { adjust: unprotected });
        expect(policyViolations(dev.resources, "dev")).toEqual([]);
    });
});

describe("redis-no-plain-password", () => {
    it("passes the password in a Secret, a file, or secretKeyRef", () => {
        expect(
            violations(validateNoPlainPassword, "kubernetes:apps/v1:StatefulSet", {
                spec: {
                    template: {
                        spec: {
                            containers: [{ env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "s", key: "password" } } }] }],
                        },
                    },
                },
            }),
        ).toEqual([]);
        expect(
            violations(validateNoPlainPassword, "docker:index/container:Container", {
                command: ["redis-server", "/usr/local/etc/redis/redis.conf"],
            }),
        ).toEqual([]);
        // An ACL user without a password rule (nopass off, a key pattern) is no password.
        expect(
            violations(validateNoPlainPassword, "kubernetes:core/v1:ConfigMap", {
                data: { "redis.conf": "user reader off ~jobs:* +get\n" },
            }),
        ).toEqual([]);
    });
    it.each([
        [
            "docker:index/container:Container",
            { command: ["redis-server", "--requirepass", "x"] },
            "the password is on the container's command line; put it in the uploaded redis.conf",
        ],
        [
            "kubernetes:core/v1:ConfigMap",
            { data: { "redis.conf": withConf({ requirepass: "x" }) } },
            "data.redis.conf: requirepass in a ConfigMap; it belongs in a Secret",
        ],
        [
            "aws:ec2/instance:Instance",
            { userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "requirepass x\\n"\n` },
            "user data /etc/redis/redis.conf: requirepass in user data; fetch it at boot from Secrets Manager",
        ],
        [
            "kubernetes:apps/v1:StatefulSet",
            { spec: { template: { spec: { containers: [{ env: [{ name: "REDIS_PASSWORD", value: "x" }] }] } } } },
            "env REDIS_PASSWORD has a plain value; use valueFrom.secretKeyRef",
        ],
        // A rotation's first phase: the default user with two passwords.
        [
            "kubernetes:core/v1:ConfigMap",
            { data: { "redis.conf": "user default on >new0 >old0 ~* &* +@all\n" } },
            "data.redis.conf: an ACL user with a password in a ConfigMap; it belongs in a Secret",
        ],
        [
            "aws:ec2/instance:Instance",
            { userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "masterauth x\\n"\n` },
            "user data /etc/redis/redis.conf: masterauth in user data; fetch it at boot from Secrets Manager",
        ],
        // As the VM target sends it: gzipped, in base64.
        [
            "aws:ec2/instance:Instance",
            {
                userDataBase64: encodeUserData(
                    `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "requirepass x\\n"\n`,
                ),
            },
            "user data /etc/redis/redis.conf: requirepass in user data; fetch it at boot from Secrets Manager",
        ],
    ])("fails %s %j", (type, props, message) => {
        expect(violations(validateNoPlainPassword, type, props)).toEqual([message]);
    });
});

describe("redis-memory-fits", () => {
    const conf = (maxmemory: string) => dockerConf({ maxmemory });
    it("passes maxmemory at the largest safe value, and resources without a memory limit", () => {
        expect(violations(validateMemoryFits, "docker:index/container:Container", container(conf("614mb"), { memory: 1024 }))).toEqual([]);
        expect(violations(validateMemoryFits, "docker:index/container:Container", container(conf("4gb")))).toEqual([]);
        expect(
            violations(validateMemoryFits, "aws:ec2/instance:Instance", {
                instanceType: "t4g.small",
                userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "maxmemory 1075mb\\n"\n`,
            }),
        ).toEqual([]);
    });
    it.each([
        [
            "docker:index/container:Container",
            container(conf("615mb"), { memory: 1024 }),
            "upload /usr/local/etc/redis/redis.conf: maxmemory 615mb is over 614mb, the most the container's memory 1024MB leaves after fork headroom",
        ],
        [
            "aws:ec2/instance:Instance",
            {
                instanceType: "t4g.small",
                userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "maxmemory 2gb\\n"\n`,
            },
            "user data /etc/redis/redis.conf: maxmemory 2gb is over 1075mb, the most instance type t4g.small leaves after fork headroom",
        ],
        [
            "aws:ec2/instance:Instance",
            {
                instanceType: "r7g.large",
                userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "maxmemory 0\\n"\n`,
            },
            "user data /etc/redis/redis.conf: no maxmemory with instance type r7g.large; the kernel, not noeviction, would stop the server",
        ],
    ])("fails %s", (type, props, message) => {
        expect(violations(validateMemoryFits, type, props as Record<string, unknown>)).toEqual([message]);
    });
    it("a StatefulSet's limit against its ConfigMap's redis.conf", () => {
        const resources = (limit: string, maxmemory: string) => [
            {
                type: "kubernetes:apps/v1:StatefulSet",
                name: "redis-sts",
                props: {
                    spec: {
                        template: {
                            spec: {
                                containers: [
                                    { name: "redis", resources: { limits: { memory: limit } } },
                                    { name: "exporter", resources: { limits: { memory: "64Mi" } } },
                                ],
                            },
                        },
                    },
                },
            },
            { type: "kubernetes:core/v1:ConfigMap", name: "redis-conf", props: { data: { "redis.conf": withConf({ maxmemory }) } } },
        ];
        const found: string[] = [];
        validateMemoryFitsTogether(resources("1Gi", "614mb"), (m) => found.push(m ?? ""));
        expect(found).toEqual([]);
        validateMemoryFitsTogether(resources("512Mi", "614mb"), (m) => found.push(m ?? ""));
        expect(found).toEqual([
            "data.redis.conf: maxmemory 614mb is over 307mb, the most redis-sts's memory limit 512Mi leaves after fork headroom",
        ]);
    });
    it.each([
        ["1024", "614mb"],
        ["1024", "615mb"],
        ["512", "300mb"],
        ["512", "308mb"],
    ])("config and the pack agree on a %sMB container with maxmemory %s", (mb, maxmemory) => {
        let configAccepts = true;
        try {
            parseStackConfig({ target: "docker", maxmemory, docker: JSON.stringify({ memoryLimit: `${mb}mb` }) }, "dev");
        } catch {
            configAccepts = false;
        }
        expect(
            violations(validateMemoryFits, "docker:index/container:Container", container(conf(maxmemory), { memory: Number(mb) }))
                .length === 0,
        ).toBe(configAccepts);
    });
});

it("the pack holds eight mandatory resource policies and two stack policies", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
        ["redis-noeviction", "mandatory"],
        ["redis-persistence", "mandatory"],
        ["redis-encryption", "mandatory"],
        ["redis-no-open-ingress", "mandatory"],
        ["redis-pinned-images", "mandatory"],
        ["redis-data-protected", "mandatory"],
        ["redis-no-plain-password", "mandatory"],
        ["redis-memory-fits", "mandatory"],
    ]);
    expect(stackPolicies.map((p) => [p.name, p.enforcementLevel])).toEqual([
        ["redis-no-open-ingress-together", "mandatory"],
        ["redis-memory-fits-together", "mandatory"],
    ]);
});
