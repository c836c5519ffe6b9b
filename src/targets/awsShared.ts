/** AWS pieces the managed targets and the VM share: the security group, the alarms and their topic, the auth secret, and the transforms of those children. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Thresholds of the alarms every managed cache gets. */
export const ALARMS = {
    memoryPercent: 80,
    cpuPercent: 80,
    replicationLagSeconds: 10,
    /** Consecutive one-minute periods over the threshold before the alarm fires. */
    periods: 5,
} as const;

import { type Transform, transformed } from "../transform";

export { type Transform, transformed };

/** Transforms of the children these functions create, one entry per kind of child. */
export interface SharedTransforms {
    securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    /** Each ingress rule (one per allowed CIDR block or security group). */
    ingressRule?: Transform<aws.vpc.SecurityGroupIngressRuleArgs>;
    /** Each egress rule (a VM's updates only). */
    egressRule?: Transform<aws.vpc.SecurityGroupEgressRuleArgs>;
    alarmTopic?: Transform<aws.sns.TopicArgs>;
    alarmEmail?: Transform<aws.sns.TopicSubscriptionArgs>;
    /** Each metric alarm. */
    alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
    secret?: Transform<aws.secretsmanager.SecretArgs>;
    secretVersion?: Transform<aws.secretsmanager.SecretVersionArgs>;
}

export interface IngressArgs {
    vpcId: string;
    port: number;
    allowedCidrs: string[];
    allowedSecurityGroupIds: string[];
    /** A VM needs HTTPS and HTTP out for its packages and Session Manager; a managed cache needs nothing. */
    egressForUpdates?: boolean;
}

/** Outbound ports a VM needs: 443 (Debian's mirrors over HTTPS, Session Manager, Secrets Manager) and 80 (apt's default mirrors). */
export const VM_EGRESS_PORTS = [443, 80] as const;

/**
 * A security group that admits the Redis port from the given sources only. Every rule is a
 * resource of its own: the provider warns that inline `ingress`/`egress` mixed with rule
 * resources gives perpetual diffs and overwritten rules, and a group created without inline
 * egress has AWS's default allow-all egress removed, so a managed cache has none at all.
 */
export function cacheSecurityGroup(name: string, a: IngressArgs, parent: pulumi.Resource, t: SharedTransforms = {}): aws.ec2.SecurityGroup {
    const sg = new aws.ec2.SecurityGroup(
        `${name}-sg`,
        transformed(
            {
                vpcId: a.vpcId,
                description: "mspbyte-redis: the Redis port, from the pipeline only",
                tags: { "mspbyte:role": "redis" },
            },
            t.securityGroup,
        ),
        { parent },
    );
    const sources = [
        ...a.allowedCidrs.map((cidr, i) => ({
            key: `cidr-${i}`,
            source: cidr,
            args: cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr },
        })),
        ...a.allowedSecurityGroupIds.map((id, i) => ({ key: `sg-${i}`, source: id, args: { referencedSecurityGroupId: id } })),
    ];
    for (const s of sources) {
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-ingress-${s.key}`,
            transformed<aws.vpc.SecurityGroupIngressRuleArgs>(
                {
                    securityGroupId: sg.id,
                    ipProtocol: "tcp",
                    fromPort: a.port,
                    toPort: a.port,
                    ...s.args,
                    description: `Redis from ${s.source}`,
                },
                t.ingressRule,
            ),
            { parent },
        );
    }
    if (a.egressForUpdates) {
        for (const port of VM_EGRESS_PORTS) {
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-egress-${port}`,
                transformed(
                    {
                        securityGroupId: sg.id,
                        ipProtocol: "tcp",
                        fromPort: port,
                        toPort: port,
                        cidrIpv4: "0.0.0.0/0",
                        description: "packages and Session Manager",
                    },
                    t.egressRule,
                ),
                { parent },
            );
        }
    }
    return sg;
}

/** The topic alarms and service events go to, with an optional email subscription. */
export function alarmTopic(name: string, email: string | undefined, parent: pulumi.Resource, t: SharedTransforms = {}): aws.sns.Topic {
    const topic = new aws.sns.Topic(`${name}-alarms`, transformed({ tags: { "mspbyte:role": "redis-alarms" } }, t.alarmTopic), { parent });
    if (email) {
        new aws.sns.TopicSubscription(
            `${name}-alarms-email`,
            transformed({ topic: topic.arn, protocol: "email", endpoint: email }, t.alarmEmail),
            { parent },
        );
    }
    return topic;
}

export interface NodeAlarmArgs {
    namespace: "AWS/ElastiCache" | "AWS/MemoryDB";
    /** One dimension set per node, by a short label for the alarm's name. */
    nodes: { label: string; dimensions: Record<string, string> }[];
    /** Whether the nodes replicate (replicas > 0): then every node gets a lag alarm. */
    replicated: boolean;
    topicArn: pulumi.Input<string>;
    maxConnections: number;
    alarmPrefix: string;
}

