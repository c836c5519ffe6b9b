/**
 * Every input the program gives an AWS resource, and the AWS API member the provider sends it
 * as (terraform-provider-aws's create/modify calls: the resource's Create function builds the
 * request named here). Paths: `a.b` nested, `a[]` each element, `a{key}` / `a{value}` each key or
 * value of a map. An input sent nowhere as-is says why instead (`unchecked`).
 *
 * Every leaf input of every registered AWS resource must be listed: a new input without its
 * member fails the validator until it is mapped.
 */

export type Field = string | { api: string; sample: (v: string) => string } | { unchecked: string };

const EC2_TAGS = { "tags{key}": "ec2:#Tag.Key", "tags{value}": "ec2:#Tag.Value" };
const EC_TAGS = { "tags{key}": "elasticache:#Tag.Key", "tags{value}": "elasticache:#Tag.Value" };
const MDB_TAGS = { "tags{key}": "memorydb:#Tag.Key", "tags{value}": "memorydb:#Tag.Value" };
const RULE = (op: "AuthorizeSecurityGroupIngress" | "AuthorizeSecurityGroupEgress"): Record<string, Field> => ({
    securityGroupId: `ec2:${op}.GroupId`,
    ipProtocol: `ec2:${op}.IpPermissions.IpProtocol`,
    fromPort: `ec2:${op}.IpPermissions.FromPort`,
    toPort: `ec2:${op}.IpPermissions.ToPort`,
    cidrIpv4: `ec2:${op}.IpPermissions.IpRanges.CidrIp`,
    cidrIpv6: `ec2:${op}.IpPermissions.Ipv6Ranges.CidrIpv6`,
    referencedSecurityGroupId: `ec2:${op}.IpPermissions.UserIdGroupPairs.GroupId`,
    description: "ec2:#IpRange.Description",
    ...EC2_TAGS,
});

/** How Terraform's name_prefix completes a name: the prefix and a 26-digit timestamp and counter. */
const NAME_PREFIX_SUFFIX = "20261128093015123400000001";

