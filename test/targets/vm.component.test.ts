/**
 * The VM component built directly from its args under mocks, many cases in one process: what
 * each arg and each default becomes, the transforms, the outputs, and the resource options the
 * data-protection policy reads.
 */
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getDirective, loadRedisConf, parseRedisConf, renderRedisConf } from "../../src/redisConf";
import { decodeUserData } from "../../src/targets/vm/cloudInit";
import { VM_DEFAULTS } from "../../src/targets/vm/config";
import { VmRedis, type VmRedisArgs } from "../../src/targets/vm/vm";
import { policyViolations } from "../helpers/policy";
import { ofType, promiseOf, secretInput, single } from "../helpers/pulumiMocks";
import { type ComponentRun, buildUnderMocks, registeredOutputs } from "../helpers/stackUnderMocks";

const ROOT_CONF = loadRedisConf();
/** The args every case starts from: only what has no default. */
const REQUIRED: VmRedisArgs = {
    stack: "vm",
    redisConf: ROOT_CONF,
    password: pulumi.secret("Component0Password0123456789"),
    vpcId: "vpc-0123456789abcdef0",
    subnetId: "subnet-0a1b2c3d4e5f60001",
};

type Built = ComponentRun<VmRedis>;

/** Builds one VmRedis under fresh mocks (the engine's stack named `engineStack`) and waits until everything is registered. */
function build(args: Partial<VmRedisArgs> = {}, engineStack = "vm"): Promise<Built> {
    return buildUnderMocks(engineStack, () => new VmRedis("redis", { ...REQUIRED, ...args }));
}

const userDataOf = (b: Built) =>
    decodeUserData(secretInput<string>(single(b.resources, "aws:ec2/instance:Instance").inputs.userDataBase64));
const fileOf = (userData: string, path: string) =>
    (parse(userData) as { write_files: { path: string; content: string }[] }).write_files.find((f) => f.path === path)!.content;
const named = (b: Built, type: string, name: string) => b.resources.find((r) => r.type === type && r.name === name)!;
const alarm = (b: Built, suffix: string) => named(b, "aws:cloudwatch/metricAlarm:MetricAlarm", `redis-${suffix}`).inputs;

afterEach(() => vi.restoreAllMocks());

