/**
 * Variations of the real stack files, built by the program (loadConfig, then createRedis) under
 * mocks, many in one process: each block is one stack file with some keys changed or secrets
 * set, as its own test file used to run it.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { dockerSchema } from "../../src/config";
import { ROOT_REDIS_CONF, getDirective, parseRedisConf } from "../../src/redisConf";
import { checkHostIp } from "../../src/targets/docker/docker";
import { alarmsByName, expectNoOpenIngress } from "../helpers/managed";
import { expectPolicyClean } from "../helpers/policy";
import { ofType, promiseOf, secretInput, single, stackFileConfig } from "../helpers/pulumiMocks";
import { type ProgramExports, type ProgramResource, runStack } from "../helpers/stackUnderMocks";

/** Pulumi.dev.yaml with `docker.hostIp: localhost`, under mocks. The Docker Engine parses a host name in a port binding as every address (test/engine shows it on a real engine), so the name must reach the engine as an address. */
describe("dev-hostip", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("dev")["mspbyte-redis:docker"]!);
        ({ resources, program } = await runStack("dev", {
            overrides: { "mspbyte-redis:docker": JSON.stringify({ ...base, hostIp: "localhost" }) },
        }));
    });

    describe("docker.hostIp: localhost", () => {
        it("publishes on 127.0.0.1, the address, never the name", () => {
            const c = single(resources, "docker:index/container:Container").inputs;
            expect(c.ports).toEqual([{ internal: 6379, external: 6379, ip: "127.0.0.1" }]);
        });

        it("exports the address as the host", async () => {
            expect(await promiseOf(program.host!)).toBe("127.0.0.1");
            expect(await promiseOf(program.tls!)).toBe(false);
        });
    });

    describe("host names in docker.hostIp", () => {
        it.each([
            { given: "localhost", ip: "127.0.0.1" },
            { given: "*", ip: "0.0.0.0" },
            { given: "::1", ip: "::1" },
            { given: "192.168.1.20", ip: "192.168.1.20" },
        ])("$given is published on $ip", ({ given, ip }) => {
            const d = dockerSchema.parse({ hostIp: given, tls: true, exposeToNetwork: true });
            expect(d.hostIp).toBe(ip);
        });

        it.each(["redis.internal", "my-laptop", "localhost.localdomain"])("%s is refused", (given) => {
            const r = dockerSchema.safeParse({ hostIp: given, tls: true });
            expect(r.success).toBe(false);
            expect(r.error!.issues[0]!.path).toEqual(["hostIp"]);
            expect(r.error!.issues[0]!.message).toBe(
                "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address; not a host name (Docker publishes a name on every address)",
            );
        });

        it("the component refuses a name given to it directly", () => {
            expect(() => checkHostIp("localhost")).toThrow(
                'docker.hostIp must be an IP address, got "localhost": the Docker Engine publishes a host name on every address (0.0.0.0 and [::])',
            );
            expect(() => checkHostIp("127.0.0.1")).not.toThrow();
            expect(() => checkHostIp("::")).not.toThrow();
        });
    });
});

/** The dev stack with a password set as a secret: used as given, nothing generated. */
describe("dev-secret", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        ({ resources, program } = await runStack("dev", {
            secrets: { "mspbyte-redis:password": "Chosen-Password_0123456789" },
            overrides: { "mspbyte-redis:maxmemory": "1gb" },
        }));
    });

    it("uses the configured password and generates none", async () => {
        expect(resources.filter((r) => r.type.startsWith("random:"))).toEqual([]);
        expect(await promiseOf(program.password!)).toBe("Chosen-Password_0123456789");
        expect(await pulumi.isSecret(program.password as pulumi.Output<unknown>)).toBe(true);
        const uploads = secretInput(single(resources, "docker:index/container:Container").inputs.uploads);
        expect(uploads[0].content).toContain("\nrequirepass Chosen-Password_0123456789\n");
    });

    it("renders the stack's maxmemory in place of redis.conf's, and reports it", async () => {
        const uploads = secretInput(single(resources, "docker:index/container:Container").inputs.uploads);
        expect(uploads[0].content).toMatch(/\nmaxmemory 1gb\n/);
        expect(uploads[0].content).not.toMatch(/\nmaxmemory 512mb\n/);
        expect(await promiseOf(program.persistence!)).toMatchObject({ maxmemory: "1gb" });
    });
});

