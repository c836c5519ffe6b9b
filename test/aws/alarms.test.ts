/**
 * The alarms watch metrics that exist, under the dimensions AWS publishes them with, for every
 * node; and a dimension that matches nothing is noticed (the alarm reports insufficient data to
 * the topic) instead of sitting silently in OK.
 *
 * Dimensions and metric names, from AWS's metric documentation:
 * - ElastiCache: "Dimensions for ElastiCache Metrics": CacheClusterId, CacheNodeId
 *   (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.html); the metrics in
 *   "Metrics for Valkey and Redis OSS" (.../dg/CacheMetrics.Redis.html), ReplicationLag "only
 *   for nodes running as a read replica".
 * - MemoryDB: "Dimensions for MemoryDB": ClusterName, NodeName
 *   (https://docs.aws.amazon.com/memorydb/latest/devguide/metrics.memorydb.html and
 *   .../metrics.HostLevel.html).
 * - EC2: StatusCheckFailed_System by InstanceId
 *   (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html).
 * - MSPByte/Redis: the VM's own RedisServing by InstanceId, as src/targets/vm/report-serving.sh
 *   publishes it (checked against the script below).
 */
import * as fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { memberClusterIds } from "../../src/targets/managed/managed";
import { REPORT_SCRIPT, SERVING_METRIC } from "../../src/targets/vm/cloudInit";
import { type StackResource, type StackRun, registerStack, stackConfig } from "../helpers/stackUnderMocks";

const DOCUMENTED: Record<string, { dimensions: string[]; metrics: string[] }> = {
    "AWS/ElastiCache": {
        dimensions: ["CacheClusterId", "CacheNodeId"],
        metrics: ["DatabaseMemoryUsagePercentage", "Evictions", "EngineCPUUtilization", "CurrConnections", "ReplicationLag"],
    },
    "AWS/MemoryDB": {
        dimensions: ["ClusterName", "NodeName"],
        metrics: ["DatabaseMemoryUsagePercentage", "Evictions", "EngineCPUUtilization", "CurrConnections", "ReplicationLag"],
    },
    "AWS/EC2": { dimensions: ["InstanceId"], metrics: ["StatusCheckFailed_System"] },
    [SERVING_METRIC.namespace]: { dimensions: ["InstanceId"], metrics: [SERVING_METRIC.metricName] },
};

const VARIANTS: [string, string, Record<string, unknown>][] = [
    ["prod", "prod", {}],
    ["prod, no replica", "prod", { elasticache: { replicas: 0 } }],
    ["prod, 2 replicas", "prod", { elasticache: { replicas: 2 } }],
    ["prod, cluster mode, 3 shards", "prod", { elasticache: { clusterMode: true, shards: 3 } }],
    [
        "prod on MemoryDB, 2 shards",
        "prod",
        { elasticache: { service: "memorydb", nodeType: "db.t4g.small", engineVersion: "7.3", clusterMode: true, shards: 2 } },
    ],
    ["vm", "vm", {}],
];

const runs: { label: string; run: StackRun }[] = [];
beforeAll(async () => {
    for (const [label, stack, changes] of VARIANTS) runs.push({ label, run: await registerStack(stack, stackConfig(stack, changes)) });
});

const alarmsOf = (run: StackRun) => run.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
const one = (run: StackRun, type: string) => run.resources.find((r) => r.type === type);

/** The member cluster ids ElastiCache gives a replication group, from the group's own inputs. */
function members(rg: StackResource): string[] {
    const i = rg.inputs;
    return i.clusterMode === "enabled"
        ? memberClusterIds(i.replicationGroupId, i.numNodeGroups, i.replicasPerNodeGroup, true)
        : memberClusterIds(i.replicationGroupId, 1, i.numCacheClusters - 1, false);
}

