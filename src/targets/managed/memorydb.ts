import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { RedisEndpoint } from "../../endpoint";
import { serverResourceOptions } from "../../protection";
import { memorydbPersistence } from "../../persistence";
import type { RedisConf } from "../../redisConf";
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

/**
 * The ACL user the pipeline connects as: named after the cluster, because MemoryDB user names
 * are unique in the account and region (a fixed name would fail the second stack).
 */
export function memorydbUserName(cacheName: string): string {
    return cacheName;
}

export interface MemorydbRedisArgs extends ManagedRedisArgs {
    /**
     * MemoryDB is always sharded; this only sets the default shard count (the stack config's
     * `clusterMode`). @default false
     */
    readonly clusterMode?: boolean;
    /** Shards. @default 2 with clusterMode, 1 without */
    readonly shards?: number;
    /** Last word on each child's arguments. */
    readonly transform?: MemorydbTransforms;
}

export interface MemorydbTransforms extends ManagedTransforms {
    subnetGroup?: Transform<aws.memorydb.SubnetGroupArgs>;
    parameterGroup?: Transform<aws.memorydb.ParameterGroupArgs>;
    user?: Transform<aws.memorydb.UserArgs>;
    acl?: Transform<aws.memorydb.AclArgs>;
    cluster?: Transform<aws.memorydb.ClusterArgs>;
}

/** MemoryDB's `details` output. */
export interface MemorydbDetails extends ManagedDetails {
    service: "memorydb";
    clusterName: string;
    shards: number;
}

/** MemorydbRedisArgs with every default applied. */
interface MemorydbSettings extends ManagedSettings {
    readonly shards: number;
    /** The ACL user the pipeline connects as. */
    readonly userName: string;
}

function memorydbSettings(a: MemorydbRedisArgs): MemorydbSettings {
    const s = managedSettings("memorydb", a);
    const clusterMode = a.clusterMode ?? MANAGED_DEFAULTS.clusterMode;
    return { ...s, shards: a.shards ?? (clusterMode ? DEFAULT_SHARDS : 1), userName: memorydbUserName(s.cacheName) };
}

/**
 * MemoryDB: a write is acknowledged only once it is in a multi-AZ transaction log, the
 * durability the AOF gives a single server and more. Always sharded (cluster mode), so
 * BullMQ's prefix carries a hash tag.
 */
