import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type CertificateTransforms, type ProvidedCertificates, type ServerCertificates, serverCertificates } from "../../certificates";
import type { Persistence } from "../../contract";
import type { RedisEndpoint } from "../../endpoint";
import { OS_RESERVE_BYTES, formatMemorySize, maxmemoryFor } from "../../memory";
import { dataResourceOptions } from "../../protection";
import { persistenceOf } from "../../persistence";
import { type RedisConf, applyOverrides, renderRedisConf } from "../../redisConf";
import { type SharedTransforms, type Transform, alarmTopic, authSecret, cacheSecurityGroup, transformed } from "../awsShared";
import { SERVING_METRIC, cloudInit, encodeUserData, vmConfOverrides } from "./cloudInit";
import { VM_DEFAULTS } from "./config";

/** The AWS account that publishes Debian's official AMIs. */
export const DEBIAN_AMI_OWNER = "136693071363";
export const DATA_DEVICE_NAME = "/dev/sdf";

export interface VmRedisArgs {
    /** The stack's name: the server is named after it. */
    readonly stack: string;
    /** Names the secret, the alarms, the instance, the volume and its backup tag. @default `mspbyte-redis-<stack>` */
    readonly serverName?: string;
    /** redis.conf as the program parsed it: rendered once, with the VM's overrides, into the user data. */
    readonly redisConf: RedisConf;
    readonly password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation: carried in the boot secret as `previousPassword`, for the
     * boot to accept both (src/rotation.ts). Restart: a new secret version stops and starts the
     * instance (in place, same volume), in each phase.
     */
    readonly previousPassword?: pulumi.Input<string>;
    /**
     * Refuse to delete or replace the data volume in `pulumi up` / `pulumi destroy`. The volume
     * is retained on destroy whatever this says. @default true
     */
    readonly protect?: boolean;
    /** The VPC of the security group. Danger: changing it replaces the security group (the instance keeps running, its rules move). */
    readonly vpcId: string;
    /**
     * A private subnet; the data volume is created in its availability zone.
     * Danger: changing it replaces the instance, and a subnet in another zone replaces the data
     * volume with an empty one (the old one is retained, detached, with its snapshots).
     */
    readonly subnetId: string;
    /** CIDR blocks admitted to the Redis port. @default [] (VM_DEFAULTS.allowedCidrs) */
    readonly allowedCidrs?: string[];
    /** Security groups admitted to the Redis port. @default [] (VM_DEFAULTS.allowedSecurityGroupIds) */
    readonly allowedSecurityGroupIds?: string[];
    /**
     * EC2 instance type (Nitro); maxmemory is sized from its memory unless `maxmemory` is given.
     * @default "t4g.small" (VM_DEFAULTS.instanceType)
     * Danger: a type of the same architecture is changed in place (stop, modify, start); one of
     * the other architecture gets its own AMI and replaces the instance (the data volume stays
     * and is re-attached).
     */
    readonly instanceType?: string;
    /**
     * Pins a Debian 12 AMI (from Debian's account) instead of the latest. @default the latest Debian 12 AMI
     * Danger: changing it replaces the instance (the data volume stays and is re-attached).
     */
    readonly amiId?: string;
    /** The Redis port (TLS-only when `tls`). @default 6379 (VM_DEFAULTS.port) */
    readonly port?: number;
    /** TLS with a certificate generated for this server (its CA is in `details`). @default false (VM_DEFAULTS.tls) */
    readonly tls?: boolean;
    /** The stack's own certificate instead of a generated one. @default a generated one, when `tls` */
    readonly certificates?: ProvidedCertificates;
    /** Overrides the maxmemory sized from the instance type's memory. @default 60% of the memory less 256 MiB */
    readonly maxmemory?: string;
    /** Size of the encrypted data volume, in GiB. Growing it is online; shrinking is refused by EBS. @default 20 (VM_DEFAULTS.dataVolumeGiB) */
    readonly dataVolumeGiB?: number;
    /** Size of the encrypted root disk, in GiB. @default 8 (VM_DEFAULTS.rootVolumeGiB) */
    readonly rootVolumeGiB?: number;
    /**
     * The KMS key both disks are encrypted with. @default AWS's managed EBS key
     * Danger: changing it replaces the data volume with an empty one (the old one is retained,
     * detached, with its snapshots) and the instance.
     */
    readonly kmsKeyArn?: string;
    /** Daily snapshots of the data volume kept. @default 7 (VM_DEFAULTS.snapshotRetentionDays) */
    readonly snapshotRetentionDays?: number;
    /** Subscribed to the topic the serving alarm notifies. @default no subscription */
    readonly alarmEmail?: string;
    /** Last word on each child's arguments: one entry per kind of child. */
    readonly transform?: VmTransforms;
}

