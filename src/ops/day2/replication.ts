/**
 * The server's own snapshot, streamed over the replication protocol as a replica would receive
 * it (what `redis-cli --rdb` does): AUTH, `REPLCONF rdb-only 1`, `PSYNC ? -1`. The server forks,
 * writes one instant of its data set, and sends it as `$<length>` then the RDB bytes. No EOF
 * capability is announced, so the server always sends a length (disk-based transfer: the fork
 * writes the server's own RDB file first, as a scheduled snapshot would).
 *
 * Managed services refuse replication commands (ElastiCache and MemoryDB list PSYNC and SYNC as
 * restricted); backup.ts takes native snapshots there instead.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import * as fs from "node:fs";
import type { ConnectionOutputs } from "../../contract.ts";
import { CONNECT_TIMEOUT_MS } from "../connection.ts";

export interface StreamOptions {
    caFile?: string;
    /** Called with bytes received and the announced total. */
    onProgress?: (bytes: number, total: number) => void;
    /** Called once the server has forked: the snapshot's instant is now fixed. */
    onInstant?: (replid: string, offset: number) => void;
    /** Gives up when the server sends nothing for this long (the fork of a large data set can take a while). */
    idleTimeoutMs?: number;
}

export interface StreamResult {
    bytes: number;
    replid: string;
    offset: number;
}

export class ReplicationRefused extends Error {}

function command(...args: string[]): Buffer {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    return Buffer.from(parts.join(""));
}

function openSocket(o: ConnectionOutputs, c: StreamOptions): net.Socket {
    if (!o.tls) return net.connect({ host: o.host, port: o.port });
    return tls.connect({
        host: o.host,
        port: o.port,
        ...(net.isIP(o.host) ? {} : { servername: o.host }),
        ...(c.caFile ? { ca: fs.readFileSync(c.caFile) } : {}),
    });
}

/** Streams one snapshot of the server's data into `sink`; resolves once every byte is handed to it (the caller ends it). */
export function streamSnapshot(o: ConnectionOutputs, sink: NodeJS.WritableStream, c: StreamOptions = {}): Promise<StreamResult> {
    return new Promise((resolve, reject) => {
        const socket = openSocket(o, c);
        let buf: Buffer = Buffer.alloc(0);
        // Replies expected in order: AUTH, REPLCONF rdb-only, PSYNC, then the payload.
        let stage: "auth" | "replconf" | "psync" | "length" | "payload" | "done" = "auth";
        let total = 0;
        let received = 0;
        let replid = "";
        let offset = 0;
        let settled = false;
        const fail = (e: Error) => {
            if (settled) return;
            settled = true;
            socket.destroy();
            reject(e);
        };
        const connectTimer = setTimeout(
            () => fail(new Error(`no answer from ${o.host}:${o.port} within ${CONNECT_TIMEOUT_MS / 1000} s`)),
            CONNECT_TIMEOUT_MS,
        );
        socket.setTimeout(c.idleTimeoutMs ?? 120_000, () =>
            fail(new Error(`the server sent nothing for ${(c.idleTimeoutMs ?? 120_000) / 1000} s during the snapshot`)),
        );
        socket.on("error", (e) => fail(e));
        socket.on("close", () => {
            if (stage !== "done")
                fail(new Error(`the server closed the connection during the snapshot (${received} of ${total || "?"} bytes received)`));
        });
        socket.once(o.tls ? "secureConnect" : "connect", () => {
            clearTimeout(connectTimer);
            socket.write(command("AUTH", o.username, o.password));
        });

        const line = (): string | undefined => {
            const i = buf.indexOf("\r\n");
            if (i < 0) return undefined;
            const l = buf.subarray(0, i).toString("latin1");
            buf = buf.subarray(i + 2);
            return l;
        };

        socket.on("data", (chunk: Buffer) => {
            if (settled) return;
            if (stage === "payload") return payload(chunk);
            buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
            for (;;) {
                // While the fork writes, the server sends bare newlines to keep the link alive.
                while (stage === "length" && buf.length > 0 && buf[0] === 0x0a) buf = buf.subarray(1);
                const l = line();
                if (l === undefined) return;
                if (stage === "auth") {
                    if (!l.startsWith("+")) return fail(new ReplicationRefused(`the server refused the credentials: ${l.slice(1)}`));
                    stage = "replconf";
                    socket.write(command("REPLCONF", "rdb-only", "1"));
                } else if (stage === "replconf") {
                    // Servers before 7.0 do not know rdb-only: they answer an error and stream
                    // commands after the snapshot, which this client never reads.
                    stage = "psync";
                    socket.write(command("PSYNC", "?", "-1"));
                } else if (stage === "psync") {
                    const m = /^\+FULLRESYNC (\S+) (\d+)/.exec(l);
                    if (!m) return fail(new ReplicationRefused(`the server refused to send its snapshot: ${l.replace(/^[-+]/, "")}`));
                    replid = m[1]!;
                    offset = Number(m[2]);
                    c.onInstant?.(replid, offset);
                    stage = "length";
                } else if (stage === "length") {
                    if (l.startsWith("$EOF:")) return fail(new Error("the server sent a diskless stream without being asked"));
                    const m = /^\$(\d+)$/.exec(l);
                    if (!m) return fail(new Error(`unexpected reply before the snapshot: ${l.slice(0, 80)}`));
                    total = Number(m[1]);
                    stage = "payload";
                    c.onProgress?.(0, total);
                    const rest = buf;
                    buf = Buffer.alloc(0);
                    if (rest.length) payload(rest);
                    if (total === 0) finish();
                    return;
                }
            }
        });

        const payload = (chunk: Buffer) => {
            const take = chunk.subarray(0, Math.min(chunk.length, total - received));
            received += take.length;
            if (!sink.write(take)) {
                socket.pause();
                sink.once("drain", () => socket.resume());
            }
            c.onProgress?.(received, total);
            if (received === total) finish();
        };

        const finish = () => {
            stage = "done";
            socket.destroy();
            settled = true;
            resolve({ bytes: received, replid, offset });
        };
    });
}
