/** The vm example stack (Pulumi.vm.yaml) under mocks. */
import { parse } from "yaml";
import { expectPolicyClean } from "../helpers/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { getDirective, parseRedisConf } from "../../src/redisConf";
import { decodeUserData } from "../../src/targets/vm/cloudInit";
import { expectNoOpenIngress } from "../helpers/managed";
import { ofType, promiseOf, secretInput, single } from "../helpers/pulumiMocks";
import { type ProgramExports, type ProgramResource, type ProgramRun, runStack } from "../helpers/stackUnderMocks";

let run: ProgramRun;
let resources: ProgramResource[];
let program: ProgramExports;

beforeAll(async () => {
    run = await runStack("vm");
    ({ resources, program } = run);
});

describe("vm stack", () => {
    it("boots the latest official Debian 12 AMI for the instance type's architecture", () => {
        const ami = run.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!.inputs;
        expect(ami).toMatchObject({ owners: ["136693071363"], mostRecent: true });
        expect(ami.filters).toEqual([
            { name: "name", values: ["debian-12-arm64-*"] },
            { name: "architecture", values: ["arm64"] },
        ]);
        expect(single(resources, "aws:ec2/instance:Instance").inputs.ami).toBe("ami-0debian12arm");
    });

    it("locks the instance down: IMDSv2 only, encrypted root disk, no SSH key, recovery on a failed host", () => {
        const i = single(resources, "aws:ec2/instance:Instance").inputs;
        expect(i).toMatchObject({
            instanceType: "t4g.small",
            subnetId: "subnet-0a1b2c3d4e5f60001",
            metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 8 },
            // Applied in place (stop, new user data, start); the boot units apply it at every boot.
            userDataReplaceOnChange: false,
        });
        // No ignoreChanges on the AMI (a replacement gets the current one) is checked on the options in test/aws.
        expect(i.keyName).toBeUndefined();
        const alarm = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm").find((a) => a.inputs.namespace === "AWS/EC2")!.inputs;
        expect(alarm).toMatchObject({
            metricName: "StatusCheckFailed_System",
            namespace: "AWS/EC2",
            threshold: 0,
            alarmActions: ["arn:aws:automate:us-east-1:ec2:recover"],
        });
    });

    it("alarms the topic when Redis is not serving from its data volume, or the instance stops reporting", () => {
        const alarms = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm");
        expect(alarms.map((a) => a.inputs.namespace).sort()).toEqual(["AWS/EC2", "MSPByte/Redis"]);
        const topic = single(resources, "aws:sns/topic:Topic");
        const serving = alarms.find((a) => a.inputs.namespace === "MSPByte/Redis")!.inputs;
        expect(serving).toMatchObject({
            name: "mspbyte-redis-vm-serving",
            metricName: "RedisServing",
            dimensions: { InstanceId: "redis-instance-id" },
            statistic: "Minimum",
            period: 60,
            threshold: 1,
            comparisonOperator: "LessThanThreshold",
            // A machine that never reports (boot stuck before the timer, instance down) alarms too.
            treatMissingData: "breaching",
            alarmActions: [`arn:aws:sns:us-east-1:123456789012:${topic.name}`],
            okActions: [`arn:aws:sns:us-east-1:123456789012:${topic.name}`],
        });
        expect(serving.evaluationPeriods).toBeGreaterThanOrEqual(2);
        expect(serving.evaluationPeriods).toBeLessThanOrEqual(3);
        // The metric the boot's report unit publishes is the one the alarm watches.
        const doc = parse(decodeUserData(secretInput<string>(single(resources, "aws:ec2/instance:Instance").inputs.userDataBase64)));
        const report = doc.write_files.find((f: { path: string }) => f.path === "/usr/local/sbin/mspbyte-report-serving").content;
        expect(report).toContain("--namespace MSPByte/Redis --metric-name RedisServing");
        expect(report).toContain('--dimensions "InstanceId=$instance_id"');
        expect(doc.write_files.map((f: { path: string }) => f.path)).toEqual(
            expect.arrayContaining(["/etc/systemd/system/mspbyte-report.service", "/etc/systemd/system/mspbyte-report.timer"]),
        );
    });

    it("admits only the pipeline's security group, on the Redis port; no port 22", () => {
        expectNoOpenIngress(resources, 6379, [443, 80]);
        const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        expect(rules.map((r) => r.inputs.fromPort)).toEqual([6379]);
    });

    it("keeps data on an encrypted volume in the subnet's zone, attached as /dev/sdf, snapshotted daily for 7 days", () => {
        const v = single(resources, "aws:ebs/volume:Volume").inputs;
        expect(v).toMatchObject({
            availabilityZone: "us-east-1a",
            size: 20,
            type: "gp3",
            encrypted: true,
            tags: { "mspbyte:backup": "mspbyte-redis-vm" },
        });
        expect(single(resources, "aws:ec2/volumeAttachment:VolumeAttachment").inputs).toMatchObject({
            deviceName: "/dev/sdf",
            volumeId: "redis-data-id",
            instanceId: "redis-instance-id",
            stopInstanceBeforeDetaching: true,
        });
        const dlm = single(resources, "aws:dlm/lifecyclePolicy:LifecyclePolicy").inputs;
        expect(dlm.policyDetails).toMatchObject({
            resourceTypes: ["VOLUME"],
            targetTags: { "mspbyte:backup": "mspbyte-redis-vm" },
            schedules: [
                {
                    name: "daily kept 7",
                    createRule: { interval: 24, intervalUnit: "HOURS", times: "03:00" },
                    retainRule: { count: 7 },
                    copyTags: true,
                },
            ],
        });
        // DLM takes only [0-9A-Za-z _-] here (every value is checked against the API model in test/aws).
        expect(dlm.description).toBe("mspbyte-redis mspbyte-redis-vm daily data snapshots");
    });

    it("grants the instance Session Manager, its own secret, and its metric's namespace, nothing else", () => {
        const attachments = ofType(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            .map((a) => a.inputs.policyArn)
            .sort();
        expect(attachments).toEqual([
            "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole",
        ]);
        const policy = JSON.parse(single(resources, "aws:iam/rolePolicy:RolePolicy").inputs.policy);
        expect(policy.Statement).toEqual([
            {
                Effect: "Allow",
                Action: "secretsmanager:GetSecretValue",
                Resource:
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mspbyte-redis/mspbyte-redis-vm/auth-20261128093015123400000001-AbCdEf",
            },
            {
                Effect: "Allow",
                Action: "cloudwatch:PutMetricData",
                Resource: "*",
                Condition: { StringEquals: { "cloudwatch:namespace": "MSPByte/Redis" } },
            },
        ]);
    });

    it("carries no password in user data: it is a secret input, and the password is not in it", () => {
        const userData = decodeUserData(secretInput<string>(single(resources, "aws:ec2/instance:Instance").inputs.userDataBase64));
        expect(userData.startsWith("#cloud-config\n")).toBe(true);
        expect(userData).not.toContain("Mock0Generated0Password0Abcdefgh");
        const secret = JSON.parse(
            secretInput<string>(single(resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString),
        );
        expect(Object.keys(secret).sort()).toEqual(["password", "tlsCa", "tlsCert", "tlsKey", "username"]);
        expect(secret.password).toBe("Mock0Generated0Password0Abcdefgh");
    });

    it("writes the VM-rendered redis.conf: maxmemory sized from 2 GiB, TLS only, systemd, the boot-time include", () => {
        const doc = parse(decodeUserData(secretInput<string>(single(resources, "aws:ec2/instance:Instance").inputs.userDataBase64)));
        const file = doc.write_files.find((f: { path: string }) => f.path === "/etc/redis/redis.conf");
        expect(file).toMatchObject({ owner: "redis:redis", permissions: "0640", defer: true });
        const conf = parseRedisConf(file.content);
        expect(getDirective(conf, "maxmemory")).toBe("1075mb");
        expect(getDirective(conf, "maxmemory-policy")).toBe("noeviction");
        expect(getDirective(conf, "appendfsync")).toBe("everysec");
        expect(getDirective(conf, "port")).toBe("0");
        expect(getDirective(conf, "tls-port")).toBe("6379");
        expect(getDirective(conf, "supervised")).toBe("systemd");
        expect(getDirective(conf, "dir")).toBe("/var/lib/redis");
        expect(getDirective(conf, "include")).toBe("/etc/redis/mspbyte-local.conf");
        expect(JSON.stringify(doc)).toContain("redis-data-id");
    });

    it("exports the contract with the private DNS name, TLS, and the CA for clients", async () => {
        expect(await promiseOf(program.host!)).toBe("ip-10-0-1-23.ec2.internal");
        expect(await promiseOf(program.tls!)).toBe(true);
        expect(await promiseOf(program.url!)).toBe("rediss://default:Mock0Generated0Password0Abcdefgh@ip-10-0-1-23.ec2.internal:6379");
        expect(await promiseOf(program.persistence!)).toMatchObject({
            mode: "aof+rdb",
            aof: true,
            appendfsync: "everysec",
            maxmemory: "1075mb",
            rdbSavePoints: ["900 1", "300 10", "60 10000"],
        });
        expect(await promiseOf(program.details!)).toMatchObject({
            service: "vm",
            instanceId: "redis-instance-id",
            caCertPem: expect.stringContaining("BEGIN CERTIFICATE"),
            session: "aws ssm start-session --target redis-instance-id",
        });
    });

    it("protects the data volume and keeps it on destroy (resource options)", async () => {
        const { dataResourceOptions } = await import("../../src/protection");
        expect(dataResourceOptions({ protect: true, deleteData: false })).toEqual({ protect: true, retainOnDelete: true });
        // The options the component gave its data volume, as the engine receives them.
        expect(single(resources, "aws:ebs/volume:Volume").opts).toMatchObject({ protect: true, retainOnDelete: true });
    });
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "vm");
});
