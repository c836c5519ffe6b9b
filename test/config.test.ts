import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_REDIS_IMAGE, parseStackConfig, type StackConfigOf } from "../src/config";
import { ROOT, stackFileConfig } from "./helpers/pulumiMocks";

const HEAD = "invalid stack config (Pulumi.<stack>.yaml, namespace mspbyte-redis):\n";
const MEMORY = "a memory size of at least 16mb, as redis.conf writes it: bytes (536870912) or a number with b, kb, mb or gb (512mb, 1gb)";
const PASSWORD =
    "a secret of 16 to 128 printable ASCII characters without spaces, set with `pulumi config set --secret password`; leave it unset to have one generated";
const docker = (o: object) => JSON.stringify(o);

describe("parseStackConfig refuses bad input, naming the key, the value and what is allowed", () => {
    it.each([
        {
            case: "unknown target",
            raw: { target: "dockr" },
            error: `mspbyte-redis:target: given "dockr"; allowed: docker | vm | elasticache | kubernetes | external`,
        },
        {
            case: "missing target",
            raw: {},
            error: `mspbyte-redis:target: missing; allowed: docker | vm | elasticache | kubernetes | external`,
        },
        {
            case: "typo'd top-level key",
            raw: { target: "docker", maxmemroy: "1gb" },
            error: `mspbyte-redis:maxmemroy: unknown key; allowed keys: bullmq, docker, elasticache, external, kubernetes, maxmemory, password, previousPassword, protect, target, tlsCa, tlsCertificate, tlsKey, vm (did you mean "maxmemory"?)`,
        },
        {
            case: "typo'd docker key",
            raw: { target: "docker", docker: docker({ hostPrt: 6380 }) },
            error: `mspbyte-redis:docker.hostPrt: unknown key; allowed keys: containerName, deleteData, exposeToNetwork, hostIp, hostPort, image, logMaxFiles, logMaxSize, memoryLimit, tls, volumeName (did you mean "hostPort"?)`,
        },
        {
            case: "port out of range",
            raw: { target: "docker", docker: docker({ hostPort: 70000 }) },
            error: `mspbyte-redis:docker.hostPort: given 70000; allowed: an integer from 1 to 65535`,
        },
        {
            case: "port not a number",
            raw: { target: "docker", docker: docker({ hostPort: "abc" }) },
            error: `mspbyte-redis:docker.hostPort: given "abc"; allowed: an integer from 1 to 65535`,
        },
        {
            case: "port not whole",
            raw: { target: "docker", docker: docker({ hostPort: 6379.5 }) },
            error: `mspbyte-redis:docker.hostPort: given 6379.5; allowed: an integer from 1 to 65535`,
        },
        {
            case: "memory size with a bad unit",
            raw: { target: "docker", maxmemory: "512 megs" },
            error: `mspbyte-redis:maxmemory: given "512 megs"; allowed: ${MEMORY}; write it 512mb`,
        },
        {
            case: "memory size in terabytes (redis.conf has no tb)",
            raw: { target: "docker", maxmemory: "1tb" },
            error: `mspbyte-redis:maxmemory: given "1tb"; allowed: ${MEMORY}; write it 1024gb`,
        },
        {
            case: "maxmemory 0 (no ceiling)",
            raw: { target: "docker", maxmemory: "0" },
            error: `mspbyte-redis:maxmemory: given "0"; allowed: ${MEMORY}`,
        },
        {
            case: "container memory limit too small",
            raw: { target: "docker", docker: docker({ memoryLimit: "1mb" }) },
            error: `mspbyte-redis:docker.memoryLimit: given "1mb"; allowed: ${MEMORY}`,
        },
        {
            case: "too-short password",
            raw: { target: "docker", password: "short" },
            secrets: ["password"],
            error: `mspbyte-redis:password: given a secret of 5 characters; allowed: ${PASSWORD}`,
        },
        {
            case: "password with spaces",
            raw: { target: "docker", password: "has spaces in the password" },
            secrets: ["password"],
            error: `mspbyte-redis:password: given a secret of 26 characters; allowed: ${PASSWORD}`,
        },
        {
            case: "password set as plain text",
            raw: { target: "docker", password: "long-enough-password-123" },
            error: "mspbyte-redis:password: given as plain text; allowed: a secret, set with `pulumi config set --secret password`",
        },
        {
            case: "0.0.0.0 without the opt-in",
            raw: { target: "docker", docker: docker({ hostIp: "0.0.0.0", tls: true }) },
            error: `mspbyte-redis:docker.hostIp: given "0.0.0.0"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well`,
        },
        {
            case: ":: without the opt-in",
            raw: { target: "docker", docker: docker({ hostIp: "::", tls: true }) },
            error: `mspbyte-redis:docker.hostIp: given "::"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well`,
        },
        {
            case: "an interface address without TLS",
            raw: { target: "docker", docker: docker({ hostIp: "192.0.2.10" }) },
            error: `mspbyte-redis:docker.tls: given false; allowed: true when docker.hostIp (192.0.2.10) is not a loopback address: traffic then leaves this machine, and the password and every job with it`,
        },
        {
            case: "not an IP address",
            raw: { target: "docker", docker: docker({ hostIp: "999.1.1.1", tls: true }) },
            error: `mspbyte-redis:docker.hostIp: given "999.1.1.1"; allowed: an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address; not a host name (Docker publishes a name on every address)`,
        },
        {
            case: "unpinned image",
            raw: { target: "docker", docker: docker({ image: "redis" }) },
            error: `mspbyte-redis:docker.image: given "redis"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        },
        {
            case: ":latest image",
            raw: { target: "docker", docker: docker({ image: "redis:latest" }) },
            error: `mspbyte-redis:docker.image: given "redis:latest"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        },
        {
            case: "deleteData not a boolean",
            raw: { target: "docker", docker: docker({ deleteData: "yes" }) },
            error: `mspbyte-redis:docker.deleteData: given "yes"; allowed: true or false`,
        },
        {
            case: "protect not a boolean",
            raw: { target: "docker", protect: "maybe" },
            error: `mspbyte-redis:protect: given "maybe"; allowed: true or false`,
        },
        {
            case: "docker not an object",
            raw: { target: "docker", docker: "fast" },
            error: `mspbyte-redis:docker: given "fast"; allowed: an object with the keys containerName, deleteData, exposeToNetwork, hostIp, hostPort, image, logMaxFiles, logMaxSize, memoryLimit, tls, volumeName`,
        },
        {
            case: "bad BullMQ prefix",
            raw: { target: "docker", bullmq: JSON.stringify({ prefix: "bad prefix" }) },
            error: `mspbyte-redis:bullmq.prefix: given "bad prefix"; allowed: a key prefix: letters, digits, and _ - : { }`,
        },
    ])("$case", ({ raw, error, secrets }: { raw: Record<string, unknown>; error: string; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "dev", new Set(secrets))).toThrow(new ConfigError([error]));
        try {
            parseStackConfig(raw, "dev", new Set(secrets));
        } catch (e) {
            expect((e as Error).message).toBe(`${HEAD}  - ${error}`);
        }
    });

    it("a certificate without its key and CA, and a key set as plain text", () => {
        const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        expect(() =>
            parseStackConfig(
                { target: "docker", tlsCertificate: cert, tlsKey: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n" },
                "dev",
            ),
        ).toThrow(
            new ConfigError([
                "mspbyte-redis:tlsCa: missing; allowed: all three of tlsCertificate, tlsKey and tlsCa, or none (a certificate is then generated)",
                "mspbyte-redis:tlsKey: given as plain text; allowed: a secret, set with `pulumi config set --secret tlsKey < server.key`",
            ]),
        );
    });

    it("reports every problem at once, not the first only", () => {
        expect(() =>
            parseStackConfig({ target: "docker", maxmemory: "lots", docker: docker({ hostPort: 0, deleteData: 1 }) }, "dev"),
        ).toThrow(
            new ConfigError([
                `mspbyte-redis:maxmemory: given "lots"; allowed: ${MEMORY}`,
                `mspbyte-redis:docker.hostPort: given 0; allowed: an integer from 1 to 65535`,
                `mspbyte-redis:docker.deleteData: given 1; allowed: true or false`,
            ]),
        );
    });

    it("never prints a password, even a refused one", () => {
        expect(() => parseStackConfig({ target: "docker", password: "tiny secret" }, "dev", new Set(["password"]))).toThrow(
            /given a secret of 11 characters/,
        );
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
                image: DEFAULT_REDIS_IMAGE,
                containerName: "mspbyte-redis",
                volumeName: "mspbyte-redis-data",
                hostPort: 6379,
                hostIp: "127.0.0.1",
                exposeToNetwork: false,
                tls: false,
                deleteData: false,
                logMaxSize: "10m",
                logMaxFiles: 3,
            },
        });
    });

    it("protects data by default on every stack but dev, and refuses to lift it elsewhere (the policy pack's rule)", () => {
        expect(parseStackConfig({ target: "docker" }, "staging").protect).toBe(true);
        expect(parseStackConfig({ target: "docker", protect: "false" }, "dev").protect).toBe(false);
        expect(parseStackConfig({ target: "docker", protect: "true" }, "dev").protect).toBe(true);
        expect(() => parseStackConfig({ target: "docker", protect: "false" }, "staging")).toThrow(
            new ConfigError([
                "mspbyte-redis:protect: given false; allowed: true or unset on stack staging; only dev may run unprotected (the policy pack's redis-data-protected refuses the same)",
            ]),
        );
        expect(() => parseStackConfig({ target: "docker", docker: docker({ deleteData: true }) }, "prod")).toThrow(
            new ConfigError([
                "mspbyte-redis:docker.deleteData: given true; allowed: false on stack prod; only dev may run unprotected (the policy pack's redis-data-protected refuses the same)",
            ]),
        );
    });

    it.each(["512mb", "1gb", "536870912", "64MB", "100000000"])("memory size %s", (size) => {
        expect(parseStackConfig({ target: "docker", maxmemory: size }, "dev").maxmemory).toBe(size.toLowerCase());
    });

    it("a stack holds its own target's block and no other (no docker block parsed for another target)", () => {
        const k = parseStackConfig({ target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" } }) }, "dev");
        expect(Object.keys(k).filter((key) => ["docker", "vm", "elasticache", "kubernetes", "external"].includes(key))).toEqual([
            "kubernetes",
        ]);
        const x = parseStackConfig(
            { target: "external", password: "p".repeat(20), external: JSON.stringify({ host: "redis.example.com" }) },
            "dev",
            new Set(["password"]),
        );
        expect(Object.keys(x).filter((key) => ["docker", "vm", "elasticache", "kubernetes", "external"].includes(key))).toEqual([
            "external",
        ]);
        expect(x.target === "external" && x.password).toBe("p".repeat(20));
        // The type says the same (checked by tsc): a block is there for its target and absent for the others.
        if (k.target === "kubernetes") expect(k.kubernetes.allowedPodLabels).toEqual({ app: "w" });
        // @ts-expect-error a kubernetes stack has no docker block
        expect(k.target === "kubernetes" && k.docker).toBeUndefined();
        // @ts-expect-error an external stack's password is a string, never undefined
        const unset: StackConfigOf<"external">["password"] = undefined;
        expect(unset).toBeUndefined();
    });

    it("0.0.0.0 with the explicit opt-in", () => {
        const c = parseStackConfig({ target: "docker", docker: docker({ hostIp: "0.0.0.0", exposeToNetwork: true, tls: true }) }, "dev");
        expect(c.target === "docker" && c.docker.hostIp).toBe("0.0.0.0");
    });

    it("a password of digits stays a string, and a digest-pinned image is accepted", () => {
        const c = parseStackConfig(
            { target: "docker", password: "12345678901234567890", docker: docker({ image: `redis@sha256:${"a".repeat(64)}` }) },
            "dev",
            new Set(["password"]),
        );
        expect(c.password).toBe("12345678901234567890");
        expect(c.target === "docker" && c.docker.image).toBe(`redis@sha256:${"a".repeat(64)}`);
    });
});

