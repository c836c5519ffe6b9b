import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type CertificateTransforms, type ProvidedCertificates, type ServerCertificates, serverCertificates } from "../../certificates";
import type { Persistence } from "../../contract";
import type { RedisEndpoint } from "../../endpoint";
import { formatMemorySize, isRedisMemorySize, maxmemoryFor, parseMemorySize } from "../../memory";
import { type DataProtection, dataResourceOptions } from "../../protection";
import { persistenceOf } from "../../persistence";
import { type ConfOverrides, type RedisConf, applyOverrides, renderRedisConf } from "../../redisConf";
import { aclUserRule } from "../../rotation";
import { dockerHostIpProblem } from "../../rules";
import { DOCKER_DEFAULTS } from "./config";

/** Where the official image keeps data, and where the rendered config is uploaded. */
export const DATA_DIR = "/data";
export const CONF_PATH = "/usr/local/etc/redis/redis.conf";
export const TLS_DIR = "/usr/local/etc/redis/tls";
export const CONTAINER_PORT = 6379;
/** The `redis` user of the official images (Debian and Alpine alike). */
export const REDIS_UID = "999";

/**
 * How long loading the append-only file may take at start before the container counts as
 * failing: a server restarted or replaced near its 512mb maxmemory reads the RDB preamble plus
 * a command tail up to as large again (auto-aof-rewrite-percentage 100). See the README.
 */
export const AOF_LOAD_BUDGET_SECONDS = 600;
export const HEALTH_INTERVAL_SECONDS = 10;
export const HEALTH_TIMEOUT_SECONDS = 3;
export const HEALTH_RETRIES = 5;
/** `pulumi up` waits this long for a healthy container: the load budget and two checks more. */
export const WAIT_TIMEOUT_SECONDS = AOF_LOAD_BUDGET_SECONDS + 2 * HEALTH_INTERVAL_SECONDS;

/**
 * A duration as Go's time.Duration.String() writes it ("10s", "1m0s", "1h0m0s"). The Docker
 * provider parses the healthcheck's durations and reads them back from the engine with
 * String() (kreuzwerker/terraform-provider-docker v4.5.0, 5074970c,
 * internal/provider/resource_docker_container_funcs.go, resourceDockerContainerRead), so any
 * other spelling ("60s" for a minute) shows as a change on every preview.
 */
export function goDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`goDuration: whole non-negative seconds, got ${seconds}`);
    if (seconds === 0) return "0s";
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    if (h > 0) return `${h}h${m}m${s}s`;
    if (m > 0) return `${m}m${s}s`;
    return `${s}s`;
}

/**
 * The container's health check. `redis-cli ping` alone exits 0 on NOAUTH and LOADING (it
 * prints the error and succeeds), so the answer itself must be PONG. The password comes from
 * REDISCLI_AUTH in the container's environment, never from the command line.
 */
export function healthcheckCommand(port: number = CONTAINER_PORT, tls = false, tlsDir: string = TLS_DIR): string {
    return `redis-cli -p ${port}${tls ? ` --tls --cacert ${tlsDir}/ca.crt` : ""} ping | grep -qx PONG`;
}

/**
 * redis.conf overrides for the container: listen on every container interface, data in /data.
 * In phase one of a rotation (`previousPassword`) the default user takes both passwords through
 * an ACL line instead of `requirepass` (src/rotation.ts).
 */
export function dockerConfOverrides(a: {
    password: string;
    previousPassword?: string;
    maxmemory?: string;
    tls?: boolean;
    tlsDir?: string;
}): ConfOverrides {
    const tlsDir = a.tlsDir ?? TLS_DIR;
    return {
        port: CONTAINER_PORT,
        ...(a.tls ? { tls: { certFile: `${tlsDir}/tls.crt`, keyFile: `${tlsDir}/tls.key`, caFile: `${tlsDir}/ca.crt` } } : {}),
        // Inside its own network namespace the server must listen beyond loopback for Docker's
        // port publishing to reach it; who can reach the published port is decided by hostIp.
        bind: ["*", "-::*"],
        dir: DATA_DIR,
        ...(a.previousPassword === undefined
            ? { password: a.password }
            : { extra: { user: aclUserRule([a.password, a.previousPassword]) } }),
        ...(a.maxmemory ? { maxmemory: a.maxmemory } : {}),
    };
}

