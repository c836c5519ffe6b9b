/**
 * The output contract: what every stack exports, whatever its target, its schema, and the
 * builders for the connection URL and the pipeline's `.env`. Shared by the program, the stack
 * config and the ops tools. A leaf: it imports zod and nothing else (the ops tools load it
 * without the Pulumi SDK or the config schema; the Pulumi side is `endpoint.ts`).
 */
import { z } from "zod";

/** Where a stack runs; every stack names one. */
export const TARGETS = ["docker", "vm", "elasticache", "kubernetes", "external"] as const;
export type TargetName = (typeof TARGETS)[number];

/** Seconds BullMQ keeps finished jobs: completed ones for a day, failed ones for a week. */
export const COMPLETED_RETENTION_SECONDS = 24 * 60 * 60;
export const FAILED_RETENTION_SECONDS = 7 * 24 * 60 * 60;
export const COMPLETED_RETENTION_COUNT = 1000;
export const FAILED_RETENTION_COUNT = 5000;

export interface BullmqSettings {
    prefix: string;
    queue: string;
    defaultJobOptions: {
        removeOnComplete: { count: number; age: number };
        removeOnFail: { count: number; age: number };
    };
}

/** A redis.conf directive a target cannot honour, and what stands in for it there. */
export interface Unsupported {
    directive: string;
    reason: string;
    insteadUse: string;
}

/** How a target keeps acknowledged writes: `aof+rdb` is the server's own AOF and snapshots; the others name the stand-in. */
export const PERSISTENCE_MODES = ["aof+rdb", "snapshots+replicas", "transaction-log", "provider-managed"] as const;

/** What a target guarantees about keeping acknowledged writes. */
export interface Persistence {
    /** `aof+rdb`: the server's own append-only file and snapshots; other modes name the stand-in. */
    mode: (typeof PERSISTENCE_MODES)[number];
    aof: boolean;
    appendfsync?: string;
    /** RDB save points as redis.conf writes them (`900 1`). */
    rdbSavePoints: string[];
    maxmemory: string;
    maxmemoryPolicy: "noeviction";
    snapshotRetentionDays?: number;
    replicas?: number;
    unsupported: Unsupported[];
}

/** The connection outputs, as plain values (what `pulumi stack output --json --show-secrets` prints). */
export interface ConnectionOutputs {
    target: TargetName;
    host: string;
    port: number;
    tls: boolean;
    username: string;
    password: string;
    url: string;
    bullmq: BullmqSettings;
    persistence: Persistence;
}

export const CONTRACT_OUTPUTS = ["target", "host", "port", "tls", "username", "password", "url", "bullmq", "persistence"] as const;

/**
 * The outputs as the ops tools accept them: what a stack exports, as `pulumi stack output --json
 * --show-secrets` prints it (or a file written by hand). Parsing keeps the contract's outputs
 * only (`details` and other extras are dropped). Zod's own messages say what is wrong with a
 * value; the ops tools word the problems of secret outputs themselves.
 */
export const connectionOutputsSchema = z.object({
    target: z.enum(TARGETS),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    tls: z.boolean(),
    username: z.string().min(1),
    password: z.string(),
    url: z.string(),
    bullmq: z.object({
        prefix: z.string().min(1),
        queue: z.string().min(1),
        defaultJobOptions: z
            .object({
                removeOnComplete: z.object({ count: z.number().int().nonnegative(), age: z.number().nonnegative() }),
                removeOnFail: z.object({ count: z.number().int().nonnegative(), age: z.number().nonnegative() }),
            })
            .passthrough(),
    }),
    persistence: z.object({
        mode: z.enum(PERSISTENCE_MODES),
        aof: z.boolean(),
        appendfsync: z.string().optional(),
        rdbSavePoints: z.array(z.string()),
        maxmemory: z.string(),
        maxmemoryPolicy: z.literal("noeviction"),
        snapshotRetentionDays: z.number().optional(),
        replicas: z.number().optional(),
        unsupported: z.array(z.object({ directive: z.string(), reason: z.string(), insteadUse: z.string() })),
    }),
}) satisfies z.ZodType<ConnectionOutputs>;

export function bullmqSettings(prefix: string, queue: string): BullmqSettings {
    return {
        prefix,
        queue,
        defaultJobOptions: {
            removeOnComplete: { count: COMPLETED_RETENTION_COUNT, age: COMPLETED_RETENTION_SECONDS },
            removeOnFail: { count: FAILED_RETENTION_COUNT, age: FAILED_RETENTION_SECONDS },
        },
    };
}

/** `redis://` or `rediss://` with credentials, every part percent-encoded, IPv6 hosts bracketed. */
export function redisUrl(c: { tls: boolean; username: string; password: string; host: string; port: number }): string {
    const host = c.host.includes(":") && !c.host.startsWith("[") ? `[${c.host}]` : c.host;
    const credentials = `${strictEncode(c.username)}:${strictEncode(c.password)}@`;
    return `${c.tls ? "rediss" : "redis"}://${credentials}${host}:${c.port}`;
}

/** encodeURIComponent, plus the characters RFC 3986 reserves that it leaves alone. */
function strictEncode(s: string): string {
    return encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A value as a `.env` line writes it so that both a shell (`source .env`) and dotenv read it
 * back unchanged: bare when safe, else in single quotes (literal in both), else in double
 * quotes when it holds a single quote and nothing either reader would expand.
 */
export function envValue(v: string): string {
    if (/^[\w@%+=:,./-]*$/.test(v)) return v;
    if (!v.includes("'") && !v.includes("\n")) return `'${v}'`;
    if (!/["\\$`\n]/.test(v)) return `"${v}"`;
    throw new Error(
        'the password holds both a single quote and one of " \\ $ `, which no .env quoting keeps intact for both a shell and dotenv; use the REDIS_URL, which is percent-encoded',
    );
}

/** The pipeline's `.env`, one `KEY=value` a line. */
export function envFile(c: Pick<ConnectionOutputs, "host" | "port" | "tls" | "username" | "password">): string {
    const values: [string, string][] = [
        ["REDIS_HOST", c.host],
        ["REDIS_PORT", String(c.port)],
        ["REDIS_USERNAME", c.username],
        ["REDIS_PASSWORD", c.password],
        ["REDIS_TLS", String(c.tls)],
        ["REDIS_URL", redisUrl(c)],
    ];
    return `${values.map(([k, v]) => `${k}=${envValue(v)}`).join("\n")}\n`;
}
