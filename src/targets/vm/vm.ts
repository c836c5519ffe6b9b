import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ProvidedCertificates, serverCertificates } from "../../certificates";
import { VmConfig } from "../../config";
import { RedisEndpoint } from "../../endpoint";
import { OS_RESERVE_BYTES, formatMemorySize, maxmemoryFor } from "../../memory";
import { DataProtection, dataResourceOptions } from "../../protection";
import { renderForTarget, persistenceForTarget } from "../../redisConf";
import { alarmTopic, authSecret, cacheSecurityGroup } from "../awsShared";
import { SERVING_METRIC, cloudInit, encodeUserData, vmConfOverrides } from "./cloudInit";

/** The AWS account that publishes Debian's official AMIs. */
export const DEBIAN_AMI_OWNER = "136693071363";
export const DATA_DEVICE_NAME = "/dev/sdf";

export interface VmRedisArgs {
    /** Everything from the stack's `vm` block. */
    config: VmConfig;
    /** Names the secret, the alarm and the backup tag. @default mspbyte-redis-<stack> */
    serverName: string;
    password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation: carried in the boot secret as `previousPassword`, for the
     * boot to accept both (src/rotation.ts). Restart: a new secret version stops and starts the
     * instance (in place, same volume), in each phase.
     */
    previousPassword?: pulumi.Input<string>;
    /** Overrides the maxmemory sized from the instance's memory. */
    maxmemory?: string;
    /** @default the data volume is protected outside dev and always retained on destroy */
    protection: DataProtection;
    /** The stack's own certificate instead of a generated one. */
    certificates?: ProvidedCertificates;
}

/**
 * Debian's redis-server on an EC2 instance, configured by cloud-init from our redis.conf, with
 * its data on an encrypted EBS volume of its own that outlives the instance, snapshotted daily.
 * No SSH: Session Manager. IMDSv2 only. Recovered by EC2 on a failed system status check.
 */