/**
 * The engine parses the port binding's host address with net.ParseIP and publishes on every
 * address when that fails, so a host name ("localhost") would expose Redis everywhere in plain
 * text (rules.ts, the stack config's rule too). Shown on a real engine by test/engine.
 */
export function checkHostIp(hostIp: string): void {
    const problem = dockerHostIpProblem(hostIp, "args");
    if (problem) throw new Error(problem);
}

export interface DockerRedisArgs {
    /** The Pulumi stack's name, as the `com.mspbyte.stack` label on the volume and the container. */
    readonly stack: string;
    /** The repository's redis.conf, parsed once by the program; rendered with the container's overrides. */
    readonly redisConf: RedisConf;
    readonly password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation: the old password, accepted beside `password`.
     * Restart: setting or removing it replaces the container (its uploaded redis.conf changes);
     * the data volume stays, connections drop once and reconnect.
     */
    readonly previousPassword?: pulumi.Input<string>;
    /**
     * Whether `pulumi up` and `pulumi destroy` may delete the data volume (the container holds
     * no data and is replaced freely).
     * Danger: `deleteData: true` removes the volume, and every job in it, on destroy.
     */
    readonly protection: DataProtection;
    /**
     * Image, pinned by tag or digest.
     * @default "redis:7.4.11-bookworm" (DOCKER_DEFAULTS.image)
     * Restart: changing it recreates the container; the data volume and its jobs stay.
     */
    readonly image?: string;
    /**
     * The container's name; a new one replaces the container (the volume stays).
     * @default "mspbyte-redis" (as the docker-compose setup named it)
     */
    readonly containerName?: string;
    /**
     * Named volume mounted at /data.
     * @default "mspbyte-redis-data"
     * Danger: renaming it starts Redis on a new, empty volume (the old one is left behind).
     */
    readonly volumeName?: string;
    /**
     * Host address the port is published on: an address, never a name (the engine takes a name
     * as every address; the config resolves `localhost`).
     * @default "127.0.0.1" (this machine only)
     */
    readonly hostIp?: string;
    /** @default 6379 */
    readonly hostPort?: number;
    /** TLS only, with a generated certificate for localhost and hostIp (unless `certificates`). @default false */
    readonly tls?: boolean;
    /** The stack's own certificate instead of a generated one (with `tls`). */
    readonly certificates?: ProvidedCertificates;
    /**
     * Container memory limit, as redis.conf writes a size (`1gb`, bytes).
     * @default no limit
     */
    readonly memoryLimit?: string | number;
    /**
     * Overrides redis.conf's maxmemory.
     * @default 60% of `memoryLimit` when that is set, otherwise redis.conf's own (512mb)
     */
    readonly maxmemory?: string;
    /** The json-file log driver's size per file. @default "10m" */
    readonly logMaxSize?: string;
    /** The json-file log driver's number of files kept. @default 3 */
    readonly logMaxFiles?: number;
    /**
     * Last word on each child's arguments: a function given the arguments the component built,
     * returning the ones to use. The TLS certificates, when generated, come from the shared
     * helper (src/certificates.ts) and have no entry.
     */
    readonly transform?: {
        readonly image?: (args: docker.RemoteImageArgs) => docker.RemoteImageArgs;
        readonly volume?: (args: docker.VolumeArgs) => docker.VolumeArgs;
        readonly container?: (args: docker.ContainerArgs) => docker.ContainerArgs;
        /** The generated CA and certificate's children, when `tls` without the stack's own certificate. */
        readonly certificates?: CertificateTransforms;
    };
}

/** The args with every default applied: what the component builds from. */
export interface DockerSettings {
    stack: string;
    image: string;
    containerName: string;
    volumeName: string;
    hostIp: string;
    hostPort: number;
    tls: boolean;
    memoryLimitBytes?: number;
    maxmemory?: string;
    logMaxSize: string;
    logMaxFiles: number;
}

