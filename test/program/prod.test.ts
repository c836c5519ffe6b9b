/** The prod stack (Pulumi.prod.yaml): ElastiCache Valkey with one replica, under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { expectPolicyClean } from "../helpers/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { AUTH_TOKEN_FORBIDDEN, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../src/config";
import { alarmsByName, expectNoOpenIngress } from "../helpers/managed";
import { ofType, promiseOf, secretInput, single } from "../helpers/pulumiMocks";
import { type ProgramExports, type ProgramResource, runStack } from "../helpers/stackUnderMocks";

let resources: ProgramResource[];
let program: ProgramExports;
const RG = "aws:elasticache/replicationGroup:ReplicationGroup";

beforeAll(async () => {
    ({ resources, program } = await runStack("prod"));
});

describe("prod stack (target elasticache)", () => {
    it("builds a replication group with TLS required, encryption at rest, Multi-AZ and failover", () => {
        const rg = single(resources, RG).inputs;
        expect(rg).toMatchObject({
            replicationGroupId: "mspbyte-redis-prod",
            engine: "valkey",
            engineVersion: "8.0",
            nodeType: "cache.t4g.small",
            clusterMode: "disabled",
            numCacheClusters: 2,
            multiAzEnabled: true,
            automaticFailoverEnabled: true,
            transitEncryptionEnabled: true,
            transitEncryptionMode: "required",
            atRestEncryptionEnabled: true,
            snapshotRetentionLimit: 7,
            snapshotWindow: "03:00-04:00",
            maintenanceWindow: "sun:05:00-sun:06:00",
            finalSnapshotIdentifier: "mspbyte-redis-prod-final-a1b2c3d4",
            applyImmediately: true,
            port: 6379,
        });
    });

    it("names the parameter group after its family, and names the final snapshot once per incarnation of the cache", () => {
        expect(single(resources, "aws:elasticache/parameterGroup:ParameterGroup").inputs.name).toBe("mspbyte-redis-prod-valkey8");
        expect(single(resources, RG).inputs.parameterGroupName).toBe("mspbyte-redis-prod-valkey8");
        expect(single(resources, "random:index/randomId:RandomId").inputs).toMatchObject({
            byteLength: 4,
            keepers: { cacheName: "mspbyte-redis-prod", engine: "valkey", port: "6379", kmsKeyArn: "", restoreFromSnapshot: "" },
        });
    });

    it("passes the AUTH token as a secret, within ElastiCache's rules", () => {
        const token = secretInput<string>(single(resources, RG).inputs.authToken);
        expect(token.length).toBeGreaterThanOrEqual(PASSWORD_MIN_LENGTH);
        expect(token.length).toBeLessThanOrEqual(PASSWORD_MAX_LENGTH);
        expect(token).not.toMatch(AUTH_TOKEN_FORBIDDEN);
        expect(single(resources, "random:index/randomPassword:RandomPassword").inputs).toMatchObject({ length: 32, special: false });
    });

    it("keeps the token in Secrets Manager too, as a secret", () => {
        const secret = single(resources, "aws:secretsmanager/secret:Secret").inputs;
        // A prefix: a destroyed stack's secret name stays reserved for 30 days.
        expect(secret.namePrefix).toBe("mspbyte-redis/mspbyte-redis-prod/auth-");
        expect(secret.name).toBeUndefined();
        const value = JSON.parse(
            secretInput<string>(single(resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString),
        );
        expect(value).toEqual({
            username: "default",
            password: "Mock0Generated0Password0Abcdefgh",
            host: "master.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com",
            port: 6379,
            tls: true,
        });
    });

    it("puts redis.conf's settings that ElastiCache takes in a valkey8 parameter group, noeviction first", () => {
        const pg = single(resources, "aws:elasticache/parameterGroup:ParameterGroup").inputs;
        expect(pg.family).toBe("valkey8");
        expect(pg.parameters).toEqual([
            { name: "maxmemory-policy", value: "noeviction" },
            { name: "timeout", value: "0" },
            { name: "tcp-keepalive", value: "300" },
            { name: "slowlog-log-slower-than", value: "10000" },
            { name: "slowlog-max-len", value: "256" },
            { name: "reserved-memory-percent", value: "25" },
        ]);
    });

    it("admits the pipeline's security group only, on the Redis port", () => {
        expectNoOpenIngress(resources, 6379);
        const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        expect(rules.map((r) => r.inputs.referencedSecurityGroupId)).toEqual(["sg-0a1b2c3d4e5f60003"]);
        expect(single(resources, "aws:elasticache/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual([
            "subnet-0a1b2c3d4e5f60001",
            "subnet-0a1b2c3d4e5f60002",
        ]);
    });

    it("alarms on memory, evictions, CPU, connections and replication lag on every node (either may be the replica after a failover)", () => {
        const alarms = alarmsByName(resources);
        expect(Object.keys(alarms).sort()).toEqual([
            "mspbyte-redis-prod-001-connections",
            "mspbyte-redis-prod-001-cpu",
            "mspbyte-redis-prod-001-evictions",
            "mspbyte-redis-prod-001-memory",
            "mspbyte-redis-prod-001-replication-lag",
            "mspbyte-redis-prod-002-connections",
            "mspbyte-redis-prod-002-cpu",
            "mspbyte-redis-prod-002-evictions",
            "mspbyte-redis-prod-002-memory",
            "mspbyte-redis-prod-002-replication-lag",
        ]);
        expect(alarms["mspbyte-redis-prod-001-memory"]).toMatchObject({
            namespace: "AWS/ElastiCache",
            metricName: "DatabaseMemoryUsagePercentage",
            threshold: 80,
            dimensions: { CacheClusterId: "mspbyte-redis-prod-001" },
        });
        expect(alarms["mspbyte-redis-prod-001-evictions"]).toMatchObject({ metricName: "Evictions", statistic: "Sum", threshold: 0 });
        expect(alarms["mspbyte-redis-prod-001-cpu"]).toMatchObject({ metricName: "EngineCPUUtilization", threshold: 80 });
        expect(alarms["mspbyte-redis-prod-001-connections"]).toMatchObject({ metricName: "CurrConnections", threshold: 1000 });
        expect(alarms["mspbyte-redis-prod-002-replication-lag"]).toMatchObject({
            metricName: "ReplicationLag",
            threshold: 10,
            dimensions: { CacheClusterId: "mspbyte-redis-prod-002" },
        });
        for (const a of ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
            expect(a.inputs.alarmActions).toEqual(["arn:aws:sns:us-east-1:123456789012:redis-alarms"]);
        }
        expect(ofType(resources, "aws:sns/topicSubscription:TopicSubscription")).toEqual([]);
    });

    it("delivers the slow log and the engine log to CloudWatch Logs, kept 30 days", () => {
        const groups = ofType(resources, "aws:cloudwatch/logGroup:LogGroup").map((g) => g.inputs);
        expect(groups).toEqual([
            { name: "/mspbyte-redis/mspbyte-redis-prod/slow-log", retentionInDays: 30 },
            { name: "/mspbyte-redis/mspbyte-redis-prod/engine-log", retentionInDays: 30 },
        ]);
        expect(single(resources, RG).inputs.logDeliveryConfigurations.map((l: { logType: string }) => l.logType)).toEqual([
            "slow-log",
            "engine-log",
        ]);
    });

    it("exports the contract: TLS, the primary endpoint, and what stands in for the AOF", async () => {
        expect(await promiseOf(program.host!)).toBe("master.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com");
        expect(await promiseOf(program.tls!)).toBe(true);
        expect(await promiseOf(program.url!)).toBe(
            "rediss://default:Mock0Generated0Password0Abcdefgh@master.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com:6379",
        );
        expect(await pulumi.isSecret(program.url as pulumi.Output<unknown>)).toBe(true);
        expect(await pulumi.isSecret(program.password as pulumi.Output<unknown>)).toBe(true);
        expect(((await promiseOf(program.bullmq!)) as { prefix: string }).prefix).toBe("bull");
        const p = (await promiseOf(program.persistence!)) as {
            mode: string;
            aof: boolean;
            replicas: number;
            snapshotRetentionDays: number;
            unsupported: { directive: string; reason: string; insteadUse: string }[];
        };
        expect(p).toMatchObject({
            mode: "snapshots+replicas",
            aof: false,
            replicas: 1,
            snapshotRetentionDays: 7,
            maxmemoryPolicy: "noeviction",
        });
        const appendonly = p.unsupported.find((u) => u.directive === "appendonly");
        expect(appendonly).toEqual({
            directive: "appendonly",
            reason: "ElastiCache cannot run an append-only file",
            insteadUse:
                "1 replica(s) in other availability zones with automatic failover, and the automatic snapshot daily in 03:00-04:00 UTC, kept 7 days, and a final snapshot on delete",
        });
        expect(p.unsupported.map((u) => u.directive)).toEqual(expect.arrayContaining(["appendfsync", "save", "dir", "maxmemory"]));
        expect(p.unsupported.map((u) => u.directive)).not.toContain("maxmemory-policy");
        const details = (await promiseOf(program.details!)) as Record<string, unknown>;
        expect(details).toMatchObject({
            service: "elasticache",
            authSecretArn:
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:mspbyte-redis/mspbyte-redis-prod/auth-20261128093015123400000001-AbCdEf",
        });
    });
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "prod");
});
