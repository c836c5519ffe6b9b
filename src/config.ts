/**
 * Stack configuration: one schema for every target, validated before any resource exists.
 * This is the only file that reads `pulumi.Config`; components take the typed result.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MEMORY_SIZE_PATTERN, parseMemorySize } from "./memory";

export const NAMESPACE = "mspbyte-redis";
export const TARGETS = ["docker", "vm", "elasticache", "kubernetes", "external"] as const;
export type TargetName = (typeof TARGETS)[number];
/** Targets this version can build; the others are named in the schema so that a stack file can be written ahead. */
export const BUILT_TARGETS: readonly TargetName[] = ["docker"];

/** AUTH tokens shorter than this are refused everywhere (ElastiCache's own minimum). */
export const PASSWORD_MIN_LENGTH = 16;
export const PASSWORD_MAX_LENGTH = 128;
/** Below this BullMQ cannot hold a useful backlog; `0` (no limit) is refused because a queue needs a ceiling. */
export const MAXMEMORY_MIN_BYTES = 16 * 1024 * 1024;
export const DEFAULT_REDIS_IMAGE = "redis:7.4.7-bookworm";
export const DEFAULT_CONTAINER_NAME = "mspbyte-redis";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const WILDCARD = new Set(["0.0.0.0", "::", "*"]);
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** A strict object: an unknown key is an error that lists the keys allowed there. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
    return z.strictObject(shape, {
        error: (issue) => {
            const keys = Object.keys(shape).sort().join(", ");
            if (issue.code === "unrecognized_keys") return `allowed keys: ${keys}`;
            if (issue.code === "invalid_type") return `an object with the keys ${keys}`;
            return undefined;
        },
    });
}

const memorySize = (allowed: string) =>
    z.union([z.string(), z.number()], { error: allowed })
        .refine((v) => (typeof v === "number" || MEMORY_SIZE_PATTERN.test(v.trim())) && (parseMemorySize(v) ?? 0) >= MAXMEMORY_MIN_BYTES, { error: allowed });

const MEMORY_ALLOWED = `a memory size of at least 16mb, as redis.conf writes it: bytes (536870912) or a number with b, kb, mb or gb (512mb, 1gb)`;
const PORT_ALLOWED = "an integer from 1 to 65535";
const BOOLEAN_ALLOWED = "true or false";

const port = () => z.number({ error: PORT_ALLOWED }).int().min(1).max(65535);
const bool = () => z.boolean({ error: BOOLEAN_ALLOWED });

export const dockerSchema = strict({
    /** Image, pinned by tag or digest. */
    image: z.string({ error: `an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}` })
        .refine((v) => /^[^\s:@]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/.test(v) && /[:@]/.test(v.replace(/^[^/]*\//, "")) && !/:latest$/.test(v), {
            error: `an image pinned by tag or digest, such as ${DEFAULT_REDIS_IMAGE}; an untagged or :latest image changes under you`,
        })
        .default(DEFAULT_REDIS_IMAGE),
    containerName: z.string({ error: "a container name: letters, digits, _ . - (starting with a letter or digit)" })
        .regex(DOCKER_NAME).default(DEFAULT_CONTAINER_NAME),
    volumeName: z.string({ error: "a volume name: letters, digits, _ . - (starting with a letter or digit)" })
        .regex(DOCKER_NAME).default(`${DEFAULT_CONTAINER_NAME}-data`),
    hostPort: port().default(6379),
    hostIp: z.string({ error: "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address" })
        .refine((v) => IPV4.test(v) || (v.includes(":") && IPV6.test(v)) || LOOPBACK.has(v) || WILDCARD.has(v), {
            error: "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address",
        })
        .default("127.0.0.1"),
    /** Opt-in for publishing on every interface (0.0.0.0 or ::). */
    exposeToNetwork: bool().default(false),
    /** Danger: true removes the data volume, and every job in it, on `pulumi destroy`. */
    deleteData: bool().default(false),
    /** Container memory limit; when set and `maxmemory` is not, `maxmemory` is sized from it. */
    memoryLimit: memorySize(MEMORY_ALLOWED).optional(),
    logMaxSize: z.string({ error: "a size with k, m or g, such as 10m" }).regex(/^\d+[kmg]$/).default("10m"),
    logMaxFiles: z.number({ error: "an integer from 1 to 100" }).int().min(1).max(100).default(3),
}).superRefine((d, ctx) => {
    if (WILDCARD.has(d.hostIp) && !d.exposeToNetwork) {
        ctx.addIssue({
            code: "custom",
            path: ["hostIp"],
            input: d.hostIp,
            message: "127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis, in plain text, to every network this machine is on and needs docker.exposeToNetwork: true as well",
        });
    }
});

const PASSWORD_ALLOWED = `a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret password\`; leave it unset to have one generated`;

export const stackSchema = strict({
    target: z.enum(TARGETS, { error: TARGETS.join(" | ") }),
    password: z.string({ error: PASSWORD_ALLOWED })
        .min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).regex(/^[\x21-\x7e]+$/).optional(),
    /** Protect data-holding resources from deletion. @default true on every stack but dev */
    protect: bool().optional(),
    /** Overrides redis.conf's maxmemory (512mb) for this stack. */
    maxmemory: memorySize(MEMORY_ALLOWED).optional(),
    bullmq: strict({
        prefix: z.string({ error: "a key prefix: letters, digits, and _ - : { }" }).regex(/^[\w:{}-]{1,64}$/).default("bull"),
        queue: z.string({ error: "a queue name: letters, digits, _ and -" }).regex(/^[\w-]{1,64}$/).default("pipeline-jobs"),
    }).default({ prefix: "bull", queue: "pipeline-jobs" }),
    docker: dockerSchema.optional(),
    vm: z.record(z.string(), z.unknown()).optional(),
    elasticache: z.record(z.string(), z.unknown()).optional(),
    kubernetes: z.record(z.string(), z.unknown()).optional(),
    external: z.record(z.string(), z.unknown()).optional(),
}).superRefine((c, ctx) => {
    if (!BUILT_TARGETS.includes(c.target)) {
        ctx.addIssue({
            code: "custom",
            path: ["target"],
            input: c.target,
            message: `${BUILT_TARGETS.join(" | ")} (the ${c.target} target is not part of this version yet)`,
        });
    }
});

