/**
 * A real Docker Engine for tests: Debian's dockerd started here, private to one test file
 * (its own data root, exec root, socket and pid file under a temp folder; no iptables rules,
 * no IP forwarding or masquerading, no default bridge), spoken to through the Engine API over
 * its unix socket. Containers get a test-owned bridge network so that the engine's userland
 * proxy can publish ports on the host addresses a test names.
 *
 * `stop()` removes the containers, the network (and its bridge), the volumes, stops dockerd by
 * its PID and checks that no mount is left under the temp folder. Every test file calls it in
 * afterAll, also after a failure.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { SBIN_PATH } from "../../tools/requireTool";

export const DOCKERD_INSTALL =
    "dockerd not found: install Debian's engine with `sudo apt-get install -y docker.io` (the tests start their own dockerd; no service is needed); .ci/run installs it on CI";

export interface ApiResponse {
    status: number;
    body: Buffer;
    json<T = any>(): T;
    text(): string;
}

export interface ExecResult {
    exitCode: number;
    output: string;
}

/** The dockerd binary, or a failure that says how to install it. */
export function requireDockerd(): string {
    try {
        return execFileSync("sh", ["-c", "command -v dockerd"], { encoding: "utf8", env: { PATH: SBIN_PATH } }).trim();
    } catch {
        throw new Error(DOCKERD_INSTALL);
    }
}

/** A private subnet for the test bridge that no route on this machine uses yet. */
function freeSubnet(): string {
    const routes = execFileSync("ip", ["-4", "route"], { encoding: "utf8", env: { PATH: SBIN_PATH } });
    for (let i = 0; i < 50; i++) {
        const third = 1 + Math.floor(Math.random() * 250);
        const subnet = `10.213.${third}.0/24`;
        if (!routes.includes(`10.213.${third}.`)) return subnet;
    }
    throw new Error("no free 10.213.x.0/24 subnet for the test bridge");
}

export class DockerEngine {
    private exited = false;
    private readonly created = { containers: new Set<string>(), volumes: new Set<string>(), networks: new Set<string>() };
    readonly bridge: string;
    readonly network: string;

    private constructor(
        readonly dir: string,
        readonly socket: string,
        private readonly proc: ChildProcess,
        readonly logFile: string,
    ) {
        const id = randomBytes(4).toString("hex");
        this.bridge = `msr${id}`;
        this.network = `mspbyte-test-${id}`;
    }

    /** Starts dockerd; fails with dockerd's own words when it cannot. */
    static async start(): Promise<DockerEngine> {
        const dockerd = requireDockerd();
        if (process.getuid?.() !== 0)
            throw new Error("the real-engine tests start dockerd and need root (CI runs as root); run them as root");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-dockerd-"));
        const socket = path.join(dir, "docker.sock");
        const logFile = path.join(dir, "dockerd.log");
        const log = fs.openSync(logFile, "a");
        const proc = spawn(
            dockerd,
            [
                "--iptables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--bridge=none",
                "--data-root",
                path.join(dir, "data"),
                "--exec-root",
                path.join(dir, "exec"),
                "--pidfile",
                path.join(dir, "dockerd.pid"),
                "-H",
                `unix://${socket}`,
                "--userland-proxy=true",
                "--log-level=warn",
            ],
            { stdio: ["ignore", log, log], env: { ...process.env, PATH: SBIN_PATH } },
        );
        fs.closeSync(log);
        const engine = new DockerEngine(dir, socket, proc, logFile);
        // If the test process ends without afterAll (a killed worker), dockerd is still told to stop.
        const onExit = () => {
            if (!engine.exited) proc.kill("SIGTERM");
        };
        process.once("exit", onExit);
        proc.on("exit", () => {
            engine.exited = true;
            process.removeListener("exit", onExit);
        });
        const deadline = Date.now() + 30_000;
        for (;;) {
            if (engine.exited) {
                const why = fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
                fs.rmSync(dir, { recursive: true, force: true });
                throw new Error(`dockerd exited at start; its log ends:\n${why}`);
            }
            try {
                if ((await engine.api("GET", "/_ping")).status === 200) break;
            } catch {
                /* not listening yet */
            }
            if (Date.now() > deadline) {
                const why = fs.readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
                await engine.stop();
                throw new Error(`dockerd did not answer on ${socket} within 30 s; its log ends:\n${why}`);
            }
            await new Promise((r) => setTimeout(r, 200));
        }
        const net = await engine.api("POST", "/networks/create", {
            Name: engine.network,
            Driver: "bridge",
            CheckDuplicate: true,
            IPAM: { Config: [{ Subnet: freeSubnet() }] },
            Options: { "com.docker.network.bridge.name": engine.bridge, "com.docker.network.bridge.enable_ip_masquerade": "false" },
        });
        if (net.status !== 201) {
            await engine.stop();
            throw new Error(`creating the test bridge failed: ${net.status} ${net.text()}`);
        }
        engine.created.networks.add(engine.network);
        return engine;
    }