export class MemorydbRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<MemorydbDetails>;

    constructor(name: string, args: MemorydbRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Memorydb", name, {}, opts);
        const s = memorydbSettings(args);
        const t = args.transform ?? {};

        const subnetGroup = this.createSubnetGroup(name, s, t);
        const parameterGroup = this.createParameterGroup(name, s, args.redisConf, t);
        const user = this.createUser(name, s, args, t);
        const acl = this.createAcl(name, s, user, t);
        const securityGroup = cacheSecurityGroup(name, s, this, t);
        const topic = alarmTopic(name, s.alarmEmail, this, t);
        const cluster = this.createCluster(name, s, { acl, parameterGroup, subnetGroup, securityGroup, topic }, t);
        this.createAlarms(name, s, topic, t);
        const host = cluster.clusterEndpoints.apply((e) => e[0]?.address ?? "");
        const secret = authSecret(
            name,
            authSecretPrefix(s.cacheName),
            {
                username: s.userName,
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
            username: s.userName,
            password: pulumi.secret(args.password),
            persistence: memorydbPersistence(s.snapshotRetentionDays, s.snapshotWindow, s.replicas, args.redisConf),
            bullmqPrefix: CLUSTER_PREFIX,
        };
        this.details = pulumi.output({
            service: "memorydb" as const,
            clusterName: cluster.name,
            engine: s.engine,
            engineVersion: s.engineVersion,
            nodeType: s.nodeType,
            shards: s.shards,
            authSecretArn: secret.arn,
            alarmTopicArn: topic.arn,
            securityGroupId: securityGroup.id,
        });
        this.registerOutputs({ endpoint: this.endpoint, details: this.details });
    }

    private createSubnetGroup(name: string, s: MemorydbSettings, t: MemorydbTransforms): aws.memorydb.SubnetGroup {
        return new aws.memorydb.SubnetGroup(
            `${name}-subnets`,
            transformed(
                {
                    name: `${s.cacheName}-subnets`,
                    subnetIds: s.subnetIds,
                },
                t.subnetGroup,
            ),
            { parent: this },
        );
    }

    private createParameterGroup(name: string, s: MemorydbSettings, conf: RedisConf, t: MemorydbTransforms): aws.memorydb.ParameterGroup {
        // The family is in the name: an engine switch or major upgrade creates the new group first.
        const { name: groupName, family, parameters } = parameterGroupContents("memorydb", s, conf);
        return new aws.memorydb.ParameterGroup(
            `${name}-params`,
            transformed(
                {
                    name: groupName,
                    family,
                    description: "mspbyte-redis: redis.conf as MemoryDB takes it (noeviction)",
                    parameters,
                },
                t.parameterGroup,
            ),
            { parent: this },
        );
    }

    private createUser(name: string, s: MemorydbSettings, args: MemorydbRedisArgs, t: MemorydbTransforms): aws.memorydb.User {
        return new aws.memorydb.User(
            `${name}-user`,
            transformed(
                {
                    userName: s.userName,
                    accessString: "on ~* &* +@all",
                    // Up to two passwords (terraform-provider-aws 07e0d0b9, internal/service/memorydb/user.go:
                    // passwords MaxItems 2; UpdateUser sends the whole set, in place): phase one of a
                    // rotation gives both, phase two the new one.
                    authenticationMode: {
                        type: "password",
                        passwords:
                            args.previousPassword === undefined
                                ? [pulumi.secret(args.password)]
                                : [pulumi.secret(args.password), pulumi.secret(args.previousPassword)],
                    },
                },
                t.user,
            ),
            { parent: this },
        );
    }

    private createAcl(name: string, s: MemorydbSettings, user: aws.memorydb.User, t: MemorydbTransforms): aws.memorydb.Acl {
        return new aws.memorydb.Acl(
            `${name}-acl`,
            transformed(
                {
                    name: `${s.cacheName}-acl`,
                    userNames: [user.userName],
                },
                t.acl,
            ),
            { parent: this },
        );
    }

    private createCluster(
        name: string,
        s: MemorydbSettings,
        deps: {
            acl: aws.memorydb.Acl;
            parameterGroup: aws.memorydb.ParameterGroup;
            subnetGroup: aws.memorydb.SubnetGroup;
            securityGroup: aws.ec2.SecurityGroup;
            topic: aws.sns.Topic;
        },
        t: MemorydbTransforms,
    ): aws.memorydb.Cluster {
        const incarnation = finalSnapshotSuffix(
            name,
            {
                cacheName: s.cacheName,
                port: String(s.port),
                kmsKeyArn: s.kmsKeyArn ?? "",
                restoreFromSnapshot: s.restoreFromSnapshot ?? "",
            },
            this,
            t.finalSnapshotSuffix,
        );
        return new aws.memorydb.Cluster(
            `${name}-cluster`,
            transformed(
                {
                    name: s.cacheName,
                    description: "mspbyte-redis: the job pipeline's queue",
                    engine: s.engine,
                    engineVersion: s.engineVersion,
                    nodeType: s.nodeType,
                    numShards: s.shards,
                    numReplicasPerShard: s.replicas,
                    port: s.port,
                    aclName: deps.acl.name,
                    parameterGroupName: deps.parameterGroup.name,
                    subnetGroupName: deps.subnetGroup.name,
                    securityGroupIds: [deps.securityGroup.id],
                    tlsEnabled: true,
                    ...(s.kmsKeyArn ? { kmsKeyArn: s.kmsKeyArn } : {}),
                    snapshotRetentionLimit: s.snapshotRetentionDays,
                    snapshotWindow: s.snapshotWindow,
                    maintenanceWindow: s.maintenanceWindow,
                    finalSnapshotName: finalSnapshotName(s, incarnation),
                    ...(s.restoreFromSnapshot ? { snapshotName: s.restoreFromSnapshot } : {}),
                    autoMinorVersionUpgrade: s.autoMinorVersionUpgrade,
                    snsTopicArn: deps.topic.arn,
                    tags: s.tags,
                },
                t.cluster,
            ),
            serverResourceOptions(s.protect, {
                parent: this,
                // A replacement (a restore in place, a new KMS key) keeps the name: the old cluster goes first.
                deleteBeforeReplace: true,
            }),
        );
    }

    private createAlarms(name: string, s: MemorydbSettings, topic: aws.sns.Topic, t: MemorydbTransforms): void {
        // MemoryDB names its nodes as ElastiCache names cluster-mode members: <name>-0001-001 ...
        const nodes = memberClusterIds(s.cacheName, s.shards, s.replicas, true).map((id) => ({
            label: id.slice(s.cacheName.length + 1),
            dimensions: { ClusterName: s.cacheName, NodeName: id },
        }));
        nodeAlarms(
            name,
            {
                namespace: "AWS/MemoryDB",
                nodes,
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
