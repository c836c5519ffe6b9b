/**
 * A systemd machine that boots the vm stack's user data: a systemd-nspawn container on a
 * debootstrap Debian 12 root filesystem with cloud-init (NoCloud), in a network namespace of
 * its own that holds everything the instance talks to:
 *   169.254.169.254:80  the instance metadata service (imds-stand-in.py, IMDSv2 only)
 *   10.0.0.2:443        AWS's endpoints: moto_server over TLS, named in the machine's /etc/hosts
 *   10.0.0.3:80         Debian's mirror, through a socat bridge (a UNIX socket crosses the
 *                       namespace; no routing, NAT or iptables)
 *   10.0.1.23           the instance's own private address (local-ipv4), where Redis binds
 * The data volume is a loop device; "attaching" it puts the link udev would make on EC2
 * (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<volume id without dash>) into the
 * machine's /dev/disk/by-id. Everything started here is stopped and removed by `cleanup()`,
 * which also runs when the process exits.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeUserData } from "../../src/targets/vm/cloudInit";
import { SBIN_PATH } from "../../tools/requireTool";
import { makeCa, signServer } from "../helpers/tls";

export const PRIVATE_IP = "10.0.1.23";
export const IMDS_IP = "169.254.169.254";
export const AWS_IP = "10.0.0.2";
export const MIRROR_IP = "10.0.0.3";
export const REDIS_PORT = 6379;
export const MIRROR = "http://deb.debian.org/debian";
export const CACHE_ROOT = process.env.MSPBYTE_BOOT_CACHE ?? path.join(os.tmpdir(), "mspbyte-boot-cache");
const HERE = __dirname;
const INSIDE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const TOOLS: Record<string, string> = {
    debootstrap: "debootstrap",
    "systemd-nspawn": "systemd-container",
    socat: "socat",
    nsenter: "util-linux",
    losetup: "util-linux",
    ip: "iproute2",
    openssl: "openssl",
    "dpkg-deb": "dpkg",
    "redis-cli": "redis-tools",
    moto_server: "moto (pip install 'moto[server]==5.2.1')",
};

/** The tools a boot test needs; a missing one fails with how to install it. */
export function requireBootTools(): void {
    if (process.getuid?.() !== 0)
        throw new Error("the boot tests need root (network namespaces, loop devices, containers); CI runs as root");
    for (const [tool, pkg] of Object.entries(TOOLS)) {
        const r = spawnSync("sh", ["-c", `command -v ${tool}`], { env: { ...process.env, PATH: SBIN_PATH } });
        if (r.status !== 0)
            throw new Error(
                `${tool} not found: install ${pkg.includes("pip") ? pkg : `it with \`sudo apt-get install -y ${pkg}\``}; .ci/run installs it on CI`,
            );
    }
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every resource registers its undo, run in reverse, synchronously, exactly once.

const undo: { what: string; run: () => void }[] = [];
export function onCleanup(what: string, run: () => void): void {
    undo.push({ what, run });
}
export function cleanup(): string[] {
    const errors: string[] = [];
    while (undo.length) {
        const u = undo.pop()!;
        const t = Date.now();
        try {
            u.run();
        } catch (e) {
            errors.push(`${u.what}: ${(e as Error).message}`);
        }
        if (Date.now() - t > 3000) console.log(`cleanup: ${u.what} took ${((Date.now() - t) / 1000).toFixed(1)}s`);
    }
    return errors;
}
process.on("exit", () => cleanup());

export function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, PATH: SBIN_PATH }, input: opts.input });
    if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
}

/** Stops a process we started (and its process group), waiting for it to go. */
function stopProcess(child: ChildProcess, graceMs = 5000): void {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    try {
        // systemd-nspawn alone (it halts the machine); helpers with their process group.
        process.kill(graceMs > 5000 ? child.pid : -child.pid, "SIGTERM");
    } catch {
        return;
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
        if (!fs.existsSync(`/proc/${child.pid}`) || fs.readFileSync(`/proc/${child.pid}/stat`, "utf8").split(" ")[2] === "Z") return;
        spawnSync("sleep", ["0.1"]);
    }
    try {
        process.kill(-child.pid, "SIGKILL");
    } catch {
        /* gone */
    }
}

export function startProcess(name: string, cmd: string, args: string[], logFile: string, graceMs = 5000): ChildProcess {
    const log = fs.openSync(logFile, "a");
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", log, log], env: { ...process.env, PATH: SBIN_PATH } });
    fs.closeSync(log);
    onCleanup(`stop ${name}`, () => stopProcess(child, graceMs));
    return child;
}

export async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs: number,
    stepMs = 500,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await probe();
        if (v !== undefined && v !== false) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
        await new Promise((r) => setTimeout(r, stepMs));
    }
}

// ---------------------------------------------------------------------------------------------
// The root filesystem, built once per package list and shared read-only by every machine.

/** Builds (or reuses) the cached root filesystem; returns its path. */
export function rootfs(packages: string[]): string {
    const script = fs.readFileSync(path.join(HERE, "rootfs.sh"), "utf8");
    const key = crypto.createHash("sha256").update(script).update(packages.join(" ")).digest("hex").slice(0, 16);
    const dir = path.join(CACHE_ROOT, key);
    fs.mkdirSync(dir, { recursive: true });
    const build = `test -e ${dir}/done || { rm -rf ${dir}/build && mkdir ${dir}/build && bash ${path.join(HERE, "rootfs.sh")} ${dir}/build/rootfs ${MIRROR} ${packages.join(" ")} > ${dir}/build.log 2>&1 && mv ${dir}/build/rootfs ${dir}/rootfs && touch ${dir}/done; }`;
    const r = spawnSync("flock", [path.join(CACHE_ROOT, ".lock"), "sh", "-c", build], {
        encoding: "utf8",
        env: { ...process.env, PATH: SBIN_PATH },
    });
    if (r.status !== 0) throw new Error(`building the root filesystem failed; see ${dir}/build.log\n${r.stderr}`);
    return path.join(dir, "rootfs");
}

// ---------------------------------------------------------------------------------------------
// Certificates: one test CA, trusted inside the machine; servers for AWS's names and for Redis.

export interface BootCerts {
    dir: string;
    ca: string;
    aws: { cert: string; key: string };
    redis: { cert: string; key: string };
}

export function makeBootCerts(dir: string, awsHosts: string[]): BootCerts {
    return {
        dir,
        ca: makeCa(dir, "mspbyte-redis boot test CA"),
        aws: signServer(dir, "aws", "aws", [...awsHosts.map((h) => `DNS:${h}`), `IP:${AWS_IP}`].join(",")),
        redis: signServer(dir, "redis", "redis", `IP:${PRIVATE_IP},IP:127.0.0.1,DNS:localhost`),
    };
}

// ---------------------------------------------------------------------------------------------
// The instance's surroundings, in a network namespace of its own.

/** Creates a network namespace with loopback up and the surroundings' addresses on it. */
export function netns(ns: string): void {
    run("ip", ["netns", "add", ns]);
    onCleanup(`delete netns ${ns}`, () => run("ip", ["netns", "delete", ns]));
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    for (const a of [IMDS_IP, AWS_IP, MIRROR_IP, PRIVATE_IP]) run("ip", ["-n", ns, "addr", "add", `${a}/32`, "dev", "lo"]);
}

/**
 * Starts, in the namespace: the metadata service stand-in (user data from DIR/user-data, log in
 * DIR/imds.jsonl), moto_server on AWS's address, and the bridge to Debian's mirror.
 */
export function serveInstanceSide(ns: string, dir: string, certs: BootCerts): void {
    const inNs = (name: string, cmd: string, ...args: string[]) =>
        startProcess(name, "ip", ["netns", "exec", ns, cmd, ...args], path.join(dir, `${name}.log`));
    if (!fs.existsSync(path.join(dir, "user-data"))) fs.writeFileSync(path.join(dir, "user-data"), "");
    inNs(
        "imds-stand-in",
        "python3",
        path.join(HERE, "imds-stand-in.py"),
        IMDS_IP,
        "80",
        path.join(dir, "user-data"),
        PRIVATE_IP,
        path.join(dir, "imds.jsonl"),
    );
    inNs("moto_server", "moto_server", "-H", AWS_IP, "-p", "443", "-c", certs.aws.cert, "-k", certs.aws.key);
    const sock = path.join(dir, "mirror.sock");
    startProcess(
        "mirror-bridge-host",
        "socat",
        [`UNIX-LISTEN:${sock},fork`, `TCP:${new URL(MIRROR).hostname}:80`],
        path.join(dir, "mirror-bridge.log"),
    );
    inNs("mirror-bridge-ns", "socat", `TCP-LISTEN:80,bind=${MIRROR_IP},fork,reuseaddr`, `UNIX-CONNECT:${sock}`);
}

/** Runs moto-setup.py in the namespace against its moto_server. */
export async function motoSetup(ns: string, ca: string, ...args: string[]): Promise<string> {
    const r = await waitFor(
        "moto_server",
        async () => {
            const res = await inNamespace(ns, ["python3", path.join(HERE, "moto-setup.py"), `https://${AWS_IP}`, ca, ...args]);
            if (res.code === 0) return res;
            if (/Connection refused|ConnectionRefused|Could not connect/.test(res.stderr)) return undefined;
            throw new Error(`moto-setup ${args[0]} failed: ${res.stderr}`);
        },
        30_000,
    );
    return r.stdout.trim();
}

