/**
 * The Docker component built directly from its args under mocks, many cases in one process:
 * what each arg and each default becomes, the transforms, the outputs it registers, and the
 * resource options the data-protection policy reads.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatMemorySize, maxmemoryFor, parseMemorySize } from "../../src/memory";
import { type RedisConf, applyOverrides, getAll, getDirective, loadRedisConf, parseRedisConf, renderRedisConf } from "../../src/redisConf";
import { DOCKER_DEFAULTS } from "../../src/targets/docker/config";
import { CONF_PATH, DockerRedis, type DockerRedisArgs, TLS_DIR, dockerSettings } from "../../src/targets/docker/docker";
import { type ComponentRun, buildUnderMocks, registeredOutputs } from "../helpers/stackUnderMocks";
import { policyViolations } from "../helpers/policy";
import { isSecretInput, ofType, promiseOf, secretInput, single } from "../helpers/pulumiMocks";

const ROOT_CONF = loadRedisConf();
const PASSWORD = "Component0Password0123456789";
/** The args every case starts from: only what has no default. */
const REQUIRED: DockerRedisArgs = {
    stack: "dev",
    redisConf: ROOT_CONF,
    password: pulumi.secret(PASSWORD),
    protection: { protect: false, deleteData: false },
};

/** Builds one DockerRedis under fresh mocks, the engine's stack named `engineStack`. */
function build(args: Partial<DockerRedisArgs> = {}, engineStack = "dev"): Promise<ComponentRun<DockerRedis>> {
    return buildUnderMocks(engineStack, () => new DockerRedis("redis", { ...REQUIRED, ...args }));
}

const container = (b: ComponentRun<DockerRedis>) => single(b.resources, "docker:index/container:Container");
const volume = (b: ComponentRun<DockerRedis>) => single(b.resources, "docker:index/volume:Volume");
const uploads = (b: ComponentRun<DockerRedis>): { file: string; content: string; permissions: string }[] =>
    secretInput(container(b).inputs.uploads);
const uploadedConf = (b: ComponentRun<DockerRedis>) => parseRedisConf(uploads(b).find((u) => u.file === CONF_PATH)!.content);

afterEach(() => vi.restoreAllMocks());

describe("defaults: only the args without one", () => {
    it("the defaults documented on the args are DOCKER_DEFAULTS, the config's own", () => {
        expect(DOCKER_DEFAULTS).toMatchObject({
            image: "redis:7.4.11-bookworm",
            containerName: "mspbyte-redis",
            volumeName: "mspbyte-redis-data",
            hostIp: "127.0.0.1",
            hostPort: 6379,
            tls: false,
            logMaxSize: "10m",
            logMaxFiles: 3,
        });
    });

    it("an image, a volume and a container, under the component, nothing else", async () => {
        const b = await build();
        expect(b.resources.map((r) => r.type).sort()).toEqual([
            "docker:index/container:Container",
            "docker:index/remoteImage:RemoteImage",
            "docker:index/volume:Volume",
            "mspbyte:redis:Docker",
        ]);
        for (const r of b.resources.filter((x) => x.type.startsWith("docker:"))) expect(r.opts.parent, r.name).toBe("redis");
    });

    it("each default reaches the resources", async () => {
        const b = await build();
        expect(single(b.resources, "docker:index/remoteImage:RemoteImage").inputs).toMatchObject({
            name: DOCKER_DEFAULTS.image,
            keepLocally: true,
        });
        expect(volume(b).inputs.name).toBe(DOCKER_DEFAULTS.volumeName);
        const c = container(b).inputs;
        expect(c.name).toBe(DOCKER_DEFAULTS.containerName);
        expect(c.ports).toEqual([{ internal: 6379, external: DOCKER_DEFAULTS.hostPort, ip: DOCKER_DEFAULTS.hostIp }]);
        expect(c.logOpts).toEqual({ "max-size": DOCKER_DEFAULTS.logMaxSize, "max-file": String(DOCKER_DEFAULTS.logMaxFiles) });
        expect(c.memory).toBeUndefined();
        expect(c.healthcheck.tests).toEqual(["CMD-SHELL", "redis-cli -p 6379 ping | grep -qx PONG"]);
        expect(uploads(b).map((u) => u.file)).toEqual([CONF_PATH]);
    });

    it("redis.conf's own maxmemory without a memory limit; the password in it, the container's dir and port", async () => {
        const conf = uploadedConf(await build());
        expect(getDirective(conf, "maxmemory")).toBe("512mb");
        expect(getDirective(conf, "requirepass")).toBe(PASSWORD);
        expect(getDirective(conf, "dir")).toBe("/data");
        expect(getDirective(conf, "port")).toBe("6379");
        expect(getAll(conf, "bind")).toEqual([["*", "-::*"]]);
    });

    it("the endpoint: the published address, plain text, the default user", async () => {
        const b = await build();
        const e = b.component.endpoint;
        expect({ host: e.host, port: e.port, tls: e.tls, username: e.username }).toEqual({
            host: "127.0.0.1",
            port: 6379,
            tls: false,
            username: "default",
        });
        expect(await promiseOf(pulumi.output(e.password))).toBe(PASSWORD);
        expect(e.persistence).toEqual({
            mode: "aof+rdb",
            aof: true,
            appendfsync: "everysec",
            rdbSavePoints: ["900 1", "300 10", "60 10000"],
            maxmemory: "512mb",
            maxmemoryPolicy: "noeviction",
            unsupported: [],
        });
    });
});

