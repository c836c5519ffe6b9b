/** Pulumi.prod.yaml with elasticache.{"service": "memorydb", "nodeType": "db.t4g.small", "engineVersion": "7.3"}, under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { expectPolicyClean } from "./helpers/policy";
import { beforeAll, expect, it } from "vitest";
import { alarmsByName, expectNoOpenIngress } from "./helpers/managed";
import { Registered, ofType, promiseOf, runProgram, secretInput, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
    resources = await setupStack("prod", { overrides: { "mspbyte-redis:elasticache": JSON.stringify({ ...base, ...{"service": "memorydb", "nodeType": "db.t4g.small", "engineVersion": "7.3"} }) } });
    program = await runProgram(resources, () => import("../src/index"));
});

it("a MemoryDB cluster with TLS, an ACL user holding the password as a secret, snapshots, and the same outputs", async () => {
    expect(ofType(resources, "aws:elasticache/replicationGroup:ReplicationGroup")).toEqual([]);
    const cluster = single(resources, "aws:memorydb/cluster:Cluster").inputs;
    expect(cluster).toMatchObject({ name: "mspbyte-redis-prod", engine: "valkey", engineVersion: "7.3", nodeType: "db.t4g.small", numShards: 1, numReplicasPerShard: 1,
        tlsEnabled: true, snapshotRetentionLimit: 7, finalSnapshotName: "mspbyte-redis-prod-final-a1b2c3d4", aclName: "mspbyte-redis-prod-acl", parameterGroupName: "mspbyte-redis-prod-valkey7" });
    const user = single(resources, "aws:memorydb/user:User").inputs;
    // Named after the cluster: MemoryDB user names are unique in the account and region.
    expect(user.userName).toBe("mspbyte-redis-prod");
    expect(single(resources, "aws:memorydb/acl:Acl").inputs.userNames).toEqual(["mspbyte-redis-prod"]);
    expect(secretInput(user.authenticationMode)).toEqual({ type: "password", passwords: ["Mock0Generated0Password0Abcdefgh"] });
    expect(single(resources, "aws:memorydb/parameterGroup:ParameterGroup").inputs).toMatchObject({ family: "memorydb_valkey7" });
    expect(single(resources, "aws:memorydb/parameterGroup:ParameterGroup").inputs.parameters).toContainEqual({ name: "maxmemory-policy", value: "noeviction" });
    expectNoOpenIngress(resources, 6379);
    expect(alarmsByName(resources)["mspbyte-redis-prod-0001-002-replication-lag"]).toMatchObject({ namespace: "AWS/MemoryDB", dimensions: { ClusterName: "mspbyte-redis-prod", NodeName: "mspbyte-redis-prod-0001-002" } });
    expect(await promiseOf(program.username!)).toBe("mspbyte-redis-prod");
    expect(await promiseOf(program.tls!)).toBe(true);
    expect((await promiseOf(program.bullmq!) as { prefix: string }).prefix).toBe("{pipeline}");
    expect(await promiseOf(program.persistence!)).toMatchObject({ mode: "transaction-log", aof: false, replicas: 1, snapshotRetentionDays: 7 });
    expect(await pulumi.isSecret(program.url as pulumi.Output<unknown>)).toBe(true);
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "prod");
});