describe("defaults: only the args without one", () => {
    it("the defaults documented on the args are VM_DEFAULTS, the config's own", () => {
        expect(VM_DEFAULTS).toMatchObject({
            instanceType: "t4g.small",
            port: 6379,
            tls: false,
            dataVolumeGiB: 20,
            rootVolumeGiB: 8,
            snapshotRetentionDays: 7,
            allowedCidrs: [],
            allowedSecurityGroupIds: [],
        });
    });

    it("a t4g.small from the latest Debian 12 arm64 AMI, 8 GiB root disk, named after the stack", async () => {
        const b = await build();
        const ami = b.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!.inputs;
        expect(ami.filters).toEqual([
            { name: "name", values: ["debian-12-arm64-*"] },
            { name: "architecture", values: ["arm64"] },
        ]);
        expect(b.calls.find((c) => c.token === "aws:ec2/getInstanceType:getInstanceType")!.inputs).toEqual({
            instanceType: VM_DEFAULTS.instanceType,
        });
        const i = single(b.resources, "aws:ec2/instance:Instance").inputs;
        expect(i).toMatchObject({
            ami: "ami-0debian12arm",
            instanceType: "t4g.small",
            subnetId: REQUIRED.subnetId,
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 8 },
            tags: { Name: "mspbyte-redis-vm", "mspbyte:role": "redis" },
        });
        expect(i.rootBlockDevice.kmsKeyId).toBeUndefined();
    });

    it("a 20 GiB data volume under AWS's own key, protected and retained, snapshotted daily for 7 days", async () => {
        const b = await build();
        const volume = single(b.resources, "aws:ebs/volume:Volume");
        expect(volume.inputs).toMatchObject({
            availabilityZone: "us-east-1a",
            size: 20,
            type: "gp3",
            encrypted: true,
            tags: { Name: "mspbyte-redis-vm-data", "mspbyte:backup": "mspbyte-redis-vm" },
        });
        expect(volume.inputs.kmsKeyId).toBeUndefined();
        expect(volume.opts).toMatchObject({ protect: true, retainOnDelete: true });
        const dlm = single(b.resources, "aws:dlm/lifecyclePolicy:LifecyclePolicy").inputs;
        expect(dlm.policyDetails.schedules).toEqual([expect.objectContaining({ name: "daily kept 7", retainRule: { count: 7 } })]);
    });

    it("plain port 6379, maxmemory sized from the type's 2 GiB, no TLS material, no ingress source, no email", async () => {
        const b = await build();
        const conf = parseRedisConf(fileOf(userDataOf(b), "/etc/redis/redis.conf"));
        expect(getDirective(conf, "port")).toBe("6379");
        expect(getDirective(conf, "tls-port")).toBeUndefined();
        expect(getDirective(conf, "maxmemory")).toBe("1075mb");
        expect(b.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        expect(
            Object.keys(
                JSON.parse(secretInput<string>(single(b.resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString)),
            ).sort(),
        ).toEqual(["password", "username"]);
        expect(ofType(b.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toEqual([]);
        expect(ofType(b.resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => r.inputs.fromPort)).toEqual([
            443, 80,
        ]);
        expect(ofType(b.resources, "aws:sns/topicSubscription:TopicSubscription")).toEqual([]);
        expect(b.component.endpoint).toMatchObject({ port: 6379, tls: false, username: "default" });
        expect(await promiseOf(pulumi.output(b.component.endpoint.persistence))).toMatchObject({
            maxmemory: "1075mb",
            aof: true,
            appendfsync: "everysec",
        });
        const details = await promiseOf(b.component.details);
        expect(details).not.toHaveProperty("caCertPem");
    });
});

describe("each arg", () => {
    const FULL: Partial<VmRedisArgs> = {
        serverName: "queue-redis",
        protect: false,
        allowedCidrs: ["10.20.0.0/16", "fd00::/8"],
        allowedSecurityGroupIds: ["sg-0a1b2c3d4e5f60003"],
        instanceType: "r7g.large",
        amiId: "ami-0123456789abcdef0",
        port: 6380,
        tls: true,
        maxmemory: "500mb",
        dataVolumeGiB: 50,
        rootVolumeGiB: 16,
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
        snapshotRetentionDays: 3,
        alarmEmail: "ops@example.com",
        previousPassword: pulumi.secret("Previous0Password0123456789"),
    };

    it("reaches the resource it is for", async () => {
        const b = await build(FULL, "dev");
        const ami = b.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!.inputs;
        expect(ami.filters).toEqual([
            { name: "image-id", values: ["ami-0123456789abcdef0"] },
            { name: "architecture", values: ["arm64"] },
        ]);
        expect(single(b.resources, "aws:ec2/instance:Instance").inputs).toMatchObject({
            instanceType: "r7g.large",
            rootBlockDevice: { volumeSize: 16, kmsKeyId: FULL.kmsKeyArn },
            tags: { Name: "queue-redis" },
        });
        const volume = single(b.resources, "aws:ebs/volume:Volume");
        expect(volume.inputs).toMatchObject({
            size: 50,
            kmsKeyId: FULL.kmsKeyArn,
            tags: { Name: "queue-redis-data", "mspbyte:backup": "queue-redis" },
        });
        // Not protected, and still retained on destroy: the VM never deletes its data.
        expect(volume.opts).toMatchObject({ protect: false, retainOnDelete: true });
        expect(single(b.resources, "aws:dlm/lifecyclePolicy:LifecyclePolicy").inputs).toMatchObject({
            description: "mspbyte-redis queue-redis daily data snapshots",
            policyDetails: {
                targetTags: { "mspbyte:backup": "queue-redis" },
                schedules: [{ name: "daily kept 3", retainRule: { count: 3 } }],
            },
        });
        const ingress = ofType(b.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
        expect(ingress).toEqual([
            expect.objectContaining({ cidrIpv4: "10.20.0.0/16", fromPort: 6380, toPort: 6380 }),
            expect.objectContaining({ cidrIpv6: "fd00::/8", fromPort: 6380 }),
            expect.objectContaining({ referencedSecurityGroupId: "sg-0a1b2c3d4e5f60003", fromPort: 6380 }),
        ]);
        expect(single(b.resources, "aws:ec2/securityGroup:SecurityGroup").inputs.vpcId).toBe("vpc-0123456789abcdef0");
        expect(single(b.resources, "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({
            protocol: "email",
            endpoint: "ops@example.com",
        });
        expect(alarm(b, "serving").name).toBe("queue-redis-serving");
        expect(alarm(b, "recover").name).toBe("queue-redis-recover");
        expect(single(b.resources, "aws:secretsmanager/secret:Secret").inputs.namePrefix).toBe("mspbyte-redis/queue-redis/auth-");
    });

    it("TLS on the given port, maxmemory as given, both passwords and the certificate in the boot secret", async () => {
        const b = await build(FULL, "dev");
        const userData = userDataOf(b);
        const conf = parseRedisConf(fileOf(userData, "/etc/redis/redis.conf"));
        expect(getDirective(conf, "port")).toBe("0");
        expect(getDirective(conf, "tls-port")).toBe("6380");
        expect(getDirective(conf, "maxmemory")).toBe("500mb");
        const secret = JSON.parse(
            secretInput<string>(single(b.resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString),
        );
        expect(Object.keys(secret).sort()).toEqual(["password", "previousPassword", "tlsCa", "tlsCert", "tlsKey", "username"]);
        expect(secret).toMatchObject({ password: "Component0Password0123456789", previousPassword: "Previous0Password0123456789" });
        expect(userData).not.toContain("Component0Password0123456789");
        expect(userData).not.toContain("Previous0Password0123456789");
        // The generated certificate covers every private DNS name EC2 gives.
        expect(single(b.resources, "tls:index/certRequest:CertRequest").inputs.dnsNames).toEqual([
            "*.us-east-1.compute.internal",
            "*.ec2.internal",
            "localhost",
        ]);
        expect(b.component.endpoint).toMatchObject({ port: 6380, tls: true });
        expect(await promiseOf(pulumi.output(b.component.endpoint.persistence))).toMatchObject({ maxmemory: "500mb" });
        expect(await promiseOf(b.component.details)).toMatchObject({ caCertPem: expect.stringContaining("BEGIN CERTIFICATE") });
    });

    it("the stack's own certificate: in the boot secret, none generated", async () => {
        const certificates = {
            certPem: "-----BEGIN CERTIFICATE-----\nOWN\n-----END CERTIFICATE-----\n",
            keyPem: "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n",
            caPem: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
        };
        const b = await build({ tls: true, certificates });
        expect(b.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        const secret = JSON.parse(
            secretInput<string>(single(b.resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString),
        );
        expect(secret).toMatchObject({ tlsCert: certificates.certPem, tlsKey: certificates.keyPem, tlsCa: certificates.caPem });
        expect(await promiseOf(b.component.details)).toMatchObject({ caCertPem: certificates.caPem });
    });

    it("an x86 instance type gets the amd64 AMI and the amd64 packages", async () => {
        const b = await build({ instanceType: "t3.small" });
        const ami = b.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!.inputs;
        expect(ami.filters).toEqual([
            { name: "name", values: ["debian-12-amd64-*"] },
            { name: "architecture", values: ["x86_64"] },
        ]);
        expect(fileOf(userDataOf(b), "/etc/mspbyte/redis-vm.env")).toContain("MSPBYTE_DEB_ARCH=amd64\n");
    });

    it("the stack is the one passed in, not the engine's: names follow args.stack", async () => {
        const b = await build({ stack: "staging" }, "vm");
        expect(single(b.resources, "aws:ec2/instance:Instance").inputs.tags.Name).toBe("mspbyte-redis-staging");
        expect(single(b.resources, "aws:ebs/volume:Volume").inputs.tags["mspbyte:backup"]).toBe("mspbyte-redis-staging");
        expect(alarm(b, "serving").name).toBe("mspbyte-redis-staging-serving");
    });
});

describe("redis.conf: the parsed file passed in, rendered once", () => {
    const edited = parseRedisConf(`${renderRedisConf(ROOT_CONF)}slowlog-max-len 4242\nappendonly no\nmaxmemory 64mb\n`);

    it("the user data carries the given file, not the one on disk, with the VM's overrides", async () => {
        expect(getDirective(ROOT_CONF, "slowlog-max-len")).not.toBe("4242");
        const b = await build({ redisConf: edited });
        const conf = parseRedisConf(fileOf(userDataOf(b), "/etc/redis/redis.conf"));
        expect(getDirective(conf, "slowlog-max-len")).toBe("4242");
        // The VM's own overrides still win over the file's.
        expect(getDirective(conf, "maxmemory")).toBe("1075mb");
        expect(getDirective(conf, "supervised")).toBe("systemd");
        expect(getDirective(conf, "dir")).toBe("/var/lib/redis");
        expect(getDirective(conf, "include")).toBe("/etc/redis/mspbyte-local.conf");
    });

    it("the persistence output is read from the same rendering: what the user data configures", async () => {
        const b = await build({ redisConf: edited });
        const persistence = await promiseOf(pulumi.output(b.component.endpoint.persistence));
        expect(persistence).toMatchObject({ aof: false, maxmemory: "1075mb" });
        expect(persistence).not.toHaveProperty("appendfsync");
        const plain = await promiseOf(pulumi.output((await build()).component.endpoint.persistence));
        expect(plain).toEqual({
            mode: "aof+rdb",
            aof: true,
            appendfsync: "everysec",
            rdbSavePoints: ["900 1", "300 10", "60 10000"],
            maxmemory: "1075mb",
            maxmemoryPolicy: "noeviction",
            unsupported: [],
        });
    });

    it("the document ends with the boot secret's version: new credentials make a new document", async () => {
        const b = await build();
        expect(userDataOf(b).endsWith("\n# credentials: secret version 00000000-0000-4000-8000-000000000001\n")).toBe(true);
        expect(await promiseOf(b.component.userData)).toBe(userDataOf(b));
    });
});

describe("transform: the last word on each child's arguments", () => {
    it("each entry changes its own child and nothing else", async () => {
        const tag = <T extends object>(a: T): T => ({ ...a, tags: { ...(a as { tags?: object }).tags, team: "queue" } });
        const seen: string[] = [];
        const b = await build({
            allowedSecurityGroupIds: ["sg-0a1b2c3d4e5f60003"],
            alarmEmail: "ops@example.com",
            transform: {
                dataVolume: (a) => {
                    seen.push("dataVolume");
                    return { ...tag(a), size: 64 };
                },
                instance: (a) => {
                    seen.push("instance");
                    return { ...tag(a), monitoring: false };
                },
                volumeAttachment: (a) => {
                    seen.push("volumeAttachment");
                    return { ...a, forceDetach: false };
                },
                role: (a) => {
                    seen.push("role");
                    return { ...a, maxSessionDuration: 7200 };
                },
                ssmPolicy: (a) => {
                    seen.push("ssmPolicy");
                    return a;
                },
                readSecretPolicy: (a) => {
                    seen.push("readSecretPolicy");
                    return a;
                },
                instanceProfile: (a) => {
                    seen.push("instanceProfile");
                    return { ...a, path: "/redis/" };
                },
                snapshotRole: (a) => {
                    seen.push("snapshotRole");
                    return { ...a, description: "snapshots" };
                },
                snapshotRolePolicy: (a) => {
                    seen.push("snapshotRolePolicy");
                    return a;
                },
                snapshotPolicy: (a) => {
                    seen.push("snapshotPolicy");
                    return { ...tag(a) };
                },
                recoveryAlarm: (a) => {
                    seen.push("recoveryAlarm");
                    return { ...a, evaluationPeriods: 3 };
                },
                servingAlarm: (a) => {
                    seen.push("servingAlarm");
                    return { ...a, evaluationPeriods: 2 };
                },
                securityGroup: (a) => {
                    seen.push("securityGroup");
                    return tag(a);
                },
                ingressRule: (a) => {
                    seen.push("ingressRule");
                    return { ...a, description: "pipeline" };
                },
                egressRule: (a) => {
                    seen.push("egressRule");
                    return { ...a, description: "out" };
                },
                secret: (a) => {
                    seen.push("secret");
                    return { ...a, recoveryWindowInDays: 7 };
                },
                secretVersion: (a) => {
                    seen.push("secretVersion");
                    return a;
                },
                alarmTopic: (a) => {
                    seen.push("alarmTopic");
                    return tag(a);
                },
                alarmEmail: (a) => {
                    seen.push("alarmEmail");
                    return { ...a, endpoint: "oncall@example.com" };
                },
            },
        });
        expect(seen.sort()).toEqual([
            "alarmEmail",
            "alarmTopic",
            "dataVolume",
            "egressRule",
            "egressRule",
            "ingressRule",
            "instance",
            "instanceProfile",
            "readSecretPolicy",
            "recoveryAlarm",
            "role",
            "secret",
            "secretVersion",
            "securityGroup",
            "servingAlarm",
            "snapshotPolicy",
            "snapshotRole",
            "snapshotRolePolicy",
            "ssmPolicy",
            "volumeAttachment",
        ]);
        const volume = single(b.resources, "aws:ebs/volume:Volume");
        expect(volume.inputs).toMatchObject({ size: 64, tags: { team: "queue", "mspbyte:backup": "mspbyte-redis-vm" } });
        // A transform changes the arguments, never the resource options the component sets.
        expect(volume.opts).toMatchObject({ protect: true, retainOnDelete: true });
        const instance = single(b.resources, "aws:ec2/instance:Instance");
        expect(instance.inputs).toMatchObject({
            monitoring: false,
            tags: { team: "queue", Name: "mspbyte-redis-vm" },
            userDataReplaceOnChange: false,
        });
        expect(instance.opts.dependsOn.sort()).toEqual(["redis-read-secret", "redis-ssm"]);
        expect(single(b.resources, "aws:ec2/volumeAttachment:VolumeAttachment")).toMatchObject({
            inputs: { forceDetach: false, stopInstanceBeforeDetaching: true },
            opts: { deleteBeforeReplace: true },
        });
        expect(named(b, "aws:iam/role:Role", "redis-role").inputs.maxSessionDuration).toBe(7200);
        expect(named(b, "aws:iam/role:Role", "redis-dlm-role").inputs).toMatchObject({ description: "snapshots" });
        expect(named(b, "aws:iam/role:Role", "redis-dlm-role").inputs.maxSessionDuration).toBeUndefined();
        expect(single(b.resources, "aws:iam/instanceProfile:InstanceProfile").inputs.path).toBe("/redis/");
        expect(single(b.resources, "aws:dlm/lifecyclePolicy:LifecyclePolicy").inputs.tags).toEqual({ team: "queue" });
        expect(alarm(b, "recover").evaluationPeriods).toBe(3);
        expect(alarm(b, "serving").evaluationPeriods).toBe(2);
        expect(single(b.resources, "aws:ec2/securityGroup:SecurityGroup").inputs.tags).toEqual({ "mspbyte:role": "redis", team: "queue" });
        expect(ofType(b.resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => r.inputs.description)).toEqual([
            "out",
            "out",
        ]);
        expect(single(b.resources, "aws:secretsmanager/secret:Secret").inputs.recoveryWindowInDays).toBe(7);
        expect(single(b.resources, "aws:sns/topic:Topic").inputs.tags).toEqual({ "mspbyte:role": "redis-alarms", team: "queue" });
        expect(single(b.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").inputs).toMatchObject({
            description: "pipeline",
            referencedSecurityGroupId: "sg-0a1b2c3d4e5f60003",
            fromPort: 6379,
        });
        expect(single(b.resources, "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({
            protocol: "email",
            endpoint: "oncall@example.com",
        });
    });

    it("without a transform every child gets the component's own arguments", async () => {
        const [plain, identity] = [
            await build(),
            await build({ transform: { instance: (a) => a, dataVolume: (a) => a, servingAlarm: (a) => a } }),
        ];
        const inputs = (b: Built) => b.resources.map((r) => [r.type, r.name, JSON.stringify(r.inputs)]);
        expect(inputs(identity)).toEqual(inputs(plain));
    });
});

describe("outputs", () => {
    it("details: the instance, its address, the volume, the secret, the group and the session command", async () => {
        const b = await build({ tls: true });
        const details = await promiseOf(b.component.details);
        expect(Object.keys(details).sort()).toEqual([
            "authSecretArn",
            "caCertPem",
            "dataVolumeId",
            "instanceId",
            "privateIp",
            "securityGroupId",
            "service",
            "session",
        ]);
        expect(details).toMatchObject({
            service: "vm",
            instanceId: "redis-instance-id",
            privateIp: "10.0.1.23",
            dataVolumeId: "redis-data-id",
            authSecretArn: expect.stringMatching(
                /^arn:aws:secretsmanager:us-east-1:123456789012:secret:mspbyte-redis\/mspbyte-redis-vm\/auth-/,
            ),
            securityGroupId: "redis-sg-id",
            session: "aws ssm start-session --target redis-instance-id",
        });
        expect(await promiseOf(pulumi.output(b.component.endpoint.host))).toBe("ip-10-0-1-23.ec2.internal");
    });

    it("every public output is registered on the component", async () => {
        const { run: b, outputs } = await registeredOutputs(() => build());
        expect(Object.keys(outputs).sort()).toEqual(["details", "endpoint", "userData"]);
        expect(outputs.details).toBe(b.component.details);
        expect(outputs.userData).toBe(b.component.userData);
        expect(Object.keys(outputs.endpoint as object).sort()).toEqual(Object.keys(b.component.endpoint).sort());
        // The password is registered as a secret, whatever form it was passed in.
        expect(await pulumi.isSecret(pulumi.output((outputs.endpoint as { password: pulumi.Input<string> }).password))).toBe(true);
    });

    it("the user data is a secret output, the password never in it", async () => {
        const b = await build({ password: "Plain0Given0Password0123456789" });
        expect(await pulumi.isSecret(b.component.userData)).toBe(true);
        expect(await promiseOf(b.component.userData)).not.toContain("Plain0Given0Password0123456789");
    });
});

describe("resource options, as the data-protection policy reads them", () => {
    it("protected by default: the policy pack is clean on a production stack", async () => {
        const b = await build({}, "prod");
        expect(policyViolations(b.resources, "prod")).toEqual([]);
    });

    it("unprotected (protect: false) outside dev: the policy pack refuses the data volume", async () => {
        const b = await build({ stack: "prod", protect: false }, "prod");
        expect(policyViolations(b.resources, "prod")).toEqual([expect.stringMatching(/^redis-data-protected redis-data: /)]);
    });

    it("every child is parented to the component", async () => {
        const b = await build();
        expect(b.resources.filter((r) => r.type !== "mspbyte:redis:Vm" && r.opts.parent !== "redis").map((r) => r.name)).toEqual([]);
        expect(single(b.resources, "mspbyte:redis:Vm").name).toBe("redis");
    });
});
