/** Assertions every managed stack (ElastiCache or MemoryDB) must pass under mocks. */
import { expect } from "vitest";
import { type Registered, ofType } from "./pulumiMocks";

/** Each ingress rule admits the Redis port only, and never from the whole internet. */
export function expectNoOpenIngress(resources: Registered[], port: number, egressPorts: number[] = []): void {
    const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
        expect(r.inputs).toMatchObject({ ipProtocol: "tcp", fromPort: port, toPort: port });
        expect(["0.0.0.0/0", "::/0"]).not.toContain(r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6);
    }
    const groups = ofType(resources, "aws:ec2/securityGroup:SecurityGroup");
    expect(groups).toHaveLength(1);
    // Rules are resources of their own; no inline rules beside them (the provider's warning).
    expect(groups[0]!.inputs.ingress).toBeUndefined();
    expect(groups[0]!.inputs.egress).toBeUndefined();
    const egress = ofType(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
    expect(egress.map((e) => e.inputs.fromPort)).toEqual(egressPorts);
    for (const e of egress) expect(e.inputs).toMatchObject({ ipProtocol: "tcp", toPort: e.inputs.fromPort, cidrIpv4: "0.0.0.0/0" });
}

/** The alarm set: per node memory > 80, evictions > 0, CPU > 80, connections > limit; lag > 10 s on replicas. */
export function alarmsByName(
    resources: Registered[],
): Record<string, { metricName: string; threshold: number; statistic: string; namespace: string; dimensions: Record<string, string> }> {
    return Object.fromEntries(ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => [a.inputs.name, a.inputs]));
}