const ec = (o: object) =>
    JSON.stringify({ vpcId: "vpc-0abc", subnetIds: ["subnet-0a", "subnet-0b"], allowedSecurityGroupIds: ["sg-0c"], ...o });

describe("managed and external targets refuse unsafe or impossible config", () => {
    it.each([
        {
            case: "serverless",
            raw: { target: "elasticache", elasticache: ec({ serverless: true }) },
            error: "mspbyte-redis:elasticache.serverless: given true; allowed: false; ElastiCache Serverless fixes maxmemory-policy at volatile-lru, which evicts jobs, and the policy cannot be changed",
        },
        {
            case: "Multi-AZ with no replica",
            raw: { target: "elasticache", elasticache: ec({ replicas: 0, multiAz: true }) },
            error: "mspbyte-redis:elasticache.multiAz: given true; allowed: false with replicas: 0; Multi-AZ fails over to a replica in another zone, so it needs elasticache.replicas of 1 or more",
        },
        {
            case: "ingress from 0.0.0.0/0",
            raw: { target: "elasticache", elasticache: ec({ allowedCidrs: ["10.0.0.0/16", "0.0.0.0/0"] }) },
            error: 'mspbyte-redis:elasticache.allowedCidrs[1]: given "0.0.0.0/0"; allowed: a private CIDR block; 0.0.0.0/0 would admit the whole internet to the queue (use allowedCidrs for the pipeline\'s subnets, or allowedSecurityGroupIds)',
        },
        {
            case: "ingress from ::/0",
            raw: { target: "elasticache", elasticache: ec({ allowedCidrs: ["::/0"] }) },
            error: 'mspbyte-redis:elasticache.allowedCidrs[0]: given "::/0"; allowed: a private CIDR block; ::/0 would admit the whole internet to the queue (use allowedCidrs for the pipeline\'s subnets, or allowedSecurityGroupIds)',
        },
        {
            case: "no source admitted",
            raw: { target: "elasticache", elasticache: JSON.stringify({ vpcId: "vpc-0abc", subnetIds: ["subnet-0a", "subnet-0b"] }) },
            error: "mspbyte-redis:elasticache.allowedCidrs: given []; allowed: at least one CIDR block here or one security group in elasticache.allowedSecurityGroupIds; without either nothing can reach the cache",
        },
        {
            case: "too many replicas",
            raw: { target: "elasticache", elasticache: ec({ replicas: 6 }) },
            error: "mspbyte-redis:elasticache.replicas: given 6; allowed: an integer from 0 to 5",
        },
        {
            case: "snapshots off",
            raw: { target: "elasticache", elasticache: ec({ snapshotRetentionDays: 0 }) },
            error: "mspbyte-redis:elasticache.snapshotRetentionDays: given 0; allowed: an integer from 1 to 35 (snapshots stand in for the AOF ElastiCache cannot run)",
        },
        {
            case: "a log retention CloudWatch does not offer",
            raw: { target: "elasticache", elasticache: ec({ logRetentionDays: 4 }) },
            error: "mspbyte-redis:elasticache.logRetentionDays: given 4; allowed: one of CloudWatch's retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
        },
        {
            case: "an ElastiCache node type for MemoryDB",
            raw: { target: "elasticache", elasticache: ec({ service: "memorydb", nodeType: "cache.t4g.small" }) },
            error: 'mspbyte-redis:elasticache.nodeType: given "cache.t4g.small"; allowed: a MemoryDB node type (db.*), such as db.t4g.small',
        },
        {
            case: "shards without cluster mode",
            raw: { target: "elasticache", elasticache: ec({ shards: 2 }) },
            error: "mspbyte-redis:elasticache.shards: given 2; allowed: unset unless elasticache.clusterMode is true",
        },
        {
            case: "maxmemory on ElastiCache",
            raw: { target: "elasticache", elasticache: ec({}), maxmemory: "1gb" },
            error: 'mspbyte-redis:maxmemory: given "1gb"; allowed: unset for target elasticache; the node type sets maxmemory and reserved-memory-percent keeps the headroom (choose elasticache.nodeType instead)',
        },
        {
            case: "an AUTH token with @",
            raw: { target: "elasticache", elasticache: ec({}), password: "has@an-at-sign-in-it" },
            secrets: ["password"],
            error: "mspbyte-redis:password: given a secret of 20 characters; allowed: an AUTH token of letters, digits and only these specials: ! & # $ ^ < > - (ElastiCache's rule); leave it unset to have one generated",
        },
        {
            case: "an unknown engine",
            raw: { target: "elasticache", elasticache: ec({ engine: "keydb" }) },
            error: 'mspbyte-redis:elasticache.engine: given "keydb"; allowed: valkey | redis',
        },
        {
            case: "elasticache without its block",
            raw: { target: "elasticache" },
            error: "mspbyte-redis:elasticache: missing; allowed: an object with at least vpcId, subnetIds and allowedCidrs or allowedSecurityGroupIds, for target elasticache",
        },
        {
            case: "external in plain text to another host",
            raw: { target: "external", external: JSON.stringify({ host: "redis.example.com", tls: false }), password: "x".repeat(20) },
            secrets: ["password"],
            error: "mspbyte-redis:external.tls: given false; allowed: true for a server on another host; plain text sends the password and every job over the network (set external.allowPlaintext: true to accept that)",
        },
        {
            case: "external without a password",
            raw: { target: "external", external: JSON.stringify({ host: "redis.example.com" }) },
            error: "mspbyte-redis:password: missing; allowed: the external server's password, a secret set with `pulumi config set --secret password`; it cannot be generated for a server this program does not run",
        },
        {
            case: "kubernetes without a client allowed in",
            raw: { target: "kubernetes", kubernetes: JSON.stringify({}) },
            error: "mspbyte-redis:kubernetes.allowedPodLabels: given {}; allowed: at least one label here, or a namespace in kubernetes.allowedNamespaces; the NetworkPolicy would otherwise admit no client",
        },
        {
            case: "kubernetes memory limit too small for Redis",
            raw: { target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" }, memoryLimit: "32Mi" }) },
            error: 'mspbyte-redis:kubernetes.memoryLimit: given "32Mi"; allowed: a Kubernetes quantity of at least 64Mi, such as 1Gi',
        },
        {
            case: "a ServiceMonitor without the exporter",
            raw: { target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" }, serviceMonitor: true }) },
            error: "mspbyte-redis:kubernetes.serviceMonitor: given true; allowed: false unless kubernetes.metrics is true (the ServiceMonitor scrapes the exporter)",
        },
        {
            case: "an exporter image the policy pack would refuse (LATEST is latest)",
            raw: {
                target: "kubernetes",
                kubernetes: JSON.stringify({
                    allowedPodLabels: { app: "w" },
                    metrics: true,
                    exporterImage: "oliver006/redis_exporter:LATEST",
                }),
            },
            error: `mspbyte-redis:kubernetes.exporterImage: given "oliver006/redis_exporter:LATEST"; allowed: an image pinned by tag or digest`,
        },
        {
            case: "kubernetes with a :latest image",
            raw: { target: "kubernetes", kubernetes: JSON.stringify({ allowedPodLabels: { app: "w" }, image: "redis:latest" }) },
            error: `mspbyte-redis:kubernetes.image: given "redis:latest"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        },
        {
            case: "vm with ingress from anywhere",
            raw: { target: "vm", vm: JSON.stringify({ vpcId: "vpc-0a", subnetId: "subnet-0b", allowedCidrs: ["0.0.0.0/0"] }) },
            error: 'mspbyte-redis:vm.allowedCidrs[0]: given "0.0.0.0/0"; allowed: a private CIDR block; 0.0.0.0/0 would admit the whole internet to the queue (use allowedCidrs for the pipeline\'s subnets, or allowedSecurityGroupIds)',
        },
        {
            case: "vm without its subnet",
            raw: { target: "vm", vm: JSON.stringify({ vpcId: "vpc-0a", allowedCidrs: ["10.0.0.0/16"] }) },
            error: "mspbyte-redis:vm.subnetId: missing; allowed: a subnet id, such as subnet-0123456789abcdef0",
        },
    ])("$case", ({ raw, error, secrets }: { raw: Record<string, unknown>; error: string; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "prod", new Set(secrets))).toThrow(new ConfigError([error]));
    });
});

const K8S = (o: object = {}) => JSON.stringify({ allowedPodLabels: { app: "pipeline-worker" }, ...o });
const VM = (o: object = {}) =>
    JSON.stringify({
        vpcId: "vpc-0123456789abcdef0",
        subnetId: "subnet-0a1b2c3d4e5f60001",
        allowedSecurityGroupIds: ["sg-0a1b2c3d4e5f60003"],
        ...o,
    });
const EXT = (o: object = {}) => JSON.stringify({ host: "redis.example.com", ...o });
const SECRET = ["password", "tlsCertificate", "tlsKey", "tlsCa"];
const PW = "Pipeline-Password-0123456789";
const FIT =
    "the rest is headroom for the fork that snapshots and AOF rewrites make, and beyond it the kernel kills Redis before noeviction refuses a write (or give the server more memory)";
const PUBLIC = "a private CIDR block (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7)";
const VIA = "(use allowedCidrs for the pipeline's subnets, or allowedSecurityGroupIds)";

describe("values the server takes, memory that fits, sections, addresses and networks", () => {
    it.each([
        // redis.conf spellings Redis refuses, refused here with the one it wants
        {
            case: "a size with a space (Redis: wrong number of arguments)",
            raw: { target: "docker", maxmemory: "512 MB" },
            error: `mspbyte-redis:maxmemory: given "512 MB"; allowed: ${MEMORY}; write it 512mb`,
        },
        {
            case: "a fractional size",
            raw: { target: "docker", maxmemory: "1.5gb" },
            error: `mspbyte-redis:maxmemory: given "1.5gb"; allowed: ${MEMORY}; write it 1536mb`,
        },
        {
            case: "a Kubernetes quantity",
            raw: { target: "docker", maxmemory: "512Mi" },
            error: `mspbyte-redis:maxmemory: given "512Mi"; allowed: ${MEMORY}; write it 512mb`,
        },
        {
            case: "a signed size",
            raw: { target: "docker", maxmemory: "+512mb" },
            error: `mspbyte-redis:maxmemory: given "+512mb"; allowed: ${MEMORY}; write it 512mb`,
        },
        {
            case: "a size below the minimum, even well spelled",
            raw: { target: "docker", maxmemory: "8 MB" },
            error: `mspbyte-redis:maxmemory: given "8 MB"; allowed: ${MEMORY}`,
        },
        {
            case: "a container limit written with a space",
            raw: { target: "docker", docker: docker({ memoryLimit: "1 GB" }) },
            error: `mspbyte-redis:docker.memoryLimit: given "1 GB"; allowed: ${MEMORY}; write it 1gb`,
        },
        // memory that fits what the target gives the server
        {
            case: "maxmemory above the container's limit less fork headroom",
            raw: { target: "docker", maxmemory: "1gb", docker: docker({ memoryLimit: "1gb" }) },
            error: `mspbyte-redis:maxmemory: given "1gb"; allowed: at most 614mb for docker.memoryLimit 1gb: ${FIT}`,
        },
        {
            case: "a container limit too small to leave 16mb",
            raw: { target: "docker", docker: docker({ memoryLimit: "20mb" }) },
            error: `mspbyte-redis:docker.memoryLimit: given "20mb"; allowed: more memory: docker.memoryLimit 20mb leaves 12mb for maxmemory, under the 16mb a queue needs`,
        },
        {
            case: "maxmemory above the instance type's memory",
            raw: { target: "vm", vm: VM({ instanceType: "t4g.small" }), maxmemory: "2gb" },
            error: `mspbyte-redis:maxmemory: given "2gb"; allowed: at most 1075mb for vm.instanceType t4g.small (2gb, less 256mb for the system): ${FIT}`,
        },
        {
            case: "maxmemory for an instance type config cannot size",
            raw: { target: "vm", vm: VM({ instanceType: "x2iedn.xlarge" }), maxmemory: "2gb" },
            error: `mspbyte-redis:maxmemory: given "2gb"; allowed: unset for vm.instanceType x2iedn.xlarge, whose memory config does not know (maxmemory is then sized from it at deploy), or an instance type of the families in memory.ts's INSTANCE_MEMORY_MIB`,
        },
        {
            case: "maxmemory above the pod's memory limit",
            raw: { target: "kubernetes", kubernetes: K8S({ memoryLimit: "512Mi" }), maxmemory: "512mb" },
            error: `mspbyte-redis:maxmemory: given "512mb"; allowed: at most 307mb for kubernetes.memoryLimit 512Mi: ${FIT}`,
        },
        {
            case: "maxmemory on an external server",
            raw: { target: "external", external: EXT(), password: PW, maxmemory: "1gb" },
            secrets: ["password"],
            error: `mspbyte-redis:maxmemory: given "1gb"; allowed: unset for target external; the provider's plan sets maxmemory on a server this program does not run`,
        },
        // sections for a target the stack does not use
        {
            case: "an elasticache block on a docker stack",
            raw: { target: "docker", elasticache: JSON.stringify({ nodeType: "cache.r7g.large" }) },
            error: "mspbyte-redis:elasticache: given an elasticache block; allowed: unset for target docker; this block configures target elasticache and nothing in it applies here (remove it, or set target: elasticache)",
        },
        {
            case: "a docker block on a kubernetes stack",
            raw: { target: "kubernetes", kubernetes: K8S(), docker: docker({ memoryLimit: "1gb" }) },
            error: "mspbyte-redis:docker: given a docker block; allowed: unset for target kubernetes; this block configures target docker and nothing in it applies here (remove it, or set target: docker)",
        },
        // addresses
        {
            case: "external host with the port, as consoles show it",
            raw: { target: "external", external: EXT({ host: "redis-12345.example.com:12345" }), password: PW },
            secrets: ["password"],
            error: `mspbyte-redis:external.host: given "redis-12345.example.com:12345"; allowed: the server's host name or IP address alone, without a port or scheme (the port goes in external.port); here host redis-12345.example.com and external.port 12345`,
        },
        {
            case: "external host as a URL",
            raw: { target: "external", external: EXT({ host: "rediss://default@redis.example.com:6380" }), password: PW },
            secrets: ["password"],
            error: `mspbyte-redis:external.host: given "rediss://default@redis.example.com:6380"; allowed: the server's host name or IP address alone, without a port or scheme (the port goes in external.port); here host redis.example.com and external.port 6380`,
        },
        {
            case: "external host as a bracketed IPv6 endpoint",
            raw: { target: "external", external: EXT({ host: "[2001:db8::10]:6379" }), password: PW },
            secrets: ["password"],
            error: `mspbyte-redis:external.host: given "[2001:db8::10]:6379"; allowed: the server's host name or IP address alone, without a port or scheme (the port goes in external.port); here host 2001:db8::10 and external.port 6379`,
        },
        {
            case: "external host with an underscore",
            raw: { target: "external", external: EXT({ host: "redis_primary.internal" }), password: PW },
            secrets: ["password"],
            error: `mspbyte-redis:external.host: given "redis_primary.internal"; allowed: the server's host name or IP address alone, without a port or scheme (the port goes in external.port)`,
        },
        // networks judged by what they cover
        {
            case: "two halves of the IPv4 internet",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["0.0.0.0/1", "128.0.0.0/1"], allowPublicCidrs: true }) },
            error: `mspbyte-redis:vm.allowedCidrs: given ["0.0.0.0/1","128.0.0.0/1"]; allowed: private CIDR blocks; together these cover every IPv4 address on the internet, as 0.0.0.0/0 would ${VIA}`,
        },
        {
            case: "::/0 spelled 0::/0",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["0::/0"] }) },
            error: `mspbyte-redis:vm.allowedCidrs[0]: given "0::/0"; allowed: a private CIDR block; ::/0 would admit the whole internet to the queue ${VIA}`,
        },
        {
            case: "2000::/4 with 3000::/4 (global unicast in two halves)",
            raw: { target: "elasticache", elasticache: ec({ allowedCidrs: ["2000::/4", "3000::/4"], allowPublicCidrs: true }) },
            error: `mspbyte-redis:elasticache.allowedCidrs: given ["2000::/4","3000::/4"]; allowed: private CIDR blocks; together these cover every IPv6 address on the internet, as ::/0 would ${VIA}`,
        },
        {
            case: "all of global unicast IPv6",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["2000::/3"], allowPublicCidrs: true }) },
            error: `mspbyte-redis:vm.allowedCidrs[0]: given "2000::/3"; allowed: a private CIDR block; 2000::/3 would admit the whole internet to the queue ${VIA}`,
        },
        {
            case: "a public range without the opt-in",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["10.0.0.0/16", "8.8.8.0/24"] }) },
            error: `mspbyte-redis:vm.allowedCidrs[1]: given "8.8.8.0/24"; allowed: ${PUBLIC}; 8.8.8.0/24 reaches public addresses, which needs vm.allowPublicCidrs: true`,
        },
        {
            case: "a block wider than the private range it starts in",
            raw: { target: "elasticache", elasticache: ec({ allowedCidrs: ["10.0.0.0/7"] }) },
            error: `mspbyte-redis:elasticache.allowedCidrs[0]: given "10.0.0.0/7"; allowed: ${PUBLIC}; 10.0.0.0/7 reaches public addresses, which needs elasticache.allowPublicCidrs: true`,
        },
        {
            case: "::/1 alone (it holds all of global unicast)",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["::/1"], allowPublicCidrs: true }) },
            error: `mspbyte-redis:vm.allowedCidrs[0]: given "::/1"; allowed: a private CIDR block; ::/1 would admit the whole internet to the queue ${VIA}`,
        },
        {
            case: "an address with host bits under a prefix",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["10.1.2.3/16"] }) },
            error: `mspbyte-redis:vm.allowedCidrs[0]: given "10.1.2.3/16"; allowed: a CIDR block with the network's own address, here 10.1.0.0/16`,
        },
        {
            case: "an address without a prefix",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["10.1.2.3"] }) },
            error: `mspbyte-redis:vm.allowedCidrs[0]: given "10.1.2.3"; allowed: a CIDR block with the network's own address, here 10.1.2.3/32`,
        },
        // images
        {
            case: "a registry with a port and no tag",
            raw: { target: "docker", docker: docker({ image: "registry.local:5000/redis" }) },
            error: `mspbyte-redis:docker.image: given "registry.local:5000/redis"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        },
        {
            case: "a tag in capitals that is still latest",
            raw: { target: "kubernetes", kubernetes: K8S({ image: "redis:LATEST" }) },
            error: `mspbyte-redis:kubernetes.image: given "redis:LATEST"; allowed: an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        },
        // the stack's own certificate on a target that cannot use it
        {
            case: "TLS material on an external stack",
            raw: {
                target: "external",
                external: EXT(),
                password: PW,
                tlsCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                tlsKey: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
                tlsCa: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            },
            secrets: SECRET,
            error: "mspbyte-redis:tlsCertificate: given a secret of 59 characters; allowed: unset for target external, with tlsKey and tlsCa; the stack's own certificate is used by the docker, vm and kubernetes targets only",
        },
    ])("$case", ({ raw, error, secrets }: { raw: Record<string, unknown>; error: string; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "dev", new Set(secrets))).toThrow(new ConfigError([error]));
    });

    it.each([
        {
            case: "maxmemory at the container's largest safe value",
            raw: { target: "docker", maxmemory: "614mb", docker: docker({ memoryLimit: "1gb" }) },
        },
        {
            case: "maxmemory at the instance type's largest safe value",
            raw: { target: "vm", vm: VM({ instanceType: "r7g.large" }), maxmemory: "9676mb" },
        },
        {
            case: "public sources with the opt-in",
            raw: { target: "vm", vm: VM({ allowedCidrs: ["203.0.113.0/24", "2600:1f18::/40"], allowPublicCidrs: true }) },
        },
        {
            case: "private sources, IPv4 and IPv6",
            raw: {
                target: "elasticache",
                elasticache: ec({ allowedCidrs: ["10.0.0.0/16", "172.16.0.0/12", "100.64.0.0/10", "fd12:3456::/48"] }),
            },
        },
        {
            case: "an external host name, an IPv4 and an IPv6 address",
            raw: { target: "external", external: EXT({ host: "redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com." }), password: PW },
            secrets: ["password"],
        },
        {
            case: "external on an IPv6 address",
            raw: { target: "external", external: EXT({ host: "2001:db8::10" }), password: PW },
            secrets: ["password"],
        },
        {
            case: "an image from a registry with a port, pinned",
            raw: { target: "docker", docker: docker({ image: "registry.local:5000/team/redis:7.4.11" }) },
        },
    ])("accepts $case", ({ raw, secrets }: { raw: Record<string, unknown>; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "dev", new Set(secrets))).not.toThrow();
    });
});