/** The transforms of the VM's children (the shared security group, secret and topic ones included). */
export interface VmTransforms
    extends Pick<
        SharedTransforms,
        "securityGroup" | "ingressRule" | "egressRule" | "secret" | "secretVersion" | "alarmTopic" | "alarmEmail"
    > {
    readonly role?: Transform<aws.iam.RoleArgs>;
    readonly ssmPolicy?: Transform<aws.iam.RolePolicyAttachmentArgs>;
    readonly readSecretPolicy?: Transform<aws.iam.RolePolicyArgs>;
    readonly instanceProfile?: Transform<aws.iam.InstanceProfileArgs>;
    readonly dataVolume?: Transform<aws.ebs.VolumeArgs>;
    readonly instance?: Transform<aws.ec2.InstanceArgs>;
    readonly volumeAttachment?: Transform<aws.ec2.VolumeAttachmentArgs>;
    readonly snapshotRole?: Transform<aws.iam.RoleArgs>;
    readonly snapshotRolePolicy?: Transform<aws.iam.RolePolicyAttachmentArgs>;
    readonly snapshotPolicy?: Transform<aws.dlm.LifecyclePolicyArgs>;
    readonly recoveryAlarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
    readonly servingAlarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
    /** The generated CA and certificate's children, when `tls` without the stack's own certificate. */
    readonly certificates?: CertificateTransforms;
}

/** What only the VM has, as the stack's `details` output. */
export interface VmDetails {
    readonly service: "vm";
    readonly instanceId: string;
    readonly privateIp: string;
    readonly dataVolumeId: string;
    readonly authSecretArn: string;
    readonly securityGroupId: string;
    /** The CA clients verify the server with, when `tls`. */
    readonly caCertPem?: string;
    /** The command that opens a shell on the instance (Session Manager; there is no SSH). */
    readonly session: string;
}

/** The args with their defaults applied. */
type VmSettings = Required<
    Pick<
        VmRedisArgs,
        | "serverName"
        | "protect"
        | "allowedCidrs"
        | "allowedSecurityGroupIds"
        | "instanceType"
        | "port"
        | "tls"
        | "dataVolumeGiB"
        | "rootVolumeGiB"
        | "snapshotRetentionDays"
        | "transform"
    >
> &
    VmRedisArgs;

function withDefaults(args: VmRedisArgs): VmSettings {
    return {
        ...args,
        serverName: args.serverName ?? `mspbyte-redis-${args.stack}`,
        protect: args.protect ?? true,
        allowedCidrs: args.allowedCidrs ?? [...VM_DEFAULTS.allowedCidrs],
        allowedSecurityGroupIds: args.allowedSecurityGroupIds ?? [...VM_DEFAULTS.allowedSecurityGroupIds],
        instanceType: args.instanceType ?? VM_DEFAULTS.instanceType,
        port: args.port ?? VM_DEFAULTS.port,
        tls: args.tls ?? VM_DEFAULTS.tls,
        dataVolumeGiB: args.dataVolumeGiB ?? VM_DEFAULTS.dataVolumeGiB,
        rootVolumeGiB: args.rootVolumeGiB ?? VM_DEFAULTS.rootVolumeGiB,
        snapshotRetentionDays: args.snapshotRetentionDays ?? VM_DEFAULTS.snapshotRetentionDays,
        transform: args.transform ?? {},
    };
}

