/**
 * ElastiCache and MemoryDB built directly from their args under mocks, without a stack file or
 * the program: the defaults each applies (MANAGED_DEFAULTS, the service's version and node
 * type), the stack name and redis.conf taken from the args, a transform on every child, the
 * typed details, and the resource options that protect the data.
 */
import { describe, expect, it } from "vitest";
import type { Persistence } from "../../src/contract";
import { type RedisConf, loadRedisConf, parseRedisConf } from "../../src/redisConf";
import { MANAGED_DEFAULTS } from "../../src/targets/managed/config";
import { ElasticacheRedis, type ElasticacheRedisArgs, type ElasticacheTransforms } from "../../src/targets/managed/elasticache";
import { CLUSTER_PREFIX, DEFAULT_SHARDS, memberClusterIds } from "../../src/targets/managed/managed";
import { MemorydbRedis, type MemorydbRedisArgs, type MemorydbTransforms } from "../../src/targets/managed/memorydb";
import { DEFAULT_NODE_TYPES, DEFAULT_VERSIONS, RESERVED_MEMORY_PERCENT } from "../../src/targets/managed/parameters";
import { expectNoOpenIngress } from "../helpers/managed";
import { ofType, plain, promiseOf, secretInput, single } from "../helpers/pulumiMocks";
import { type ComponentRun, type ProgramResource, buildUnderMocks, registeredOutputs } from "../helpers/stackUnderMocks";

const CONF = loadRedisConf();
const PASSWORD = "Component0Test0Password0123";
const PREVIOUS = "Component0Old0Password0456";
const NETWORK = {
    vpcId: "vpc-0123456789abcdef0",
    subnetIds: ["subnet-0a", "subnet-0b"],
    allowedSecurityGroupIds: ["sg-0123456789abcdef0"],
};

const RG = "aws:elasticache/replicationGroup:ReplicationGroup";
const EPG = "aws:elasticache/parameterGroup:ParameterGroup";
const MDB = "aws:memorydb/cluster:Cluster";
const MPG = "aws:memorydb/parameterGroup:ParameterGroup";
const MUSER = "aws:memorydb/user:User";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

const elasticacheArgs = (over: Partial<ElasticacheRedisArgs> = {}): ElasticacheRedisArgs => ({
    stack: "prod",
    redisConf: CONF,
    password: PASSWORD,
    ...NETWORK,
    ...over,
});
const memorydbArgs = (over: Partial<MemorydbRedisArgs> = {}): MemorydbRedisArgs => ({
    stack: "prod",
    redisConf: CONF,
    password: PASSWORD,
    ...NETWORK,
    ...over,
});

const elasticache = (over: Partial<ElasticacheRedisArgs> = {}, engineStack = "prod") =>
    buildUnderMocks(engineStack, () => new ElasticacheRedis("redis", elasticacheArgs(over)));
const memorydb = (over: Partial<MemorydbRedisArgs> = {}, engineStack = "prod") =>
    buildUnderMocks(engineStack, () => new MemorydbRedis("redis", memorydbArgs(over)));

/** The component registers its endpoint and its details as its outputs, and nothing else. */
async function expectEndpointAndDetailsRegistered(build: () => Promise<ComponentRun<ElasticacheRedis | MemorydbRedis>>): Promise<void> {
    const { run, registered, outputs } = await registeredOutputs(build);
    // The first call counts (the SDK's own later call, without outputs, is then ignored).
    expect(registered.slice(1).every((o) => o === undefined)).toBe(true);
    expect(Object.keys(outputs).sort()).toEqual(["details", "endpoint"]);
    expect(outputs.details).toBe(run.component.details);
    expect(outputs.endpoint).toBe(run.component.endpoint);
}

/** The one resource of a type, its inputs with secrets unwrapped. */
const inputsOf = (run: ComponentRun<unknown>, type: string) => plain(single(run.resources, type).inputs);
/** Every resource's inputs, secrets unwrapped, by type and name: what two builds are compared on. */
const sent = (resources: ProgramResource[]) =>
    Object.fromEntries(resources.map((r) => [`${r.type}::${r.name}`, { inputs: plain(r.inputs), opts: r.opts }]));

