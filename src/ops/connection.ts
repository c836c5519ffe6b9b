/** ioredis options for a stack's server, as the pipeline would connect; ioredis itself loads at the first connection. */
import * as fs from "node:fs";
import * as net from "node:net";
import type Redis from "ioredis";
import type { Cluster, RedisOptions } from "ioredis";
import type { ConnectionOutputs } from "../contract.ts";

export interface ConnectOptions {
    /** A CA bundle (PEM file) for servers whose certificate no public CA signed. */
    caFile?: string;
    /** Use TLS or not, whatever the outputs say (the TLS check tries both). */
    tls?: boolean;
    /** Send no credentials (the auth check). */
    anonymous?: boolean;
    connectTimeoutMs?: number;
    /** How long one command may take once connected. @default connectTimeoutMs */
    commandTimeoutMs?: number;
    /** Skip certificate verification: only to tell what a server speaks, never with credentials. */
    insecure?: boolean;
}

export const CONNECT_TIMEOUT_MS = 5000;

export function redisOptions(o: ConnectionOutputs, c: ConnectOptions = {}): RedisOptions {
    const useTls = c.tls ?? o.tls;
    return {
        host: o.host,
        port: o.port,
        ...(c.anonymous ? {} : { username: o.username, password: o.password }),
        ...(useTls
            ? {
                  tls: {
                      // SNI takes a host name, never an address (RFC 6066).
                      ...(net.isIP(o.host) ? {} : { servername: o.host }),
                      ...(c.caFile ? { ca: fs.readFileSync(c.caFile) } : {}),
                      ...(c.insecure ? { rejectUnauthorized: false } : {}),
                  },
              }
            : {}),
        connectTimeout: c.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        commandTimeout: c.commandTimeoutMs ?? c.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        lazyConnect: true,
        enableReadyCheck: false,
        // ioredis sends CLIENT SETINFO before it reports ready: on a hung server that alone
        // would spend a whole command timeout before the first real command.
        disableClientInfo: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    };
}

/** `host:port over TLS` or `host:port over plain TCP`: what every connection error starts with. */
export function place(o: Pick<ConnectionOutputs, "host" | "port">, tls: boolean): string {
    return `${o.host}:${o.port} over ${tls ? "TLS" : "plain TCP"}`;
}

/** A failure to reach or read a server, naming where and how it was tried. */
export class ConnectionError extends Error {
    readonly where: string;
    readonly reason: string;

    constructor(where: string, reason: string) {
        super(`${where}: ${reason}`);
        this.where = where;
        this.reason = reason;
    }
}

/** ioredis's and Node's wording, said in terms of what the server did. */
export function explain(e: Error, timeoutMs: number): string {
    const s = `${timeoutMs / 1000} s`;
    const m = e.message;
    if (/Command timed out/.test(m)) return `the connection was accepted but no reply came within ${s} (the server is hung or overloaded)`;
    if (/Stream isn't writeable/.test(m)) return "the connection closed before the command could be sent";
    if (/connect ETIMEDOUT/.test(m))
        return `no connection within ${s} (${m}): packets dropped on the way, or a TLS handshake nobody answered`;
    if (/ECONNREFUSED/.test(m)) return `connection refused (${m}): nothing listens there`;
    if (/^Connection is closed/.test(m)) return "the server closed the connection";
    return m;
}

/** Connects, or rejects with a ConnectionError naming host, port and protocol: no retries, no reconnects. */
export async function connect(o: ConnectionOutputs, c: ConnectOptions = {}): Promise<Redis> {
    const ioredis = await import("ioredis");
    const client = new ioredis.default(redisOptions(o, c));
    // ioredis rejects a failed connect with "Connection is closed."; the error event before it
    // says why (ECONNREFUSED, a TLS alert, a timeout).
    let cause: Error | undefined;
    client.on("error", (e: Error) => (cause ??= e));
    try {
        await client.connect();
        // ioredis reports ready even when the AUTH it sent on connecting failed or timed out
        // (a hung server): that error is the connection's.
        if (cause) throw cause;
        return client;
    } catch (e) {
        client.disconnect();
        throw new ConnectionError(place(o, c.tls ?? o.tls), explain(cause ?? (e as Error), c.connectTimeoutMs ?? CONNECT_TIMEOUT_MS));
    }
}

/** Awaits a command's result; a failure other than a Redis error reply becomes a ConnectionError naming the place. */
export async function named<T>(
    o: Pick<ConnectionOutputs, "host" | "port">,
    tls: boolean,
    p: Promise<T>,
    timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<T> {
    try {
        return await p;
    } catch (e) {
        if (e instanceof ConnectionError || (e as Error).name === "ReplyError") throw e;
        throw new ConnectionError(place(o, tls), explain(e as Error, timeoutMs));
    }
}

/** INFO as a map of field to value. */
export async function info(client: Redis, section?: string): Promise<Record<string, string>> {
    const text = section ? await client.info(section) : await client.info();
    const out: Record<string, string> = {};
    for (const line of text.split("\r\n")) {
        const i = line.indexOf(":");
        if (i > 0 && !line.startsWith("#")) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
}

/**
 * Whether the stack is a sharded cluster: its BullMQ prefix carries a hash tag, which only
 * cluster targets (MemoryDB, ElastiCache cluster mode) give it.
 */
export function isCluster(o: ConnectionOutputs): boolean {
    return /\{[^}]+\}/.test(o.bullmq.prefix);
}

/** A cluster client through the stack's endpoint, authenticated; resolves once the slots are known. */
export async function connectCluster(o: ConnectionOutputs, c: ConnectOptions = {}): Promise<Cluster> {
    const { username, password, tls, connectTimeout } = redisOptions(o, c);
    const ioredis = await import("ioredis");
    const cluster = new ioredis.Cluster([{ host: o.host, port: o.port }], {
        redisOptions: { username, password, tls, connectTimeout, maxRetriesPerRequest: null },
        // Managed clusters hand out TLS names that must be connected to as given.
        dnsLookup: (address, callback) => callback(null, address),
        clusterRetryStrategy: () => null,
        slotsRefreshTimeout: connectTimeout,
    });
    let cause: Error | undefined;
    cluster.on("error", (e: Error) => (cause ??= e));
    await new Promise<void>((resolve, reject) => {
        cluster.once("ready", () => resolve());
        cluster.once("end", () =>
            reject(
                new ConnectionError(
                    `cluster through ${place(o, tls !== undefined)}`,
                    cause ? explain(cause, connectTimeout ?? CONNECT_TIMEOUT_MS) : "the cluster connection closed",
                ),
            ),
        );
    });
    return cluster;
}
