import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ElasticacheConfig } from "../../config";
import { Persistence } from "../../contract";
import { RedisEndpoint } from "../../endpoint";
import { serverResourceOptions } from "../../protection";
import { authTokenUpdateStrategy } from "../../rotation";
import { alarmTopic, authSecret, cacheSecurityGroup, nodeAlarms } from "../awsShared";
import { CLUSTER_PREFIX, DEFAULT_SHARDS, ManagedRedisArgs, finalSnapshotSuffix, memberClusterIds } from "./managed";
import { DEFAULT_NODE_TYPES, DEFAULT_VERSIONS, RESERVED_MEMORY_PERCENT, managedParameters, parameterFamily, parameterGroupName, unsupportedDirectives } from "./parameters";

/**
 * ElastiCache (Valkey or Redis OSS), safe for a job queue by construction: noeviction in its
 * own parameter group, TLS and at-rest encryption, an AUTH token, Multi-AZ replicas and daily
 * snapshots standing in for the AOF ElastiCache cannot run, and alarms on what loses jobs.
 */
export class ElasticacheRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<object>;

    constructor(name: string, args: ManagedRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Elasticache", name, {}, opts);
        const c = args.config;
        const engineVersion = c.engineVersion ?? DEFAULT_VERSIONS.elasticache[c.engine];
        const shards = c.clusterMode ? (c.shards ?? DEFAULT_SHARDS) : 1;

        const subnetGroup = new aws.elasticache.SubnetGroup(`${name}-subnets`, {
            name: `${args.cacheName}-subnets`,
            description: "mspbyte-redis subnets",
            subnetIds: c.subnetIds,
        }, { parent: this });
        const family = parameterFamily("elasticache", c.engine, engineVersion);
        // The family is in the name: a major upgrade or engine switch creates the new group
        // beside the one the cache still uses, moves the cache, then deletes the old group.
        const parameterGroup = new aws.elasticache.ParameterGroup(`${name}-params`, {
            name: parameterGroupName(args.cacheName, family),
            family,
            description: "mspbyte-redis: redis.conf as ElastiCache takes it (noeviction)",
            parameters: [...managedParameters("elasticache"), ...(c.clusterMode ? [{ name: "cluster-enabled", value: "yes" }] : [])],
        }, { parent: this });
        const securityGroup = cacheSecurityGroup(name, c, this);
        const topic = alarmTopic(name, c.alarmEmail, this);
        const logs = this.createLogGroups(name, args.cacheName, c.logRetentionDays);
        const group = this.createReplicationGroup(name, args, engineVersion, shards, subnetGroup, parameterGroup, securityGroup, topic, logs);
        nodeAlarms(name, {
            namespace: "AWS/ElastiCache",
            nodes: memberClusterIds(args.cacheName, shards, c.replicas, c.clusterMode).map((id) => ({
                label: id.slice(args.cacheName.length + 1), dimensions: { CacheClusterId: id },
            })),
            replicated: c.replicas > 0,
            topicArn: topic.arn,
            maxConnections: c.maxConnectionsAlarm,
            alarmPrefix: args.cacheName,
        }, this);

        const host = c.clusterMode ? group.configurationEndpointAddress : group.primaryEndpointAddress;
        const secret = authSecret(name, `mspbyte-redis/${args.cacheName}/auth`, {
            username: "default", password: args.password, host, port: c.port, tls: true,
        }, this);

        this.endpoint = {
            host,
            port: c.port,
            tls: true,
            username: "default",
            password: args.password,
            persistence: elasticachePersistence(c),
            ...(c.clusterMode ? { bullmqPrefix: CLUSTER_PREFIX } : {}),
        };
        this.details = pulumi.output({
            service: "elasticache",
            replicationGroupId: group.id,
            engine: c.engine,
            engineVersion,
            nodeType: c.nodeType ?? DEFAULT_NODE_TYPES.elasticache,
            readerHost: group.readerEndpointAddress,
            authSecretArn: secret.arn,
            alarmTopicArn: topic.arn,
            securityGroupId: securityGroup.id,
        });
        this.registerOutputs({ details: this.details });
    }

    private createLogGroups(name: string, cacheName: string, retentionInDays: number) {
        const group = (kind: string) => new aws.cloudwatch.LogGroup(`${name}-${kind}`, {
            name: `/mspbyte-redis/${cacheName}/${kind}`,
            retentionInDays,
        }, { parent: this });
        return { slow: group("slow-log"), engine: group("engine-log") };
    }

    private createReplicationGroup(
        name: string, args: ManagedRedisArgs, engineVersion: string, shards: number,
        subnetGroup: aws.elasticache.SubnetGroup, parameterGroup: aws.elasticache.ParameterGroup,
        securityGroup: aws.ec2.SecurityGroup, topic: aws.sns.Topic, logs: { slow: aws.cloudwatch.LogGroup; engine: aws.cloudwatch.LogGroup },
    ): aws.elasticache.ReplicationGroup {
        const c = args.config;
        const multiAz = c.multiAz ?? c.replicas > 0;
        const incarnation = finalSnapshotSuffix(name, { cacheName: args.cacheName, engine: c.engine, port: String(c.port), kmsKeyArn: c.kmsKeyArn ?? "", restoreFromSnapshot: c.restoreFromSnapshot ?? "" }, this);
        return new aws.elasticache.ReplicationGroup(`${name}-cache`, {
            replicationGroupId: args.cacheName,
            description: "mspbyte-redis: the job pipeline's queue",
            engine: c.engine,
            engineVersion,
            nodeType: c.nodeType ?? DEFAULT_NODE_TYPES.elasticache,
            port: c.port,
            parameterGroupName: parameterGroup.name,
            subnetGroupName: subnetGroup.name,
            securityGroupIds: [securityGroup.id],
            ...(c.clusterMode
                ? { clusterMode: "enabled", numNodeGroups: shards, replicasPerNodeGroup: c.replicas }
                : { clusterMode: "disabled", numCacheClusters: c.replicas + 1 }),
            automaticFailoverEnabled: c.replicas > 0 || c.clusterMode,
            multiAzEnabled: multiAz,
            transitEncryptionEnabled: true,
            transitEncryptionMode: "required",
            atRestEncryptionEnabled: true,
            ...(c.kmsKeyArn ? { kmsKeyId: c.kmsKeyArn } : {}),
            authToken: pulumi.secret(args.password),
            authTokenUpdateStrategy: authTokenUpdateStrategy(args.previousPassword !== undefined, c.authTokenUpdateStrategy),
            snapshotRetentionLimit: c.snapshotRetentionDays,
            snapshotWindow: c.snapshotWindow,
            maintenanceWindow: c.maintenanceWindow,
            finalSnapshotIdentifier: pulumi.interpolate`${args.cacheName}-final-${incarnation}`,
            ...(c.restoreFromSnapshot ? { snapshotName: c.restoreFromSnapshot } : {}),
            autoMinorVersionUpgrade: c.autoMinorVersionUpgrade,
            notificationTopicArn: topic.arn,
            logDeliveryConfigurations: [
                { destination: logs.slow.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "slow-log" },
                { destination: logs.engine.name, destinationType: "cloudwatch-logs", logFormat: "json", logType: "engine-log" },
            ],
            // Changes apply during `pulumi up` (the prod environment's approval is the gate), not at
            // the next maintenance window: a pending change would read as drift until then.
            applyImmediately: true,
            tags: { "mspbyte:role": "redis", "mspbyte:stack": pulumi.getStack() },
        }, serverResourceOptions(args.protect, {
            parent: this,
            // A replacement (a restore in place, an engine downgrade) keeps the same id: the old
            // group must be gone first, its final snapshot taken.
            deleteBeforeReplace: true,
        }));
    }
}

export function elasticachePersistence(c: ElasticacheConfig): Persistence {
    return {
        mode: "snapshots+replicas",
        aof: false,
        rdbSavePoints: [],
        maxmemory: `set by node type ${c.nodeType ?? DEFAULT_NODE_TYPES.elasticache}, ${RESERVED_MEMORY_PERCENT}% reserved`,
        maxmemoryPolicy: "noeviction",
        snapshotRetentionDays: c.snapshotRetentionDays,
        replicas: c.replicas,
        unsupported: unsupportedDirectives("elasticache", c),
    };
}