/** Pulumi.dev.yaml published on every interface, with TLS (docker.tls), under mocks. */
describe("dev-tls", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("dev")["mspbyte-redis:docker"]!);
        ({ resources, program } = await runStack("dev", {
            overrides: { "mspbyte-redis:docker": JSON.stringify({ ...base, hostIp: "0.0.0.0", exposeToNetwork: true, tls: true }) },
        }));
    });

    it("uploads the certificate, the key (secret, 0600) and the CA beside a TLS-only redis.conf", () => {
        const c = single(resources, "docker:index/container:Container").inputs;
        const uploads = secretInput<{ file: string; permissions: string; content: string }[]>(c.uploads);
        expect(uploads.map((u) => [u.file, u.permissions])).toEqual([
            ["/usr/local/etc/redis/redis.conf", "0600"],
            ["/usr/local/etc/redis/tls/tls.crt", "0644"],
            ["/usr/local/etc/redis/tls/tls.key", "0600"],
            ["/usr/local/etc/redis/tls/ca.crt", "0644"],
        ]);
        const conf = parseRedisConf(uploads[0]!.content);
        expect(getDirective(conf, "port")).toBe("0");
        expect(getDirective(conf, "tls-port")).toBe("6379");
        expect(getDirective(conf, "tls-ca-cert-file")).toBe("/usr/local/etc/redis/tls/ca.crt");
        expect(c.healthcheck.tests).toEqual([
            "CMD-SHELL",
            "redis-cli -p 6379 --tls --cacert /usr/local/etc/redis/tls/ca.crt ping | grep -qx PONG",
        ]);
        expect(c.ports).toEqual([{ internal: 6379, external: 6379, ip: "0.0.0.0" }]);
    });

    it("exports tls: true, a rediss:// URL and the CA", async () => {
        expect(await promiseOf(program.tls!)).toBe(true);
        expect(await promiseOf(program.url!)).toBe("rediss://default:Mock0Generated0Password0Abcdefgh@localhost:6379");
        expect(await promiseOf(program.details!)).toMatchObject({ caCertPem: expect.stringContaining("BEGIN CERTIFICATE") });
    });

    it("passes the policy pack", () => {
        expectPolicyClean(resources, "dev");
    });
});

/** Pulumi.prod.yaml with elasticache.{"replicas": 0}, under mocks. */
describe("prod-replicas0", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
        ({ resources, program } = await runStack("prod", {
            overrides: { "mspbyte-redis:elasticache": JSON.stringify({ ...base, ...{ replicas: 0 } }) },
        }));
    });

    it("one node: no Multi-AZ, no failover, no replication-lag alarm; snapshots stand in alone", async () => {
        const rg = single(resources, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
        expect(rg).toMatchObject({
            numCacheClusters: 1,
            multiAzEnabled: false,
            automaticFailoverEnabled: false,
            snapshotRetentionLimit: 7,
        });
        expect(Object.keys(alarmsByName(resources)).sort()).toEqual([
            "mspbyte-redis-prod-001-connections",
            "mspbyte-redis-prod-001-cpu",
            "mspbyte-redis-prod-001-evictions",
            "mspbyte-redis-prod-001-memory",
        ]);
        const p = (await promiseOf(program.persistence!)) as { replicas: number; unsupported: { directive: string; insteadUse: string }[] };
        expect(p.replicas).toBe(0);
        expect(p.unsupported.find((u) => u.directive === "appendonly")!.insteadUse).toBe(
            "the automatic snapshot daily in 03:00-04:00 UTC, kept 7 days, and a final snapshot on delete (no replica: a node loss loses what was written since the last snapshot)",
        );
    });
});

