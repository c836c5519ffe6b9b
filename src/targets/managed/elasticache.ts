import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { multiAzOf } from "../../awsRules";
import type { RedisEndpoint } from "../../endpoint";
import { serverResourceOptions } from "../../protection";
import { elasticachePersistence } from "../../persistence";
import type { RedisConf } from "../../redisConf";
import { authTokenUpdateStrategy } from "../../rotation";
import { type Transform, alarmTopic, authSecret, cacheSecurityGroup, nodeAlarms, transformed } from "../awsShared";
import { MANAGED_DEFAULTS } from "./config";
import {
    CLUSTER_PREFIX,
    DEFAULT_SHARDS,
    type ManagedDetails,
    type ManagedRedisArgs,
    type ManagedSettings,
    type ManagedTransforms,
    authSecretPrefix,
    finalSnapshotName,
    finalSnapshotSuffix,
    managedSettings,
    memberClusterIds,
    parameterGroupContents,
} from "./managed";

export interface ElasticacheRedisArgs extends ManagedRedisArgs {
    /**
     * Sharded cluster mode: BullMQ's prefix then carries a hash tag, and the endpoint is the
     * configuration endpoint. @default false
     * Danger: switching it on a live cache moves BullMQ to another prefix, so jobs written under
     * the old one are no longer seen by the workers (drain the queue first); and ElastiCache
     * goes from disabled to enabled only through its compatible mode (botocore's ModifyReplicationGroup model).
     */
    readonly clusterMode?: boolean;
    /** Shards (node groups), with clusterMode only. @default 2 with clusterMode, 1 without */
    readonly shards?: number;
    /** Multi-AZ with automatic failover to a replica in another zone. @default true when replicas > 0 */
    readonly multiAz?: boolean;
    /** Days the slow log and engine log are kept in CloudWatch Logs. @default 30 */
    readonly logRetentionDays?: number;
    /**
     * The AUTH token strategy outside phase one of a rotation (phase one is always ROTATE).
     * @default "ROTATE"
     */
    readonly authTokenUpdateStrategy?: "ROTATE" | "SET";
    /** Last word on each child's arguments. */
    readonly transform?: ElasticacheTransforms;
}

export interface ElasticacheTransforms extends ManagedTransforms {
    subnetGroup?: Transform<aws.elasticache.SubnetGroupArgs>;
    parameterGroup?: Transform<aws.elasticache.ParameterGroupArgs>;
    /** Each of the two log groups (slow log, engine log). */
    logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
    replicationGroup?: Transform<aws.elasticache.ReplicationGroupArgs>;
}

/** ElastiCache's `details` output. */
export interface ElasticacheDetails extends ManagedDetails {
    service: "elasticache";
    replicationGroupId: string;
    /** The reader endpoint: the replicas, for reads that may lag. */
    readerHost: string;
}

/** ElasticacheRedisArgs with every default applied. */
interface ElasticacheSettings extends ManagedSettings {
    readonly clusterMode: boolean;
    readonly shards: number;
    readonly multiAz: boolean;
    readonly logRetentionDays: number;
    readonly authTokenUpdateStrategy: "ROTATE" | "SET";
}

function elasticacheSettings(a: ElasticacheRedisArgs): ElasticacheSettings {
    const s = managedSettings("elasticache", a);
    const clusterMode = a.clusterMode ?? MANAGED_DEFAULTS.clusterMode;
    return {
        ...s,
        clusterMode,
        shards: clusterMode ? (a.shards ?? DEFAULT_SHARDS) : 1,
        multiAz: multiAzOf(a.multiAz, s.replicas),
        logRetentionDays: a.logRetentionDays ?? MANAGED_DEFAULTS.logRetentionDays,
        authTokenUpdateStrategy: a.authTokenUpdateStrategy ?? MANAGED_DEFAULTS.authTokenUpdateStrategy,
    };
}

interface LogGroups {
    slow: aws.cloudwatch.LogGroup;
    engine: aws.cloudwatch.LogGroup;
}

