import { isIP } from "net";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Persistence } from "../../contract";
import { RedisEndpoint } from "../../endpoint";
import { ProvidedCertificates, ServerCertificates, serverCertificates } from "../../certificates";
import { DataProtection, dataResourceOptions } from "../../protection";
import { renderForTarget, persistenceForTarget, ConfOverrides } from "../../redisConf";
import { aclUserRule } from "../../rotation";

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
export function dockerConfOverrides(a: { password: string; previousPassword?: string; maxmemory?: string; tls?: boolean; tlsDir?: string }): ConfOverrides {
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
 * text. Shown on a real engine by test/engine.
 */
export function checkHostIp(hostIp: string): void {
    if (isIP(hostIp) === 0) {
        throw new Error(`docker.hostIp must be an IP address, got ${JSON.stringify(hostIp)}: the Docker Engine publishes a host name on every address (0.0.0.0 and [::])`);
    }
}

export interface DockerRedisArgs {
    /**
     * Image, pinned by tag or digest.
     * @default DEFAULT_REDIS_IMAGE (config.ts)
     * Danger: changing it recreates the container; the data volume and its jobs stay.
     */
    image: string;
    /** @default "mspbyte-redis" (as the docker-compose setup named it) */
    containerName: string;
    /** Named volume mounted at /data. Danger: renaming it starts Redis on an empty volume. @default "mspbyte-redis-data" */
    volumeName: string;
    /**
     * Host address the port is published on: an address, never a name (config.ts resolves
     * `localhost`; the engine takes a name as every address). @default "127.0.0.1" (this machine only)
     */
    hostIp: string;
    /** @default 6379 */
    hostPort: number;
    /** TLS only, with a generated certificate for localhost and hostIp. @default false */
    tls: boolean;
    /** The stack's own certificate instead of a generated one. */
    certificates?: ProvidedCertificates;
    password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation: the old password, accepted beside `password`.
     * Restart: setting or removing it replaces the container (its uploaded redis.conf changes);
     * the data volume stays, connections drop once and reconnect.
     */
    previousPassword?: pulumi.Input<string>;
    /** Overrides redis.conf's maxmemory. */
    maxmemory?: string;
    /** Container memory limit in bytes. @default no limit */
    memoryLimitBytes?: number;
    logMaxSize: string;
    logMaxFiles: number;
    /** @default retained on destroy, not protected in dev */
    protection: DataProtection;
    /** Last word on each child's arguments. */
    transform?: {
        image?: (args: docker.RemoteImageArgs) => docker.RemoteImageArgs;
        volume?: (args: docker.VolumeArgs) => docker.VolumeArgs;
        container?: (args: docker.ContainerArgs) => docker.ContainerArgs;
    };
}

/** Redis in a local Docker container, configured from the repository's redis.conf. */
export class DockerRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly containerName: pulumi.Output<string>;
    readonly volumeName: pulumi.Output<string>;
    readonly redisConf: pulumi.Output<string>;
    readonly details: pulumi.Output<object>;

    constructor(name: string, args: DockerRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Docker", name, {}, opts);
        checkHostIp(args.hostIp);
        const image = this.createImage(name, args);
        const volume = this.createVolume(name, args);
        this.redisConf = pulumi.secret(pulumi.all([args.password, args.previousPassword]).apply(([password, previousPassword]) =>
            renderForTarget(dockerConfOverrides({ password, previousPassword, maxmemory: args.maxmemory, tls: args.tls })),
        ));
        const specific = args.hostIp !== "0.0.0.0" && args.hostIp !== "::";
        const certs = args.tls ? serverCertificates(name, [], this, specific ? [args.hostIp] : [], args.certificates) : undefined;
        const container = this.createContainer(name, args, image, volume, certs);

        this.containerName = container.name;
        this.volumeName = volume.name;
        this.endpoint = {
            host: args.hostIp === "0.0.0.0" || args.hostIp === "::" ? "localhost" : args.hostIp,
            port: args.hostPort,
            tls: args.tls,
            username: "default",
            password: args.password,
            persistence: this.persistence(args),
        };
        this.details = pulumi.output({
            containerName: this.containerName, volumeName: this.volumeName, image: args.image,
            ...(certs ? { caCertPem: certs.caPem } : {}),
        });
        this.registerOutputs({ details: this.details });
    }

    private persistence(args: DockerRedisArgs): Persistence {
        return persistenceForTarget(dockerConfOverrides({ password: "", maxmemory: args.maxmemory }));
    }

    private createImage(name: string, args: DockerRedisArgs): docker.RemoteImage {
        const imageArgs: docker.RemoteImageArgs = { name: args.image, keepLocally: true };
        return new docker.RemoteImage(`${name}-image`, args.transform?.image?.(imageArgs) ?? imageArgs, { parent: this });
    }

    private createVolume(name: string, args: DockerRedisArgs): docker.Volume {
        const volumeArgs: docker.VolumeArgs = {
            name: args.volumeName,
            labels: [{ label: "com.mspbyte.role", value: "redis-data" }, { label: "com.mspbyte.stack", value: pulumi.getStack() }],
        };
        return new docker.Volume(`${name}-data`, args.transform?.volume?.(volumeArgs) ?? volumeArgs,
            dataResourceOptions(args.protection, { parent: this }));
    }

    private createContainer(name: string, args: DockerRedisArgs, image: docker.RemoteImage, volume: docker.Volume, certs?: ServerCertificates): docker.Container {
        const file = (path: string, content: pulumi.Input<string>, permissions: string) => ({ file: path, content, owner: REDIS_UID, group: REDIS_UID, permissions });
        const containerArgs: docker.ContainerArgs = {
            name: args.containerName,
            image: image.imageId,
            command: ["redis-server", CONF_PATH],
            uploads: [
                file(CONF_PATH, this.redisConf, "0600"),
                ...(certs ? [
                    file(`${TLS_DIR}/tls.crt`, certs.certPem, "0644"),
                    file(`${TLS_DIR}/tls.key`, certs.keyPem, "0600"),
                    file(`${TLS_DIR}/ca.crt`, certs.caPem, "0644"),
                ] : []),
            ],
            envs: [pulumi.secret(pulumi.interpolate`REDISCLI_AUTH=${args.password}`)],
            volumes: [{ volumeName: volume.name, containerPath: DATA_DIR }],
            ports: [{ internal: CONTAINER_PORT, external: args.hostPort, ip: args.hostIp }],
            restart: "unless-stopped",
            healthcheck: {
                tests: ["CMD-SHELL", healthcheckCommand(CONTAINER_PORT, args.tls)],
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
            logOpts: { "max-size": args.logMaxSize, "max-file": String(args.logMaxFiles) },
            ...(args.memoryLimitBytes ? { memory: Math.floor(args.memoryLimitBytes / (1024 * 1024)) } : {}),
            labels: [{ label: "com.mspbyte.stack", value: pulumi.getStack() }],
        };
        return new docker.Container(`${name}-container`, args.transform?.container?.(containerArgs) ?? containerArgs, {
            parent: this,
            // A new config or image means a new container; replace it in place of the old one
            // so that the container name and host port are free for it.
            deleteBeforeReplace: true,
        });
    }
}