/** What EC2 tells about the machine the server runs on, looked up at every run. */
interface Host {
    arch: pulumi.Output<"arm64" | "x86_64">;
    memoryMiB: pulumi.Output<number>;
    amiId: pulumi.Output<string>;
    availabilityZone: pulumi.Output<string>;
    region: pulumi.Output<string>;
}

/** The boot secret's identity: the boot reads it, and a new version must reach a new boot. */
interface BootSecret {
    arn: pulumi.Output<string>;
    versionId: pulumi.Output<string>;
}

/**
 * Debian's redis-server on an EC2 instance, configured by cloud-init from our redis.conf, with
 * its data on an encrypted EBS volume of its own that outlives the instance, snapshotted daily.
 * No SSH: Session Manager. IMDSv2 only. Recovered by EC2 on a failed system status check.
 */
export class VmRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<VmDetails>;
    /** The cloud-init document (plain text, secret), as the instance is given it gzipped. */
    readonly userData: pulumi.Output<string>;

    constructor(name: string, args: VmRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Vm", name, {}, opts);
        const s = withDefaults(args);
        const host = this.lookUpHost(s);
        const maxmemory = pulumi.output(
            s.maxmemory ?? host.memoryMiB.apply((mib) => formatMemorySize(maxmemoryFor(mib * 1024 * 1024, OS_RESERVE_BYTES))),
        );
        // Rendered once: the user data carries this file, and the persistence output reads it.
        const conf = maxmemory.apply((mm) => applyOverrides(s.redisConf, vmConfOverrides({ port: s.port, maxmemory: mm, tls: s.tls })));
        const securityGroup = this.createSecurityGroup(name, s);
        const certs = this.createCertificates(name, s, host.region);
        const secret = this.createBootSecret(name, s, certs);
        const { profile, grants } = this.createRole(name, s, secret.arn);
        const volume = this.createDataVolume(name, s, host.availabilityZone);
        this.userData = this.renderUserData(conf, volume, secret, host);
        const instance = this.createInstance(name, s, { host, securityGroup, profile, grants });
        this.attachDataVolume(name, s, volume, instance);
        this.createSnapshotPolicy(name, s);
        this.createAlarms(name, s, instance, host.region);

        this.endpoint = {
            host: instance.privateDns,
            port: s.port,
            tls: s.tls,
            username: "default",
            password: args.password,
            persistence: conf.apply((c): Persistence => persistenceOf(c)),
        };
        this.details = pulumi.output({
            service: "vm" as const,
            instanceId: instance.id,
            privateIp: instance.privateIp,
            dataVolumeId: volume.id,
            authSecretArn: secret.arn,
            securityGroupId: securityGroup.id,
            ...(certs ? { caCertPem: certs.caPem } : {}),
            session: pulumi.interpolate`aws ssm start-session --target ${instance.id}`,
        });
        this.registerOutputs({
            endpoint: { ...this.endpoint, password: pulumi.secret(args.password) },
            details: this.details,
            userData: this.userData,
        });
    }

    /**
     * The instance type's memory and architecture, the AMI, the subnet's zone and the region.
     * The AMI is looked up on every run and not ignored: a new Debian release replaces the
     * instance at the next `pulumi up` (the preview shows it), and an instance type of the other
     * architecture gets its own AMI. `amiId` pins one; a pinned AMI of the wrong architecture
     * matches nothing and fails the preview.
     */
    private lookUpHost(s: VmSettings): Host {
        const invoke = { parent: this };
        const instanceType = aws.ec2.getInstanceTypeOutput({ instanceType: s.instanceType }, invoke);
        const arch = instanceType.supportedArchitectures.apply((a) => (a.includes("arm64") ? ("arm64" as const) : ("x86_64" as const)));
        const ami = aws.ec2.getAmiOutput(
            {
                owners: [DEBIAN_AMI_OWNER],
                mostRecent: true,
                filters: [
                    s.amiId
                        ? { name: "image-id", values: [s.amiId] }
                        : {
                              name: "name",
                              values: [pulumi.interpolate`debian-12-${arch.apply((a) => (a === "arm64" ? "arm64" : "amd64"))}-*`],
                          },
                    { name: "architecture", values: [arch] },
                ],
            },
            invoke,
        );
        const subnet = aws.ec2.getSubnetOutput({ id: s.subnetId }, invoke);
        const region = aws.getRegionOutput({}, invoke).region;
        return { arch, memoryMiB: instanceType.memorySize, amiId: ami.id, availabilityZone: subnet.availabilityZone, region };
    }

    /** The Redis port from the given sources only; HTTPS and HTTP out for packages and Session Manager. */
    private createSecurityGroup(name: string, s: VmSettings): aws.ec2.SecurityGroup {
        return cacheSecurityGroup(
            name,
            {
                vpcId: s.vpcId,
                port: s.port,
                allowedCidrs: s.allowedCidrs,
                allowedSecurityGroupIds: s.allowedSecurityGroupIds,
                egressForUpdates: true,
            },
            this,
            s.transform,
        );
    }

    /** The private DNS name is only known once the instance exists: cover every name EC2 gives. */
    private createCertificates(name: string, s: VmSettings, region: pulumi.Output<string>): ServerCertificates | undefined {
        return s.tls
            ? serverCertificates(
                  name,
                  [pulumi.interpolate`*.${region}.compute.internal`, "*.ec2.internal"],
                  this,
                  [],
                  s.certificates,
                  s.transform.certificates,
              )
            : undefined;
    }

    /** The credentials (and TLS material) the boot fetches from Secrets Manager: never in user data. */
    private createBootSecret(name: string, s: VmSettings, certs: ServerCertificates | undefined): BootSecret {
        return authSecret(
            name,
            `mspbyte-redis/${s.serverName}/auth`,
            {
                username: "default",
                password: s.password,
                ...(s.previousPassword !== undefined ? { previousPassword: s.previousPassword } : {}),
                ...(certs ? { tlsCert: certs.certPem, tlsKey: certs.keyPem, tlsCa: certs.caPem } : {}),
            },
            this,
            s.transform,
        );
    }

    /** Session Manager, reading this server's own secret, and reporting its one metric: nothing more. */
    private createRole(
        name: string,
        s: VmSettings,
        secretArn: pulumi.Output<string>,
    ): { profile: aws.iam.InstanceProfile; grants: pulumi.Resource[] } {
        const t = s.transform;
        const roleArgs: aws.iam.RoleArgs = {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        };
        const role = new aws.iam.Role(`${name}-role`, transformed(roleArgs, t.role), { parent: this });
        const ssmArgs: aws.iam.RolePolicyAttachmentArgs = {
            role: role.name,
            policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        };
        const ssm = new aws.iam.RolePolicyAttachment(`${name}-ssm`, transformed(ssmArgs, t.ssmPolicy), { parent: this });
        const readSecretArgs: aws.iam.RolePolicyArgs = {
            role: role.name,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
                    // PutMetricData has no resource to name; the condition key limits it to our namespace.
                    {
                        Effect: "Allow",
                        Action: "cloudwatch:PutMetricData",
                        Resource: "*",
                        Condition: { StringEquals: { "cloudwatch:namespace": SERVING_METRIC.namespace } },
                    },
                ],
            }),
        };
        const readSecret = new aws.iam.RolePolicy(`${name}-read-secret`, transformed(readSecretArgs, t.readSecretPolicy), { parent: this });
        const profileArgs: aws.iam.InstanceProfileArgs = { role: role.name };
        const profile = new aws.iam.InstanceProfile(`${name}-profile`, transformed(profileArgs, t.instanceProfile), { parent: this });
        return { profile, grants: [ssm, readSecret] };
    }

    /** The data, on an encrypted volume of its own in the subnet's zone: retained on destroy, tagged for the daily snapshots. */
    private createDataVolume(name: string, s: VmSettings, availabilityZone: pulumi.Output<string>): aws.ebs.Volume {
        const volumeArgs: aws.ebs.VolumeArgs = {
            availabilityZone,
            size: s.dataVolumeGiB,
            type: "gp3",
            encrypted: true,
            ...(s.kmsKeyArn ? { kmsKeyId: s.kmsKeyArn } : {}),
            tags: { Name: `${s.serverName}-data`, "mspbyte:backup": s.serverName },
        };
        return new aws.ebs.Volume(
            `${name}-data`,
            transformed(volumeArgs, s.transform.dataVolume),
            dataResourceOptions({ protect: s.protect, deleteData: false }, { parent: this }),
        );
    }

    /**
     * The cloud-init document with the rendered redis.conf. The boot reads the credentials: new
     * ones (a password or certificate change) must reach a new boot, so the secret version's id
     * is in the document, which restarts the instance then.
     */
    private renderUserData(conf: pulumi.Output<RedisConf>, volume: aws.ebs.Volume, secret: BootSecret, host: Host): pulumi.Output<string> {
        return pulumi.secret(
            pulumi
                .all([conf, volume.id, secret.arn, host.region, host.arch, secret.versionId])
                .apply(([c, volumeId, secretId, region, arch, version]) =>
                    cloudInit({
                        redisConf: renderRedisConf(c),
                        volumeId,
                        secretId,
                        region,
                        debArch: arch === "arm64" ? "arm64" : "amd64",
                        secretVersion: version,
                    }),
                ),
        );
    }

    /** IMDSv2 only, no SSH key, encrypted root disk, detailed monitoring. */
    private createInstance(
        name: string,
        s: VmSettings,
        on: { host: Host; securityGroup: aws.ec2.SecurityGroup; profile: aws.iam.InstanceProfile; grants: pulumi.Resource[] },
    ): aws.ec2.Instance {
        const instanceArgs: aws.ec2.InstanceArgs = {
            ami: on.host.amiId,
            instanceType: s.instanceType,
            subnetId: s.subnetId,
            vpcSecurityGroupIds: [on.securityGroup.id],
            iamInstanceProfile: on.profile.name,
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
            rootBlockDevice: {
                encrypted: true,
                volumeType: "gp3",
                volumeSize: s.rootVolumeGiB,
                ...(s.kmsKeyArn ? { kmsKeyId: s.kmsKeyArn } : {}),
            },
            // Gzipped: the document with its boot scripts is over EC2's 16 KB as plain text.
            userDataBase64: this.userData.apply(encodeUserData),
            // A changed document (redis.conf, maxmemory, TLS, credentials) is applied in place: the
            // provider stops the instance, sets the new user data, starts it, and the boot units
            // apply the current user data at every boot. Same host, same volume, a restart's downtime.
            userDataReplaceOnChange: false,
            monitoring: true,
            tags: { Name: s.serverName, "mspbyte:role": "redis" },
        };
        return new aws.ec2.Instance(`${name}-instance`, transformed(instanceArgs, s.transform.instance), {
            parent: this,
            // The boot reads the secret at once: the role must already be allowed to.
            dependsOn: on.grants,
        });
    }

    private attachDataVolume(name: string, s: VmSettings, volume: aws.ebs.Volume, instance: aws.ec2.Instance): aws.ec2.VolumeAttachment {
        const attachmentArgs: aws.ec2.VolumeAttachmentArgs = {
            deviceName: DATA_DEVICE_NAME,
            volumeId: volume.id,
            instanceId: instance.id,
            // Redis shuts down cleanly (final fsync) before the volume leaves.
            stopInstanceBeforeDetaching: true,
        };
        return new aws.ec2.VolumeAttachment(`${name}-data-attachment`, transformed(attachmentArgs, s.transform.volumeAttachment), {
            parent: this,
            // A replaced instance needs the volume, which can be attached once: the old
            // attachment goes first (stopping the old instance), then the new one is made.
            deleteBeforeReplace: true,
        });
    }

    /** Daily snapshots of the data volume through Data Lifecycle Manager. */
    private createSnapshotPolicy(name: string, s: VmSettings): aws.dlm.LifecyclePolicy {
        const t = s.transform;
        const roleArgs: aws.iam.RoleArgs = {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        };
        const role = new aws.iam.Role(`${name}-dlm-role`, transformed(roleArgs, t.snapshotRole), { parent: this });
        const rolePolicyArgs: aws.iam.RolePolicyAttachmentArgs = {
            role: role.name,
            policyArn: "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole",
        };
        new aws.iam.RolePolicyAttachment(`${name}-dlm-policy`, transformed(rolePolicyArgs, t.snapshotRolePolicy), { parent: this });
        const retainDays = s.snapshotRetentionDays;
        const policyArgs: aws.dlm.LifecyclePolicyArgs = {
            // DLM takes only [0-9A-Za-z _-] in a description and a schedule name.
            description: `mspbyte-redis ${s.serverName} daily data snapshots`,
            executionRoleArn: role.arn,
            state: "ENABLED",
            policyDetails: {
                resourceTypes: ["VOLUME"],
                targetTags: { "mspbyte:backup": s.serverName },
                schedules: [
                    {
                        name: `daily kept ${retainDays}`,
                        createRule: { interval: 24, intervalUnit: "HOURS", times: "03:00" },
                        retainRule: { count: retainDays },
                        copyTags: true,
                    },
                ],
            },
        };
        return new aws.dlm.LifecyclePolicy(`${name}-snapshots`, transformed(policyArgs, t.snapshotPolicy), { parent: this });
    }

    /** EC2's recovery on a failed host, and the serving alarm to the topic (with its optional email). */
    private createAlarms(name: string, s: VmSettings, instance: aws.ec2.Instance, region: pulumi.Output<string>): void {
        this.createRecoveryAlarm(name, s, instance.id, region);
        this.createServingAlarm(name, s, instance.id, alarmTopic(name, s.alarmEmail, this, s.transform));
    }

    /**
     * mspbyte-report.timer publishes RedisServing every minute: 1 when redis-server runs on the
     * mounted data volume, else 0. Three minutes below 1 alarm the topic, and so do three minutes
     * without a report (a boot that never got that far, a machine that is down): missing data is
     * breaching.
     */
    private createServingAlarm(
        name: string,
        s: VmSettings,
        instanceId: pulumi.Output<string>,
        topic: aws.sns.Topic,
    ): aws.cloudwatch.MetricAlarm {
        const alarmArgs: aws.cloudwatch.MetricAlarmArgs = {
            name: `${s.serverName}-serving`,
            namespace: SERVING_METRIC.namespace,
            metricName: SERVING_METRIC.metricName,
            dimensions: { InstanceId: instanceId },
            statistic: "Minimum",
            period: 60,
            evaluationPeriods: 3,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching",
            alarmDescription:
                "Redis is not serving from its data volume (a boot step failed, the volume is missing, or redis-server stopped), or the instance stopped reporting: see systemctl --failed",
            alarmActions: [topic.arn],
            okActions: [topic.arn],
        };
        return new aws.cloudwatch.MetricAlarm(`${name}-serving`, transformed(alarmArgs, s.transform.servingAlarm), { parent: this });
    }

    /** EC2 moves the instance to healthy hardware when the host fails its status check. */
    private createRecoveryAlarm(
        name: string,
        s: VmSettings,
        instanceId: pulumi.Output<string>,
        region: pulumi.Output<string>,
    ): aws.cloudwatch.MetricAlarm {
        const alarmArgs: aws.cloudwatch.MetricAlarmArgs = {
            name: `${s.serverName}-recover`,
            namespace: "AWS/EC2",
            metricName: "StatusCheckFailed_System",
            dimensions: { InstanceId: instanceId },
            statistic: "Maximum",
            period: 60,
            evaluationPeriods: 2,
            threshold: 0,
            comparisonOperator: "GreaterThanThreshold",
            alarmDescription: "the host failed its system status check: EC2 recovers the instance onto healthy hardware",
            alarmActions: [pulumi.interpolate`arn:aws:automate:${region}:ec2:recover`],
        };
        return new aws.cloudwatch.MetricAlarm(`${name}-recover`, transformed(alarmArgs, s.transform.recoveryAlarm), { parent: this });
    }
}