    /** One Engine API call over the unix socket (API 1.41, Debian 12's engine). */
    api(
        method: string,
        apiPath: string,
        body?: unknown,
        opts: { raw?: Buffer; contentType?: string; timeoutMs?: number } = {},
    ): Promise<ApiResponse> {
        return new Promise((resolve, reject) => {
            const payload = opts.raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
            const req = http.request(
                {
                    socketPath: this.socket,
                    method,
                    path: `/v1.41${apiPath}`,
                    headers: {
                        Host: "docker",
                        ...(payload ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": payload.length } : {}),
                    },
                    timeout: opts.timeoutMs ?? 120_000,
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        const buf = Buffer.concat(chunks);
                        resolve({
                            status: res.statusCode ?? 0,
                            body: buf,
                            text: () => buf.toString("utf8"),
                            json: () => JSON.parse(buf.toString("utf8")),
                        });
                    });
                    res.on("error", reject);
                },
            );
            req.on("timeout", () => req.destroy(new Error(`${method} ${apiPath}: no answer from dockerd`)));
            req.on("error", reject);
            if (payload) req.write(payload);
            req.end();
        });
    }

    private async ok(
        method: string,
        apiPath: string,
        body?: unknown,
        expect = [200, 201, 204],
        opts: { raw?: Buffer; contentType?: string } = {},
    ): Promise<ApiResponse> {
        const r = await this.api(method, apiPath, body, opts);
        if (!expect.includes(r.status)) throw new Error(`${method} ${apiPath}: ${r.status} ${r.text()}`);
        return r;
    }

    /** `docker import` of a root filesystem tar, with image settings as `--change` lines. */
    async importImage(rootfsTar: Buffer, repo: string, tag: string, changes: string[]): Promise<string> {
        const q = new URLSearchParams({ fromSrc: "-", repo, tag });
        for (const c of changes) q.append("changes", c);
        const r = await this.ok("POST", `/images/create?${q}`, undefined, [200], { raw: rootfsTar, contentType: "application/x-tar" });
        if (/"error"/.test(r.text())) throw new Error(`import failed: ${r.text()}`);
        return (await this.ok("GET", `/images/${repo}:${tag}/json`)).json().Id;
    }

    async createVolume(name: string, labels: Record<string, string> = {}): Promise<void> {
        await this.ok("POST", "/volumes/create", { Name: name, Labels: labels });
        this.created.volumes.add(name);
    }

    async createContainer(name: string, config: Record<string, unknown>): Promise<string> {
        const r = await this.ok("POST", `/containers/create?name=${encodeURIComponent(name)}`, config);
        const id = r.json().Id as string;
        this.created.containers.add(id);
        return id;
    }

    /** Extracts a tar into a container's filesystem at `/`, as the provider's uploads do. */
    async putArchive(id: string, tar: Buffer, at = "/"): Promise<void> {
        await this.ok("PUT", `/containers/${id}/archive?path=${encodeURIComponent(at)}`, undefined, [200], {
            raw: tar,
            contentType: "application/x-tar",
        });
    }

    async startContainer(id: string): Promise<void> {
        await this.ok("POST", `/containers/${id}/start`, undefined, [204, 304]);
    }

    async stopContainer(id: string, timeoutSeconds?: number): Promise<void> {
        await this.ok("POST", `/containers/${id}/stop${timeoutSeconds === undefined ? "" : `?t=${timeoutSeconds}`}`, undefined, [204, 304]);
    }

    async removeContainer(id: string): Promise<void> {
        await this.ok("DELETE", `/containers/${id}?force=true&v=true`, undefined, [204, 404]);
        this.created.containers.delete(id);
    }

    async inspect(id: string): Promise<any> {
        return (await this.ok("GET", `/containers/${id}/json`)).json();
    }

    async logs(id: string): Promise<string> {
        const r = await this.api("GET", `/containers/${id}/logs?stdout=true&stderr=true&tail=40`);
        return demux(r.body);
    }

    /** Runs a command inside a running container, as its user unless told; exit code and output. */
    async exec(id: string, cmd: string[], opts: { env?: string[]; user?: string } = {}): Promise<ExecResult> {
        const created = await this.ok("POST", `/containers/${id}/exec`, {
            Cmd: cmd,
            AttachStdout: true,
            AttachStderr: true,
            Tty: false,
            ...(opts.env ? { Env: opts.env } : {}),
            ...(opts.user ? { User: opts.user } : {}),
        });
        const execId = created.json().Id as string;
        const started = await this.ok("POST", `/exec/${execId}/start`, { Detach: false, Tty: false });
        const info = (await this.ok("GET", `/exec/${execId}/json`)).json();
        return { exitCode: info.ExitCode as number, output: demux(started.body) };
    }

    /** Waits until the container's health is `want`; fails with its health log otherwise. */
    async waitForHealth(id: string, want: "healthy" | "unhealthy", timeoutMs: number): Promise<any> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const state = (await this.inspect(id)).State;
            if (state.Health?.Status === want) return state;
            if (!state.Running && state.Status !== "restarting") {
                throw new Error(`container stopped (exit ${state.ExitCode}) while waiting for ${want}; its log:\n${await this.logs(id)}`);
            }
            if (Date.now() > deadline) {
                throw new Error(`not ${want} within ${timeoutMs} ms: ${JSON.stringify(state.Health)}\nlog:\n${await this.logs(id)}`);
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }

    /** Removes everything this engine made, stops dockerd by its PID and its temp folder. */
    async stop(): Promise<void> {
        const problems: string[] = [];
        if (!this.exited) {
            for (const id of [...this.created.containers]) await this.removeContainer(id).catch((e) => problems.push(String(e)));
            for (const v of [...this.created.volumes])
                await this.api("DELETE", `/volumes/${v}?force=true`).catch((e) => problems.push(String(e)));
            for (const n of [...this.created.networks]) await this.api("DELETE", `/networks/${n}`).catch((e) => problems.push(String(e)));
            this.proc.kill("SIGTERM");
            const deadline = Date.now() + 20_000;
            while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
            if (!this.exited) {
                problems.push("dockerd did not stop within 20 s of SIGTERM; killed");
                this.proc.kill("SIGKILL");
                while (!this.exited) await new Promise((r) => setTimeout(r, 100));
            }
        }
        // Nothing mounted under the temp folder may survive (overlay layers, shm, netns files).
        const mounts = fs
            .readFileSync("/proc/mounts", "utf8")
            .split("\n")
            .map((l) => l.split(" ")[1] ?? "")
            .filter((m) => m.startsWith(this.dir))
            .reverse();
        for (const m of mounts) {
            problems.push(`left mounted: ${m}`);
            try {
                execFileSync("umount", ["-l", m], { env: { PATH: SBIN_PATH } });
            } catch {
                /* reported above */
            }
        }
        try {
            execFileSync("ip", ["link", "show", this.bridge], { stdio: "ignore", env: { PATH: SBIN_PATH } });
            problems.push(`bridge ${this.bridge} left behind`);
            execFileSync("ip", ["link", "delete", this.bridge], { stdio: "ignore", env: { PATH: SBIN_PATH } });
        } catch {
            /* gone, as it should be */
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
        if (problems.length) throw new Error(`the test engine did not shut down cleanly:\n${problems.join("\n")}`);
    }
}

