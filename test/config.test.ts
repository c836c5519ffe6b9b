import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_REDIS_IMAGE, parseStackConfig } from "../src/config";

const HEAD = "invalid stack config (Pulumi.<stack>.yaml, namespace mspbyte-redis):\n";
const MEMORY = "a memory size of at least 16mb, as redis.conf writes it: bytes (536870912) or a number with b, kb, mb or gb (512mb, 1gb)";
const PASSWORD = "a secret of 16 to 128 printable ASCII characters without spaces, set with `pulumi config set --secret password`; leave it unset to have one generated";
const docker = (o: object) => JSON.stringify(o);

describe("parseStackConfig refuses bad input, naming the key, the value and what is allowed", () => {
    it.each([
        { case: "unknown target", raw: { target: "dockr" },
          error: `mspbyte-redis:target: given "dockr"; allowed: docker | vm | elasticache | kubernetes | external` },
        { case: "missing target", raw: {},
          error: `mspbyte-redis:target: missing; allowed: docker | vm | elasticache | kubernetes | external` },
        { case: "typo'd top-level key", raw: { target: "docker", maxmemroy: "1gb" },
          error: `mspbyte-redis:maxmemroy: unknown key; allowed keys: bullmq, docker, elasticache, external, kubernetes, maxmemory, password, protect, target, tlsCa, tlsCertificate, tlsKey, vm (did you mean "maxmemory"?)` },
        { case: "typo'd docker key", raw: { target: "docker", docker: docker({ hostPrt: 6380 }) },
          error: `mspbyte-redis:docker.hostPrt: unknown key; allowed keys: containerName, deleteData, exposeToNetwork, hostIp, hostPort, image, logMaxFiles, logMaxSize, memoryLimit, tls, volumeName (did you mean "hostPort"?)` },
        { case: "port out of range", raw: { target: "docker", docker: docker({ hostPort: 70000 }) },
          error: `mspbyte-redis:docker.hostPort: given 70000; allowed: an integer from 1 to 65535` },
        { case: "port not a number", raw: { target: "docker", docker: docker({ hostPort: "abc" }) },
          error: `mspbyte-redis:docker.hostPort: given "abc"; allowed: an integer from 1 to 65535` },
        { case: "port not whole", raw: { target: "docker", docker: docker({ hostPort: 6379.5 }) },
          error: `mspbyte-redis:docker.hostPort: given 6379.5; allowed: an integer from 1 to 65535` },
        { case: "memory size with a bad unit", raw: { target: "docker", maxmemory: "512 megs" },
          error: `mspbyte-redis:maxmemory: given "512 megs"; allowed: ${MEMORY}` },
        { case: "memory size in terabytes (redis.conf has no tb)", raw: { target: "docker", maxmemory: "1tb" },
          error: `mspbyte-redis:maxmemory: given "1tb"; allowed: ${MEMORY}` },
        { case: "maxmemory 0 (no ceiling)", raw: { target: "docker", maxmemory: "0" },
          error: `mspbyte-redis:maxmemory: given "0"; allowed: ${MEMORY}` },
        { case: "container memory limit too small", raw: { target: "docker", docker: docker({ memoryLimit: "1mb" }) },
          error: `mspbyte-redis:docker.memoryLimit: given "1mb"; allowed: ${MEMORY}` },
        { case: "too-short password", raw: { target: "docker", password: "short" }, secrets: ["password"],
          error: `mspbyte-redis:password: given a secret of 5 characters; allowed: ${PASSWORD}` },
        { case: "password with spaces", raw: { target: "docker", password: "has spaces in the password" }, secrets: ["password"],
          error: `mspbyte-redis:password: given a secret of 26 characters; allowed: ${PASSWORD}` },
        { case: "password set as plain text", raw: { target: "docker", password: "long-enough-password-123" },
          error: "mspbyte-redis:password: given as plain text; allowed: a secret, set with `pulumi config set --secret password`" },
        { case: "0.0.0.0 without the opt-in", raw: { target: "docker", docker: docker({ hostIp: "0.0.0.0", tls: true }) },
          error: `mspbyte-redis:docker.hostIp: given "0.0.0.0"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well` },
        { case: ":: without the opt-in", raw: { target: "docker", docker: docker({ hostIp: "::", tls: true }) },
          error: `mspbyte-redis:docker.hostIp: given "::"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well` },
        { case: "an interface address without TLS", raw: { target: "docker", docker: docker({ hostIp: "192.0.2.10" }) },
          error: `mspbyte-redis:docker.tls: given false; allowed: true when docker.hostIp (192.0.2.10) is not a loopback address: traffic then leaves this machine, and the password and every job with it` },
        { case: "not an IP address", raw: { target: "docker", docker: docker({ hostIp: "999.1.1.1", tls: true }) },
          error: `mspbyte-redis:docker.hostIp: given "999.1.1.1"; allowed: an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address` },
        { case: "unpinned image", raw: { target: "docker", docker: docker({ image: "redis" }) },
          error: `mspbyte-redis:docker.image: given "redis"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you` },
        { case: ":latest image", raw: { target: "docker", docker: docker({ image: "redis:latest" }) },
          error: `mspbyte-redis:docker.image: given "redis:latest"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you` },
        { case: "deleteData not a boolean", raw: { target: "docker", docker: docker({ deleteData: "yes" }) },
          error: `mspbyte-redis:docker.deleteData: given "yes"; allowed: true or false` },
        { case: "protect not a boolean", raw: { target: "docker", protect: "maybe" },
          error: `mspbyte-redis:protect: given "maybe"; allowed: true or false` },
        { case: "docker not an object", raw: { target: "docker", docker: "fast" },
          error: `mspbyte-redis:docker: given "fast"; allowed: an object with the keys containerName, deleteData, exposeToNetwork, hostIp, hostPort, image, logMaxFiles, logMaxSize, memoryLimit, tls, volumeName` },
        { case: "bad BullMQ prefix", raw: { target: "docker", bullmq: JSON.stringify({ prefix: "bad prefix" }) },
          error: `mspbyte-redis:bullmq.prefix: given "bad prefix"; allowed: a key prefix: letters, digits, and _ - : { }` },
    ])("$case", ({ raw, error, secrets }: { raw: Record<string, unknown>; error: string; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "dev", new Set(secrets))).toThrow(new ConfigError([error]));
        try {
            parseStackConfig(raw, "dev", new Set(secrets));
        } catch (e) {
            expect((e as Error).message).toBe(HEAD + "  - " + error);
        }
    });

    it("a certificate without its key and CA, and a key set as plain text", () => {
        const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        expect(() => parseStackConfig({ target: "docker", tlsCertificate: cert, tlsKey: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n" }, "dev"))
            .toThrow(new ConfigError([
                "mspbyte-redis:tlsCa: missing; allowed: all three of tlsCertificate, tlsKey and tlsCa, or none (a certificate is then generated)",
                "mspbyte-redis:tlsKey: given as plain text; allowed: a secret, set with `pulumi config set --secret tlsKey < server.key`",
            ]));
    });

    it("reports every problem at once, not the first only", () => {
        expect(() => parseStackConfig({ target: "docker", maxmemory: "lots", docker: docker({ hostPort: 0, deleteData: 1 }) }, "dev"))
            .toThrow(new ConfigError([
                `mspbyte-redis:maxmemory: given "lots"; allowed: ${MEMORY}`,
                `mspbyte-redis:docker.hostPort: given 0; allowed: an integer from 1 to 65535`,
                `mspbyte-redis:docker.deleteData: given 1; allowed: true or false`,
            ]));
    });

    it("never prints a password, even a refused one", () => {
        expect(() => parseStackConfig({ target: "docker", password: "tiny secret" }, "dev", new Set(["password"])))
            .toThrow(/given a secret of 11 characters/);
        try {
            parseStackConfig({ target: "docker", password: "tiny secret" }, "dev", new Set(["password"]));
        } catch (e) {
            expect((e as Error).message).not.toContain("tiny secret");
        }
    });
});

describe("parseStackConfig accepts good input and fills defaults", () => {
    it("a bare docker stack", () => {
        const c = parseStackConfig({ target: "docker" }, "dev");
        expect(c).toEqual({
            stack: "dev",
            target: "docker",
            password: undefined,
            protect: false,
            maxmemory: undefined,
            bullmq: { prefix: "bull", queue: "pipeline-jobs" },
            docker: {
                image: DEFAULT_REDIS_IMAGE, containerName: "mspbyte-redis", volumeName: "mspbyte-redis-data",
                hostPort: 6379, hostIp: "127.0.0.1", exposeToNetwork: false, tls: false, deleteData: false,
                logMaxSize: "10m", logMaxFiles: 3,
            },
        });
    });

    it("protects data by default on every stack but dev", () => {
        expect(parseStackConfig({ target: "docker" }, "staging").protect).toBe(true);
        expect(parseStackConfig({ target: "docker", protect: "false" }, "staging").protect).toBe(false);
    });

    it.each(["512mb", "1gb", "536870912", "64MB", "100000000"])("memory size %s", (size) => {
        expect(parseStackConfig({ target: "docker", maxmemory: size }, "dev").maxmemory).toBe(size.toLowerCase());
    });

    it("0.0.0.0 with the explicit opt-in", () => {
        const c = parseStackConfig({ target: "docker", docker: docker({ hostIp: "0.0.0.0", exposeToNetwork: true, tls: true }) }, "dev");
        expect(c.docker.hostIp).toBe("0.0.0.0");
    });

    it("a password of digits stays a string, and a digest-pinned image is accepted", () => {
        const c = parseStackConfig({ target: "docker", password: "12345678901234567890", docker: docker({ image: `redis@sha256:${"a".repeat(64)}` }) }, "dev", new Set(["password"]));
        expect(c.password).toBe("12345678901234567890");
        expect(c.docker.image).toBe(`redis@sha256:${"a".repeat(64)}`);
    });
});

const ec = (o: object) => JSON.stringify({ vpcId: "vpc-0abc", subnetIds: ["subnet-0a", "subnet-0b"], allowedSecurityGroupIds: ["sg-0c"], ...o });

describe("managed and external targets refuse unsafe or impossible config", () => {
    it.each([
        { case: "serverless", raw: { target: "elasticache", elasticache: ec({ serverless: true }) },
          error: "mspbyte-redis:elasticache.serverless: given true; allowed: false; ElastiCache Serverless fixes maxmemory-policy at volatile-lru, which evicts jobs, and the policy cannot be changed" },
        { case: "Multi-AZ with no replica", raw: { target: "elasticache", elasticache: ec({ replicas: 0, multiAz: true }) },
          error: "mspbyte-redis:elasticache.multiAz: given true; allowed: false with replicas: 0; Multi-AZ fails over to a replica in another zone, so it needs elasticache.replicas of 1 or more" },
        { case: "ingress from 0.0.0.0/0", raw: { target: "elasticache", elasticache: ec({ allowedCidrs: ["10.0.0.0/16", "0.0.0.0/0"] }) },
          error: "mspbyte-redis:elasticache.allowedCidrs[1]: given \"0.0.0.0/0\"; allowed: a private CIDR block; 0.0.0.0/0 would admit the whole internet to the queue (use allowedCidrs for the pipeline's subnets, or allowedSecurityGroupIds)" },
        { case: "ingress from ::/0", raw: { target: "elasticache", elasticache: ec({ allowedCidrs: ["::/0"] }) },
          error: "mspbyte-redis:elasticache.allowedCidrs[0]: given \"::/0\"; allowed: a private CIDR block; ::/0 would admit the whole internet to the queue (use allowedCidrs for the pipeline's subnets, or allowedSecurityGroupIds)" },
        { case: "no source admitted", raw: { target: "elasticache", elasticache: JSON.stringify({ vpcId: "vpc-0abc", subnetIds: ["subnet-0a"] }) },
          error: "mspbyte-redis:elasticache.allowedCidrs: given []; allowed: at least one CIDR block here or one security group in elasticache.allowedSecurityGroupIds; without either nothing can reach the cache" },
        { case: "too many replicas", raw: { target: "elasticache", elasticache: ec({ replicas: 6 }) },
          error: "mspbyte-redis:elasticache.replicas: given 6; allowed: an integer from 0 to 5" },
        { case: "snapshots off", raw: { target: "elasticache", elasticache: ec({ snapshotRetentionDays: 0 }) },
          error: "mspbyte-redis:elasticache.snapshotRetentionDays: given 0; allowed: an integer from 1 to 35 (snapshots stand in for the AOF ElastiCache cannot run)" },
        { case: "a log retention CloudWatch does not offer", raw: { target: "elasticache", elasticache: ec({ logRetentionDays: 4 }) },
          error: "mspbyte-redis:elasticache.logRetentionDays: given 4; allowed: one of CloudWatch's retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653" },
        { case: "an ElastiCache node type for MemoryDB", raw: { target: "elasticache", elasticache: ec({ service: "memorydb", nodeType: "cache.t4g.small" }) },
          error: "mspbyte-redis:elasticache.nodeType: given \"cache.t4g.small\"; allowed: a MemoryDB node type (db.*), such as db.t4g.small" },
        { case: "shards without cluster mode", raw: { target: "elasticache", elasticache: ec({ shards: 2 }) },
          error: "mspbyte-redis:elasticache.shards: given 2; allowed: unset unless elasticache.clusterMode is true" },
        { case: "maxmemory on ElastiCache", raw: { target: "elasticache", elasticache: ec({}), maxmemory: "1gb" },
          error: "mspbyte-redis:maxmemory: given \"1gb\"; allowed: unset for target elasticache; the node type sets maxmemory and reserved-memory-percent keeps the headroom (choose elasticache.nodeType instead)" },
        { case: "an AUTH token with @", raw: { target: "elasticache", elasticache: ec({}), password: "has@an-at-sign-in-it" }, secrets: ["password"],
          error: "mspbyte-redis:password: given a secret of 20 characters; allowed: an AUTH token without spaces, /, \" or @ (ElastiCache's rule); leave it unset to have one generated" },
        { case: "an unknown engine", raw: { target: "elasticache", elasticache: ec({ engine: "keydb" }) },
          error: "mspbyte-redis:elasticache.engine: given \"keydb\"; allowed: valkey | redis" },
        { case: "elasticache without its block", raw: { target: "elasticache" },
          error: "mspbyte-redis:elasticache: missing; allowed: an object with at least vpcId, subnetIds and allowedCidrs or allowedSecurityGroupIds, for target elasticache" },
        { case: "external in plain text to another host", raw: { target: "external", external: JSON.stringify({ host: "redis.example.com", tls: false }), password: "x".repeat(20) }, secrets: ["password"],
          error: "mspbyte-redis:external.tls: given false; allowed: true for a server on another host; plain text sends the password and every job over the network (set external.allowPlaintext: true to accept that)" },
        { case: "external without a password", raw: { target: "external", external: JSON.stringify({ host: "redis.example.com" }) },
          error: "mspbyte-redis:password: missing; allowed: the external server's password, a secret set with `pulumi config set --secret password`; it cannot be generated for a server this program does not run" },
        { case: "kubernetes without a client allowed in", raw: { target: "kubernetes", kubernetes: JSON.stringify({}) },
          error: "mspbyte-redis:kubernetes.allowedPodLabels: given {}; allowed: at least one label here, or a namespace in kubernetes.allowedNamespaces; the NetworkPolicy would otherwise admit no client" },
        { case: "kubernetes memory limit too small for Redis", raw: { target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" }, memoryLimit: "32Mi" }) },
          error: "mspbyte-redis:kubernetes.memoryLimit: given \"32Mi\"; allowed: a Kubernetes quantity of at least 64Mi, such as 1Gi" },
        { case: "a ServiceMonitor without the exporter", raw: { target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" }, serviceMonitor: true }) },
          error: "mspbyte-redis:kubernetes.serviceMonitor: given true; allowed: false unless kubernetes.metrics is true (the ServiceMonitor scrapes the exporter)" },
        { case: "kubernetes with a :latest image", raw: { target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" }, image: "redis:latest" }) },
          error: `mspbyte-redis:kubernetes.image: given "redis:latest"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you` },
        { case: "vm with ingress from anywhere", raw: { target: "vm", vm: JSON.stringify({ vpcId: "vpc-0a", subnetId: "subnet-0b", allowedCidrs: ["0.0.0.0/0"] }) },
          error: "mspbyte-redis:vm.allowedCidrs[0]: given \"0.0.0.0/0\"; allowed: a private CIDR block; 0.0.0.0/0 would admit the whole internet to the queue (use allowedCidrs for the pipeline's subnets, or allowedSecurityGroupIds)" },
        { case: "vm without its subnet", raw: { target: "vm", vm: JSON.stringify({ vpcId: "vpc-0a", allowedCidrs: ["10.0.0.0/16"] }) },
          error: "mspbyte-redis:vm.subnetId: missing; allowed: a subnet id, such as subnet-0123456789abcdef0" },
    ])("$case", ({ raw, error, secrets }: { raw: Record<string, unknown>; error: string; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "prod", new Set(secrets))).toThrow(new ConfigError([error]));
    });
});