const KEY_BODY =
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvuNMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ";
const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`;
const CERT = "-----BEGIN CERTIFICATE-----\nMIIDazCCAlOgAwIBAgIUYkz7\n-----END CERTIFICATE-----\n";

describe("no secret in any message, and every message short", () => {
    it("a private key given as the certificate (swapped) is never printed", () => {
        const raw = { target: "docker", tlsCertificate: PRIVATE_KEY, tlsKey: CERT, tlsCa: CERT };
        expect(() => parseStackConfig(raw, "dev", new Set(SECRET))).toThrow(
            new ConfigError([
                `mspbyte-redis:tlsCertificate: given a secret of ${PRIVATE_KEY.length} characters; allowed: a PEM certificate (-----BEGIN CERTIFICATE-----)`,
                `mspbyte-redis:tlsKey: given a secret of ${CERT.length} characters; allowed: a PEM private key (-----BEGIN ... PRIVATE KEY-----)`,
            ]),
        );
    });

    it.each([
        {
            case: "a private key pasted as the container name",
            raw: { target: "docker", docker: docker({ containerName: PRIVATE_KEY }) },
            error: "mspbyte-redis:docker.containerName: given a value that looks like key material (252 characters, not shown); allowed: a container name: letters, digits, _ . - (starting with a letter or digit)",
        },
        {
            case: "a value under a non-secret key is shown",
            raw: { target: "external", external: EXT({ username: "user name" }), password: PW },
            secrets: ["password"],
            error: `mspbyte-redis:external.username: given "user name"; allowed: an ACL user name`,
        },
        {
            case: "an access key as a bucket-like value",
            raw: { target: "docker", docker: docker({ volumeName: "AKIAIOSFODNN7EXAMPLE secret" }) },
            error: "mspbyte-redis:docker.volumeName: given a value that looks like key material (29 characters, not shown); allowed: a volume name: letters, digits, _ . - (starting with a letter or digit)",
        },
        {
            case: "a long random token as the BullMQ queue",
            raw: { target: "docker", bullmq: JSON.stringify({ queue: "sk_live_4eC39HqLyjWDarjtT1zdp7dc+Q9" }) },
            error: "mspbyte-redis:bullmq.queue: given a value that looks like key material (37 characters, not shown); allowed: a queue name: letters, digits, _ and -",
        },
        {
            case: "a very long value, cut short",
            raw: { target: "docker", docker: docker({ logMaxSize: "x".repeat(5000) }) },
            error: `mspbyte-redis:docker.logMaxSize: given "${"x".repeat(59)}… (5002 characters); allowed: a size with k, m or g, such as 10m`,
        },
        {
            case: "a very long unknown key, cut short",
            raw: { target: "docker", ["k".repeat(300)]: "1" },
            error: `mspbyte-redis:${"k".repeat(40)}… (300 characters): unknown key; allowed keys: bullmq, docker, elasticache, external, kubernetes, maxmemory, password, previousPassword, protect, target, tlsCa, tlsCertificate, tlsKey, vm`,
        },
    ])("$case", ({ raw, error, secrets }: { raw: Record<string, unknown>; error: string; secrets?: string[] }) => {
        expect(() => parseStackConfig(raw, "dev", new Set(secrets))).toThrow(new ConfigError([error]));
    });
});