/** The Engine's multiplexed stdout/stderr stream (8-byte frame headers) as text. */
function demux(buf: Buffer): string {
    let out = "";
    let i = 0;
    while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0) && buf[i + 1] === 0) {
        const size = buf.readUInt32BE(i + 4);
        out += buf.subarray(i + 8, i + 8 + size).toString("utf8");
        i += 8 + size;
    }
    return i === 0 ? buf.toString("utf8") : out;
}

export interface TarEntry {
    name: string;
    content?: string | Buffer;
    mode: number;
    uid?: number;
    gid?: number;
    type?: "file" | "dir" | "symlink";
    linkTarget?: string;
}

/** A ustar archive, as Go's archive/tar writes one for the provider's uploads. */
export function tar(entries: TarEntry[]): Buffer {
    const blocks: Buffer[] = [];
    for (const e of entries) {
        const data = e.type === "file" || e.type === undefined ? Buffer.from(e.content ?? "") : Buffer.alloc(0);
        const h = Buffer.alloc(512, 0);
        let name = e.name.replace(/^\//, "");
        let prefix = "";
        if (Buffer.byteLength(name) > 100) {
            const cut = name.lastIndexOf("/", 154);
            prefix = name.slice(0, cut);
            name = name.slice(cut + 1);
        }
        const oct = (n: number, len: number) => `${n.toString(8).padStart(len - 1, "0")}\0`;
        h.write(name, 0, 100, "utf8");
        h.write(oct(e.mode & 0o7777, 8), 100, 8, "ascii");
        h.write(oct(e.uid ?? 0, 8), 108, 8, "ascii");
        h.write(oct(e.gid ?? 0, 8), 116, 8, "ascii");
        h.write(oct(data.length, 12), 124, 12, "ascii");
        h.write(oct(Math.floor(Date.now() / 1000), 12), 136, 12, "ascii");
        h.write("        ", 148, 8, "ascii");
        h.write(e.type === "dir" ? "5" : e.type === "symlink" ? "2" : "0", 156, 1, "ascii");
        if (e.linkTarget) h.write(e.linkTarget, 157, 100, "utf8");
        h.write("ustar\x0000", 257, 8, "ascii");
        h.write(prefix, 345, 155, "utf8");
        let sum = 0;
        for (const b of h) sum += b;
        h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
        blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512, 0));
    }
    blocks.push(Buffer.alloc(1024, 0));
    return Buffer.concat(blocks);
}

