/**
 * A throwaway redis-server on this machine that loads an RDB file: the check that a backup is
 * whole (`backup --verify`) and the source `restore` copies keys from. It listens on a Unix
 * socket in its own temp directory only (no TCP port), saves nothing, and is killed and its
 * directory removed by `stop()`, which callers run on every exit path.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type Redis from "ioredis";
import { info } from "../connection.ts";

export const REDIS_SERVER_HINT =
    "redis-server is needed on this machine to read the file: install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)";

/** `redis-server --version` of this machine, or an error saying how to install it. */
export function localServerVersion(): string {
    return localServerInfo().version;
}

/** The local server's version, and its INFO-style fields (Valkey's redis-server says "Valkey server v=..."). */
export function localServerInfo(): { version: string; info: Record<string, string> } {
    let out: string;
    try {
        out = execFileSync("redis-server", ["--version"], { encoding: "utf8" });
    } catch {
        throw new Error(REDIS_SERVER_HINT);
    }
    const version = /v=(\S+)/.exec(out)?.[1] ?? "unknown";
    return { version, info: /^valkey/i.test(out.trim()) ? { valkey_version: version, server_name: "valkey" } : { redis_version: version } };
}

export class ScratchServer {
    private readonly proc: ChildProcess;
    private readonly dir: string;
    readonly client: Redis;
    private readonly exited: Promise<void>;

    private constructor(proc: ChildProcess, dir: string, client: Redis, exited: Promise<void>) {
        this.proc = proc;
        this.dir = dir;
        this.client = client;
        this.exited = exited;
    }

    /** The live scratch servers of this process, stopped by `stopAllScratch` on a signal. */
    static readonly live = new Set<ScratchServer>();

    /** Starts a server that loads `rdbFile` and resolves once it has (rejects with the server's own reason otherwise). */
    static async load(rdbFile: string, o: { timeoutMs?: number } = {}): Promise<ScratchServer> {
        localServerVersion();
        const ioredis = await import("ioredis");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-scratch-"));
        fs.symlinkSync(path.resolve(rdbFile), path.join(dir, "dump.rdb"));
        const socket = path.join(dir, "redis.sock");
        const log = path.join(dir, "redis.log");
        const proc = spawn(
            "redis-server",
            [
                "--port",
                "0",
                "--unixsocket",
                socket,
                "--unixsocketperm",
                "700",
                "--dir",
                dir,
                "--dbfilename",
                "dump.rdb",
                "--appendonly",
                "no",
                "--save",
                "",
                "--logfile",
                log,
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            { stdio: "ignore" },
        );
        const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
        const client = new ioredis.default({
            path: socket,
            lazyConnect: true,
            enableReadyCheck: false,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
            commandTimeout: 60_000,
        });
        client.on("error", () => undefined);
        const server = new ScratchServer(proc, dir, client, exited);
        ScratchServer.live.add(server);
        try {
            const deadline = Date.now() + (o.timeoutMs ?? 600_000);
            for (;;) {
                if (proc.exitCode !== null || proc.signalCode !== null)
                    throw new Error(`the scratch redis-server could not load the file: ${server.reason()}`);
                if (Date.now() > deadline) throw new Error("the scratch redis-server did not finish loading the file in time");
                if (fs.existsSync(socket)) {
                    try {
                        if (client.status !== "ready") await client.connect();
                        const persistence = await info(client, "persistence");
                        if (persistence.loading === "0") return server;
                    } catch {
                        // LOADING or not yet accepting: ask again.
                        if (client.status === "end") client.disconnect();
                    }
                }
                await new Promise((r) => setTimeout(r, 50));
            }
        } catch (e) {
            await server.stop();
            throw e;
        }
    }

    /** The lines of the server's log that say why it stopped. */
    private reason(): string {
        let text = "";
        try {
            text = fs.readFileSync(path.join(this.dir, "redis.log"), "utf8");
        } catch {
            return "(no log)";
        }
        const lines = text
            .split("\n")
            .map((l) => l.replace(/^\d+:[A-Z] [^*#-]*[*#-] /, "").trim())
            .filter((l) => /rdb|RDB|checksum|version|Short read|Unrecoverable|corrupt|Internal error|Fatal|Can't/i.test(l));
        return (lines.slice(-3).join("; ") || text.trim().split("\n").slice(-1)[0]) ?? "(empty log)";
    }

    /** Keys in every database, from INFO keyspace. */
    async keyCount(): Promise<number> {
        const ks = await info(this.client, "keyspace");
        return Object.values(ks).reduce((n, v) => n + Number(/keys=(\d+)/.exec(v)?.[1] ?? 0), 0);
    }

    /** Databases holding keys, by number. */
    async databases(): Promise<number[]> {
        const ks = await info(this.client, "keyspace");
        return Object.keys(ks)
            .map((k) => Number(k.replace(/^db/, "")))
            .sort((a, b) => a - b);
    }

    async stop(): Promise<void> {
        ScratchServer.live.delete(this);
        this.client.disconnect();
        if (this.proc.exitCode === null && this.proc.signalCode === null) {
            this.proc.kill("SIGKILL");
            await this.exited;
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** Stops every scratch server this process started (for signal handlers). */
export async function stopAllScratch(): Promise<void> {
    await Promise.all([...ScratchServer.live].map((s) => s.stop()));
}