export const FIELDS: Record<string, Record<string, Field>> = {
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        replicationGroupId: "elasticache:CreateReplicationGroup.ReplicationGroupId",
        description: "elasticache:CreateReplicationGroup.ReplicationGroupDescription",
        engine: "elasticache:CreateReplicationGroup.Engine",
        engineVersion: "elasticache:CreateReplicationGroup.EngineVersion",
        nodeType: "elasticache:CreateReplicationGroup.CacheNodeType",
        port: "elasticache:CreateReplicationGroup.Port",
        parameterGroupName: "elasticache:CreateReplicationGroup.CacheParameterGroupName",
        subnetGroupName: "elasticache:CreateReplicationGroup.CacheSubnetGroupName",
        "securityGroupIds[]": "elasticache:CreateReplicationGroup.SecurityGroupIds",
        clusterMode: "elasticache:CreateReplicationGroup.ClusterMode",
        numNodeGroups: "elasticache:CreateReplicationGroup.NumNodeGroups",
        replicasPerNodeGroup: "elasticache:CreateReplicationGroup.ReplicasPerNodeGroup",
        numCacheClusters: "elasticache:CreateReplicationGroup.NumCacheClusters",
        automaticFailoverEnabled: "elasticache:CreateReplicationGroup.AutomaticFailoverEnabled",
        multiAzEnabled: "elasticache:CreateReplicationGroup.MultiAZEnabled",
        transitEncryptionEnabled: "elasticache:CreateReplicationGroup.TransitEncryptionEnabled",
        transitEncryptionMode: "elasticache:CreateReplicationGroup.TransitEncryptionMode",
        atRestEncryptionEnabled: "elasticache:CreateReplicationGroup.AtRestEncryptionEnabled",
        kmsKeyId: "elasticache:CreateReplicationGroup.KmsKeyId",
        authToken: "elasticache:CreateReplicationGroup.AuthToken",
        authTokenUpdateStrategy: "elasticache:ModifyReplicationGroup.AuthTokenUpdateStrategy",
        snapshotRetentionLimit: "elasticache:CreateReplicationGroup.SnapshotRetentionLimit",
        snapshotWindow: "elasticache:CreateReplicationGroup.SnapshotWindow",
        maintenanceWindow: "elasticache:CreateReplicationGroup.PreferredMaintenanceWindow",
        finalSnapshotIdentifier: "elasticache:DeleteReplicationGroup.FinalSnapshotIdentifier",
        snapshotName: "elasticache:CreateReplicationGroup.SnapshotName",
        autoMinorVersionUpgrade: "elasticache:CreateReplicationGroup.AutoMinorVersionUpgrade",
        notificationTopicArn: "elasticache:CreateReplicationGroup.NotificationTopicArn",
        "logDeliveryConfigurations[].destination":
            "elasticache:CreateReplicationGroup.LogDeliveryConfigurations.DestinationDetails.CloudWatchLogsDetails.LogGroup",
        "logDeliveryConfigurations[].destinationType": "elasticache:CreateReplicationGroup.LogDeliveryConfigurations.DestinationType",
        "logDeliveryConfigurations[].logFormat": "elasticache:CreateReplicationGroup.LogDeliveryConfigurations.LogFormat",
        "logDeliveryConfigurations[].logType": "elasticache:CreateReplicationGroup.LogDeliveryConfigurations.LogType",
        applyImmediately: "elasticache:ModifyReplicationGroup.ApplyImmediately",
        ...EC_TAGS,
    },
    "aws:elasticache/parameterGroup:ParameterGroup": {
        name: "elasticache:CreateCacheParameterGroup.CacheParameterGroupName",
        family: "elasticache:CreateCacheParameterGroup.CacheParameterGroupFamily",
        description: "elasticache:CreateCacheParameterGroup.Description",
        "parameters[].name": "elasticache:ModifyCacheParameterGroup.ParameterNameValues.ParameterName",
        "parameters[].value": "elasticache:ModifyCacheParameterGroup.ParameterNameValues.ParameterValue",
        ...EC_TAGS,
    },
    "aws:elasticache/subnetGroup:SubnetGroup": {
        name: "elasticache:CreateCacheSubnetGroup.CacheSubnetGroupName",
        description: "elasticache:CreateCacheSubnetGroup.CacheSubnetGroupDescription",
        "subnetIds[]": "elasticache:CreateCacheSubnetGroup.SubnetIds",
        ...EC_TAGS,
    },
    "aws:memorydb/cluster:Cluster": {
        name: "memorydb:CreateCluster.ClusterName",
        description: "memorydb:CreateCluster.Description",
        engine: "memorydb:CreateCluster.Engine",
        engineVersion: "memorydb:CreateCluster.EngineVersion",
        nodeType: "memorydb:CreateCluster.NodeType",
        numShards: "memorydb:CreateCluster.NumShards",
        numReplicasPerShard: "memorydb:CreateCluster.NumReplicasPerShard",
        port: "memorydb:CreateCluster.Port",
        aclName: "memorydb:CreateCluster.ACLName",
        parameterGroupName: "memorydb:CreateCluster.ParameterGroupName",
        subnetGroupName: "memorydb:CreateCluster.SubnetGroupName",
        "securityGroupIds[]": "memorydb:CreateCluster.SecurityGroupIds",
        tlsEnabled: "memorydb:CreateCluster.TLSEnabled",
        kmsKeyArn: "memorydb:CreateCluster.KmsKeyId",
        snapshotRetentionLimit: "memorydb:CreateCluster.SnapshotRetentionLimit",
        snapshotWindow: "memorydb:CreateCluster.SnapshotWindow",
        maintenanceWindow: "memorydb:CreateCluster.MaintenanceWindow",
        finalSnapshotName: "memorydb:DeleteCluster.FinalSnapshotName",
        snapshotName: "memorydb:CreateCluster.SnapshotName",
        autoMinorVersionUpgrade: "memorydb:CreateCluster.AutoMinorVersionUpgrade",
        snsTopicArn: "memorydb:CreateCluster.SnsTopicArn",
        ...MDB_TAGS,
    },
    "aws:memorydb/parameterGroup:ParameterGroup": {
        name: "memorydb:CreateParameterGroup.ParameterGroupName",
        family: "memorydb:CreateParameterGroup.Family",
        description: "memorydb:CreateParameterGroup.Description",
        "parameters[].name": "memorydb:UpdateParameterGroup.ParameterNameValues.ParameterName",
        "parameters[].value": "memorydb:UpdateParameterGroup.ParameterNameValues.ParameterValue",
        ...MDB_TAGS,
    },
    "aws:memorydb/subnetGroup:SubnetGroup": {
        name: "memorydb:CreateSubnetGroup.SubnetGroupName",
        description: "memorydb:CreateSubnetGroup.Description",
        "subnetIds[]": "memorydb:CreateSubnetGroup.SubnetIds",
        ...MDB_TAGS,
    },
    "aws:memorydb/user:User": {
        userName: "memorydb:CreateUser.UserName",
        accessString: "memorydb:CreateUser.AccessString",
        "authenticationMode.type": "memorydb:CreateUser.AuthenticationMode.Type",
        "authenticationMode.passwords[]": "memorydb:CreateUser.AuthenticationMode.Passwords",
        ...MDB_TAGS,
    },
    "aws:memorydb/acl:Acl": {
        name: "memorydb:CreateACL.ACLName",
        "userNames[]": "memorydb:CreateACL.UserNames",
        ...MDB_TAGS,
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        vpcId: "ec2:CreateSecurityGroup.VpcId",
        description: "ec2:CreateSecurityGroup.Description",
        name: "ec2:CreateSecurityGroup.GroupName",
        ...EC2_TAGS,
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": RULE("AuthorizeSecurityGroupIngress"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": RULE("AuthorizeSecurityGroupEgress"),
    "aws:sns/topic:Topic": { "tags{key}": "sns:#Tag.Key", "tags{value}": "sns:#Tag.Value" },
    "aws:sns/topicSubscription:TopicSubscription": {
        topic: "sns:Subscribe.TopicArn",
        protocol: "sns:Subscribe.Protocol",
        endpoint: "sns:Subscribe.Endpoint",
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": {
        name: "cloudwatch:PutMetricAlarm.AlarmName",
        alarmDescription: "cloudwatch:PutMetricAlarm.AlarmDescription",
        namespace: "cloudwatch:PutMetricAlarm.Namespace",
        metricName: "cloudwatch:PutMetricAlarm.MetricName",
        "dimensions{key}": "cloudwatch:PutMetricAlarm.Dimensions.Name",
        "dimensions{value}": "cloudwatch:PutMetricAlarm.Dimensions.Value",
        statistic: "cloudwatch:PutMetricAlarm.Statistic",
        period: "cloudwatch:PutMetricAlarm.Period",
        evaluationPeriods: "cloudwatch:PutMetricAlarm.EvaluationPeriods",
        threshold: "cloudwatch:PutMetricAlarm.Threshold",
        comparisonOperator: "cloudwatch:PutMetricAlarm.ComparisonOperator",
        treatMissingData: "cloudwatch:PutMetricAlarm.TreatMissingData",
        "alarmActions[]": "cloudwatch:PutMetricAlarm.AlarmActions",
        "okActions[]": "cloudwatch:PutMetricAlarm.OKActions",
        "insufficientDataActions[]": "cloudwatch:PutMetricAlarm.InsufficientDataActions",
    },
    "aws:cloudwatch/logGroup:LogGroup": {
        name: "logs:CreateLogGroup.logGroupName",
        retentionInDays: "logs:PutRetentionPolicy.retentionInDays",
    },
    "aws:secretsmanager/secret:Secret": {
        name: "secretsmanager:CreateSecret.Name",
        namePrefix: { api: "secretsmanager:CreateSecret.Name", sample: (v) => v + NAME_PREFIX_SUFFIX },
        description: "secretsmanager:CreateSecret.Description",
        recoveryWindowInDays: "secretsmanager:DeleteSecret.RecoveryWindowInDays",
    },
    "aws:secretsmanager/secretVersion:SecretVersion": {
        secretId: "secretsmanager:PutSecretValue.SecretId",
        secretString: "secretsmanager:PutSecretValue.SecretString",
    },
    "aws:iam/role:Role": { assumeRolePolicy: "iam:CreateRole.AssumeRolePolicyDocument" },
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        role: "iam:AttachRolePolicy.RoleName",
        policyArn: "iam:AttachRolePolicy.PolicyArn",
    },
    "aws:iam/rolePolicy:RolePolicy": { role: "iam:PutRolePolicy.RoleName", policy: "iam:PutRolePolicy.PolicyDocument" },
    "aws:iam/instanceProfile:InstanceProfile": { role: "iam:AddRoleToInstanceProfile.RoleName" },
    "aws:ebs/volume:Volume": {
        availabilityZone: "ec2:CreateVolume.AvailabilityZone",
        size: "ec2:CreateVolume.Size",
        type: "ec2:CreateVolume.VolumeType",
        encrypted: "ec2:CreateVolume.Encrypted",
        kmsKeyId: "ec2:CreateVolume.KmsKeyId",
        ...EC2_TAGS,
    },
    "aws:ec2/volumeAttachment:VolumeAttachment": {
        deviceName: "ec2:AttachVolume.Device",
        volumeId: "ec2:AttachVolume.VolumeId",
        instanceId: "ec2:AttachVolume.InstanceId",
        stopInstanceBeforeDetaching: {
            unchecked: "the provider's own behaviour (StopInstances before DetachVolume), sent to no API as a value",
        },
    },
    "aws:ec2/instance:Instance": {
        ami: "ec2:RunInstances.ImageId",
        instanceType: "ec2:RunInstances.InstanceType",
        subnetId: "ec2:RunInstances.SubnetId",
        "vpcSecurityGroupIds[]": "ec2:RunInstances.SecurityGroupIds",
        iamInstanceProfile: "ec2:RunInstances.IamInstanceProfile.Name",
        "metadataOptions.httpTokens": "ec2:RunInstances.MetadataOptions.HttpTokens",
        "metadataOptions.httpEndpoint": "ec2:RunInstances.MetadataOptions.HttpEndpoint",
        "metadataOptions.httpPutResponseHopLimit": "ec2:RunInstances.MetadataOptions.HttpPutResponseHopLimit",
        "rootBlockDevice.encrypted": "ec2:RunInstances.BlockDeviceMappings.Ebs.Encrypted",
        "rootBlockDevice.volumeType": "ec2:RunInstances.BlockDeviceMappings.Ebs.VolumeType",
        "rootBlockDevice.volumeSize": "ec2:RunInstances.BlockDeviceMappings.Ebs.VolumeSize",
        "rootBlockDevice.kmsKeyId": "ec2:RunInstances.BlockDeviceMappings.Ebs.KmsKeyId",
        userData: "ec2:RunInstances.UserData",
        // The provider sends user_data_base64 as it is; EC2's limit applies to the decoded bytes.
        userDataBase64: { api: "ec2:RunInstances.UserData", sample: (v) => Buffer.from(v, "base64").toString("latin1") },
        userDataReplaceOnChange: { unchecked: "the provider's own switch (replace instead of modify), sent to no API" },
        monitoring: "ec2:RunInstances.Monitoring.Enabled",
        ...EC2_TAGS,
    },
    "aws:dlm/lifecyclePolicy:LifecyclePolicy": {
        description: "dlm:CreateLifecyclePolicy.Description",
        executionRoleArn: "dlm:CreateLifecyclePolicy.ExecutionRoleArn",
        state: "dlm:CreateLifecyclePolicy.State",
        "policyDetails.resourceTypes[]": "dlm:CreateLifecyclePolicy.PolicyDetails.ResourceTypes",
        "policyDetails.targetTags{key}": "dlm:#Tag.Key",
        "policyDetails.targetTags{value}": "dlm:#Tag.Value",
        "policyDetails.schedules[].name": "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.Name",
        "policyDetails.schedules[].createRule.interval": "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.CreateRule.Interval",
        "policyDetails.schedules[].createRule.intervalUnit": "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.CreateRule.IntervalUnit",
        "policyDetails.schedules[].createRule.times": "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.CreateRule.Times",
        "policyDetails.schedules[].retainRule.count": "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.RetainRule.Count",
        "policyDetails.schedules[].copyTags": "dlm:CreateLifecyclePolicy.PolicyDetails.Schedules.CopyTags",
        ...EC2_TAGS,
    },
};