it("lists at most 20 problems, whatever was given", () => {
    const raw = {
        target: "vm",
        vm: JSON.stringify({
            vpcId: "vpc-0123456789abcdef0",
            subnetId: "subnet-0a1b2c3d4e5f60001",
            allowedCidrs: Array.from({ length: 5000 }, (_, i) => `10.0.${i % 256}.1/24`),
        }),
    };
    const message = (() => {
        try {
            parseStackConfig(raw, "dev");
            return "";
        } catch (e) {
            return (e as Error).message;
        }
    })();
    const lines = message.split("\n");
    expect(lines).toHaveLength(1 + 20 + 1);
    expect(lines[1]).toBe(
        '  - mspbyte-redis:vm.allowedCidrs[0]: given "10.0.0.1/24"; allowed: a CIDR block with the network\'s own address, here 10.0.0.0/24',
    );
    expect(lines[21]).toBe("  - ... and 4980 more problems, not listed: fix these first");
    expect(message.length).toBeLessThan(4000);
});

describe("every real stack file passes the checks above", () => {
    it.each(
        fs
            .readdirSync(ROOT)
            .filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f))
            .map((f) => f.split(".")[1]!),
    )("Pulumi.%s.yaml", (stack) => {
        const raw: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(stackFileConfig(stack)))
            if (key.startsWith("mspbyte-redis:")) raw[key.slice("mspbyte-redis:".length)] = value;
        const secrets = raw.target === "external" ? { password: "Stack-File-Password-0123" } : {};
        expect(() => parseStackConfig({ ...raw, ...secrets }, stack, new Set(Object.keys(secrets)))).not.toThrow();
    });
});

it("a container limit that is not whole megabytes is refused with the megabytes the provider would give", () => {
    expect(() => parseStackConfig({ target: "docker", docker: JSON.stringify({ memoryLimit: "1000000000" }) }, "dev")).toThrow(
        new ConfigError([
            'mspbyte-redis:docker.memoryLimit: given "1000000000"; allowed: a whole number of megabytes, as the Docker provider takes it; here 953mb',
        ]),
    );
    expect(() => parseStackConfig({ target: "docker", docker: JSON.stringify({ memoryLimit: "1g" }) }, "dev")).toThrow(/here 953mb/);
    const accepted = parseStackConfig({ target: "docker", docker: JSON.stringify({ memoryLimit: "1024MB" }) }, "dev");
    expect(accepted.target === "docker" && accepted.docker.memoryLimit).toBe("1024MB");
});