export class VmRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<object>;
    readonly userData: pulumi.Output<string>;

    constructor(name: string, args: VmRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Vm", name, {}, opts);
        const c = args.config;
        const invoke = { parent: this };
        const instanceType = aws.ec2.getInstanceTypeOutput({ instanceType: c.instanceType }, invoke);
        const arch = instanceType.supportedArchitectures.apply((a) => (a.includes("arm64") ? "arm64" : "x86_64"));
        // The AMI is looked up on every run and not ignored: a new Debian release replaces the
        // instance at the next `pulumi up` (the preview shows it), and an instance type of the
        // other architecture gets its own AMI. `vm.amiId` pins one; a pinned AMI of the wrong
        // architecture matches nothing and fails the preview.
        const ami = aws.ec2.getAmiOutput({
            owners: [DEBIAN_AMI_OWNER],
            mostRecent: true,
            filters: [
                c.amiId
                    ? { name: "image-id", values: [c.amiId] }
                    : { name: "name", values: [pulumi.interpolate`debian-12-${arch.apply((a) => (a === "arm64" ? "arm64" : "amd64"))}-*`] },
                { name: "architecture", values: [arch] },
            ],
        }, invoke);
        const subnet = aws.ec2.getSubnetOutput({ id: c.subnetId }, invoke);
        const region = aws.getRegionOutput({}, invoke).region;
        const maxmemory = pulumi.output(args.maxmemory ?? instanceType.memorySize.apply((mib) => formatMemorySize(maxmemoryFor(mib * 1024 * 1024, OS_RESERVE_BYTES))));

        const securityGroup = cacheSecurityGroup(name, { ...c, egressForUpdates: true }, this);
        // The private DNS name is only known once the instance exists: cover every name EC2 gives.
        const certs = c.tls ? serverCertificates(name, [pulumi.interpolate`*.${region}.compute.internal`, "*.ec2.internal"], this, [], args.certificates) : undefined;
        const secret = authSecret(name, `mspbyte-redis/${args.serverName}/auth`, {
            username: "default", password: args.password,
            ...(args.previousPassword !== undefined ? { previousPassword: args.previousPassword } : {}),
            ...(certs ? { tlsCert: certs.certPem, tlsKey: certs.keyPem, tlsCa: certs.caPem } : {}),
        }, this);
        const { profile, grants } = this.createInstanceProfile(name, secret.arn);
        const volume = new aws.ebs.Volume(`${name}-data`, {
            availabilityZone: subnet.availabilityZone,
            size: c.dataVolumeGiB,
            type: "gp3",
            encrypted: true,
            ...(c.kmsKeyArn ? { kmsKeyId: c.kmsKeyArn } : {}),
            tags: { Name: `${args.serverName}-data`, "mspbyte:backup": args.serverName },
        }, dataResourceOptions(args.protection, { parent: this }));

        // The boot reads the credentials: new ones (a password or certificate change) must reach
        // a new boot. The secret version's id in the document restarts the instance then.
        this.userData = pulumi.secret(pulumi.all([maxmemory, volume.id, secret.arn, region, arch, secret.versionId]).apply(([mm, volumeId, secretId, r, a, version]) =>
            cloudInit({
                redisConf: renderForTarget(vmConfOverrides({ port: c.port, maxmemory: mm, tls: c.tls })),
                volumeId, secretId, region: r, debArch: a === "arm64" ? "arm64" : "amd64",
            }).replace(/\n*$/, `\n# credentials: secret version ${version}\n`)));
        const instance = new aws.ec2.Instance(`${name}-instance`, {
            ami: ami.id,
            instanceType: c.instanceType,
            subnetId: c.subnetId,
            vpcSecurityGroupIds: [securityGroup.id],
            iamInstanceProfile: profile.name,
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: c.rootVolumeGiB, ...(c.kmsKeyArn ? { kmsKeyId: c.kmsKeyArn } : {}) },
            // Gzipped: the document with its boot scripts is over EC2's 16 KB as plain text.
            userDataBase64: this.userData.apply(encodeUserData),
            // A changed document (redis.conf, maxmemory, TLS, credentials) is applied in place: the
            // provider stops the instance, sets the new user data, starts it, and the boot units
            // apply the current user data at every boot. Same host, same volume, a restart's downtime.
            userDataReplaceOnChange: false,
            monitoring: true,
            tags: { Name: args.serverName, "mspbyte:role": "redis" },
        }, {
            parent: this,
            // The boot reads the secret at once: the role must already be allowed to.
            dependsOn: grants,
        });
        new aws.ec2.VolumeAttachment(`${name}-data-attachment`, {
            deviceName: DATA_DEVICE_NAME,
            volumeId: volume.id,
            instanceId: instance.id,
            // Redis shuts down cleanly (final fsync) before the volume leaves.
            stopInstanceBeforeDetaching: true,
        }, {
            parent: this,
            // A replaced instance needs the volume, which can be attached once: the old
            // attachment goes first (stopping the old instance), then the new one is made.
            deleteBeforeReplace: true,
        });
        this.createSnapshotPolicy(name, args.serverName, c.snapshotRetentionDays);
        this.createRecoveryAlarm(name, args.serverName, instance.id, region);
        this.createServingAlarm(name, args.serverName, instance.id, alarmTopic(name, c.alarmEmail, this));

        const persistence = persistenceForTarget(vmConfOverrides({ port: c.port, maxmemory: args.maxmemory ?? "0", tls: c.tls }));
        this.endpoint = {
            host: instance.privateDns,
            port: c.port,
            tls: c.tls,
            username: "default",
            password: args.password,
            persistence: maxmemory.apply((mm) => ({ ...persistence, maxmemory: mm })),
        };
        this.details = pulumi.output({
            service: "vm",
            instanceId: instance.id,
            privateIp: instance.privateIp,
            dataVolumeId: volume.id,
            authSecretArn: secret.arn,
            securityGroupId: securityGroup.id,
            ...(certs ? { caCertPem: certs.caPem } : {}),
            session: pulumi.interpolate`aws ssm start-session --target ${instance.id}`,
        });
        this.registerOutputs({ details: this.details });
    }

    /** Session Manager, reading this server's own secret, and reporting its one metric: nothing more. */
    private createInstanceProfile(name: string, secretArn: pulumi.Output<string>): { profile: aws.iam.InstanceProfile; grants: pulumi.Resource[] } {
        const role = new aws.iam.Role(`${name}-role`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        }, { parent: this });
        const ssm = new aws.iam.RolePolicyAttachment(`${name}-ssm`, {
            role: role.name,
            policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        }, { parent: this });
        const readSecret = new aws.iam.RolePolicy(`${name}-read-secret`, {
            role: role.name,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    { Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArn },
                    // PutMetricData has no resource to name; the condition key limits it to our namespace.
                    { Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": SERVING_METRIC.namespace } } },
                ],
            }),
        }, { parent: this });
        const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name }, { parent: this });
        return { profile, grants: [ssm, readSecret] };
    }

    /** Daily snapshots of the data volume through Data Lifecycle Manager. */
    private createSnapshotPolicy(name: string, serverName: string, retainDays: number): aws.dlm.LifecyclePolicy {
        const role = new aws.iam.Role(`${name}-dlm-role`, {
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
        }, { parent: this });
        new aws.iam.RolePolicyAttachment(`${name}-dlm-policy`, {
            role: role.name,
            policyArn: "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole",
        }, { parent: this });
        return new aws.dlm.LifecyclePolicy(`${name}-snapshots`, {
            // DLM takes only [0-9A-Za-z _-] in a description and a schedule name.
            description: `mspbyte-redis ${serverName} daily data snapshots`,
            executionRoleArn: role.arn,
            state: "ENABLED",
            policyDetails: {
                resourceTypes: ["VOLUME"],
                targetTags: { "mspbyte:backup": serverName },
                schedules: [{
                    name: `daily kept ${retainDays}`,
                    createRule: { interval: 24, intervalUnit: "HOURS", times: "03:00" },
                    retainRule: { count: retainDays },
                    copyTags: true,
                }],
            },
        }, { parent: this });
    }

    /**
     * mspbyte-report.timer publishes RedisServing every minute: 1 when redis-server runs on the
     * mounted data volume, else 0. Three minutes below 1 alarm the topic, and so do three minutes
     * without a report (a boot that never got that far, a machine that is down): missing data is
     * breaching.
     */
    private createServingAlarm(name: string, serverName: string, instanceId: pulumi.Output<string>, topic: aws.sns.Topic): aws.cloudwatch.MetricAlarm {
        return new aws.cloudwatch.MetricAlarm(`${name}-serving`, {
            name: `${serverName}-serving`,
            namespace: SERVING_METRIC.namespace,
            metricName: SERVING_METRIC.metricName,
            dimensions: { InstanceId: instanceId },
            statistic: "Minimum",
            period: 60,
            evaluationPeriods: 3,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            treatMissingData: "breaching",
            alarmDescription: "Redis is not serving from its data volume (a boot step failed, the volume is missing, or redis-server stopped), or the instance stopped reporting: see systemctl --failed",
            alarmActions: [topic.arn],
            okActions: [topic.arn],
        }, { parent: this });
    }

    /** EC2 moves the instance to healthy hardware when the host fails its status check. */
    private createRecoveryAlarm(name: string, serverName: string, instanceId: pulumi.Output<string>, region: pulumi.Output<string>): aws.cloudwatch.MetricAlarm {
        return new aws.cloudwatch.MetricAlarm(`${name}-recover`, {
            name: `${serverName}-recover`,
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
        }, { parent: this });
    }
}
