/**
 * The `docker` block of a stack file: its schema and the defaults the schema applies. Imports
 * only zod and the rule modules, so the config check loads without the Pulumi SDK.
 */
import { z } from "zod";
import { bool, MEMORY_ALLOWED, memorySize, pinnedImage, port, strict } from "../../config/zod";
import { dockerHostIpProblem, LOOPBACK_HOSTS, WILDCARD_HOSTS } from "../../rules";

/**
 * The current Redis 7.4 patch of the official image (7.4.8 onward carry security fixes the
 * earlier pin missed); the README explains 7.4 beside production's Valkey 8.
 */
export const DEFAULT_REDIS_IMAGE = "redis:7.4.11-bookworm";
export const DEFAULT_CONTAINER_NAME = "mspbyte-redis";

/** Every default the `docker` block applies; the component applies the same ones to its args. */
export const DOCKER_DEFAULTS = {
    image: DEFAULT_REDIS_IMAGE,
    containerName: DEFAULT_CONTAINER_NAME,
    volumeName: `${DEFAULT_CONTAINER_NAME}-data`,
    hostPort: 6379,
    hostIp: "127.0.0.1",
    exposeToNetwork: false,
    tls: false,
    deleteData: false,
    logMaxSize: "10m",
    logMaxFiles: 3,
} as const;

const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export const dockerSchema = strict({
    /** Image, pinned by tag or digest. */
    image: pinnedImage(DEFAULT_REDIS_IMAGE).default(DOCKER_DEFAULTS.image),
    containerName: z
        .string({ error: "a container name: letters, digits, _ . - (starting with a letter or digit)" })
        .regex(DOCKER_NAME)
        .default(DOCKER_DEFAULTS.containerName),
    volumeName: z
        .string({ error: "a volume name: letters, digits, _ . - (starting with a letter or digit)" })
        .regex(DOCKER_NAME)
        .default(DOCKER_DEFAULTS.volumeName),
    hostPort: port().default(DOCKER_DEFAULTS.hostPort),
    /**
     * The engine is handed an address, never a name: Docker Engine parses a host name in a port
     * binding as "every address" (0.0.0.0 and [::]). `localhost` is resolved here to 127.0.0.1
     * and `*` to 0.0.0.0; any other name is refused (rules.ts, the component's rule too).
     */
    hostIp: z
        .string({ error: "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address" })
        .superRefine((v, ctx) => {
            const problem = LOOPBACK_HOSTS.has(v) || WILDCARD_HOSTS.has(v) ? undefined : dockerHostIpProblem(v, "config");
            if (problem) ctx.addIssue({ code: "custom", input: v, message: problem });
        })
        .transform((v) => (v === "localhost" ? "127.0.0.1" : v === "*" ? "0.0.0.0" : v))
        .default(DOCKER_DEFAULTS.hostIp),
    /** Opt-in for publishing on every interface (0.0.0.0 or ::). */
    exposeToNetwork: bool().default(DOCKER_DEFAULTS.exposeToNetwork),
    /** TLS with a generated certificate; required when hostIp is not a loopback address. */
    tls: bool().default(DOCKER_DEFAULTS.tls),
    /** Danger: true removes the data volume, and every job in it, on `pulumi destroy`. */
    deleteData: bool().default(DOCKER_DEFAULTS.deleteData),
    /** Container memory limit; when set and `maxmemory` is not, `maxmemory` is sized from it. */
    memoryLimit: memorySize(MEMORY_ALLOWED).optional(),
    logMaxSize: z
        .string({ error: "a size with k, m or g, such as 10m" })
        .regex(/^\d+[kmg]$/)
        .default(DOCKER_DEFAULTS.logMaxSize),
    logMaxFiles: z.number({ error: "an integer from 1 to 100" }).int().min(1).max(100).default(DOCKER_DEFAULTS.logMaxFiles),
}).superRefine((d, ctx) => {
    if (WILDCARD_HOSTS.has(d.hostIp) && !d.exposeToNetwork) {
        ctx.addIssue({
            code: "custom",
            path: ["hostIp"],
            input: d.hostIp,
            message:
                "127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well",
        });
    }
    if (!LOOPBACK_HOSTS.has(d.hostIp) && !d.tls) {
        ctx.addIssue({
            code: "custom",
            path: ["tls"],
            input: d.tls,
            message: `true when docker.hostIp (${d.hostIp}) is not a loopback address: traffic then leaves this machine, and the password and every job with it`,
        });
    }
});

export type DockerConfig = z.output<typeof dockerSchema>;