describe("ElastiCache from its args", () => {
    it("applies MANAGED_DEFAULTS and ElastiCache's version and node type when only the network is given", async () => {
        const run = await elasticache();
        const rg = inputsOf(run, RG);
        expect(rg).toMatchObject({
            replicationGroupId: "mspbyte-redis-prod",
            engine: MANAGED_DEFAULTS.engine,
            engineVersion: DEFAULT_VERSIONS.elasticache.valkey,
            nodeType: DEFAULT_NODE_TYPES.elasticache,
            port: MANAGED_DEFAULTS.port,
            clusterMode: "disabled",
            numCacheClusters: MANAGED_DEFAULTS.replicas + 1,
            automaticFailoverEnabled: true,
            multiAzEnabled: true,
            snapshotRetentionLimit: MANAGED_DEFAULTS.snapshotRetentionDays,
            snapshotWindow: MANAGED_DEFAULTS.snapshotWindow,
            maintenanceWindow: MANAGED_DEFAULTS.maintenanceWindow,
            autoMinorVersionUpgrade: MANAGED_DEFAULTS.autoMinorVersionUpgrade,
            authTokenUpdateStrategy: MANAGED_DEFAULTS.authTokenUpdateStrategy,
            transitEncryptionEnabled: true,
            transitEncryptionMode: "required",
            atRestEncryptionEnabled: true,
            applyImmediately: true,
            finalSnapshotIdentifier: "mspbyte-redis-prod-final-a1b2c3d4",
            tags: { "mspbyte:role": "redis", "mspbyte:stack": "prod" },
        });
        expect(rg.kmsKeyId).toBeUndefined();
        expect(rg.snapshotName).toBeUndefined();
        for (const g of ofType(run.resources, "aws:cloudwatch/logGroup:LogGroup"))
            expect(g.inputs.retentionInDays).toBe(MANAGED_DEFAULTS.logRetentionDays);
        expect(inputsOf(run, EPG)).toMatchObject({ name: "mspbyte-redis-prod-valkey8", family: "valkey8" });
        // One alarm set per member (a primary and one replica), connections at the default limit.
        const alarms = ofType(run.resources, ALARM);
        expect(alarms).toHaveLength(2 * 5);
        expect(alarms.filter((a) => a.inputs.metricName === "CurrConnections").map((a) => a.inputs.threshold)).toEqual([
            MANAGED_DEFAULTS.maxConnectionsAlarm,
            MANAGED_DEFAULTS.maxConnectionsAlarm,
        ]);
        expect(ofType(run.resources, "aws:sns/topicSubscription:TopicSubscription")).toEqual([]);
        expectNoOpenIngress(run.resources, MANAGED_DEFAULTS.port);
    });

    it("every default spelled out builds exactly what the defaults build", async () => {
        const defaults = await elasticache();
        const explicit = await elasticache({
            cacheName: "mspbyte-redis-prod",
            protect: true,
            allowedCidrs: [...MANAGED_DEFAULTS.allowedCidrs],
            engine: MANAGED_DEFAULTS.engine,
            engineVersion: DEFAULT_VERSIONS.elasticache.valkey,
            nodeType: DEFAULT_NODE_TYPES.elasticache,
            replicas: MANAGED_DEFAULTS.replicas,
            port: MANAGED_DEFAULTS.port,
            snapshotRetentionDays: MANAGED_DEFAULTS.snapshotRetentionDays,
            snapshotWindow: MANAGED_DEFAULTS.snapshotWindow,
            maintenanceWindow: MANAGED_DEFAULTS.maintenanceWindow,
            autoMinorVersionUpgrade: MANAGED_DEFAULTS.autoMinorVersionUpgrade,
            maxConnectionsAlarm: MANAGED_DEFAULTS.maxConnectionsAlarm,
            clusterMode: MANAGED_DEFAULTS.clusterMode,
            multiAz: true,
            logRetentionDays: MANAGED_DEFAULTS.logRetentionDays,
            authTokenUpdateStrategy: MANAGED_DEFAULTS.authTokenUpdateStrategy,
        });
        expect(sent(explicit.resources)).toEqual(sent(defaults.resources));
        // And a value other than a default does reach AWS (the comparison can fail).
        const other = await elasticache({ snapshotRetentionDays: 14 });
        expect(sent(other.resources)).not.toEqual(sent(defaults.resources));
    });

    it("protects the cache by default: protect, delete-before-replace; unprotected only when told", async () => {
        const on = single((await elasticache()).resources, RG).opts;
        expect(on).toMatchObject({ protect: true, deleteBeforeReplace: true, parent: "redis" });
        const off = single((await elasticache({ protect: false })).resources, RG).opts;
        expect(off).toMatchObject({ protect: false, deleteBeforeReplace: true });
    });

    it("takes the stack name from its args, not from the engine", async () => {
        const run = await elasticache({ stack: "staging" }, "some-other-stack");
        const rg = inputsOf(run, RG);
        expect(rg.replicationGroupId).toBe("mspbyte-redis-staging");
        expect(rg.tags).toEqual({ "mspbyte:role": "redis", "mspbyte:stack": "staging" });
        expect(JSON.stringify(run.resources.map((r) => plain(r.inputs)))).not.toContain("some-other-stack");
    });

    it("takes redis.conf from its args: the parameter group and the persistence output follow the given conf", async () => {
        const conf: RedisConf = parseRedisConf("maxmemory-policy noeviction\ntimeout 7\nappendonly yes\n");
        const run = await elasticache({ redisConf: conf });
        expect(inputsOf(run, EPG).parameters).toEqual([
            { name: "maxmemory-policy", value: "noeviction" },
            { name: "timeout", value: "7" },
            { name: "reserved-memory-percent", value: String(RESERVED_MEMORY_PERCENT) },
        ]);
        const persistence = run.component.endpoint.persistence as Persistence;
        expect(persistence.mode).toBe("snapshots+replicas");
        expect(persistence.unsupported.map((u) => u.directive)).toEqual(["appendonly", "dir"]);
    });

    it("cluster mode: default shards, the cluster-enabled parameter, the configuration endpoint, the hash-tagged prefix, alarms per member", async () => {
        const run = await elasticache({ clusterMode: true, replicas: 1 });
        const rg = inputsOf(run, RG);
        expect(rg).toMatchObject({
            clusterMode: "enabled",
            numNodeGroups: DEFAULT_SHARDS,
            replicasPerNodeGroup: 1,
            automaticFailoverEnabled: true,
        });
        expect(rg.numCacheClusters).toBeUndefined();
        expect(inputsOf(run, EPG).parameters).toContainEqual({ name: "cluster-enabled", value: "yes" });
        expect(run.component.endpoint.bullmqPrefix).toBe(CLUSTER_PREFIX);
        expect(await promiseOf(run.component.endpoint.host as any)).toBe("clustercfg.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com");
        const watched = new Set(ofType(run.resources, ALARM).map((a) => a.inputs.dimensions.CacheClusterId));
        expect([...watched].sort()).toEqual(memberClusterIds("mspbyte-redis-prod", DEFAULT_SHARDS, 1, true).sort());
    });

    it("without cluster mode: the primary endpoint, no prefix, shards ignored", async () => {
        const run = await elasticache({ shards: 4 });
        expect(inputsOf(run, RG)).toMatchObject({ clusterMode: "disabled", numCacheClusters: 2 });
        expect(run.component.endpoint.bullmqPrefix).toBeUndefined();
        expect(await promiseOf(run.component.endpoint.host as any)).toBe("master.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com");
    });

    it("no replica: no Multi-AZ, no failover, no lag alarms", async () => {
        const run = await elasticache({ replicas: 0 });
        expect(inputsOf(run, RG)).toMatchObject({ numCacheClusters: 1, multiAzEnabled: false, automaticFailoverEnabled: false });
        expect(ofType(run.resources, ALARM).filter((a) => a.inputs.metricName === "ReplicationLag")).toEqual([]);
    });

    it("every given value reaches the replication group, its names and its alarms", async () => {
        const run = await elasticache({
            cacheName: "queue-a",
            engine: "redis",
            engineVersion: "7.1",
            nodeType: "cache.r7g.large",
            replicas: 2,
            port: 6380,
            kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
            snapshotRetentionDays: 14,
            snapshotWindow: "01:00-02:00",
            maintenanceWindow: "sat:05:00-sat:06:00",
            autoMinorVersionUpgrade: false,
            alarmEmail: "oncall@example.com",
            maxConnectionsAlarm: 50,
            restoreFromSnapshot: "queue-a-2026-11-01",
            multiAz: false,
            logRetentionDays: 7,
            allowedCidrs: ["10.20.0.0/16"],
        });
        expect(inputsOf(run, RG)).toMatchObject({
            replicationGroupId: "queue-a",
            engine: "redis",
            engineVersion: "7.1",
            nodeType: "cache.r7g.large",
            numCacheClusters: 3,
            port: 6380,
            kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
            snapshotRetentionLimit: 14,
            snapshotWindow: "01:00-02:00",
            maintenanceWindow: "sat:05:00-sat:06:00",
            autoMinorVersionUpgrade: false,
            snapshotName: "queue-a-2026-11-01",
            multiAzEnabled: false,
            parameterGroupName: "queue-a-redis7",
            subnetGroupName: "queue-a-subnets",
        });
        expect(ofType(run.resources, "aws:cloudwatch/logGroup:LogGroup").map((g) => [g.inputs.name, g.inputs.retentionInDays])).toEqual([
            ["/mspbyte-redis/queue-a/slow-log", 7],
            ["/mspbyte-redis/queue-a/engine-log", 7],
        ]);
        expect(single(run.resources, "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({
            protocol: "email",
            endpoint: "oncall@example.com",
        });
        expect(
            ofType(run.resources, ALARM)
                .filter((a) => a.inputs.metricName === "CurrConnections")
                .map((a) => a.inputs.threshold),
        ).toEqual([50, 50, 50]);
        expect(ofType(run.resources, ALARM).every((a) => a.inputs.name.startsWith("queue-a-"))).toBe(true);
        expect(single(run.resources, "random:index/randomId:RandomId").inputs.keepers).toEqual({
            cacheName: "queue-a",
            engine: "redis",
            port: "6380",
            kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
            restoreFromSnapshot: "queue-a-2026-11-01",
        });
        expect(
            ofType(run.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(
                (r) => r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId,
            ),
        ).toEqual(["10.20.0.0/16", "sg-0123456789abcdef0"]);
        expectNoOpenIngress(run.resources, 6380);
    });

    it("the AUTH token and the secret's value are secrets; phase one of a rotation is ROTATE whatever the strategy", async () => {
        const run = await elasticache({ authTokenUpdateStrategy: "SET" });
        const rg = single(run.resources, RG).inputs;
        expect(secretInput(rg.authToken)).toBe(PASSWORD);
        expect(rg.authTokenUpdateStrategy).toBe("SET");
        expect(
            JSON.parse(secretInput(single(run.resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString)),
        ).toMatchObject({ username: "default", password: PASSWORD, port: 6379, tls: true });
        const rotating = await elasticache({ authTokenUpdateStrategy: "SET", previousPassword: PREVIOUS });
        expect(single(rotating.resources, RG).inputs.authTokenUpdateStrategy).toBe("ROTATE");
        // The previous password itself is never sent to ElastiCache.
        expect(JSON.stringify(rotating.resources.map((r) => plain(r.inputs)))).not.toContain(PREVIOUS);
    });

    it("typed details and the endpoint", async () => {
        const run = await elasticache();
        expect(await promiseOf(run.component.details)).toEqual({
            service: "elasticache",
            replicationGroupId: "redis-cache-id",
            engine: "valkey",
            engineVersion: DEFAULT_VERSIONS.elasticache.valkey,
            nodeType: DEFAULT_NODE_TYPES.elasticache,
            readerHost: "replica.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com",
            authSecretArn:
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:mspbyte-redis/mspbyte-redis-prod/auth-20261128093015123400000001-AbCdEf",
            alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:redis-alarms",
            securityGroupId: "redis-sg-id",
        });
        const e = run.component.endpoint;
        expect({ port: e.port, tls: e.tls, username: e.username }).toEqual({ port: 6379, tls: true, username: "default" });
        expect(await promiseOf(e.password as any)).toBe(PASSWORD);
    });

    it("registers every public output: the endpoint and the details", async () => {
        await expectEndpointAndDetailsRegistered(() => elasticache());
    });

    it("a transform on every child: each is called with what would be sent, and what it returns is sent", async () => {
        const seen: Record<string, number> = {};
        const mark =
            <T>(key: string, edit: (a: T) => T = (a) => a) =>
            (a: T) => {
                seen[key] = (seen[key] ?? 0) + 1;
                return edit(a);
            };
        const transform: Required<ElasticacheTransforms> = {
            subnetGroup: mark("subnetGroup", (a) => ({ ...a, description: "transformed subnets" })),
            parameterGroup: mark("parameterGroup", (a) => ({ ...a, description: "transformed parameters" })),
            logGroup: mark("logGroup", (a) => ({ ...a, retentionInDays: 90 })),
            replicationGroup: mark("replicationGroup", (a) => ({ ...a, tags: { ...(a.tags as Record<string, string>), team: "queue" } })),
            finalSnapshotSuffix: mark("finalSnapshotSuffix", (a) => ({ ...a, byteLength: 6 })),
            securityGroup: mark("securityGroup", (a) => ({ ...a, tags: { team: "queue" } })),
            ingressRule: mark("ingressRule", (a) => ({ ...a, description: "transformed rule" })),
            egressRule: mark("egressRule"),
            alarmTopic: mark("alarmTopic", (a) => ({ ...a, tags: { team: "queue" } })),
            alarmEmail: mark("alarmEmail", (a) => ({ ...a, endpoint: "other@example.com" })),
            alarm: mark("alarm", (a) => ({ ...a, evaluationPeriods: 3 })),
            secret: mark("secret", (a) => ({ ...a, recoveryWindowInDays: 7 })),
            secretVersion: mark("secretVersion"),
        };
        const run = await elasticache({ transform, alarmEmail: "oncall@example.com", allowedCidrs: ["10.0.0.0/16"] });
        // One call per child of that kind; a managed cache has no egress rule.
        expect(seen).toEqual({
            subnetGroup: 1,
            parameterGroup: 1,
            logGroup: 2,
            replicationGroup: 1,
            finalSnapshotSuffix: 1,
            securityGroup: 1,
            ingressRule: 2,
            alarmTopic: 1,
            alarmEmail: 1,
            alarm: ofType(run.resources, ALARM).length,
            secret: 1,
            secretVersion: 1,
        });
        expect(inputsOf(run, "aws:elasticache/subnetGroup:SubnetGroup").description).toBe("transformed subnets");
        expect(inputsOf(run, EPG).description).toBe("transformed parameters");
        expect(ofType(run.resources, "aws:cloudwatch/logGroup:LogGroup").map((g) => g.inputs.retentionInDays)).toEqual([90, 90]);
        expect(inputsOf(run, RG).tags).toEqual({ "mspbyte:role": "redis", "mspbyte:stack": "prod", team: "queue" });
        expect(inputsOf(run, "random:index/randomId:RandomId").byteLength).toBe(6);
        expect(inputsOf(run, "aws:ec2/securityGroup:SecurityGroup").tags).toEqual({ team: "queue" });
        expect(ofType(run.resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs.description)).toEqual(
            ["transformed rule", "transformed rule"],
        );
        expect(inputsOf(run, "aws:sns/topicSubscription:TopicSubscription").endpoint).toBe("other@example.com");
        expect(ofType(run.resources, ALARM).every((a) => a.inputs.evaluationPeriods === 3)).toBe(true);
        expect(inputsOf(run, "aws:secretsmanager/secret:Secret").recoveryWindowInDays).toBe(7);
        // Without a transform, nothing changes: the same build as no transform at all.
        const identity = Object.fromEntries(Object.keys(transform).map((k) => [k, (a: unknown) => a])) as ElasticacheTransforms;
        expect(sent((await elasticache({ transform: identity })).resources)).toEqual(sent((await elasticache()).resources));
    });
});

describe("MemoryDB from its args", () => {
    it("applies MANAGED_DEFAULTS and MemoryDB's version and node type when only the network is given", async () => {
        const run = await memorydb();
        expect(inputsOf(run, MDB)).toMatchObject({
            name: "mspbyte-redis-prod",
            engine: MANAGED_DEFAULTS.engine,
            engineVersion: DEFAULT_VERSIONS.memorydb.valkey,
            nodeType: DEFAULT_NODE_TYPES.memorydb,
            numShards: 1,
            numReplicasPerShard: MANAGED_DEFAULTS.replicas,
            port: MANAGED_DEFAULTS.port,
            aclName: "mspbyte-redis-prod-acl",
            parameterGroupName: "mspbyte-redis-prod-valkey7",
            subnetGroupName: "mspbyte-redis-prod-subnets",
            tlsEnabled: true,
            snapshotRetentionLimit: MANAGED_DEFAULTS.snapshotRetentionDays,
            snapshotWindow: MANAGED_DEFAULTS.snapshotWindow,
            maintenanceWindow: MANAGED_DEFAULTS.maintenanceWindow,
            autoMinorVersionUpgrade: MANAGED_DEFAULTS.autoMinorVersionUpgrade,
            finalSnapshotName: "mspbyte-redis-prod-final-a1b2c3d4",
            tags: { "mspbyte:role": "redis", "mspbyte:stack": "prod" },
        });
        expect(inputsOf(run, MPG)).toMatchObject({ name: "mspbyte-redis-prod-valkey7", family: "memorydb_valkey7" });
        expect(inputsOf(run, MPG).parameters.map((p: { name: string }) => p.name)).not.toContain("reserved-memory-percent");
        expect(inputsOf(run, MUSER)).toMatchObject({ userName: "mspbyte-redis-prod", accessString: "on ~* &* +@all" });
        expect(single(run.resources, MDB).opts).toMatchObject({ protect: true, deleteBeforeReplace: true });
        expect(run.component.endpoint.bullmqPrefix).toBe(CLUSTER_PREFIX);
        expect(run.component.endpoint.username).toBe("mspbyte-redis-prod");
        expect(ofType(run.resources, ALARM)).toHaveLength(2 * 5);
        expectNoOpenIngress(run.resources, MANAGED_DEFAULTS.port);
    });

    it("every default spelled out builds exactly what the defaults build", async () => {
        const defaults = await memorydb();
        const explicit = await memorydb({
            cacheName: "mspbyte-redis-prod",
            protect: true,
            allowedCidrs: [],
            engine: "valkey",
            engineVersion: DEFAULT_VERSIONS.memorydb.valkey,
            nodeType: DEFAULT_NODE_TYPES.memorydb,
            replicas: MANAGED_DEFAULTS.replicas,
            port: MANAGED_DEFAULTS.port,
            snapshotRetentionDays: MANAGED_DEFAULTS.snapshotRetentionDays,
            snapshotWindow: MANAGED_DEFAULTS.snapshotWindow,
            maintenanceWindow: MANAGED_DEFAULTS.maintenanceWindow,
            autoMinorVersionUpgrade: MANAGED_DEFAULTS.autoMinorVersionUpgrade,
            maxConnectionsAlarm: MANAGED_DEFAULTS.maxConnectionsAlarm,
            clusterMode: MANAGED_DEFAULTS.clusterMode,
            shards: 1,
        });
        expect(sent(explicit.resources)).toEqual(sent(defaults.resources));
        expect(sent((await memorydb({ replicas: 2 })).resources)).not.toEqual(sent(defaults.resources));
    });

    it.each([
        [{}, 1],
        [{ clusterMode: true }, DEFAULT_SHARDS],
        [{ clusterMode: true, shards: 3 }, 3],
        [{ shards: 4 }, 4],
    ] as [Partial<MemorydbRedisArgs>, number][])("shards from %j: %i, an alarm set per node", async (over, shards) => {
        const run = await memorydb({ ...over, replicas: 1 });
        expect(inputsOf(run, MDB).numShards).toBe(shards);
        expect((await promiseOf(run.component.details)).shards).toBe(shards);
        const nodes = new Set(ofType(run.resources, ALARM).map((a) => a.inputs.dimensions.NodeName));
        expect([...nodes].sort()).toEqual(memberClusterIds("mspbyte-redis-prod", shards, 1, true).sort());
    });

    it("takes the stack name and redis.conf from its args", async () => {
        const run = await memorydb({ stack: "staging", redisConf: parseRedisConf("timeout 9\nsave 60 1\n") }, "some-other-stack");
        expect(inputsOf(run, MDB).name).toBe("mspbyte-redis-staging");
        expect(inputsOf(run, MDB).tags["mspbyte:stack"]).toBe("staging");
        expect(inputsOf(run, MPG).parameters).toEqual([{ name: "timeout", value: "9" }]);
        const persistence = run.component.endpoint.persistence as Persistence;
        expect(persistence.mode).toBe("transaction-log");
        expect(persistence.unsupported.map((u) => u.directive)).toEqual(["save", "dir"]);
        expect(JSON.stringify(run.resources.map((r) => plain(r.inputs)))).not.toContain("some-other-stack");
    });

    it("phase one of a rotation: the user takes both passwords, each a secret; phase two the new one", async () => {
        const one = single((await memorydb({ previousPassword: PREVIOUS })).resources, MUSER).inputs.authenticationMode;
        expect(secretInput(one)).toEqual({ type: "password", passwords: [PASSWORD, PREVIOUS] });
        const two = single((await memorydb()).resources, MUSER).inputs.authenticationMode;
        expect(secretInput(two)).toEqual({ type: "password", passwords: [PASSWORD] });
    });

    it("protect false and every given value reach the cluster", async () => {
        const run = await memorydb({
            protect: false,
            cacheName: "queue-b",
            engine: "redis",
            engineVersion: "7.1",
            nodeType: "db.r7g.large",
            replicas: 0,
            port: 6390,
            kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
            restoreFromSnapshot: "queue-b-2026-11-01",
            autoMinorVersionUpgrade: false,
        });
        expect(single(run.resources, MDB).opts).toMatchObject({ protect: false, deleteBeforeReplace: true });
        expect(inputsOf(run, MDB)).toMatchObject({
            name: "queue-b",
            engine: "redis",
            engineVersion: "7.1",
            nodeType: "db.r7g.large",
            numReplicasPerShard: 0,
            port: 6390,
            kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
            snapshotName: "queue-b-2026-11-01",
            autoMinorVersionUpgrade: false,
            parameterGroupName: "queue-b-redis7",
        });
        expect(inputsOf(run, MPG).family).toBe("memorydb_redis7");
        expect(ofType(run.resources, ALARM).filter((a) => a.inputs.metricName === "ReplicationLag")).toEqual([]);
    });

    it("typed details", async () => {
        expect(await promiseOf((await memorydb()).component.details)).toEqual({
            service: "memorydb",
            clusterName: "mspbyte-redis-prod",
            engine: "valkey",
            engineVersion: DEFAULT_VERSIONS.memorydb.valkey,
            nodeType: DEFAULT_NODE_TYPES.memorydb,
            shards: 1,
            authSecretArn:
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:mspbyte-redis/mspbyte-redis-prod/auth-20261128093015123400000001-AbCdEf",
            alarmTopicArn: "arn:aws:sns:us-east-1:123456789012:redis-alarms",
            securityGroupId: "redis-sg-id",
        });
    });

    it("registers every public output: the endpoint and the details", async () => {
        await expectEndpointAndDetailsRegistered(() => memorydb());
    });

    it("a transform on every child: each is called, and what it returns is sent", async () => {
        const seen: Record<string, number> = {};
        const mark =
            <T>(key: string, edit: (a: T) => T = (a) => a) =>
            (a: T) => {
                seen[key] = (seen[key] ?? 0) + 1;
                return edit(a);
            };
        const transform: Required<MemorydbTransforms> = {
            subnetGroup: mark("subnetGroup", (a) => ({ ...a, description: "transformed subnets" })),
            parameterGroup: mark("parameterGroup"),
            user: mark("user", (a) => ({ ...a, tags: { team: "queue" } })),
            acl: mark("acl", (a) => ({ ...a, tags: { team: "queue" } })),
            cluster: mark("cluster", (a) => ({ ...a, description: "transformed cluster" })),
            finalSnapshotSuffix: mark("finalSnapshotSuffix"),
            securityGroup: mark("securityGroup"),
            ingressRule: mark("ingressRule"),
            egressRule: mark("egressRule"),
            alarmTopic: mark("alarmTopic"),
            alarmEmail: mark("alarmEmail"),
            alarm: mark("alarm", (a) => ({ ...a, alarmDescription: "transformed" })),
            secret: mark("secret"),
            secretVersion: mark("secretVersion"),
        };
        const run = await memorydb({ transform });
        expect(seen).toEqual({
            subnetGroup: 1,
            parameterGroup: 1,
            user: 1,
            acl: 1,
            cluster: 1,
            finalSnapshotSuffix: 1,
            securityGroup: 1,
            ingressRule: 1,
            alarmTopic: 1,
            alarm: ofType(run.resources, ALARM).length,
            secret: 1,
            secretVersion: 1,
        });
        expect(inputsOf(run, "aws:memorydb/subnetGroup:SubnetGroup").description).toBe("transformed subnets");
        expect(inputsOf(run, MUSER).tags).toEqual({ team: "queue" });
        expect(inputsOf(run, "aws:memorydb/acl:Acl").tags).toEqual({ team: "queue" });
        expect(inputsOf(run, MDB).description).toBe("transformed cluster");
        expect(ofType(run.resources, ALARM).every((a) => a.inputs.alarmDescription === "transformed")).toBe(true);
    });
});