/** Pulumi.prod.yaml with elasticache.{"replicas": 2, "allowedCidrs": ["10.20.0.0/16"], "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0000-1111", "alarmEmail": "oncall@example.com"}, under mocks. */
describe("prod-replicas2", () => {
    let resources: ProgramResource[];

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
        ({ resources } = await runStack("prod", {
            overrides: {
                "mspbyte-redis:elasticache": JSON.stringify({
                    ...base,
                    ...{
                        replicas: 2,
                        allowedCidrs: ["10.20.0.0/16"],
                        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
                        alarmEmail: "oncall@example.com",
                    },
                }),
            },
        }));
    });

    it("three nodes over zones, a customer KMS key, CIDR ingress, lag alarms on every node, email alerts", () => {
        const rg = single(resources, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
        expect(rg).toMatchObject({
            numCacheClusters: 3,
            multiAzEnabled: true,
            automaticFailoverEnabled: true,
            kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/0000-1111",
            atRestEncryptionEnabled: true,
        });
        expectNoOpenIngress(resources, 6379);
        const rules = ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(
            (r) => r.inputs.cidrIpv4 ?? r.inputs.referencedSecurityGroupId,
        );
        expect(rules).toEqual(["10.20.0.0/16", "sg-0a1b2c3d4e5f60003"]);
        expect(
            Object.keys(alarmsByName(resources))
                .filter((n) => n.endsWith("replication-lag"))
                .sort(),
        ).toEqual([
            "mspbyte-redis-prod-001-replication-lag",
            "mspbyte-redis-prod-002-replication-lag",
            "mspbyte-redis-prod-003-replication-lag",
        ]);
        expect(single(resources, "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({
            protocol: "email",
            endpoint: "oncall@example.com",
        });
    });
});

/** Pulumi.prod.yaml with elasticache.{"clusterMode": true, "shards": 3}, under mocks. */
describe("prod-cluster", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
        ({ resources, program } = await runStack("prod", {
            overrides: { "mspbyte-redis:elasticache": JSON.stringify({ ...base, ...{ clusterMode: true, shards: 3 } }) },
        }));
    });

    it("cluster mode on opt-in: shards, a cluster-enabled parameter group, the configuration endpoint, a hash-tagged BullMQ prefix", async () => {
        const rg = single(resources, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
        expect(rg).toMatchObject({ clusterMode: "enabled", numNodeGroups: 3, replicasPerNodeGroup: 1, automaticFailoverEnabled: true });
        expect(rg.numCacheClusters).toBeUndefined();
        expect(single(resources, "aws:elasticache/parameterGroup:ParameterGroup").inputs.parameters).toContainEqual({
            name: "cluster-enabled",
            value: "yes",
        });
        expect(await promiseOf(program.host!)).toBe("clustercfg.mspbyte-redis-prod.abc123.use1.cache.amazonaws.com");
        expect(((await promiseOf(program.bullmq!)) as { prefix: string }).prefix).toBe("{pipeline}");
        expect(Object.keys(alarmsByName(resources))).toContain("mspbyte-redis-prod-0003-002-replication-lag");
    });
});

