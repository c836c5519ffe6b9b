/**
 * The output contract: what every stack exports, whatever its target, and the builders for
 * the connection URL and the pipeline's `.env`. Shared by the program and the ops tools.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TargetName } from "./config";

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

/** What a target guarantees about keeping acknowledged writes. */
export interface Persistence {
    /** `aof+rdb`: the server's own append-only file and snapshots; other modes name the stand-in. */
    mode: "aof+rdb" | "snapshots+replicas" | "transaction-log" | "provider-managed";
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
    throw new Error("the password holds both a single quote and one of \" \\ $ `, which no .env quoting keeps intact for both a shell and dotenv; use the REDIS_URL, which is percent-encoded");
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
    return values.map(([k, v]) => `${k}=${envValue(v)}`).join("\n") + "\n";
}

/** The contract as Pulumi outputs, with the password and the URL secret. */
export interface ContractOutputs {
    target: pulumi.Output<TargetName>;
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    tls: pulumi.Output<boolean>;
    username: pulumi.Output<string>;
    password: pulumi.Output<string>;
    url: pulumi.Output<string>;
    bullmq: pulumi.Output<BullmqSettings>;
    persistence: pulumi.Output<Persistence>;
}

/** What every target component hands the program; the program never branches on the target. */
export interface RedisEndpoint {
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    tls: boolean;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
    persistence: pulumi.Input<Persistence>;
    /** BullMQ needs a hash-tagged prefix on a cluster; targets that shard set it. */
    bullmqPrefix?: string;
}

export function contractOutputs(target: TargetName, endpoint: RedisEndpoint, bullmq: { prefix: string; queue: string }): ContractOutputs {
    const password = pulumi.secret(endpoint.password);
    const url = pulumi.secret(
        pulumi.all([endpoint.host, endpoint.port, endpoint.username, password]).apply(([host, port, username, pw]) =>
            redisUrl({ tls: endpoint.tls, username, password: pw, host, port }),
        ),
    );
    return {
        target: pulumi.output(target),
        host: pulumi.output(endpoint.host),
        port: pulumi.output(endpoint.port),
        tls: pulumi.output(endpoint.tls),
        username: pulumi.output(endpoint.username),
        password,
        url,
        bullmq: pulumi.output(bullmqSettings(endpoint.bullmqPrefix ?? bullmq.prefix, bullmq.queue)),
        persistence: pulumi.output(endpoint.persistence),
    };
}