describe("alarms against AWS's metric documentation", () => {
    it("every alarm's namespace, metric and dimension names are documented ones", () => {
        const wrong: string[] = [];
        for (const { label, run } of runs) {
            for (const a of alarmsOf(run)) {
                const doc = DOCUMENTED[a.inputs.namespace];
                if (!doc) {
                    wrong.push(`${label} ${a.inputs.name}: namespace ${a.inputs.namespace}`);
                    continue;
                }
                if (!doc.metrics.includes(a.inputs.metricName)) wrong.push(`${label} ${a.inputs.name}: metric ${a.inputs.metricName}`);
                for (const d of Object.keys(a.inputs.dimensions))
                    if (!doc.dimensions.includes(d)) wrong.push(`${label} ${a.inputs.name}: dimension ${d}`);
            }
        }
        expect(wrong).toEqual([]);
    });

    it("ElastiCache: one alarm set per member, CacheClusterId exactly the ids ElastiCache assigns (lower-case, as it stores them)", () => {
        for (const { label, run } of runs) {
            const rg = one(run, "aws:elasticache/replicationGroup:ReplicationGroup");
            if (!rg) continue;
            const ids = members(rg);
            const watched = new Set(alarmsOf(run).map((a) => a.inputs.dimensions.CacheClusterId));
            expect([...watched].sort(), label).toEqual([...ids].sort());
            for (const id of ids) expect(id, label).toBe(id.toLowerCase());
        }
    });

    it("replication lag on every member when there are replicas (a failover turns the primary into a replica), none without", () => {
        for (const { label, run } of runs) {
            const nodes = new Set(
                alarmsOf(run)
                    .filter((a) => a.inputs.metricName === "DatabaseMemoryUsagePercentage")
                    .map((a) => JSON.stringify(a.inputs.dimensions)),
            );
            const lag = new Set(
                alarmsOf(run)
                    .filter((a) => a.inputs.metricName === "ReplicationLag")
                    .map((a) => JSON.stringify(a.inputs.dimensions)),
            );
            const replicated = label !== "prod, no replica" && label !== "vm";
            expect([...lag].sort(), label).toEqual(replicated ? [...nodes].sort() : []);
        }
    });

    it("MemoryDB: ClusterName is the cluster's name; NodeName is <cluster>-<shard>-<node> for every node", () => {
        const { run } = runs.find((r) => r.label.startsWith("prod on MemoryDB"))!;
        const cluster = one(run, "aws:memorydb/cluster:Cluster")!.inputs;
        const nodes = new Set<string>();
        for (const a of alarmsOf(run)) {
            expect(a.inputs.dimensions.ClusterName).toBe(cluster.name);
            expect(a.inputs.dimensions.NodeName).toMatch(new RegExp(`^${cluster.name}-\\d{4}-\\d{3}$`));
            nodes.add(a.inputs.dimensions.NodeName);
        }
        expect(nodes.size).toBe(cluster.numShards * (cluster.numReplicasPerShard + 1));
    });

    it("a dimension that matches nothing is noticed: metrics every node publishes each minute report missing data to the topic", () => {
        for (const { label, run } of runs) {
            for (const a of alarmsOf(run).filter((x) => x.inputs.namespace !== "AWS/EC2")) {
                if (a.inputs.metricName === "ReplicationLag") {
                    // A primary publishes no lag: missing is fine there. Its dimensions are those of
                    // the node's memory alarm, which does report missing data.
                    expect(a.inputs.treatMissingData, `${label} ${a.inputs.name}`).toBe("notBreaching");
                    const memory = alarmsOf(run).find(
                        (m) =>
                            m.inputs.metricName === "DatabaseMemoryUsagePercentage" &&
                            JSON.stringify(m.inputs.dimensions) === JSON.stringify(a.inputs.dimensions),
                    );
                    expect(memory, `${label} ${a.inputs.name}`).toBeDefined();
                } else if (a.inputs.namespace === SERVING_METRIC.namespace) {
                    // The VM reports every minute; no report (or a dimension that matches none) alarms.
                    expect(a.inputs.treatMissingData, `${label} ${a.inputs.name}`).toBe("breaching");
                } else {
                    expect(a.inputs.treatMissingData, `${label} ${a.inputs.name}`).toBe("missing");
                    expect(a.inputs.insufficientDataActions, `${label} ${a.inputs.name}`).toEqual(a.inputs.alarmActions);
                }
            }
        }
    });

    it("alarm names carry the cache's id as AWS stores it, and are unique", () => {
        for (const { label, run } of runs) {
            const names = alarmsOf(run).map((a) => a.inputs.name as string);
            expect(new Set(names).size, label).toBe(names.length);
            const id =
                one(run, "aws:elasticache/replicationGroup:ReplicationGroup")?.inputs.replicationGroupId ??
                one(run, "aws:memorydb/cluster:Cluster")?.inputs.name;
            if (id) for (const n of names) expect(n.startsWith(`${id}-`), `${label} ${n}`).toBe(true);
        }
    });

    it("the VM's recovery alarm watches its own instance", () => {
        const { run } = runs.find((r) => r.label === "vm")!;
        const alarm = alarmsOf(run).find((a) => a.inputs.namespace === "AWS/EC2");
        expect(alarm!.inputs).toMatchObject({
            namespace: "AWS/EC2",
            metricName: "StatusCheckFailed_System",
            dimensions: { InstanceId: "vm-redis-instance-id" },
        });
    });

    it("the VM's serving alarm watches what its report script publishes, for its own instance", () => {
        const { run } = runs.find((r) => r.label === "vm")!;
        const alarm = alarmsOf(run).find((a) => a.inputs.namespace === SERVING_METRIC.namespace);
        expect(alarm!.inputs).toMatchObject({ metricName: SERVING_METRIC.metricName, dimensions: { InstanceId: "vm-redis-instance-id" } });
        const script = fs.readFileSync(REPORT_SCRIPT, "utf8");
        expect(script).toContain(`--namespace ${SERVING_METRIC.namespace} --metric-name ${SERVING_METRIC.metricName}`);
        expect(script).toContain('--dimensions "InstanceId=$instance_id"');
    });
});