/** Applies the defaults (DOCKER_DEFAULTS); refuses a host name as hostIp and a memory limit redis.conf cannot read. */
export function dockerSettings(args: DockerRedisArgs): DockerSettings {
    if (args.hostIp !== undefined) checkHostIp(args.hostIp);
    if (args.memoryLimit !== undefined && !isRedisMemorySize(args.memoryLimit)) {
        throw new Error(
            `docker.memoryLimit must be a memory size as redis.conf writes it (512mb, 1gb, bytes), got ${JSON.stringify(args.memoryLimit)}`,
        );
    }
    const memoryLimitBytes = args.memoryLimit === undefined ? undefined : parseMemorySize(args.memoryLimit);
    return {
        stack: args.stack,
        image: args.image ?? DOCKER_DEFAULTS.image,
        containerName: args.containerName ?? DOCKER_DEFAULTS.containerName,
        volumeName: args.volumeName ?? DOCKER_DEFAULTS.volumeName,
        hostIp: args.hostIp ?? DOCKER_DEFAULTS.hostIp,
        hostPort: args.hostPort ?? DOCKER_DEFAULTS.hostPort,
        tls: args.tls ?? DOCKER_DEFAULTS.tls,
        memoryLimitBytes,
        maxmemory: args.maxmemory ?? (memoryLimitBytes ? formatMemorySize(maxmemoryFor(memoryLimitBytes)) : undefined),
        logMaxSize: args.logMaxSize ?? DOCKER_DEFAULTS.logMaxSize,
        logMaxFiles: args.logMaxFiles ?? DOCKER_DEFAULTS.logMaxFiles,
    };
}

/** The docker target's `details` output. */
export interface DockerDetails {
    containerName: string;
    volumeName: string;
    image: string;
    /** The generated (or the stack's own) CA, with TLS on. */
    caCertPem?: string;
}