export type DockerConfig = z.output<typeof dockerSchema>;

/** The validated configuration of one stack. */
export interface StackConfig {
    stack: string;
    target: TargetName;
    /** Plain here; wrapped with pulumi.secret wherever it enters the program. */
    password?: string;
    protect: boolean;
    maxmemory?: string;
    bullmq: { prefix: string; queue: string };
    docker: DockerConfig;
}

/** Raised for invalid stack config: Pulumi prints its message without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`invalid stack config (Pulumi.<stack>.yaml, namespace ${NAMESPACE}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/** Keys whose value is a plain string even when it looks like JSON (a password of digits stays a string). */
const STRING_KEYS = new Set(["target", "password", "maxmemory"]);
const SECRET_KEYS = new Set(["password"]);

/**
 * Validates raw stack config (keys without the namespace, values as `pulumi config` stores them:
 * objects as JSON text) for stack `stack`. Pure: tests call it with tables of bad input.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string, secretKeys: ReadonlySet<string> = new Set()): StackConfig {
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
        input[key] = typeof value === "string" && !STRING_KEYS.has(key) ? parseJsonOrString(value) : value;
    }
    const problems: string[] = [];
    if (input.password !== undefined && !secretKeys.has("password")) {
        problems.push(`${NAMESPACE}:password: given as plain text; allowed: a secret, set with \`pulumi config set --secret password\``);
    }
    const result = stackSchema.safeParse(input, { reportInput: true });
    if (!result.success) problems.push(...result.error.issues.flatMap(formatIssue));
    if (problems.length > 0 || !result.success) throw new ConfigError(problems);

    const c = result.data;
    return {
        stack,
        target: c.target,
        password: c.password,
        protect: c.protect ?? stack !== "dev",
        maxmemory: c.maxmemory === undefined ? undefined : String(c.maxmemory).trim().toLowerCase(),
        bullmq: c.bullmq,
        docker: dockerSchema.parse(c.docker ?? {}),
    };
}

/** Reads this stack's config through the Pulumi SDK and validates it. */
export function loadConfig(): StackConfig {
    const prefix = `${NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = value;
        if (isConfigSecret(key)) secretKeys.add(name);
    }
    return parseStackConfig(raw, pulumi.getStack(), secretKeys);
}

/**
 * Whether a config key was set as a secret. The SDK keeps this behind an internal function;
 * it reads the list of secret keys the Pulumi CLI hands the program.
 */
function isConfigSecret(key: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    return runtimeConfig.isConfigSecret?.(key) ?? false;
}

function parseJsonOrString(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
    const key = [NAMESPACE + ":" + (issue.path[0]?.toString() ?? ""), ...issue.path.slice(1).map(String)].join(".");
    if (issue.code === "unrecognized_keys") {
        const where = issue.path.length === 0 ? `${NAMESPACE}:` : `${key}.`;
        const known = issue.message.replace(/^allowed keys: /, "").split(", ");
        return issue.keys.map((k) => {
            const near = closest(k, known);
            return `${where}${k}: unknown key; ${issue.message}${near ? ` (did you mean "${near}"?)` : ""}`;
        });
    }
    const top = issue.path[0]?.toString();
    const given = issue.input === undefined
        ? "missing"
        : top !== undefined && SECRET_KEYS.has(top)
            ? `given a secret of ${String(issue.input).length} characters`
            : `given ${JSON.stringify(issue.input)}`;
    return [`${key}: ${given}; allowed: ${issue.message}`];
}

/** The known key nearest to a typo, when it is near enough to be what was meant. */
function closest(word: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) [best, bestDistance] = [c, d];
    }
    return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = row;
    }
    return prev[b.length]!;
}
