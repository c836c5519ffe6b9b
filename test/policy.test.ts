/** Each policy called directly on passing and failing resources (the policy CLI cannot run here). */
import { describe, expect, it } from "vitest";
import {
    isPinned, policies, stackOf, validateDataProtected, validateEncryption, validateNoOpenIngress, validateNoPlainPassword,
    validateNoeviction, validatePersistence, validatePinnedImages,
} from "../policy/policies";
import { renderForTarget } from "../src/redisConf";
import { dockerConf } from "./helpers/render";

type V = typeof validateNoeviction;
const urn = (stack: string, type: string) => `urn:pulumi:${stack}::mspbyte-redis::${type}::r`;
function violations(validate: V, type: string, props: Record<string, unknown>, o: { stack?: string; protect?: boolean } = {}): string[] {
    const found: string[] = [];
    validate({ type, props, urn: urn(o.stack ?? "prod", type), name: "r", opts: { protect: o.protect ?? true } }, (m) => found.push(m ?? ""));
    return found;
}
const container = (conf: string, extra: object = {}) => ({ uploads: [{ file: "/usr/local/etc/redis/redis.conf", content: conf }], ...extra });
const withConf = (extra: Record<string, string | string[]>) => renderForTarget({ extra });

describe("redis-noeviction", () => {
    it("passes the rendered config and a noeviction parameter group", () => {
        expect(violations(validateNoeviction, "docker:index/container:Container", container(dockerConf()))).toEqual([]);
        expect(violations(validateNoeviction, "aws:elasticache/parameterGroup:ParameterGroup", { parameters: [{ name: "maxmemory-policy", value: "noeviction" }] })).toEqual([]);
    });
    it.each([
        ["a container upload", "docker:index/container:Container", container(withConf({ "maxmemory-policy": "allkeys-lru" })), "upload /usr/local/etc/redis/redis.conf: maxmemory-policy is allkeys-lru; a job queue needs noeviction"],
        ["a ConfigMap", "kubernetes:core/v1:ConfigMap", { data: { "redis.conf": withConf({ "maxmemory-policy": "volatile-lru" }) } }, "data.redis.conf: maxmemory-policy is volatile-lru; a job queue needs noeviction"],
        ["cloud-init user data", "aws:ec2/instance:Instance", { userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "maxmemory-policy allkeys-random\\n"\n` }, "user data /etc/redis/redis.conf: maxmemory-policy is allkeys-random; a job queue needs noeviction"],
        ["a parameter group without it", "aws:elasticache/parameterGroup:ParameterGroup", { parameters: [] }, "parameter group: maxmemory-policy is not set (the family's default evicts: volatile-lru); a job queue needs noeviction"],
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
        expect(violations(validatePersistence, "aws:elasticache/replicationGroup:ReplicationGroup", { snapshotRetentionLimit: 7 })).toEqual([]);
    });
    it("fails appendonly no, appendfsync no, no save points, snapshots off", () => {
        expect(violations(validatePersistence, "docker:index/container:Container", container(withConf({ appendonly: "no", appendfsync: "no", save: ['""'] })))).toEqual([
            "upload /usr/local/etc/redis/redis.conf: appendonly is not yes; servers we run keep an AOF",
            "upload /usr/local/etc/redis/redis.conf: appendfsync no can lose more than a second of jobs",
            "upload /usr/local/etc/redis/redis.conf: no RDB save points; snapshots back the AOF up",
        ]);
        expect(violations(validatePersistence, "aws:memorydb/cluster:Cluster", { snapshotRetentionLimit: 0 })).toEqual(["snapshotRetentionLimit is 0: snapshots must be on (they stand in for the AOF)"]);
    });
});

describe("redis-encryption", () => {
    it("passes encrypted resources", () => {
        expect(violations(validateEncryption, "aws:elasticache/replicationGroup:ReplicationGroup", { transitEncryptionEnabled: true, transitEncryptionMode: "required", atRestEncryptionEnabled: true })).toEqual([]);
        expect(violations(validateEncryption, "aws:ebs/volume:Volume", { encrypted: true })).toEqual([]);
        expect(violations(validateEncryption, "aws:ec2/instance:Instance", { rootBlockDevice: { encrypted: true }, metadataOptions: { httpTokens: "required" } })).toEqual([]);
    });
    it("fails what is not", () => {
        expect(violations(validateEncryption, "aws:elasticache/replicationGroup:ReplicationGroup", { transitEncryptionEnabled: true, transitEncryptionMode: "preferred", atRestEncryptionEnabled: false }))
            .toEqual(["transitEncryptionMode is preferred; it must be required", "atRestEncryptionEnabled must be true"]);
        expect(violations(validateEncryption, "aws:memorydb/cluster:Cluster", { tlsEnabled: false })).toEqual(["tlsEnabled must be true"]);
        expect(violations(validateEncryption, "aws:ebs/volume:Volume", {})).toEqual(["the data volume must be encrypted"]);
        expect(violations(validateEncryption, "aws:ec2/instance:Instance", { metadataOptions: { httpTokens: "optional" } })).toEqual(["the root disk must be encrypted", "IMDSv2 must be required (metadataOptions.httpTokens: required)"]);
    });
});

describe("redis-no-open-ingress", () => {
    it("passes private sources", () => {
        expect(violations(validateNoOpenIngress, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv4: "10.0.0.0/16" })).toEqual([]);
        expect(violations(validateNoOpenIngress, "aws:ec2/securityGroup:SecurityGroup", { egress: [{ cidrBlocks: ["0.0.0.0/0"] }] })).toEqual([]);
    });
    it.each([
        ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv4: "0.0.0.0/0" }, "ingress from 0.0.0.0/0"],
        ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", { cidrIpv6: "::/0" }, "ingress from ::/0"],
        ["aws:ec2/securityGroupRule:SecurityGroupRule", { type: "ingress", cidrBlocks: ["0.0.0.0/0"] }, "ingress from 0.0.0.0/0"],
        ["aws:ec2/securityGroup:SecurityGroup", { ingress: [{ ipv6CidrBlocks: ["::/0"] }] }, "inline ingress from ::/0"],
    ])("fails %s %j", (type, props, message) => {
        expect(violations(validateNoOpenIngress, type, props)).toEqual([message]);
    });
});

describe("redis-pinned-images", () => {
    it.each([["redis:7.4.7-bookworm", true], ["redis", false], ["redis:latest", false], ["registry:5000/redis", false], ["registry:5000/redis:7.4", true], [`redis@sha256:${"a".repeat(64)}`, true]])("%s pinned: %s", (image, pinned) => {
        expect(isPinned(image)).toBe(pinned);
    });
    it("fails an unpinned image in a StatefulSet", () => {
        expect(violations(validatePinnedImages, "kubernetes:apps/v1:StatefulSet", { spec: { template: { spec: { containers: [{ image: "redis:7.4.7" }, { image: "oliver006/redis_exporter:latest" }] } } } }))
            .toEqual(["image oliver006/redis_exporter:latest is not pinned by tag or digest"]);
        expect(violations(validatePinnedImages, "docker:index/remoteImage:RemoteImage", { name: "redis" })).toEqual(["image redis is not pinned by tag or digest"]);
    });
});

describe("redis-data-protected", () => {
    it("requires protect on data-holding resources outside dev", () => {
        expect(stackOf(urn("prod", "x"))).toBe("prod");
        expect(violations(validateDataProtected, "aws:elasticache/replicationGroup:ReplicationGroup", {}, { stack: "prod", protect: true })).toEqual([]);
        expect(violations(validateDataProtected, "aws:ebs/volume:Volume", {}, { stack: "vm", protect: false })).toEqual(["r holds the queue's data and must be protected on stack vm"]);
        expect(violations(validateDataProtected, "docker:index/volume:Volume", {}, { stack: "dev", protect: false })).toEqual([]);
        expect(violations(validateDataProtected, "aws:sns/topic:Topic", {}, { stack: "prod", protect: false })).toEqual([]);
    });
});

describe("redis-no-plain-password", () => {
    it("passes the password in a Secret, a file, or secretKeyRef", () => {
        expect(violations(validateNoPlainPassword, "kubernetes:apps/v1:StatefulSet", { spec: { template: { spec: { containers: [{ env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "s", key: "password" } } }] }] } } } })).toEqual([]);
        expect(violations(validateNoPlainPassword, "docker:index/container:Container", { command: ["redis-server", "/usr/local/etc/redis/redis.conf"] })).toEqual([]);
    });
    it.each([
        ["docker:index/container:Container", { command: ["redis-server", "--requirepass", "x"] }, "the password is on the container's command line; put it in the uploaded redis.conf"],
        ["kubernetes:core/v1:ConfigMap", { data: { "redis.conf": withConf({ requirepass: "x" }) } }, "data.redis.conf: requirepass in a ConfigMap; it belongs in a Secret"],
        ["aws:ec2/instance:Instance", { userData: `#cloud-config\nwrite_files:\n  - path: /etc/redis/redis.conf\n    content: "requirepass x\\n"\n` }, "user data /etc/redis/redis.conf: requirepass in user data; fetch it at boot from Secrets Manager"],
        ["kubernetes:apps/v1:StatefulSet", { spec: { template: { spec: { containers: [{ env: [{ name: "REDIS_PASSWORD", value: "x" }] }] } } } }, "env REDIS_PASSWORD has a plain value; use valueFrom.secretKeyRef"],
    ])("fails %s %j", (type, props, message) => {
        expect(violations(validateNoPlainPassword, type, props)).toEqual([message]);
    });
});

it("the pack holds seven mandatory policies", () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
        ["redis-noeviction", "mandatory"], ["redis-persistence", "mandatory"], ["redis-encryption", "mandatory"], ["redis-no-open-ingress", "mandatory"],
        ["redis-pinned-images", "mandatory"], ["redis-data-protected", "mandatory"], ["redis-no-plain-password", "mandatory"],
    ]);
});