/** Pulumi.prod.yaml with elasticache.{"service": "memorydb", "nodeType": "db.t4g.small", "engineVersion": "7.3"}, under mocks. */
describe("prod-memorydb", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("prod")["mspbyte-redis:elasticache"]!);
        ({ resources, program } = await runStack("prod", {
            overrides: {
                "mspbyte-redis:elasticache": JSON.stringify({
                    ...base,
                    ...{ service: "memorydb", nodeType: "db.t4g.small", engineVersion: "7.3" },
                }),
            },
        }));
    });

    it("a MemoryDB cluster with TLS, an ACL user holding the password as a secret, snapshots, and the same outputs", async () => {
        expect(ofType(resources, "aws:elasticache/replicationGroup:ReplicationGroup")).toEqual([]);
        const cluster = single(resources, "aws:memorydb/cluster:Cluster").inputs;
        expect(cluster).toMatchObject({
            name: "mspbyte-redis-prod",
            engine: "valkey",
            engineVersion: "7.3",
            nodeType: "db.t4g.small",
            numShards: 1,
            numReplicasPerShard: 1,
            tlsEnabled: true,
            snapshotRetentionLimit: 7,
            finalSnapshotName: "mspbyte-redis-prod-final-a1b2c3d4",
            aclName: "mspbyte-redis-prod-acl",
            parameterGroupName: "mspbyte-redis-prod-valkey7",
        });
        const user = single(resources, "aws:memorydb/user:User").inputs;
        // Named after the cluster: MemoryDB user names are unique in the account and region.
        expect(user.userName).toBe("mspbyte-redis-prod");
        expect(single(resources, "aws:memorydb/acl:Acl").inputs.userNames).toEqual(["mspbyte-redis-prod"]);
        expect(secretInput(user.authenticationMode)).toEqual({ type: "password", passwords: ["Mock0Generated0Password0Abcdefgh"] });
        expect(single(resources, "aws:memorydb/parameterGroup:ParameterGroup").inputs).toMatchObject({ family: "memorydb_valkey7" });
        expect(single(resources, "aws:memorydb/parameterGroup:ParameterGroup").inputs.parameters).toContainEqual({
            name: "maxmemory-policy",
            value: "noeviction",
        });
        expectNoOpenIngress(resources, 6379);
        expect(alarmsByName(resources)["mspbyte-redis-prod-0001-002-replication-lag"]).toMatchObject({
            namespace: "AWS/MemoryDB",
            dimensions: { ClusterName: "mspbyte-redis-prod", NodeName: "mspbyte-redis-prod-0001-002" },
        });
        expect(await promiseOf(program.username!)).toBe("mspbyte-redis-prod");
        expect(await promiseOf(program.tls!)).toBe(true);
        expect(((await promiseOf(program.bullmq!)) as { prefix: string }).prefix).toBe("{pipeline}");
        expect(await promiseOf(program.persistence!)).toMatchObject({
            mode: "transaction-log",
            aof: false,
            replicas: 1,
            snapshotRetentionDays: 7,
        });
        expect(await pulumi.isSecret(program.url as pulumi.Output<unknown>)).toBe(true);
    });

    it("passes the policy pack", () => {
        expectPolicyClean(resources, "prod");
    });
});