/**
 * The alarms of each node: memory, evictions, CPU, connections, and replication lag. Lag is on
 * every member, not only today's replicas: after a failover the old primary is the replica.
 *
 * A node publishes memory, evictions, CPU and connections every minute, so missing data there
 * means the alarm watches nothing (a wrong dimension, a renamed node): those alarms keep missing
 * data as missing and tell the topic when they have none (insufficient data). A primary
 * publishes no ReplicationLag, so that alarm treats missing data as fine; it uses the same
 * dimensions as the node's memory alarm, which would report them wrong.
 */
export function nodeAlarms(
    name: string,
    a: NodeAlarmArgs,
    parent: pulumi.Resource,
    t: SharedTransforms = {},
): aws.cloudwatch.MetricAlarm[] {
    const alarms: aws.cloudwatch.MetricAlarm[] = [];
    const alarm = (
        label: string,
        suffix: string,
        args: Partial<aws.cloudwatch.MetricAlarmArgs> & {
            metricName: string;
            threshold: number;
            description: string;
            missingIsFine?: boolean;
        },
        dimensions: Record<string, string>,
    ) =>
        alarms.push(
            new aws.cloudwatch.MetricAlarm(
                `${name}-${label}-${suffix}`,
                transformed<aws.cloudwatch.MetricAlarmArgs>(
                    {
                        name: `${a.alarmPrefix}-${label}-${suffix}`,
                        namespace: a.namespace,
                        metricName: args.metricName,
                        dimensions,
                        statistic: args.statistic ?? "Average",
                        period: 60,
                        evaluationPeriods: args.evaluationPeriods ?? ALARMS.periods,
                        threshold: args.threshold,
                        comparisonOperator: "GreaterThanThreshold",
                        treatMissingData: args.missingIsFine ? "notBreaching" : "missing",
                        alarmDescription: args.description,
                        alarmActions: [a.topicArn],
                        okActions: [a.topicArn],
                        ...(args.missingIsFine ? {} : { insufficientDataActions: [a.topicArn] }),
                    },
                    t.alarm,
                ),
                { parent },
            ),
        );
    for (const node of a.nodes) {
        const d = node.dimensions;
        alarm(
            node.label,
            "memory",
            {
                metricName: "DatabaseMemoryUsagePercentage",
                threshold: ALARMS.memoryPercent,
                description: `over ${ALARMS.memoryPercent}% of the memory for data: at 100% the queue refuses new jobs (noeviction)`,
            },
            d,
        );
        alarm(
            node.label,
            "evictions",
            {
                metricName: "Evictions",
                statistic: "Sum",
                evaluationPeriods: 1,
                threshold: 0,
                description: "a key was evicted: jobs may be lost; the eviction policy must be noeviction",
            },
            d,
        );
        alarm(
            node.label,
            "cpu",
            {
                metricName: "EngineCPUUtilization",
                threshold: ALARMS.cpuPercent,
                description: `the Redis thread is over ${ALARMS.cpuPercent}% busy: commands queue up and jobs slow down`,
            },
            d,
        );
        alarm(
            node.label,
            "connections",
            {
                metricName: "CurrConnections",
                statistic: "Maximum",
                threshold: a.maxConnections,
                description: `more than ${a.maxConnections} client connections: a connection leak in the pipeline?`,
            },
            d,
        );
        if (a.replicated)
            alarm(
                node.label,
                "replication-lag",
                {
                    metricName: "ReplicationLag",
                    statistic: "Maximum",
                    threshold: ALARMS.replicationLagSeconds,
                    missingIsFine: true,
                    description: `the node, as a replica, is over ${ALARMS.replicationLagSeconds} s behind: a failover now would lose those writes (a primary publishes no lag)`,
                },
                d,
            );
    }
    return alarms;
}

/**
 * The server's credentials in Secrets Manager, for people and programs that cannot read stack
 * outputs. The name is `<prefix>-<timestamp>`: a deleted secret's name stays reserved for its
 * 30-day recovery window, so a fixed name would make re-creating a stack of the same name fail.
 * The ARN is in the `details` output.
 */
export function authSecret(
    name: string,
    secretNamePrefix: string,
    value: pulumi.Input<Record<string, unknown>>,
    parent: pulumi.Resource,
    t: SharedTransforms = {},
): { arn: pulumi.Output<string>; versionId: pulumi.Output<string> } {
    const secret = new aws.secretsmanager.Secret(
        `${name}-auth`,
        transformed(
            {
                namePrefix: `${secretNamePrefix}-`,
                description: "mspbyte-redis: credentials of the job queue's Redis",
                recoveryWindowInDays: 30,
            },
            t.secret,
        ),
        { parent },
    );
    const version = new aws.secretsmanager.SecretVersion(
        `${name}-auth-value`,
        transformed(
            {
                secretId: secret.id,
                secretString: pulumi.secret(pulumi.jsonStringify(value)),
            },
            t.secretVersion,
        ),
        { parent },
    );
    // A new value is a new version (secret_string forces a new SecretVersion): its id says which credentials are current.
    return { arn: secret.arn, versionId: version.versionId };
}
