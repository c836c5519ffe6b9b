/**
 * AWS's own rules, checked on every AWS resource every stack registers: each input is mapped to
 * the API member it is sent as (test/helpers/awsFields.ts) and checked against that member in
 * AWS's API models (pattern, min/max length, enum) and the constraints its documentation states.
 * A value AWS would refuse at `pulumi preview` or `up` fails here instead.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DOCUMENTED, checkValue, modelRoots, resolveMember } from "../helpers/awsModels";
import { AUTONAMED, FIELDS, NEWER_THAN_DEBIAN, leaves } from "../helpers/awsFields";
import { type StackRun, registerStack, stackConfig } from "../helpers/stackUnderMocks";

const CERT = "-----BEGIN CERTIFICATE-----\nOWN\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nOWN\n-----END PRIVATE KEY-----\n";

/** Every stack file, and the variants the program tests build from them. */
const VARIANTS: { label: string; stack: string; changes?: Record<string, unknown>; secrets?: Record<string, string> }[] = [
    { label: "prod (Pulumi.prod.yaml)", stack: "prod" },
    { label: "prod, cluster mode, 3 shards", stack: "prod", changes: { elasticache: { clusterMode: true, shards: 3 } } },
    { label: "prod, no replica", stack: "prod", changes: { elasticache: { replicas: 0 } } },
    {
        label: "prod, 2 replicas, CIDRs, KMS key, alarm email",
        stack: "prod",
        changes: {
            elasticache: {
                replicas: 2,
                allowedCidrs: ["10.20.0.0/16"],
                kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
                alarmEmail: "oncall@example.com",
            },
        },
    },
    {
        label: "prod on MemoryDB",
        stack: "prod",
        changes: { elasticache: { service: "memorydb", nodeType: "db.t4g.small", engineVersion: "7.3" } },
    },
    {
        label: "prod on MemoryDB, Redis OSS, 2 shards",
        stack: "prod",
        changes: { elasticache: { service: "memorydb", engine: "redis", nodeType: "db.r7g.large", clusterMode: true, shards: 2 } },
    },
    {
        label: "prod on Redis OSS 6.2, restored from a snapshot",
        stack: "prod",
        changes: { elasticache: { engine: "redis", engineVersion: "6.2", restoreFromSnapshot: "mspbyte-redis-prod-2026-11-01" } },
    },
    { label: "vm (Pulumi.vm.yaml)", stack: "vm" },
    {
        label: "vm without TLS, KMS key, CIDR",
        stack: "vm",
        changes: {
            vm: { tls: false, kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111", allowedCidrs: ["10.20.0.0/16", "fd00::/8"] },
        },
    },
    {
        label: "vm on x86 with its own certificate",
        stack: "vm",
        changes: { vm: { instanceType: "t3.small" } },
        secrets: { tlsCertificate: CERT, tlsKey: KEY, tlsCa: CERT },
    },
];

interface Finding {
    variant: string;
    resource: string;
    input: string;
    api?: string;
    value?: unknown;
    problem: string;
}

const runs: { label: string; run: StackRun }[] = [];
const findings: Finding[] = [];
const notChecked = new Set<string>();
let checked = 0;
let resourcesChecked = 0;

beforeAll(async () => {
    const roots = modelRoots();
    for (const v of VARIANTS) {
        const config = { ...stackConfig(v.stack, v.changes), ...(v.secrets ?? {}) };
        runs.push({ label: v.label, run: await registerStack(v.stack, config, Object.keys(v.secrets ?? {})) });
    }
    for (const { label, run } of runs) {
        for (const r of run.resources.filter((x) => x.type.startsWith("aws:"))) {
            resourcesChecked++;
            const fields = FIELDS[r.type];
            if (!fields) {
                findings.push({ variant: label, resource: r.name, input: "*", problem: `no field table for ${r.type}` });
                continue;
            }
            const auto = AUTONAMED[r.type];
            if (auto && r.inputs.name === undefined && r.inputs.namePrefix === undefined) {
                const sample = `${r.name}-a1b2c3d`;
                const problem = checkValue(auto, sample, roots);
                checked++;
                if (problem) findings.push({ variant: label, resource: r.name, input: "(auto-name)", api: auto, value: sample, problem });
            }
            for (const leaf of leaves(r.inputs, fields)) {
                const field = fields[leaf.path];
                if (field === undefined) {
                    findings.push({
                        variant: label,
                        resource: r.name,
                        input: leaf.path,
                        value: leaf.value,
                        problem: "input not mapped to an API member",
                    });
                    continue;
                }
                if (typeof field === "object" && "unchecked" in field) continue;
                const api = typeof field === "string" ? field : field.api;
                const value = typeof field === "object" && "sample" in field ? field.sample(String(leaf.value)) : leaf.value;
                try {
                    const problem = checkValue(api, value, roots);
                    checked++;
                    if (problem) findings.push({ variant: label, resource: r.name, input: leaf.path, api, value, problem });
                } catch (e) {
                    if (NEWER_THAN_DEBIAN.has(api)) {
                        notChecked.add(api);
                        continue;
                    }
                    findings.push({ variant: label, resource: r.name, input: leaf.path, api, problem: (e as Error).message });
                }
            }
        }
    }
    console.log(
        `AWS API models from ${roots.join(" and ")}: ${resourcesChecked} resources in ${VARIANTS.length} stack variants, ${checked} values checked` +
            (notChecked.size ? `; not in this machine's models (newer than Debian 12's): ${[...notChecked].join(", ")}` : ""),
    );
});

describe("every AWS resource of every stack against AWS's API models", () => {
    it("sends nothing AWS refuses, and every input is mapped to its API member", () => {
        // Secret-bearing inputs are never printed, only their length.
        const shown = (f: Finding) =>
            /authToken|passwords|secretString|userData/.test(f.input)
                ? `(a secret of ${String(f.value).length} characters)`
                : JSON.stringify(f.value);
        expect(
            findings.map((f) => `${f.variant}: ${f.resource}.${f.input}${f.api ? ` (${f.api})` : ""} = ${shown(f)}: ${f.problem}`),
        ).toEqual([]);
        expect(checked).toBeGreaterThan(500);
    });

    it("covers every stack variant and every AWS resource type the program registers", () => {
        const types = new Set(runs.flatMap(({ run }) => run.resources.map((r) => r.type)).filter((t) => t.startsWith("aws:")));
        expect([...types].filter((t) => !FIELDS[t])).toEqual([]);
        expect(types.size).toBeGreaterThanOrEqual(20);
    });
});

describe("the validator refuses what AWS refuses (each rule catches a bad value)", () => {
    it.each([
        // Item 1 of the issue: what the VM's snapshot policy used to send.
        {
            api: "dlm:CreateLifecyclePolicy.Description",
            good: "mspbyte-redis mspbyte-redis-vm daily data snapshots",
            bad: "mspbyte-redis mspbyte-redis-vm: daily data snapshots",
        },
        { api: "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.Name", good: "daily kept 7", bad: "daily, kept 7" },
        { api: "dlm:CreateLifecyclePolicy.State", good: "ENABLED", bad: "enabled" },
        { api: "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.CreateRule.Times", good: "03:00", bad: "3:00" },
        { api: "elasticache:CreateReplicationGroup.ReplicationGroupId", good: "mspbyte-redis-prod", bad: "mspbyte-redis-Prod" },
        { api: "elasticache:CreateReplicationGroup.ReplicationGroupId", good: "mspbyte-redis-a-b", bad: "mspbyte-redis--b" },
        { api: "elasticache:CreateReplicationGroup.ReplicationGroupId", good: "a".repeat(40), bad: "a".repeat(41) },
        { api: "elasticache:CreateReplicationGroup.AuthToken", good: "Abc-def!ghi&jkl#mno", bad: "Abc%def*ghi&jkl#mno" },
        { api: "elasticache:CreateReplicationGroup.PreferredMaintenanceWindow", good: "sun:05:00-sun:06:00", bad: "sunday:05:00-06:00" },
        { api: "elasticache:CreateCacheSubnetGroup.CacheSubnetGroupName", good: "mspbyte-redis-prod-subnets", bad: "mspbyte_redis.prod" },
        { api: "memorydb:CreateUser.UserName", good: "mspbyte-redis-prod-app", bad: "1-pipeline" },
        { api: "memorydb:CreateCluster.ACLName", good: "mspbyte-redis-prod-acl", bad: "acl_prod" },
        { api: "memorydb:CreateACL.ACLName", good: "mspbyte-redis-prod-acl", bad: "mspbyte-redis-production-eu-central-1-acl" },
        { api: "memorydb:CreateCluster.ClusterName", good: "mspbyte-redis-prod", bad: "mspbyte-redis-Prod" },
        { api: "memorydb:DeleteCluster.FinalSnapshotName", good: "mspbyte-redis-prod-final-0a1b2c3d", bad: "mspbyte-redis-prod-final-" },
        {
            api: "secretsmanager:CreateSecret.Name",
            good: "mspbyte-redis/mspbyte-redis-prod/auth-20261128093015123400000001",
            bad: "mspbyte-redis/prod/auth-AbCdEf",
        },
        { api: "cloudwatch:PutMetricAlarm.TreatMissingData", good: "missing", bad: "notbreaching" },
        { api: "cloudwatch:PutMetricAlarm.Statistic", good: "Maximum", bad: "Max" },
        { api: "cloudwatch:PutMetricAlarm.AlarmName", good: "x", bad: "x".repeat(256) },
        { api: "logs:CreateLogGroup.logGroupName", good: "/mspbyte-redis/prod/slow-log", bad: "/mspbyte-redis/prod/slow log" },
        { api: "logs:PutRetentionPolicy.retentionInDays", good: 30, bad: 31 },
        { api: "ec2:CreateSecurityGroup.Description", good: "mspbyte-redis: the Redis port", bad: "mspbyte-redis — the Redis port" },
        { api: "ec2:#IpRange.Description", good: "Redis from sg-0123", bad: 'Redis from "the pipeline"' },
        { api: "ec2:#Tag.Key", good: "mspbyte:role", bad: "aws:role" },
        { api: "ec2:CreateVolume.VolumeType", good: "gp3", bad: "gp4" },
        { api: "ec2:RunInstances.InstanceType", good: "t4g.small", bad: "t4g.smol" },
        { api: "ec2:RunInstances.MetadataOptions.HttpTokens", good: "required", bad: "always" },
        { api: "iam:PutRolePolicy.PolicyDocument", good: "{}", bad: "" },
        { api: "sns:Subscribe.Protocol", good: "email", bad: "smtp" },
        { api: "sns:CreateTopic.Name", good: "redis-alarms-a1b2c3d", bad: "redis.alarms" },
        { api: "ec2:CreateSecurityGroup.GroupName", good: "redis-sg-a1b2c3d", bad: "sg-redis" },
        { api: "iam:CreateRole.RoleName", good: "redis-dlm-role-a1b2c3d", bad: "r".repeat(65) },
    ])("$api: $good passes, $bad does not", ({ api, good, bad }) => {
        expect(checkValue(api, good)).toBeUndefined();
        expect(checkValue(api, bad)).toMatch(/./);
    });

    it("every documented rule still quotes its member's documentation", () => {
        for (const [api, rule] of Object.entries(DOCUMENTED)) {
            if (NEWER_THAN_DEBIAN.has(api)) continue;
            const doc = resolveMember(api).documentation;
            for (const s of rule.says) expect(doc, api).toContain(s);
        }
    });
});