/** Pulumi.vm.yaml with the stack's own certificate (tlsCertificate, tlsKey, tlsCa as secrets). */
describe("vm-own-cert", () => {
    const CERT = "-----BEGIN CERTIFICATE-----\nOWN-SERVER\n-----END CERTIFICATE-----\n";
    const KEY = "-----BEGIN PRIVATE KEY-----\nOWN-KEY\n-----END PRIVATE KEY-----\n";
    const CA = "-----BEGIN CERTIFICATE-----\nOWN-CA\n-----END CERTIFICATE-----\n";
    let resources: ProgramResource[];

    beforeAll(async () => {
        ({ resources } = await runStack("vm", {
            secrets: { "mspbyte-redis:tlsCertificate": CERT, "mspbyte-redis:tlsKey": KEY, "mspbyte-redis:tlsCa": CA },
        }));
    });

    it("uses the given certificate and generates none", () => {
        expect(resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        const secret = JSON.parse(
            secretInput<string>(single(resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString),
        );
        expect(secret).toMatchObject({ tlsCert: CERT, tlsKey: KEY, tlsCa: CA });
        expect(ofType(resources, "aws:ec2/instance:Instance")).toHaveLength(1);
    });
});

/** Pulumi.kubernetes.yaml with kubernetes.tls: true, under mocks. */
describe("kubernetes-tls", () => {
    let resources: ProgramResource[];
    let program: ProgramExports;

    beforeAll(async () => {
        const base = JSON.parse(stackFileConfig("kubernetes")["mspbyte-redis:kubernetes"]!);
        ({ resources, program } = await runStack("kubernetes", {
            overrides: { "mspbyte-redis:kubernetes": JSON.stringify({ ...base, tls: true }) },
        }));
    });

    it("generates a CA and a certificate for every name the Services give, kept in a TLS Secret as a secret", () => {
        const request = single(resources, "tls:index/certRequest:CertRequest").inputs;
        expect(request.dnsNames).toEqual([
            "mspbyte-redis",
            "mspbyte-redis.mspbyte-redis",
            "mspbyte-redis.mspbyte-redis.svc",
            "mspbyte-redis.mspbyte-redis.svc.cluster.local",
            "*.mspbyte-redis-headless.mspbyte-redis.svc.cluster.local",
            "localhost",
        ]);
        const secrets = ofType(resources, "kubernetes:core/v1:Secret");
        const tlsSecret = secrets.find((x) => x.inputs.type === "kubernetes.io/tls")!;
        expect(Object.keys(secretInput(tlsSecret.inputs.stringData)).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    });

    it("serves TLS only, and the pod's probes and exporter speak it", () => {
        const conf = parseRedisConf(single(resources, "kubernetes:core/v1:ConfigMap").inputs.data["redis.conf"]);
        expect(getDirective(conf, "port")).toBe("0");
        expect(getDirective(conf, "tls-port")).toBe("6379");
        expect(getDirective(conf, "tls-cert-file")).toBe("/etc/redis-tls/tls.crt");
        const pod = single(resources, "kubernetes:apps/v1:StatefulSet").inputs.spec.template.spec;
        const [redis, exporter] = pod.containers;
        expect(redis.readinessProbe.exec.command[2]).toBe("redis-cli -p 6379 --tls --cacert /etc/redis-tls/ca.crt ping | grep -qx PONG");
        expect(redis.volumeMounts).toContainEqual({ name: "tls", mountPath: "/etc/redis-tls", readOnly: true });
        expect(exporter.env).toContainEqual({ name: "REDIS_ADDR", value: "rediss://localhost:6379" });
        expect(pod.volumes).toContainEqual({ name: "tls", secret: { secretName: "mspbyte-redis-tls", defaultMode: 0o440 } });
    });

    it("exports tls: true, a rediss:// URL and the CA", async () => {
        expect(await promiseOf(program.tls!)).toBe(true);
        expect(await promiseOf(program.url!)).toBe(
            "rediss://default:Mock0Generated0Password0Abcdefgh@mspbyte-redis.mspbyte-redis.svc.cluster.local:6379",
        );
        expect(await promiseOf(program.details!)).toMatchObject({ caCertPem: expect.stringContaining("BEGIN CERTIFICATE") });
    });

    it("passes the policy pack", () => {
        expectPolicyClean(resources, "kubernetes");
    });
});

/** The program as a function: createRedis takes the component's name and a parsed redis.conf. */
describe("createRedis options", () => {
    it("names the target after `name` and renders the redis.conf it is given, not the file's", async () => {
        const text = readFileSync(ROOT_REDIS_CONF, "utf8").replace("slowlog-max-len 256", "slowlog-max-len 512");
        const { resources } = await runStack("dev", { redis: { name: "queue", redisConf: parseRedisConf(text) } });
        expect(single(resources, "mspbyte:redis:Docker").name).toBe("queue");
        const container = single(resources, "docker:index/container:Container");
        expect(container.name).toBe("queue-container");
        const conf = parseRedisConf(secretInput<{ content: string }[]>(container.inputs.uploads)[0]!.content);
        expect(getDirective(conf, "slowlog-max-len")).toBe("512");
    });
});