/**
 * ElastiCache (Valkey or Redis OSS), safe for a job queue by construction: noeviction in its
 * own parameter group, TLS and at-rest encryption, an AUTH token, Multi-AZ replicas and daily
 * snapshots standing in for the AOF ElastiCache cannot run, and alarms on what loses jobs.
 */
export class ElasticacheRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<ElasticacheDetails>;

    constructor(name: string, args: ElasticacheRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Elasticache", name, {}, opts);
        const s = elasticacheSettings(args);
        const t = args.transform ?? {};

        const subnetGroup = this.createSubnetGroup(name, s, t);
        const parameterGroup = this.createParameterGroup(name, s, args.redisConf, t);
        const securityGroup = cacheSecurityGroup(name, s, this, t);
        const topic = alarmTopic(name, s.alarmEmail, this, t);
        const logs = this.createLogGroups(name, s, t);
        const group = this.createReplicationGroup(name, s, args, { subnetGroup, parameterGroup, securityGroup, topic, logs });
        this.createAlarms(name, s, topic, t);
        const host = s.clusterMode ? group.configurationEndpointAddress : group.primaryEndpointAddress;
        const secret = authSecret(
            name,
            authSecretPrefix(s.cacheName),
            {
                username: "default",
                password: args.password,
                host,
                port: s.port,
                tls: true,
            },
            this,
            t,
        );

        this.endpoint = {
            host,
            port: s.port,
            tls: true,
            username: "default",
            password: pulumi.secret(args.password),
            persistence: elasticachePersistence(s, args.redisConf),
            ...(s.clusterMode ? { bullmqPrefix: CLUSTER_PREFIX } : {}),
        };
        this.details = pulumi.output({
            service: "elasticache" as const,
            replicationGroupId: group.id,
            engine: s.engine,
            engineVersion: s.engineVersion,
            nodeType: s.nodeType,
            readerHost: group.readerEndpointAddress,
            authSecretArn: secret.arn,
            alarmTopicArn: topic.arn,
            securityGroupId: securityGroup.id,
        });
        this.registerOutputs({ endpoint: this.endpoint, details: this.details });
    }

    private createSubnetGroup(name: string, s: ElasticacheSettings, t: ElasticacheTransforms): aws.elasticache.SubnetGroup {
        return new aws.elasticache.SubnetGroup(
            `${name}-subnets`,
            transformed(
                {
                    name: `${s.cacheName}-subnets`,
                    description: "mspbyte-redis subnets",
                    subnetIds: s.subnetIds,
                },
                t.subnetGroup,
            ),
            { parent: this },
        );
    }

    private createParameterGroup(
        name: string,
        s: ElasticacheSettings,
        conf: RedisConf,
        t: ElasticacheTransforms,
    ): aws.elasticache.ParameterGroup {
        const { name: groupName, family, parameters } = parameterGroupContents("elasticache", s, conf);
        return new aws.elasticache.ParameterGroup(
            `${name}-params`,
            transformed(
                {
                    name: groupName,
                    family,
                    description: "mspbyte-redis: redis.conf as ElastiCache takes it (noeviction)",
                    parameters: [...parameters, ...(s.clusterMode ? [{ name: "cluster-enabled", value: "yes" }] : [])],
                },
                t.parameterGroup,
            ),
            { parent: this },
        );
    }

    private createLogGroups(name: string, s: ElasticacheSettings, t: ElasticacheTransforms): LogGroups {
        const group = (kind: string) =>
            new aws.cloudwatch.LogGroup(
                `${name}-${kind}`,
                transformed(
                    {
                        name: `/mspbyte-redis/${s.cacheName}/${kind}`,
                        retentionInDays: s.logRetentionDays,
                    },
                    t.logGroup,
                ),
                { parent: this },
            );
        return { slow: group("slow-log"), engine: group("engine-log") };
    }

    private createReplicationGroup(
        name: string,
        s: ElasticacheSettings,
        args: ElasticacheRedisArgs,
        deps: {
            subnetGroup: aws.elasticache.SubnetGroup;
            parameterGroup: aws.elasticache.ParameterGroup;
            securityGroup: aws.ec2.SecurityGroup;
            topic: aws.sns.Topic;
            logs: LogGroups;
        },
    ): aws.elasticache.ReplicationGroup {
        const incarnation = finalSnapshotSuffix(
            name,
            {
                cacheName: s.cacheName,
                engine: s.engine,
                port: String(s.port),
                kmsKeyArn: s.kmsKeyArn ?? "",
                restoreFromSnapshot: s.restoreFromSnapshot ?? "",
            },
            this,
            args.transform?.finalSnapshotSuffix,
        );
        return new aws.elasticache.ReplicationGroup(
            `${name}-cache`,
            transformed(
                {
                    replicationGroupId: s.cacheName,
                    description: "mspbyte-redis: the job pipeline's queue",
                    engine: s.engine,
                    engineVersion: s.engineVersion,
                    nodeType: s.nodeType,
                    port: s.port,
                    parameterGroupName: deps.parameterGroup.name,
                    subnetGroupName: deps.subnetGroup.name,
                    securityGroupIds: [deps.securityGroup.id],
                    ...(s.clusterMode
                        ? { clusterMode: "enabled", numNodeGroups: s.shards, replicasPerNodeGroup: s.replicas }
                        : { clusterMode: "disabled", numCacheClusters: s.replicas + 1 }),
                    automaticFailoverEnabled: s.replicas > 0 || s.clusterMode,
                    multiAzEnabled: s.multiAz,
                    transitEncryptionEnabled: true,
                    transitEncryptionMode: "required",
                    atRestEncryptionEnabled: true,
                    ...(s.kmsKeyArn ? { kmsKeyId: s.kmsKeyArn } : {}),
                    authToken: pulumi.secret(args.password),
                    authTokenUpdateStrategy: authTokenUpdateStrategy(args.previousPassword !== undefined, s.authTokenUpdateStrategy),
                    snapshotRetentionLimit: s.snapshotRetentionDays,
                    snapshotWindow: s.snapshotWindow,
                    maintenanceWindow: s.maintenanceWindow,
                    finalSnapshotIdentifier: finalSnapshotName(s, incarnation),
                    ...(s.restoreFromSnapshot ? { snapshotName: s.restoreFromSnapshot } : {}),
                    autoMinorVersionUpgrade: s.autoMinorVersionUpgrade,
                    notificationTopicArn: deps.topic.arn,
                    logDeliveryConfigurations: [
                        { destination: deps.logs.slow.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" },
                        {
                            destination: deps.logs.engine.name,
                            destinationType: "cloudwatch-logs",
                            logFormat: "json",
                            logType: "engine-log",
                        },
                    ],
                    // Changes apply during `pulumi up` (the prod environment's approval is the gate), not at
                    // the next maintenance window: a pending change would read as drift until then.
                    applyImmediately: true,
                    tags: s.tags,
                },
                args.transform?.replicationGroup,
            ),
            serverResourceOptions(s.protect, {
                parent: this,
                // A replacement (a restore in place, an engine downgrade) keeps the same id: the old
                // group must be gone first, its final snapshot taken.
                deleteBeforeReplace: true,
            }),
        );
    }

    private createAlarms(name: string, s: ElasticacheSettings, topic: aws.sns.Topic, t: ElasticacheTransforms): void {
        nodeAlarms(
            name,
            {
                namespace: "AWS/ElastiCache",
                nodes: memberClusterIds(s.cacheName, s.shards, s.replicas, s.clusterMode).map((id) => ({
                    label: id.slice(s.cacheName.length + 1),
                    dimensions: { CacheClusterId: id },
                })),
                replicated: s.replicas > 0,
                topicArn: topic.arn,
                maxConnections: s.maxConnectionsAlarm,
                alarmPrefix: s.cacheName,
            },
            this,
            t,
        );
    }
}
