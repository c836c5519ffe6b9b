/**
 * Real redis-servers for the tests and the bench, started from a rendered redis.conf. Each gets a
 * fresh data directory and a free loopback port; `kill9` and `restart` act on the real process.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import Redis, { type RedisOptions } from "ioredis";
import { applyOverrides, parseRedisConf, renderRedisConf } from "../src/redisConf";

export const INSTALL_HINT =
    "redis-server not found on PATH: install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS); .ci/run installs it on CI";

/** Fails with how to install it when there is no redis-server: never a silent skip. */
export function requireRedisServer(): string {
    try {
        return execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
    } catch {
        throw new Error(INSTALL_HINT);
    }
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as net.AddressInfo;
            srv.close(() => resolve(port));
        });
    });
}

export interface StartOptions {
    /** The rendered redis.conf text. */
    conf: string;
    /** Extra command-line arguments, after the file (they win over it). */
    args?: string[];
    /** Reuse a data directory (a restart); default a new temp directory. */
    dir?: string;
    port?: number;
    /** The server listens with TLS on the port (the conf must name the TLS files). */
    tls?: boolean;
}

/**
 * redis-server's command line for a test server: the config file, then the port (the TLS port,
 * plain TCP off, when `tls`), the data folder, loopback only, the log file, in the foreground.
 */
export function serverCommandArgs(o: {
    confFile: string;
    port: number;
    dir: string;
    logFile: string;
    tls?: boolean;
    extraArgs?: readonly string[];
}): string[] {
    const portArgs = o.tls ? ["--port", "0", "--tls-port", String(o.port)] : ["--port", String(o.port)];
    return [
        o.confFile,
        ...portArgs,
        "--dir",
        o.dir,
        "--bind",
        "127.0.0.1",
        "--logfile",
        o.logFile,
        "--daemonize",
        "no",
        ...(o.extraArgs ?? []),
    ];
}

export class RedisServer {
    private proc?: ChildProcess;
    private exited?: Promise<void>;

    private constructor(
        readonly confFile: string,
        readonly dir: string,
        readonly port: number,
        readonly extraArgs: string[],
        readonly tls: boolean,
    ) {}

    static async start(o: StartOptions): Promise<RedisServer> {
        requireRedisServer();
        const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-redis-"));
        const confFile = path.join(dir, "redis.conf");
        // A rendered file names the target's data directory (/data in the container), which
        // redis-server enters while still reading the file: that one line points at the test's
        // directory instead. Every other line is the rendered file's.
        fs.writeFileSync(confFile, renderRedisConf(applyOverrides(parseRedisConf(o.conf), { dir })), { mode: 0o600 });
        const server = new RedisServer(confFile, dir, o.port ?? (await freePort()), o.args ?? [], o.tls ?? false);
        await server.launch();
        return server;
    }

    get logFile(): string {
        return path.join(this.dir, "redis.log");
    }

    /** Command line as a person would type it: the file, then port, dir and loopback. */
    commandArgs(): string[] {
        return serverCommandArgs(this);
    }

    private async launch(): Promise<void> {
        const proc = spawn("redis-server", this.commandArgs(), { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        proc.stderr?.on("data", (d) => (stderr += d));
        this.proc = proc;
        this.exited = new Promise((resolve) => proc.once("exit", () => resolve()));
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
            if (proc.exitCode !== null) {
                throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr}\n${this.tail()}`);
            }
            if (await this.listening()) return;
            await sleep(50);
        }
        throw new Error(`redis-server did not listen on ${this.port} within 20 s\n${this.tail()}`);
    }

    private listening(): Promise<boolean> {
        return new Promise((resolve) => {
            const s = net.connect(this.port, "127.0.0.1");
            s.once("connect", () => {
                s.destroy();
                resolve(true);
            });
            s.once("error", () => resolve(false));
        });
    }

    /** The last lines of the server's log, for failure messages. */
    tail(lines = 20): string {
        return logTail(this.logFile, lines);
    }

    /** A client; pass the password (or none to test refusal). Retries are off: errors surface. */
    client(o: RedisOptions = {}): Redis {
        return new Redis({
            host: "127.0.0.1",
            port: this.port,
            lazyConnect: true,
            enableReadyCheck: false,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
            ...o,
        });
    }

    /** SIGKILL: no shutdown save, no final fsync, as a crash or the OOM killer would. */
    async kill9(): Promise<void> {
        this.proc?.kill("SIGKILL");
        await this.exited;
    }

    /** Starts again on the same port, config and data directory, and waits until loaded. */
    async restart(password?: string): Promise<void> {
        await this.launch();
        const c = this.client({ password });
        await c.connect();
        try {
            // Redis 7 listens while it loads the AOF and answers LOADING until done.
            for (;;) {
                const pong = await c.ping().catch((e: Error) => e.message);
                if (pong === "PONG" && /loading:0/.test(await c.info("persistence"))) break;
                await sleep(50);
            }
        } finally {
            c.disconnect();
        }
    }

    async stop(): Promise<void> {
        if (this.proc && this.proc.exitCode === null) {
            this.proc.kill("SIGTERM");
            await this.exited;
        }
    }

    async destroy(): Promise<void> {
        await this.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** The last lines of a log file, for failure messages; "(no log)" when there is none yet. */
export function logTail(file: string, lines: number): string {
    try {
        return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