/** Runs a command in the namespace (outside any machine: the pipeline's side). */
export function inNamespace(ns: string, cmd: string[], env: Record<string, string> = {}): Promise<Result> {
    return new Promise((resolve) => {
        execFile(
            "ip",
            ["netns", "exec", ns, ...cmd],
            { encoding: "utf8", env: { ...process.env, PATH: SBIN_PATH, ...env } },
            (err, stdout, stderr) => {
                resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
            },
        );
    });
}

// ---------------------------------------------------------------------------------------------
// One machine.

export interface MachineOptions {
    name: string;
    rootfs: string;
    volumeId: string;
    certs: BootCerts;
    awsHosts: string[];
    /** Shorter deadlines for the boot steps (drop-ins in the test machine only). */
    diskWaitSeconds: number;
    secretWaitSeconds: number;
}

export interface Result {
    code: number;
    stdout: string;
    stderr: string;
}

let counter = 0;

export class Machine {
    readonly dir: string;
    readonly ns: string;
    readonly root: string;
    readonly imdsLog: string;
    private readonly byId: string;
    private readonly image: string;
    private loop?: string;
    private nspawn?: ChildProcess;
    private leader?: number;
    boots = 0;

    constructor(readonly o: MachineOptions) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `mspbyte-boot-${o.name}-`));
        onCleanup(`remove ${this.dir}`, () => fs.rmdirSync(this.dir));
        // In memory: the machine's writes (its installed packages) go with one unmount.
        run("mount", ["-t", "tmpfs", "-o", "size=3g,mode=0700", "tmpfs", this.dir]);
        onCleanup(`unmount ${this.dir}`, () => run("umount", [this.dir]));
        this.ns = `mspbyte-boot-${process.pid}-${++counter}`;
        this.root = path.join(this.dir, "root");
        this.byId = path.join(this.dir, "by-id");
        this.image = path.join(this.dir, "data-volume.img");
        this.imdsLog = path.join(this.dir, "imds.jsonl");
        fs.mkdirSync(this.byId);
        this.setUpNetwork();
        this.setUpRoot();
    }

    /** The network namespace and what listens in it. */
    private setUpNetwork(): void {
        netns(this.ns);
        serveInstanceSide(this.ns, this.dir, this.o.certs);
    }

    /** The machine's root: an overlay on the shared root filesystem, plus this test's seed. */
    private setUpRoot(): void {
        const upper = path.join(this.dir, "upper");
        const work = path.join(this.dir, "work");
        fs.mkdirSync(upper);
        fs.mkdirSync(work);
        fs.mkdirSync(this.root);
        run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${this.o.rootfs},upperdir=${upper},workdir=${work}`, this.root]);
        onCleanup(`unmount ${this.root}`, () => run("umount", [this.root]));
        const r = (p: string) => path.join(this.root, p);
        fs.mkdirSync(r("var/lib/cloud/seed/nocloud"), { recursive: true });
        fs.writeFileSync(r("var/lib/cloud/seed/nocloud/meta-data"), `instance-id: i-0b00757e57${counter}\nlocal-hostname: ip-10-0-1-23\n`);
        fs.appendFileSync(r("etc/hosts"), `${AWS_IP} ${this.o.awsHosts.join(" ")}\n${MIRROR_IP} ${new URL(MIRROR).hostname}\n`);
        // The test CA: in the bundle now, and where update-ca-certificates keeps it when a
        // package install regenerates the bundle.
        const ca = fs.readFileSync(this.o.certs.ca, "utf8");
        fs.writeFileSync(r("usr/local/share/ca-certificates/mspbyte-boot-test-ca.crt"), ca);
        fs.appendFileSync(r("etc/ssl/certs/ca-certificates.crt"), ca);
        const dropIn = (unit: string, env: string) => {
            fs.mkdirSync(r(`etc/systemd/system/${unit}.d`), { recursive: true });
            fs.writeFileSync(
                r(`etc/systemd/system/${unit}.d/50-boot-test.conf`),
                `# Boot test: a shorter deadline than on EC2.\n[Service]\nEnvironment=${env}\n`,
            );
        };
        dropIn("mspbyte-data-disk.service", `MSPBYTE_DISK_WAIT_SECONDS=${this.o.diskWaitSeconds}`);
        dropIn("mspbyte-redis-config.service", `MSPBYTE_SECRET_WAIT_SECONDS=${this.o.secretWaitSeconds}`);
    }

    /**
     * Sets the instance's user data: what cloud-init reads (NoCloud seed) and what the metadata
     * service serves. Called again between boots, it is modifying a stopped instance.
     */
    setUserData(userData: string): void {
        // As EC2 serves it: the gzipped bytes the program sends in userDataBase64.
        const bytes = Buffer.from(encodeUserData(userData), "base64");
        fs.writeFileSync(path.join(this.dir, "user-data"), bytes);
        fs.writeFileSync(path.join(this.root, "var/lib/cloud/seed/nocloud/user-data"), bytes);
    }

    /** Creates the data volume (a blank loop device) without attaching it. */
    createVolume(sizeMiB = 64): string {
        fs.closeSync(fs.openSync(this.image, "w"));
        fs.truncateSync(this.image, sizeMiB * 1024 * 1024);
        const loop = run("losetup", ["--find", "--show", this.image]).trim();
        onCleanup(`detach ${loop}`, () => run("losetup", ["-d", loop]));
        this.loop = loop;
        return loop;
    }

    get linkName(): string {
        return `nvme-Amazon_Elastic_Block_Store_${this.o.volumeId.replace(/-/g, "")}`;
    }

    /** Attaches the volume: the by-id link appears in the (running or next) machine. */
    attachVolume(): void {
        if (!this.loop) throw new Error("createVolume first");
        fs.symlinkSync(this.loop, path.join(this.byId, this.linkName));
    }

    detachVolume(): void {
        fs.rmSync(path.join(this.byId, this.linkName), { force: true });
    }

    get attached(): boolean {
        return fs.existsSync(path.join(this.byId, this.linkName));
    }

    /**
     * Boots the machine; resolves once its init is up (not when the boot is finished). The
     * volume's device node is in the machine when the volume is attached, or when `lateAttach`
     * says it will be (its by-id link then appears while the machine runs).
     */
    async boot(opts: { lateAttach?: boolean } = {}): Promise<void> {
        if (this.nspawn) throw new Error("already running");
        this.boots++;
        const binds = [`--bind=${this.byId}:/dev/disk/by-id`];
        if (this.loop && (this.attached || opts.lateAttach)) binds.push(`--bind=${this.loop}`);
        const child = startProcess(
            `nspawn-${this.o.name}-${this.boots}`,
            "systemd-nspawn",
            [
                "--boot",
                "--register=no",
                "--keep-unit",
                "--quiet",
                `--directory=${this.root}`,
                `--machine=${this.ns}`,
                `--network-namespace-path=/run/netns/${this.ns}`,
                "--console=pipe",
                ...binds,
            ],
            path.join(this.dir, `console-${this.boots}.log`),
            90_000,
        );
        this.nspawn = child;
        this.leader = await waitFor(
            "the machine's init",
            () => {
                if (child.exitCode !== null)
                    throw new Error(
                        `systemd-nspawn exited (${child.exitCode}): ${fs.readFileSync(path.join(this.dir, `console-${this.boots}.log`), "utf8")}`,
                    );
                const children = fs.existsSync(`/proc/${child.pid}/task/${child.pid}/children`)
                    ? fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean)
                    : [];
                const init = children.find((pid) => {
                    try {
                        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd";
                    } catch {
                        return false;
                    }
                });
                return init ? Number(init) : undefined;
            },
            30_000,
            100,
        );
        await waitFor(
            "systemd in the machine",
            async () => (await this.exec(["systemctl", "is-system-running"])).stdout.trim() !== "" || undefined,
            60_000,
        );
    }

    /** Waits until systemd's boot transaction is done (running, degraded, or stuck starting). */
    async booted(timeoutMs: number): Promise<string> {
        return waitFor(
            "the boot to finish",
            async () => {
                const s = (await this.exec(["systemctl", "is-system-running"])).stdout.trim();
                return ["running", "degraded"].includes(s) ? s : undefined;
            },
            timeoutMs,
            1000,
        );
    }

    /** Powers the machine off (systemd shuts down cleanly: Redis saves, the disk unmounts). */
    async stop(): Promise<void> {
        const child = this.nspawn;
        if (!child) return;
        if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
        await waitFor("the machine to power off", () => child.exitCode !== null || child.signalCode !== null || undefined, 120_000);
        this.nspawn = undefined;
        this.leader = undefined;
    }

    /** Runs a command inside the machine (all its namespaces), with a clean environment. */
    exec(cmd: string[], env: Record<string, string> = {}): Promise<Result> {
        if (!this.leader) throw new Error("not running");
        const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
        return new Promise((resolve) => {
            execFile(
                "nsenter",
                ["-t", String(this.leader), "-a", "env", "-i", INSIDE_PATH, "LANG=C.UTF-8", ...vars, ...cmd],
                { encoding: "utf8", env: { PATH: SBIN_PATH }, maxBuffer: 32 * 1024 * 1024 },
                (err, stdout, stderr) => {
                    resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
                },
            );
        });
    }

    /** Runs a command in the machine's network namespace but outside the machine (the pipeline's side). */
    outside(cmd: string[], env: Record<string, string> = {}): Promise<Result> {
        return inNamespace(this.ns, cmd, env);
    }

    /** The journal of one unit in the current boot. */
    async journal(unit: string): Promise<string> {
        return (await this.exec(["journalctl", "-b", "-o", "cat", "--no-pager", "-u", unit])).stdout;
    }

    /** Waits for a line in a unit's journal. */
    async waitForJournal(unit: string, pattern: RegExp, timeoutMs: number): Promise<void> {
        await waitFor(`${pattern} in ${unit}'s journal`, async () => pattern.test(await this.journal(unit)) || undefined, timeoutMs, 1000);
    }

    /** Writes a file into the host side of the test (for the moto setup helper). */
    file(name: string, content: string): string {
        const f = path.join(this.dir, name);
        fs.writeFileSync(f, content, { mode: 0o600 });
        return f;
    }

    /** Runs moto-setup.py against this machine's moto_server. */
    moto(...args: string[]): Promise<string> {
        return motoSetup(this.ns, this.o.certs.ca, ...args);
    }

    /** The metadata service's request log. */
    imdsRequests(): { method: string; path: string; status: number; ttl?: number; token?: boolean }[] {
        if (!fs.existsSync(this.imdsLog)) return [];
        return fs
            .readFileSync(this.imdsLog, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l));
    }

    get loopDevice(): string | undefined {
        return this.loop;
    }
}