/** Listening TCP sockets on a port in this network namespace, as addresses ("127.0.0.1", "0.0.0.0", "::"). */
export function listeningAddresses(port: number): string[] {
    const found: string[] = [];
    for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        const lines = fs.readFileSync(file, "utf8").split("\n").slice(1);
        for (const line of lines) {
            const f = line.trim().split(/\s+/);
            if (f.length < 4 || f[3] !== "0A") continue;
            const [hexAddr, hexPort] = f[1]!.split(":");
            if (parseInt(hexPort!, 16) !== port) continue;
            found.push(decodeAddress(hexAddr!));
        }
    }
    return found.sort();
}

function decodeAddress(hex: string): string {
    if (hex.length === 8) {
        return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
    }
    // IPv6: four little-endian 32-bit words.
    const bytes: number[] = [];
    for (let w = 0; w < 4; w++) {
        const word = hex.slice(w * 8, w * 8 + 8);
        for (let i = 3; i >= 0; i--) bytes.push(parseInt(word.slice(i * 2, i * 2 + 2), 16));
    }
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    const full = groups.join(":");
    if (full === "0:0:0:0:0:0:0:0") return "::";
    if (full === "0:0:0:0:0:0:0:1") return "::1";
    if (full.startsWith("0:0:0:0:0:ffff:")) return `::ffff:${bytes.slice(12).join(".")}`;
    return full;
}