/**
 * Resources whose physical name the program does not send: Pulumi auto-names them as the
 * resource's name, a hyphen and seven random characters. That name is checked as well.
 */
export const AUTONAMED: Record<string, string> = {
    "aws:iam/role:Role": "iam:CreateRole.RoleName",
    "aws:iam/instanceProfile:InstanceProfile": "iam:CreateInstanceProfile.InstanceProfileName",
    "aws:iam/rolePolicy:RolePolicy": "iam:PutRolePolicy.PolicyName",
    "aws:sns/topic:Topic": "sns:CreateTopic.Name",
    "aws:ec2/securityGroup:SecurityGroup": "ec2:CreateSecurityGroup.GroupName",
};

/** Members added to the API after Debian 12's botocore (1.29): checked only where a newer model is on the machine. */
export const NEWER_THAN_DEBIAN = new Set([
    "elasticache:CreateReplicationGroup.TransitEncryptionMode",
    "elasticache:CreateReplicationGroup.ClusterMode",
    "memorydb:CreateCluster.Engine",
]);

export interface Leaf {
    path: string;
    value: unknown;
}

/** The leaf inputs of a resource as field paths; map-typed inputs are those the table addresses with {key}. */
export function leaves(inputs: Record<string, unknown>, fields: Record<string, Field>): Leaf[] {
    const maps = new Set(
        Object.keys(fields)
            .filter((k) => k.endsWith("{key}"))
            .map((k) => k.slice(0, -5)),
    );
    const out: Leaf[] = [];
    const walk = (value: unknown, p: string) => {
        if (value === undefined || value === null) return;
        if (maps.has(p) && typeof value === "object") {
            for (const [k, v] of Object.entries(value as object)) {
                out.push({ path: `${p}{key}`, value: k });
                out.push({ path: `${p}{value}`, value: v });
            }
        } else if (Array.isArray(value)) {
            for (const v of value) walk(v, `${p}[]`);
        } else if (typeof value === "object") {
            for (const [k, v] of Object.entries(value as object)) walk(v, p ? `${p}.${k}` : k);
        } else {
            out.push({ path: p, value });
        }
    };
    walk(inputs, "");
    return out;
}
