import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Persistence } from "../../contract";
import { RedisEndpoint } from "../../endpoint";
import { serverResourceOptions } from "../../protection";
import { alarmTopic, authSecret, cacheSecurityGroup, nodeAlarms } from "../awsShared";
import { CLUSTER_PREFIX, DEFAULT_SHARDS, ManagedRedisArgs, finalSnapshotSuffix, memberClusterIds } from "./managed";
import { DEFAULT_NODE_TYPES, DEFAULT_VERSIONS, managedParameters, parameterFamily, parameterGroupName, unsupportedDirectives } from "./parameters";

/**
 * The ACL user the pipeline connects as: named after the cluster, because MemoryDB user names
 * are unique in the account and region (a fixed name would fail the second stack).
 */
export function memorydbUserName(cacheName: string): string {
    return cacheName;
}

/**
 * MemoryDB: a write is acknowledged only once it is in a multi-AZ transaction log, the
 * durability the AOF gives a single server and more. Always sharded (cluster mode), so
 * BullMQ's prefix carries a hash tag.
 */
export class MemorydbRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<object>;

    constructor(name: string, args: ManagedRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Memorydb", name, {}, opts);
        const c = args.config;
        const engineVersion = c.engineVersion ?? DEFAULT_VERSIONS.memorydb[c.engine];
        const shards = c.shards ?? (c.clusterMode ? DEFAULT_SHARDS : 1);

        const subnetGroup = new aws.memorydb.SubnetGroup(`${name}-subnets`, {
            name: `${args.cacheName}-subnets`,
            subnetIds: c.subnetIds,
        }, { parent: this });
        const family = parameterFamily("memorydb", c.engine, engineVersion);
        // The family is in the name: an engine switch or major upgrade creates the new group first.
        const parameterGroup = new aws.memorydb.ParameterGroup(`${name}-params`, {
            name: parameterGroupName(args.cacheName, family),
            family,
            description: "mspbyte-redis: redis.conf as MemoryDB takes it (noeviction)",
            parameters: managedParameters("memorydb"),
        }, { parent: this });
        const user = new aws.memorydb.User(`${name}-user`, {
            userName: memorydbUserName(args.cacheName),
            accessString: "on ~* &* +@all",
            // Up to two passwords (terraform-provider-aws 07e0d0b9, internal/service/memorydb/user.go:
            // passwords MaxItems 2; UpdateUser sends the whole set, in place): phase one of a
            // rotation gives both, phase two the new one.
            authenticationMode: {
                type: "password",
                passwords: args.previousPassword === undefined
                    ? [pulumi.secret(args.password)]
                    : [pulumi.secret(args.password), pulumi.secret(args.previousPassword)],
            },
        }, { parent: this });
        const acl = new aws.memorydb.Acl(`${name}-acl`, {
            name: `${args.cacheName}-acl`,
            userNames: [user.userName],
        }, { parent: this });
        const securityGroup = cacheSecurityGroup(name, c, this);
        const topic = alarmTopic(name, c.alarmEmail, this);
        const incarnation = finalSnapshotSuffix(name, { cacheName: args.cacheName, port: String(c.port), kmsKeyArn: c.kmsKeyArn ?? "", restoreFromSnapshot: c.restoreFromSnapshot ?? "" }, this);

        const cluster = new aws.memorydb.Cluster(`${name}-cluster`, {
            name: args.cacheName,
            description: "mspbyte-redis: the job pipeline's queue",
            engine: c.engine,
            engineVersion,
            nodeType: c.nodeType ?? DEFAULT_NODE_TYPES.memorydb,
            numShards: shards,
            numReplicasPerShard: c.replicas,
            port: c.port,
            aclName: acl.name,
            parameterGroupName: parameterGroup.name,
            subnetGroupName: subnetGroup.name,
            securityGroupIds: [securityGroup.id],
            tlsEnabled: true,
            ...(c.kmsKeyArn ? { kmsKeyArn: c.kmsKeyArn } : {}),
            snapshotRetentionLimit: c.snapshotRetentionDays,
            snapshotWindow: c.snapshotWindow,
            maintenanceWindow: c.maintenanceWindow,
            finalSnapshotName: pulumi.interpolate`${args.cacheName}-final-${incarnation}`,
            ...(c.restoreFromSnapshot ? { snapshotName: c.restoreFromSnapshot } : {}),
            autoMinorVersionUpgrade: c.autoMinorVersionUpgrade,
            snsTopicArn: topic.arn,
            tags: { "mspbyte:role": "redis", "mspbyte:stack": pulumi.getStack() },
        }, serverResourceOptions(args.protect, {
            parent: this,
            // A replacement (a restore in place, a new KMS key) keeps the name: the old cluster goes first.
            deleteBeforeReplace: true,
        }));

        // MemoryDB names its nodes as ElastiCache names cluster-mode members: <name>-0001-001 ...
        const nodes = memberClusterIds(args.cacheName, shards, c.replicas, true).map((id) => ({
            label: id.slice(args.cacheName.length + 1), dimensions: { ClusterName: args.cacheName, NodeName: id },
        }));
        nodeAlarms(name, { namespace: "AWS/MemoryDB", nodes, replicated: c.replicas > 0, topicArn: topic.arn, maxConnections: c.maxConnectionsAlarm, alarmPrefix: args.cacheName }, this);

        const host = cluster.clusterEndpoints.apply((e) => e[0]?.address ?? "");
        const secret = authSecret(name, `mspbyte-redis/${args.cacheName}/auth`, {
            username: memorydbUserName(args.cacheName), password: args.password, host, port: c.port, tls: true,
        }, this);

        this.endpoint = {
            host,
            port: c.port,
            tls: true,
            username: memorydbUserName(args.cacheName),
            password: args.password,
            persistence: memorydbPersistence(c.snapshotRetentionDays, c.snapshotWindow, c.replicas),
            bullmqPrefix: CLUSTER_PREFIX,
        };
        this.details = pulumi.output({
            service: "memorydb",
            clusterName: cluster.name,
            engine: c.engine,
            engineVersion,
            nodeType: c.nodeType ?? DEFAULT_NODE_TYPES.memorydb,
            shards,
            authSecretArn: secret.arn,
            alarmTopicArn: topic.arn,
            securityGroupId: securityGroup.id,
        });
        this.registerOutputs({ details: this.details });
    }
}

export function memorydbPersistence(snapshotRetentionDays: number, snapshotWindow: string, replicas: number): Persistence {
    return {
        mode: "transaction-log",
        aof: false,
        rdbSavePoints: [],
        maxmemory: "set by node type",
        maxmemoryPolicy: "noeviction",
        snapshotRetentionDays,
        replicas,
        unsupported: unsupportedDirectives("memorydb", { snapshotRetentionDays, snapshotWindow, replicas }),
    };
}