describe("each arg", () => {
    it("image, names, port and logs as given", async () => {
        const b = await build({
            image: "redis:7.4.12-bookworm",
            containerName: "queue-redis",
            volumeName: "queue-redis-data",
            hostPort: 16379,
            logMaxSize: "50m",
            logMaxFiles: 7,
        });
        expect(single(b.resources, "docker:index/remoteImage:RemoteImage").inputs.name).toBe("redis:7.4.12-bookworm");
        expect(volume(b).inputs.name).toBe("queue-redis-data");
        const c = container(b).inputs;
        expect(c.name).toBe("queue-redis");
        expect(c.volumes).toEqual([{ volumeName: "queue-redis-data", containerPath: "/data" }]);
        expect(c.ports).toEqual([{ internal: 6379, external: 16379, ip: "127.0.0.1" }]);
        expect(c.logOpts).toEqual({ "max-size": "50m", "max-file": "7" });
        expect(b.component.endpoint.port).toBe(16379);
        expect(await promiseOf(b.component.details)).toEqual({
            containerName: "queue-redis",
            volumeName: "queue-redis-data",
            image: "redis:7.4.12-bookworm",
        });
    });

    it("the stack arg labels the volume and the container, whatever the engine's stack", async () => {
        const b = await build({ stack: "staging" }, "some-other-stack");
        expect(volume(b).inputs.labels).toEqual([
            { label: "com.mspbyte.role", value: "redis-data" },
            { label: "com.mspbyte.stack", value: "staging" },
        ]);
        expect(container(b).inputs.labels).toEqual([{ label: "com.mspbyte.stack", value: "staging" }]);
    });

    it("memoryLimit: the container's limit in MB, and maxmemory sized from it (60%)", async () => {
        const b = await build({ memoryLimit: "1gb" });
        expect(container(b).inputs.memory).toBe(1024);
        const sized = formatMemorySize(maxmemoryFor(parseMemorySize("1gb")!));
        expect(getDirective(uploadedConf(b), "maxmemory")).toBe(sized);
        expect((b.component.endpoint.persistence as { maxmemory: string }).maxmemory).toBe(sized);
        expect(policyViolations(b.resources, "dev")).toEqual([]);
    });

    it("maxmemory given wins over the one sized from memoryLimit", async () => {
        const b = await build({ memoryLimit: "1gb", maxmemory: "300mb" });
        expect(getDirective(uploadedConf(b), "maxmemory")).toBe("300mb");
        expect((b.component.endpoint.persistence as { maxmemory: string }).maxmemory).toBe("300mb");
    });

    it("a maxmemory over the container's limit is the policy pack's to refuse", async () => {
        const b = await build({ memoryLimit: "256mb", maxmemory: "250mb" });
        expect(policyViolations(b.resources, "dev").join("\n")).toMatch(
            /redis-memory-fits redis-container: upload \/usr\/local\/etc\/redis\/redis.conf: maxmemory 250mb is over/,
        );
    });

    it("a memoryLimit redis.conf cannot read is refused before anything registers", () => {
        expect(() => new DockerRedis("redis", { ...REQUIRED, memoryLimit: "1 GiB" })).toThrow(
            'docker.memoryLimit must be a memory size as redis.conf writes it (512mb, 1gb, bytes), got "1 GiB"',
        );
    });

    it("a host name as hostIp is refused before anything registers: the engine would publish on every address", () => {
        expect(() => new DockerRedis("redis", { ...REQUIRED, hostIp: "localhost" })).toThrow(
            'docker.hostIp must be an IP address, got "localhost"',
        );
        expect(() => dockerSettings({ ...REQUIRED, hostIp: "::1" })).not.toThrow();
    });

    it("the redis.conf given is the one rendered: nothing is read from disk", async () => {
        const edited: RedisConf = applyOverrides(ROOT_CONF, { extra: { appendfsync: "always", "slowlog-max-len": "512" } });
        const b = await build({ redisConf: edited });
        const conf = uploadedConf(b);
        expect(getDirective(conf, "appendfsync")).toBe("always");
        expect(getDirective(conf, "slowlog-max-len")).toBe("512");
        expect((b.component.endpoint.persistence as { appendfsync: string }).appendfsync).toBe("always");
    });

    it("the rendered file is the root file with the container's overrides, rendered once in the output", async () => {
        const b = await build();
        const text = await promiseOf(b.component.redisConf);
        expect(text).toBe(uploads(b)[0]!.content);
        expect(text.startsWith(renderRedisConf(ROOT_CONF).split("\n")[0]!)).toBe(true);
    });

    it("previousPassword: the default user takes both through an ACL line, no requirepass", async () => {
        const b = await build({ previousPassword: pulumi.secret("Component0Previous0123456789") });
        const conf = uploadedConf(b);
        expect(getDirective(conf, "requirepass")).toBeUndefined();
        const user = getAll(conf, "user");
        expect(user).toHaveLength(1);
        expect(user[0]).toEqual(expect.arrayContaining(["default", "on", `>${PASSWORD}`, ">Component0Previous0123456789"]));
        expect(secretInput(container(b).inputs.envs)).toEqual([`REDISCLI_AUTH=${PASSWORD}`]);
    });
});

