import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config";
import type { RedisEndpoint } from "../endpoint";
import type { RedisConf } from "../redisConf";
import { serverPassword } from "../password";
import { previousPasswordInput } from "../rotation";
import { type DockerDetails, DockerRedis } from "./docker/docker";
import { type ElasticacheDetails, ElasticacheRedis } from "./managed/elasticache";
import { type ExternalDetails, ExternalRedis } from "./external/external";
import { type MemorydbDetails, MemorydbRedis } from "./managed/memorydb";
import { type KubernetesDetails, KubernetesRedis } from "./kubernetes/kubernetes";
import { type VmDetails, VmRedis } from "./vm/vm";

/** What only one target has (container name, cache id, secret ARN ...): each target's own details. */
export type TargetDetails = DockerDetails | ElasticacheDetails | MemorydbDetails | VmDetails | KubernetesDetails | ExternalDetails;

/** A built target: a component whose endpoint feeds the output contract. */
export interface RedisTarget extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    /** What only this target has (container name, cache id, secret ARN ...), as the `details` output. */
    readonly details: pulumi.Output<TargetDetails>;
}

/** What every target takes beside its own args: given by the program, the same for each. */
export interface SharedArgs {
    /** The stack's name (names and tags carry it); never read from the engine inside a component. */
    readonly stack: string;
    /** redis.conf, read and parsed once by the program. */
    readonly redisConf: RedisConf;
}

/**
 * Builds the stack's one target: maps the stack config to that target's documented args. The
 * only place in the program that branches on the target.
 */
export function buildTarget(name: string, config: StackConfig, shared: SharedArgs): RedisTarget {
    // An external server's password is given (the config requires it); nothing is generated for it.
    const password = serverPassword(name, config.password);
    // Phase one of a rotation (the config refuses it on external, whose provider rotates).
    const previousPassword = previousPasswordInput(config.previousPassword);
    switch (config.target) {
        case "docker": {
            const d = config.docker;
            return new DockerRedis(name, {
                ...shared,
                password,
                previousPassword,
                protection: { protect: config.protect, deleteData: d.deleteData },
                image: d.image,
                containerName: d.containerName,
                volumeName: d.volumeName,
                hostIp: d.hostIp,
                hostPort: d.hostPort,
                tls: d.tls,
                certificates: config.certificates,
                memoryLimit: d.memoryLimit,
                maxmemory: config.maxmemory,
                logMaxSize: d.logMaxSize,
                logMaxFiles: d.logMaxFiles,
            });
        }
        case "elasticache": {
            const e = config.elasticache;
            const args = {
                ...shared,
                cacheName: e.name,
                password,
                previousPassword,
                protect: config.protect,
                vpcId: e.vpcId,
                subnetIds: e.subnetIds,
                allowedCidrs: e.allowedCidrs,
                allowedSecurityGroupIds: e.allowedSecurityGroupIds,
                engine: e.engine,
                engineVersion: e.engineVersion,
                nodeType: e.nodeType,
                replicas: e.replicas,
                port: e.port,
                kmsKeyArn: e.kmsKeyArn,
                snapshotRetentionDays: e.snapshotRetentionDays,
                snapshotWindow: e.snapshotWindow,
                maintenanceWindow: e.maintenanceWindow,
                autoMinorVersionUpgrade: e.autoMinorVersionUpgrade,
                alarmEmail: e.alarmEmail,
                maxConnectionsAlarm: e.maxConnectionsAlarm,
                restoreFromSnapshot: e.restoreFromSnapshot,
                clusterMode: e.clusterMode,
                shards: e.shards,
            };
            return e.service === "memorydb"
                ? new MemorydbRedis(name, args)
                : new ElasticacheRedis(name, {
                      ...args,
                      multiAz: e.multiAz,
                      logRetentionDays: e.logRetentionDays,
                      authTokenUpdateStrategy: e.authTokenUpdateStrategy,
                  });
        }
        case "vm": {
            const v = config.vm;
            return new VmRedis(name, {
                ...shared,
                password,
                previousPassword,
                protect: config.protect,
                vpcId: v.vpcId,
                subnetId: v.subnetId,
                allowedCidrs: v.allowedCidrs,
                allowedSecurityGroupIds: v.allowedSecurityGroupIds,
                instanceType: v.instanceType,
                amiId: v.amiId,
                port: v.port,
                tls: v.tls,
                certificates: config.certificates,
                maxmemory: config.maxmemory,
                dataVolumeGiB: v.dataVolumeGiB,
                rootVolumeGiB: v.rootVolumeGiB,
                kmsKeyArn: v.kmsKeyArn,
                snapshotRetentionDays: v.snapshotRetentionDays,
                alarmEmail: v.alarmEmail,
            });
        }
        case "kubernetes": {
            const k = config.kubernetes;
            return new KubernetesRedis(name, {
                redisConf: shared.redisConf,
                password,
                previousPassword,
                protect: config.protect,
                namespace: k.namespace,
                createNamespace: k.createNamespace,
                image: k.image,
                storageClass: k.storageClass,
                storageSize: k.storageSize,
                memoryLimit: k.memoryLimit,
                cpuRequest: k.cpuRequest,
                allowedPodLabels: k.allowedPodLabels,
                allowedNamespaces: k.allowedNamespaces,
                metrics: k.metrics,
                metricsNamespaces: k.metricsNamespaces,
                exporterImage: k.exporterImage,
                serviceMonitor: k.serviceMonitor,
                tls: k.tls,
                certificates: config.certificates,
                blockVoluntaryEviction: k.blockVoluntaryEviction,
                port: k.port,
                maxmemory: config.maxmemory,
            });
        }
        case "external": {
            const x = config.external;
            return new ExternalRedis(name, {
                redisConf: shared.redisConf,
                password,
                host: x.host,
                port: x.port,
                tls: x.tls,
                allowPlaintext: x.allowPlaintext,
                username: x.username,
                aof: x.aof,
            });
        }
        default: {
            const unreachable: never = config;
            throw new pulumi.RunError(`unknown target ${String((unreachable as { target: unknown }).target)}`);
        }
    }
}
