/** Pulumi.prod.yaml with elasticache.{"replicas": 0}, under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { alarmsByName } from "./helpers/managed";
import { Registered, promiseOf, runProgram, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
    resources = await setupStack("prod", { overrides: { "mspbyte-redis:elasticache": JSON.stringify({ ...base, ...{"replicas": 0} }) } });
    program = await runProgram(resources, () => import("../src/index"));
});

it("one node: no Multi-AZ, no failover, no replication-lag alarm; snapshots stand in alone", async () => {
    const rg = single(resources, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
    expect(rg).toMatchObject({ numCacheClusters: 1, multiAzEnabled: false, automaticFailoverEnabled: false, snapshotRetentionLimit: 7 });
    expect(Object.keys(alarmsByName(resources)).sort()).toEqual([
        "mspbyte-redis-prod-001-connections", "mspbyte-redis-prod-001-cpu", "mspbyte-redis-prod-001-evictions", "mspbyte-redis-prod-001-memory",
    ]);
    const p = await promiseOf(program.persistence!) as { replicas: number; unsupported: { directive: string; insteadUse: string }[] };
    expect(p.replicas).toBe(0);
    expect(p.unsupported.find((u) => u.directive === "appendonly")!.insteadUse).toBe(
        "the automatic snapshot daily in 03:00-04:00 UTC, kept 7 days, and a final snapshot on delete (no replica: a node loss loses what was written since the last snapshot)");
});
