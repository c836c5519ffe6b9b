/** Pulumi.prod.yaml with elasticache.{"clusterMode": true, "shards": 3}, under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { alarmsByName } from "./helpers/managed";
import { Registered, promiseOf, runProgram, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
    resources = await setupStack("prod", { overrides: { "mspbyte-redis:elasticache": JSON.stringify({ ...base, ...{"clusterMode": true, "shards": 3} }) } });
    program = await runProgram(resources, () => import("../src/index"));
});

it("cluster mode on opt-in: shards, a cluster-enabled parameter group, the configuration endpoint, a hash-tagged BullMQ prefix", async () => {
    const rg = single(resources, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
    expect(rg).toMatchObject({ clusterMode: "enabled", numNodeGroups: 3, replicasPerNodeGroup: 1, automaticFailoverEnabled: true });
    expect(rg.numCacheClusters).toBeUndefined();
    expect(single(resources, "aws:elasticache/parameterGroup:ParameterGroup").inputs.parameters).toContainEqual({ name: "cluster-enabled", value: "yes" });
    expect(await promiseOf(program.host!)).toBe("clustercfg.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com");
    expect((await promiseOf(program.bullmq!) as { prefix: string }).prefix).toBe("{pipeline}");
    expect(Object.keys(alarmsByName(resources))).toContain("mspbyte-redis-prod-0003-002-replication-lag");
});
