/**
 * What forces a replacement of each resource the AWS stacks register, in Pulumi's property
 * names, from the resource schemas of hashicorp/terraform-provider-aws (which @pulumi/aws
 * wraps): the `ForceNew: true` attributes and the CustomizeDiff rules that force new. Each
 * entry names the file and the commit it was read at. Attributes the program never sets are
 * left out. Also: the name each must hold alone in the account (`uniqueKey`), and the names a
 * delete leaves taken (`leavesBehind`).
 */
import type { ReplaceTable } from "./changeSafety";

const TF = "hashicorp/terraform-provider-aws";
const versionLess = (a: string, b: string) => {
    const [am, an] = a.split(".").map(Number),
        [bm, bn] = b.split(".").map(Number);
    return am! < bm! || (am === bm && an! < bn!);
};

export const AWS_REPLACE: ReplaceTable = {
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        forceNew: [
            "atRestEncryptionEnabled",
            "dataTieringEnabled",
            "globalReplicationGroupId",
            "kmsKeyId",
            "networkType",
            "port",
            "replicationGroupId",
            "securityGroupNames",
            "snapshotArns",
            "snapshotName",
            "subnetGroupName",
        ],
        // customizeDiffEngineForceNewOnDowngrade: valkey -> redis; customizeDiffEngineVersionForceNewOnDowngrade: a lower version.
        forceNewIf: (b, a) =>
            b.engine === "valkey" && a.engine === "redis"
                ? "engine valkey -> redis (a downgrade)"
                : b.engine === a.engine && b.engineVersion && a.engineVersion && versionLess(a.engineVersion, b.engineVersion)
                  ? "engineVersion downgrade"
                  : undefined,
        uniqueKey: (i) => `elasticache replication group ${i.replicationGroupId}`,
        leavesBehind: (i) => (i.finalSnapshotIdentifier ? [`elasticache snapshot ${i.finalSnapshotIdentifier}`] : []),
        holdsData: true,
        source: `${TF} internal/service/elasticache/replication_group.go @ 001b6364c1a3b3045e152f655440a6d47eb44a70`,
    },
    "aws:elasticache/parameterGroup:ParameterGroup": {
        forceNew: ["description", "family", "name"],
        uniqueKey: (i) => `elasticache parameter group ${i.name}`,
        refusesDeleteWhileUsed: true,
        referencedAs: (i) => i.name, // InvalidCacheParameterGroupState (deleteParameterGroup retries on it, then fails)
        source: `${TF} internal/service/elasticache/parameter_group.go @ 0593466d96e383de3f75587805537f6e590ebf4e`,
    },
    "aws:elasticache/subnetGroup:SubnetGroup": {
        forceNew: ["name"],
        uniqueKey: (i) => `elasticache subnet group ${i.name}`,
        refusesDeleteWhileUsed: true,
        referencedAs: (i) => i.name,
        source: `${TF} internal/service/elasticache/subnet_group.go @ 01c08000ddb14181b5bd19201d8fca311dc570e4`,
    },
    "aws:memorydb/cluster:Cluster": {
        forceNew: [
            "autoMinorVersionUpgrade",
            "dataTiering",
            "kmsKeyArn",
            "name",
            "namePrefix",
            "port",
            "snapshotArns",
            "snapshotName",
            "subnetGroupName",
            "tlsEnabled",
        ],
        uniqueKey: (i) => `memorydb cluster ${i.name}`,
        leavesBehind: (i) => (i.finalSnapshotName ? [`memorydb snapshot ${i.finalSnapshotName}`] : []),
        holdsData: true,
        source: `${TF} internal/service/memorydb/cluster.go @ 005ca9db703bd2e271f5796ffdcef771691e18a5`,
    },
    "aws:memorydb/parameterGroup:ParameterGroup": {
        forceNew: ["description", "family", "name", "namePrefix"],
        uniqueKey: (i) => `memorydb parameter group ${i.name}`,
        refusesDeleteWhileUsed: true,
        referencedAs: (i) => i.name,
        source: `${TF} internal/service/memorydb/parameter_group.go @ 01606926a0c0ab9174aec440f976a48b0baee722`,
    },
    "aws:memorydb/user:User": {
        forceNew: ["userName"],
        uniqueKey: (i) => `memorydb user ${i.userName}`,
        refusesDeleteWhileUsed: true,
        referencedAs: (i) => i.userName,
        source: `${TF} internal/service/memorydb/user.go @ 07e0d0b940f57c782f8fcc9ccfd8b19f59383b51`,
    },
    "aws:memorydb/acl:Acl": {
        forceNew: ["name", "namePrefix"],
        uniqueKey: (i) => `memorydb acl ${i.name}`,
        refusesDeleteWhileUsed: true,
        referencedAs: (i) => i.name,
        source: `${TF} internal/service/memorydb/acl.go (name and name_prefix ForceNew; same pattern as cluster.go above)`,
    },
    "aws:memorydb/subnetGroup:SubnetGroup": {
        forceNew: ["name", "namePrefix", "vpcId"],
        uniqueKey: (i) => `memorydb subnet group ${i.name}`,
        refusesDeleteWhileUsed: true,
        referencedAs: (i) => i.name,
        source: `${TF} internal/service/memorydb/subnet_group.go (name and name_prefix ForceNew)`,
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        // Its name is generated (name_prefix from Pulumi's auto-naming): no collision.
        forceNew: ["description", "name", "namePrefix", "vpcId"],
        refusesDeleteWhileUsed: true, // DependencyViolation while a cache's or instance's interface uses it
        source: `${TF} internal/service/ec2/vpc_security_group.go (name, name_prefix, description, vpc_id ForceNew)`,
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        forceNew: ["securityGroupId"],
        source: `${TF} internal/service/ec2/vpc_security_group_ingress_rule.go (security_group_id RequiresReplace)`,
    },
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": {
        forceNew: ["securityGroupId"],
        source: `${TF} internal/service/ec2/vpc_security_group_egress_rule.go (security_group_id RequiresReplace)`,
    },
    "aws:sns/topic:Topic": {
        forceNew: ["name", "namePrefix", "fifoTopic"],
        source: `${TF} internal/service/sns/topic.go (name, name_prefix, fifo_topic ForceNew); the name is generated`,
    },
    "aws:sns/topicSubscription:TopicSubscription": {
        forceNew: ["endpoint", "protocol", "topic"],
        source: `${TF} internal/service/sns/topic_subscription.go (endpoint, protocol, topic_arn ForceNew)`,
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        forceNew: ["name"],
        // Create refuses an existing alarm of the same name ("already exists").
        uniqueKey: (i) => `cloudwatch alarm ${i.name}`,
        source: `${TF} internal/service/cloudwatch/metric_alarm.go @ 055611a654738da73e7b1e2b5d2b7672c6d4d531`,
    },
    "aws:cloudwatch/logGroup:LogGroup": {
        forceNew: ["name", "namePrefix", "logGroupClass"],
        uniqueKey: (i) => `log group ${i.name}`,
        source: `${TF} internal/service/logs/group.go (name, name_prefix, log_group_class ForceNew)`,
    },
    "aws:secretsmanager/secret:Secret": {
        forceNew: ["name", "namePrefix"],
        uniqueKey: (i) => (i.name ? `secret ${i.name}` : undefined), // a prefix gets a new suffix on every create
        // A deleted secret's name stays taken for its recovery window (ForceDeleteWithoutRecovery only at 0).
        leavesBehind: (i) => (i.name && i.recoveryWindowInDays !== 0 ? [`secret ${i.name}`] : []),
        source: `${TF} internal/service/secretsmanager/secret.go @ 00c21cedec069dd27093b175baf15bac6d4b30fe`,
    },
    "aws:secretsmanager/secretVersion:SecretVersion": {
        forceNew: ["secretId", "secretBinary", "secretString"],
        source: `${TF} internal/service/secretsmanager/secret_version.go @ 0042e8ea0de293c6cd8b003f89f7f4d2fb5fcf31`,
    },
    "aws:iam/role:Role": {
        forceNew: ["name", "namePrefix", "path"],
        source: `${TF} internal/service/iam/role.go (name, name_prefix, path ForceNew); the name is generated`,
    },
    "aws:iam/rolePolicy:RolePolicy": {
        forceNew: ["name", "namePrefix", "role"],
        source: `${TF} internal/service/iam/role_policy.go (name, name_prefix, role ForceNew)`,
    },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        forceNew: ["policyArn", "role"],
        source: `${TF} internal/service/iam/role_policy_attachment.go (role, policy_arn ForceNew)`,
    },
    "aws:iam/instanceProfile:InstanceProfile": {
        forceNew: ["name", "namePrefix", "path"],
        refusesDeleteWhileUsed: true,
        source: `${TF} internal/service/iam/instance_profile.go (name, name_prefix, path ForceNew)`,
    },
    "aws:ebs/volume:Volume": {
        forceNew: ["availabilityZone", "encrypted", "kmsKeyId", "multiAttachEnabled", "outpostArn", "snapshotId"],
        holdsData: true,
        source: `${TF} internal/service/ec2/ebs_volume.go @ 0073593e7d6993ba482409f4dc35438daaa79bb3`,
    },
    "aws:ec2/volumeAttachment:VolumeAttachment": {
        forceNew: ["deviceName", "instanceId", "volumeId"],
        // A volume is attached to one instance at a time (VolumeInUse).
        uniqueKey: (i) => `attachment of ${i.volumeId}`,
        source: `${TF} internal/service/ec2/ebs_volume_attachment.go @ 0620f2a6a126dfcbc4aecbc9a117b0fbea1656ff`,
    },
    "aws:ec2/instance:Instance": {
        forceNew: [
            "ami",
            "availabilityZone",
            "keyName",
            "subnetId",
            "privateIp",
            "rootBlockDevice.encrypted",
            "rootBlockDevice.kmsKeyId",
            "tenancy",
        ],
        // ForceNewIf("user_data", user_data_replace_on_change).
        forceNewIf: (b, a) =>
            a.userDataReplaceOnChange && !(same(b.userData, a.userData) && same(b.userDataBase64, a.userDataBase64))
                ? "user data (userDataReplaceOnChange)"
                : undefined,
        source: `${TF} internal/service/ec2/ec2_instance.go @ 0015dfcd06d5d78e5e1c3cabe8cea837d379d1c7 (instance_type is updated in place: stop, modify, start)`,
    },
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": {
        forceNew: [],
        source: `${TF} internal/service/dlm/lifecycle_policy.go (nothing the program sets is ForceNew)`,
    },
    "random:index/randomPassword:RandomPassword": {
        forceNew: [
            "length",
            "special",
            "upper",
            "lower",
            "numeric",
            "minUpper",
            "minLower",
            "minNumeric",
            "minSpecial",
            "overrideSpecial",
            "keepers",
        ],
        source: "hashicorp/terraform-provider-random internal/provider/resource_password.go (every attribute RequiresReplace)",
    },
    "random:index/randomId:RandomId": {
        forceNew: ["byteLength", "keepers", "prefix"],
        source: "hashicorp/terraform-provider-random internal/provider/resource_id.go (every attribute RequiresReplace)",
    },
    "tls:index/privateKey:PrivateKey": {
        forceNew: ["algorithm", "ecdsaCurve", "rsaBits"],
        source: "hashicorp/terraform-provider-tls internal/provider/resource_private_key.go (RequiresReplace)",
    },
    "tls:index/selfSignedCert:SelfSignedCert": {
        forceNew: ["privateKeyPem", "subject", "dnsNames", "ipAddresses", "validityPeriodHours", "allowedUses", "isCaCertificate"],
        source: "hashicorp/terraform-provider-tls internal/provider/resource_self_signed_cert.go (RequiresReplace)",
    },
    "tls:index/certRequest:CertRequest": {
        forceNew: ["privateKeyPem", "subject", "dnsNames", "ipAddresses"],
        source: "hashicorp/terraform-provider-tls internal/provider/resource_cert_request.go (RequiresReplace)",
    },
    "tls:index/locallySignedCert:LocallySignedCert": {
        forceNew: ["certRequestPem", "caCertPem", "caPrivateKeyPem", "validityPeriodHours", "allowedUses", "isCaCertificate"],
        source: "hashicorp/terraform-provider-tls internal/provider/resource_locally_signed_cert.go (RequiresReplace)",
    },
};

function same(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}
