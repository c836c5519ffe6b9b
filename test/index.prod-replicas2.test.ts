/** Pulumi.prod.yaml with elasticache.{"replicas": 2, "allowedCidrs": ["10.20.0.0/16"], "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0000-1111", "alarmEmail": "oncall@example.com"}, under mocks. */
import { beforeAll, expect, it } from "vitest";
import { alarmsByName, expectNoOpenIngress } from "./helpers/managed";
import { Registered, ofType, runProgram, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
    resources = await setupStack("prod", { overrides: { "mspbyte-redis:elasticache": JSON.stringify({ ...base, ...{"replicas": 2, "allowedCidrs": ["10.20.0.0/16"], "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0000-1111", "alarmEmail": "oncall@example.com"} }) } });
    await runProgram(resources, () => import("../src/index"));
});

it("three nodes over zones, a customer KMS key, CIDR ingress, lag alarms on every node, email alerts", () => {
    const rg = single(resources, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
    expect(rg).toMatchObject({ numCacheClusters: 3, multiAzEnabled: true, automaticFailoverEnabled: true, kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/0000-1111", atRestEncryptionEnabled: true });
    expectNoOpenIngress(resources, 6379);
    const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId);
    expect(rules).toEqual(["10.20.0.0/16", "sg-0a1b2c3d4e5f60003"]);
    expect(Object.keys(alarmsByName(resources)).filter((n) => n.endsWith("replication-lag")).sort()).toEqual([
        "mspbyte-redis-prod-001-replication-lag", "mspbyte-redis-prod-002-replication-lag", "mspbyte-redis-prod-003-replication-lag",
    ]);
    expect(single(resources, "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({ protocol: "email", endpoint: "oncall@example.com" });
});