describe("TLS", () => {
    it("generated certificates for localhost and a specific hostIp; the files uploaded; the plain port closed", async () => {
        const b = await build({ tls: true, hostIp: "192.168.1.20" });
        expect(single(b.resources, "tls:index/certRequest:CertRequest").inputs.ipAddresses).toEqual(["127.0.0.1", "192.168.1.20"]);
        expect(uploads(b).map((u) => [u.file, u.permissions])).toEqual([
            [CONF_PATH, "0600"],
            [`${TLS_DIR}/tls.crt`, "0644"],
            [`${TLS_DIR}/tls.key`, "0600"],
            [`${TLS_DIR}/ca.crt`, "0644"],
        ]);
        const conf = uploadedConf(b);
        expect(getDirective(conf, "port")).toBe("0");
        expect(getDirective(conf, "tls-port")).toBe("6379");
        expect(container(b).inputs.healthcheck.tests).toEqual([
            "CMD-SHELL",
            `redis-cli -p 6379 --tls --cacert ${TLS_DIR}/ca.crt ping | grep -qx PONG`,
        ]);
        expect(b.component.endpoint).toMatchObject({ host: "192.168.1.20", tls: true });
        expect((await promiseOf(b.component.details)).caCertPem).toMatch(/BEGIN CERTIFICATE/);
    });

    it("published on every address: clients on this machine use localhost, the certificate names no wildcard address", async () => {
        const b = await build({ tls: true, hostIp: "0.0.0.0" });
        expect(single(b.resources, "tls:index/certRequest:CertRequest").inputs.ipAddresses).toEqual(["127.0.0.1"]);
        expect(b.component.endpoint.host).toBe("localhost");
        expect(container(b).inputs.ports).toEqual([{ internal: 6379, external: 6379, ip: "0.0.0.0" }]);
    });

    it("the stack's own certificate: nothing generated, its files uploaded", async () => {
        const certificates = {
            certPem: "-----BEGIN CERTIFICATE-----\nown\n",
            keyPem: "-----BEGIN PRIVATE KEY-----\nown\n",
            caPem: "-----BEGIN CERTIFICATE-----\nown-ca\n",
        };
        const b = await build({ tls: true, certificates });
        expect(b.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        expect(
            uploads(b)
                .slice(1)
                .map((u) => u.content),
        ).toEqual([certificates.certPem, certificates.keyPem, certificates.caPem]);
        expect((await promiseOf(b.component.details)).caCertPem).toBe(certificates.caPem);
    });

    it("without tls, given certificates are not used", async () => {
        const b = await build({ certificates: { certPem: "c", keyPem: "k", caPem: "a" } });
        expect(uploads(b)).toHaveLength(1);
        expect(await promiseOf(b.component.details)).not.toHaveProperty("caCertPem");
    });
});

describe("data protection: the volume's options", () => {
    it.each([
        { protection: { protect: false, deleteData: false }, protect: false, retainOnDelete: true },
        { protection: { protect: true, deleteData: false }, protect: true, retainOnDelete: true },
        { protection: { protect: true, deleteData: true }, protect: false, retainOnDelete: false },
        { protection: { protect: false, deleteData: true }, protect: false, retainOnDelete: false },
    ])("$protection: protect $protect, retained on delete $retainOnDelete", async ({ protection, protect, retainOnDelete }) => {
        const b = await build({ protection });
        expect(volume(b).opts).toMatchObject({ protect, retainOnDelete });
        // The container holds no data: replaced freely, the old one removed first (its name and port are taken).
        expect(container(b).opts).toMatchObject({ protect: false, deleteBeforeReplace: true });
    });

    it("the policy pack refuses an unprotected volume outside dev and passes a protected one", async () => {
        const open = await build({ stack: "prod" }, "prod");
        expect(policyViolations(open.resources, "prod")).toEqual([
            "redis-data-protected redis-data: redis-data holds the queue's data and must be protected on stack prod",
        ]);
        const kept = await build({ stack: "prod", protection: { protect: true, deleteData: false } }, "prod");
        expect(policyViolations(kept.resources, "prod")).toEqual([]);
    });
});

describe("transform: the last word on each child's args", () => {
    it("each child gets the args the component built and is registered with what its transform returns", async () => {
        const seen: Record<string, unknown> = {};
        const b = await build({
            transform: {
                image: (a) => {
                    seen.image = a.name;
                    return { ...a, keepLocally: false };
                },
                volume: (a) => {
                    seen.volume = a.name;
                    return { ...a, labels: [{ label: "team", value: "pipeline" }] };
                },
                container: (a) => {
                    seen.container = a.name;
                    return { ...a, restart: "always", stopTimeout: 60 };
                },
            },
        });
        expect(seen).toEqual({
            image: DOCKER_DEFAULTS.image,
            volume: DOCKER_DEFAULTS.volumeName,
            container: DOCKER_DEFAULTS.containerName,
        });
        expect(single(b.resources, "docker:index/remoteImage:RemoteImage").inputs.keepLocally).toBe(false);
        expect(volume(b).inputs.labels).toEqual([{ label: "team", value: "pipeline" }]);
        expect(container(b).inputs).toMatchObject({ restart: "always", stopTimeout: 60, name: DOCKER_DEFAULTS.containerName });
        // The options stay the component's: a transform changes args, not protection.
        expect(volume(b).opts).toMatchObject({ protect: false, retainOnDelete: true });
    });

    it("the generated certificate's five children take theirs too (tls on, no certificate of the stack's own)", async () => {
        const b = await build({
            tls: true,
            transform: {
                certificates: {
                    caKey: (a) => ({ ...a, ecdsaCurve: "P384" }),
                    ca: (a) => ({ ...a, validityPeriodHours: 24 }),
                    key: (a) => ({ ...a, ecdsaCurve: "P384" }),
                    request: (a) => ({ ...a, dnsNames: ["redis.internal"] }),
                    cert: (a) => ({ ...a, earlyRenewalHours: 48 }),
                },
            },
        });
        const named = (type: string, suffix: string) => ofType(b.resources, type).find((r) => r.name.endsWith(suffix))!.inputs;
        expect(named("tls:index/privateKey:PrivateKey", "-ca-key").ecdsaCurve).toBe("P384");
        expect(named("tls:index/privateKey:PrivateKey", "-tls-key").ecdsaCurve).toBe("P384");
        expect(named("tls:index/selfSignedCert:SelfSignedCert", "-ca").validityPeriodHours).toBe(24);
        expect(named("tls:index/certRequest:CertRequest", "-tls-request").dnsNames).toEqual(["redis.internal"]);
        expect(named("tls:index/locallySignedCert:LocallySignedCert", "-tls").earlyRenewalHours).toBe(48);
    });

    it("a transform left out keeps the component's args", async () => {
        const b = await build({ transform: { container: (a) => a } });
        expect(container(b).inputs.restart).toBe("unless-stopped");
        expect(single(b.resources, "docker:index/remoteImage:RemoteImage").inputs.keepLocally).toBe(true);
    });
});

describe("outputs", () => {
    it("every public output is registered, the password and the rendered file secret", async () => {
        const { outputs } = await registeredOutputs(() => build());
        expect(Object.keys(outputs).sort()).toEqual(["containerName", "details", "endpoint", "redisConf", "volumeName"]);
        expect(await pulumi.isSecret(outputs.endpoint.password)).toBe(true);
        expect(await pulumi.isSecret(outputs.redisConf)).toBe(true);
        expect(await pulumi.isSecret(outputs.details)).toBe(false);
    });

    it("details: the container, the volume and the image (typed DockerDetails)", async () => {
        const b = await build();
        expect(await promiseOf(b.component.details)).toEqual({
            containerName: "mspbyte-redis",
            volumeName: "mspbyte-redis-data",
            image: "redis:7.4.11-bookworm",
        });
        expect(await promiseOf(b.component.containerName)).toBe("mspbyte-redis");
        expect(await promiseOf(b.component.volumeName)).toBe("mspbyte-redis-data");
    });

    it("the password reaches the container only as secrets: the uploaded file and REDISCLI_AUTH", async () => {
        const b = await build();
        const c = container(b).inputs;
        expect(isSecretInput(c.uploads) || c.uploads.every((u: { content: unknown }) => isSecretInput(u.content))).toBe(true);
        expect(JSON.stringify(c.command)).not.toContain(PASSWORD);
        expect(ofType(b.resources, "random:index/randomPassword:RandomPassword")).toEqual([]);
    });
});
