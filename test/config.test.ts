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
          error: `mspbyte-redis:maxmemroy: unknown key; allowed keys: bullmq, docker, elasticache, external, kubernetes, maxmemory, password, protect, target, vm (did you mean "maxmemory"?)` },
        { case: "typo'd docker key", raw: { target: "docker", docker: docker({ hostPrt: 6380 }) },
          error: `mspbyte-redis:docker.hostPrt: unknown key; allowed keys: containerName, deleteData, exposeToNetwork, hostIp, hostPort, image, logMaxFiles, logMaxSize, memoryLimit, volumeName (did you mean "hostPort"?)` },
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
        { case: "0.0.0.0 without the opt-in", raw: { target: "docker", docker: docker({ hostIp: "0.0.0.0" }) },
          error: `mspbyte-redis:docker.hostIp: given "0.0.0.0"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis, in plain text, to every network this machine is on and needs docker.exposeToNetwork: true as well` },
        { case: ":: without the opt-in", raw: { target: "docker", docker: docker({ hostIp: "::" }) },
          error: `mspbyte-redis:docker.hostIp: given "::"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis, in plain text, to every network this machine is on and needs docker.exposeToNetwork: true as well` },
        { case: "not an IP address", raw: { target: "docker", docker: docker({ hostIp: "999.1.1.1" }) },
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
          error: `mspbyte-redis:docker: given "fast"; allowed: an object with the keys containerName, deleteData, exposeToNetwork, hostIp, hostPort, image, logMaxFiles, logMaxSize, memoryLimit, volumeName` },
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
                hostPort: 6379, hostIp: "127.0.0.1", exposeToNetwork: false, deleteData: false,
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
        const c = parseStackConfig({ target: "docker", docker: docker({ hostIp: "0.0.0.0", exposeToNetwork: true }) }, "dev");
        expect(c.docker.hostIp).toBe("0.0.0.0");
    });

    it("a password of digits stays a string, and a digest-pinned image is accepted", () => {
        const c = parseStackConfig({ target: "docker", password: "12345678901234567890", docker: docker({ image: `redis@sha256:${"a".repeat(64)}` }) }, "dev", new Set(["password"]));
        expect(c.password).toBe("12345678901234567890");
        expect(c.docker.image).toBe(`redis@sha256:${"a".repeat(64)}`);
    });
});