/** Redis in a local Docker container, configured from the repository's redis.conf. */
export class DockerRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly containerName: pulumi.Output<string>;
    readonly volumeName: pulumi.Output<string>;
    /** The redis.conf uploaded into the container (secret: it holds the password). */
    readonly redisConf: pulumi.Output<string>;
    readonly details: pulumi.Output<DockerDetails>;

    constructor(name: string, args: DockerRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        // Args checked before anything registers.
        const s = dockerSettings(args);
        super("mspbyte:redis:Docker", name, {}, opts);
        const image = this.createImage(name, s, args);
        const volume = this.createVolume(name, s, args);
        this.redisConf = this.renderConf(s, args);
        const certs = this.createCertificates(name, s, args);
        const container = this.createContainer(name, s, args, image, volume, certs);

        this.containerName = container.name;
        this.volumeName = volume.name;
        this.endpoint = this.endpointOf(s, args);
        this.details = pulumi.output({
            containerName: this.containerName,
            volumeName: this.volumeName,
            image: s.image,
            ...(certs ? { caCertPem: certs.caPem } : {}),
        });
        this.registerOutputs({
            endpoint: { ...this.endpoint, password: pulumi.secret(args.password) },
            containerName: this.containerName,
            volumeName: this.volumeName,
            redisConf: this.redisConf,
            details: this.details,
        });
    }

    /** The rendered redis.conf, with the password in it: rendered once, kept secret. */
    private renderConf(s: DockerSettings, args: DockerRedisArgs): pulumi.Output<string> {
        return pulumi.secret(
            pulumi
                .all([args.password, args.previousPassword])
                .apply(([password, previousPassword]) =>
                    renderRedisConf(
                        applyOverrides(
                            args.redisConf,
                            dockerConfOverrides({ password, previousPassword, maxmemory: s.maxmemory, tls: s.tls }),
                        ),
                    ),
                ),
        );
    }

    /** What the server guarantees: the parsed file with the container's overrides (the password changes none of it). */
    private persistence(s: DockerSettings, args: DockerRedisArgs): Persistence {
        return persistenceOf(applyOverrides(args.redisConf, dockerConfOverrides({ password: "", maxmemory: s.maxmemory })));
    }

    private endpointOf(s: DockerSettings, args: DockerRedisArgs): RedisEndpoint {
        return {
            host: publishesEverywhere(s.hostIp) ? "localhost" : s.hostIp,
            port: s.hostPort,
            tls: s.tls,
            username: "default",
            password: args.password,
            persistence: this.persistence(s, args),
        };
    }

    private createImage(name: string, s: DockerSettings, args: DockerRedisArgs): docker.RemoteImage {
        const imageArgs: docker.RemoteImageArgs = { name: s.image, keepLocally: true };
        return new docker.RemoteImage(`${name}-image`, args.transform?.image?.(imageArgs) ?? imageArgs, { parent: this });
    }

    private createVolume(name: string, s: DockerSettings, args: DockerRedisArgs): docker.Volume {
        const volumeArgs: docker.VolumeArgs = {
            name: s.volumeName,
            labels: [
                { label: "com.mspbyte.role", value: "redis-data" },
                { label: "com.mspbyte.stack", value: s.stack },
            ],
        };
        return new docker.Volume(
            `${name}-data`,
            args.transform?.volume?.(volumeArgs) ?? volumeArgs,
            dataResourceOptions(args.protection, { parent: this }),
        );
    }

    /** With TLS: the stack's own certificate, or one generated for localhost and a specific hostIp. */
    private createCertificates(name: string, s: DockerSettings, args: DockerRedisArgs): ServerCertificates | undefined {
        if (!s.tls) return undefined;
        return serverCertificates(
            name,
            [],
            this,
            publishesEverywhere(s.hostIp) ? [] : [s.hostIp],
            args.certificates,
            args.transform?.certificates,
        );
    }

    private createContainer(
        name: string,
        s: DockerSettings,
        args: DockerRedisArgs,
        image: docker.RemoteImage,
        volume: docker.Volume,
        certs?: ServerCertificates,
    ): docker.Container {
        const file = (path: string, content: pulumi.Input<string>, permissions: string) => ({
            file: path,
            content,
            owner: REDIS_UID,
            group: REDIS_UID,
            permissions,
        });
        const containerArgs: docker.ContainerArgs = {
            name: s.containerName,
            image: image.imageId,
            command: ["redis-server", CONF_PATH],
            uploads: [
                file(CONF_PATH, this.redisConf, "0600"),
                ...(certs
                    ? [
                          file(`${TLS_DIR}/tls.crt`, certs.certPem, "0644"),
                          file(`${TLS_DIR}/tls.key`, certs.keyPem, "0600"),
                          file(`${TLS_DIR}/ca.crt`, certs.caPem, "0644"),
                      ]
                    : []),
            ],
            envs: [pulumi.secret(pulumi.interpolate`REDISCLI_AUTH=${args.password}`)],
            volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
            ports: [{ internal: CONTAINER_PORT, external: s.hostPort, ip: s.hostIp }],
            restart: "unless-stopped",
            healthcheck: {
                tests: ["CMD-SHELL", healthcheckCommand(CONTAINER_PORT, s.tls)],
                interval: goDuration(HEALTH_INTERVAL_SECONDS),
                timeout: goDuration(HEALTH_TIMEOUT_SECONDS),
                retries: HEALTH_RETRIES,
                // Loading a large AOF at start answers LOADING for a while: not yet unhealthy.
                startPeriod: goDuration(AOF_LOAD_BUDGET_SECONDS),
            },
            // Wait for a healthy server, so `pulumi up` ends only when Redis answers, also after
            // a replacement that reloads a large AOF.
            wait: true,
            waitTimeout: WAIT_TIMEOUT_SECONDS,
            // SIGTERM makes Redis fsync the AOF and exit; give it time before Docker kills it.
            stopSignal: "SIGTERM",
            stopTimeout: 30,
            destroyGraceSeconds: 30,
            removeVolumes: false,
            logDriver: "json-file",
            logOpts: { "max-size": s.logMaxSize, "max-file": String(s.logMaxFiles) },
            ...(s.memoryLimitBytes ? { memory: Math.floor(s.memoryLimitBytes / (1024 * 1024)) } : {}),
            labels: [{ label: "com.mspbyte.stack", value: s.stack }],
        };
        return new docker.Container(`${name}-container`, args.transform?.container?.(containerArgs) ?? containerArgs, {
            parent: this,
            // A new config or image means a new container; replace it in place of the old one
            // so that the container name and host port are free for it.
            deleteBeforeReplace: true,
        });
    }
}

/** 0.0.0.0 and :: publish on every address: clients on this machine use localhost. */
function publishesEverywhere(hostIp: string): boolean {
    return hostIp === "0.0.0.0" || hostIp === "::";
}
