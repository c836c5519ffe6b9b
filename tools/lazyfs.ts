/**
 * LazyFS control for the power-loss drill. LazyFS (github dsrhaslab/lazyfs, the FUSE filesystem
 * Jepsen uses for this) keeps written file data in its own cache until `fsync` and drops every
 * unsynced byte on `lazyfs::clear-cache`: a power loss for the data under it.
 *
 * Each mount lives in a mount namespace of its own (`unshare --mount --propagation private`),
 * held by a small watchdog shell: the daemon and the redis-server are started inside it with
 * `nsenter`, so nothing else on the machine sees or pins the FUSE mount, and when the drill's
 * process ends in any way (even SIGKILL) the watchdog's stdin closes and it kills what is left
 * in that namespace (only processes the drill started can be there) and unmounts.
 *
 * Config format and FIFO commands: LazyFS's `lazyfs/config/default.toml` and
 * `lazyfs/src/main.cpp` (fht_worker) at a47a5ba.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { logTail, sleep } from "./redisServer";
import { SBIN_PATH, requireTool } from "./requireTool";

export const LAZYFS_HOWTO =
    "set LAZYFS_BIN to a LazyFS binary or put `lazyfs` on the PATH. Build it from upstream " +
    "(github.com/dsrhaslab/lazyfs; needs cmake, g++, libfuse3-dev, fuse3): `cd libs/libpcache && ./build.sh && " +
    "cd ../../lazyfs && ./build.sh`, the binary is lazyfs/build/lazyfs. .ci/run builds it from the shared copy";

/** The LazyFS binary (LAZYFS_BIN, else `lazyfs` on the PATH), after checking what a mount needs; errors say how to get it. */
export function requireLazyfs(env: NodeJS.ProcessEnv = process.env): string {
    let bin: string;
    if (env.LAZYFS_BIN !== undefined) {
        bin = env.LAZYFS_BIN;
        try {
            fs.accessSync(bin, fs.constants.X_OK);
            if (!fs.statSync(bin).isFile()) throw new Error("not a file");
        } catch {
            throw new Error(`LAZYFS_BIN=${JSON.stringify(bin)} is not an executable file: ${LAZYFS_HOWTO}`);
        }
    } else {
        const found = spawnSync("sh", ["-c", "command -v lazyfs"], { encoding: "utf8" });
        if (found.status !== 0) throw new Error(`LazyFS not found: ${LAZYFS_HOWTO}`);
        bin = found.stdout.trim();
    }
    if (!fs.existsSync("/dev/fuse")) {
        throw new Error(
            "/dev/fuse is missing: install FUSE (`sudo apt-get install -y fuse3`) and load the module (`sudo modprobe fuse`); in a container, pass --device /dev/fuse --cap-add SYS_ADMIN",
        );
    }
    for (const tool of ["unshare", "nsenter", "umount"]) requireTool(tool);
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        throw new Error(
            "the power-loss drill mounts LazyFS in a mount namespace of its own, which needs root: run it as root (CI runs as root)",
        );
    }
    return bin;
}

/** What the daemon's log says when a FIFO command has been carried out. */
const CLEARED = "cache is cleared.";

export interface LazyFsOptions {
    bin: string;
    /**
     * A folder of the drill's own: r/ (the data LazyFS writes through to), m/ (the mount), config,
     * FIFO and log go in it. Keep its path short: LazyFS reads FIFO commands in 100-byte chunks
     * and a torn-op command names a file under r/.
     */
    work: string;
    /** LazyFS pre-allocates its whole cache at start (about 1 s per 256 MB here). */
    cacheSize?: string;
}

export class LazyFs {
    readonly root: string;
    readonly mnt: string;
    readonly fifo: string;
    readonly log: string;
    private daemon?: ChildProcess;
    private daemonExit?: Promise<void>;
    private cleared = 0;

    private constructor(
        private readonly o: LazyFsOptions,
        private readonly holder: ChildProcess,
        private readonly holderExit: Promise<void>,
    ) {
        this.root = path.join(o.work, "r");
        this.mnt = path.join(o.work, "m");
        this.fifo = path.join(o.work, "faults.fifo");
        this.log = path.join(o.work, "lazyfs.log");
    }

    /** A new mount namespace with LazyFS mounted on work/mnt over work/root. */
    static async start(o: LazyFsOptions): Promise<LazyFs> {
        // LazyFS's main.cpp takes a --config-path containing "-o" (any case) for a FUSE option.
        if (/-o/i.test(o.work)) throw new Error(`LazyFS cannot take a config path containing "-o": ${o.work}`);
        for (const d of ["r", "m"]) fs.mkdirSync(path.join(o.work, d), { recursive: true });
        const mnt = path.join(o.work, "m");
        // The watchdog: waits for its stdin to close (the drill ended, however), then kills every
        // process left in its own mount namespace and unmounts. Only the drill's processes are there.
        const watchdog = `cat >/dev/null; me=$(readlink /proc/$$/ns/mnt); for d in /proc/[0-9]*; do p=\${d#/proc/}; [ "$p" = "$$" ] && continue; [ "$(readlink "$d/ns/mnt" 2>/dev/null)" = "$me" ] && kill -9 "$p" 2>/dev/null; done; umount -l ${JSON.stringify(mnt)} 2>/dev/null; exit 0`;
        const holder = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", watchdog], {
            stdio: ["pipe", "ignore", "ignore"],
            detached: true,
            env: { ...process.env, PATH: SBIN_PATH },
        });
        const holderExit = new Promise<void>((r) => holder.once("exit", () => r()));
        holder.stdin!.on("error", () => undefined);
        const lazy = new LazyFs(o, holder, holderExit);
        try {
            // unshare has made the namespace once the shell runs in it.
            const mine = fs.readlinkSync("/proc/self/ns/mnt");
            const deadline = Date.now() + 5000;
            while (Date.now() < deadline) {
                if (holder.exitCode !== null) throw new Error("unshare --mount failed (it needs root)");
                try {
                    if (fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`) !== mine) break;
                } catch {
                    /* not there yet */
                }
                await sleep(20);
            }
            fs.writeFileSync(path.join(o.work, "lazyfs.toml"), lazy.config());
            await lazy.mount();
            return lazy;
        } catch (e) {
            await lazy.stop();
            throw e;
        }
    }

    private config(): string {
        return [
            "[faults]",
            `fifo_path=${JSON.stringify(this.fifo)}`,
            "[cache]",
            "apply_eviction=false",
            "[cache.simple]",
            `custom_size=${JSON.stringify(this.o.cacheSize ?? "256mb")}`,
            "blocks_per_page=1",
            "[filesystem]",
            "log_all_operations=false",
            'logfile=""',
            "",
        ].join("\n");
    }

    /** Starts a program inside the namespace (it sees the mount); its own process group, so a terminal's Ctrl-C reaches the drill alone, which ends it. */
    spawn(cmd: string, args: string[], stdio: ("ignore" | "pipe" | number)[] = ["ignore", "ignore", "pipe"]): ChildProcess {
        // nsenter entering a mount namespace only does not fork: the child's PID is the program's.
        return spawn("nsenter", ["-t", String(this.holder.pid), "-m", "--", cmd, ...args], {
            stdio,
            detached: true,
            env: { ...process.env, PATH: SBIN_PATH },
        });
    }

    private mounted(): boolean {
        try {
            return fs
                .readFileSync(`/proc/${this.holder.pid}/mountinfo`, "utf8")
                .split("\n")
                .some((l) => l.split(" ")[4] === this.mnt && / - fuse/.test(l));
        } catch {
            return false;
        }
    }

    get daemonPid(): number | undefined {
        return this.daemon?.exitCode === null ? this.daemon.pid : undefined;
    }

    private async mount(): Promise<void> {
        const out = fs.openSync(this.log, "a");
        try {
            this.daemon = this.spawn(
                this.o.bin,
                [
                    this.mnt,
                    "--config-path",
                    path.join(this.o.work, "lazyfs.toml"),
                    "-o",
                    "allow_other",
                    "-o",
                    "modules=subdir",
                    "-o",
                    `subdir=${this.root}`,
                    "-f",
                ],
                ["ignore", out, out],
            );
        } finally {
            fs.closeSync(out);
        }
        const d = this.daemon;
        this.daemonExit = new Promise((r) => d.once("exit", () => r()));
        this.cleared = this.count(CLEARED);
        const deadline = Date.now() + 30_000;
        while (!this.mounted()) {
            if (d.exitCode !== null || d.signalCode !== null) throw new Error(`lazyfs exited before mounting:\n${this.tail()}`);
            if (Date.now() > deadline) throw new Error(`lazyfs did not mount within 30 s:\n${this.tail()}`);
            await sleep(50);
        }
    }

    private count(needle: string): number {
        try {
            return fs.readFileSync(this.log, "utf8").split(needle).length - 1;
        } catch {
            return 0;
        }
    }

    tail(lines = 10): string {
        return logTail(this.log, lines);
    }

    /** Writes one command to the daemon's FIFO; non-blocking, so a dead daemon is an error, not a hang. */
    command(line: string): void {
        // fht_worker reads at most 100 bytes and turns the last into the terminator.
        if (line.length > 99) throw new Error(`lazyfs command too long (${line.length} > 99 bytes): use a shorter work folder: ${line}`);
        let fd: number;
        try {
            fd = fs.openSync(this.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        } catch (e) {
            throw new Error(`cannot send ${line} to lazyfs (daemon gone?): ${(e as Error).message}`);
        }
        try {
            fs.writeSync(fd, `${line}\n`);
        } finally {
            fs.closeSync(fd);
        }
    }

    /** The power cut for file data: every byte not fsynced is dropped. Waits until the daemon says so. */
    async clearCache(): Promise<void> {
        this.command("lazyfs::clear-cache");
        const deadline = Date.now() + 10_000;
        while (this.count(CLEARED) <= this.cleared) {
            if (Date.now() > deadline) throw new Error(`lazyfs did not confirm clear-cache within 10 s:\n${this.tail()}`);
            await sleep(20);
        }
        this.cleared++;
    }

    /**
     * LazyFS's torn-op fault: the next write to `file` (a path under root) is cut in `parts` equal
     * parts, only `persist` (1-based) reach the disk, and LazyFS kills itself right after, dropping
     * its cache: a power loss in the middle of a write.
     */
    tornOp(file: string, parts: number, persist: number[]): void {
        this.command(`lazyfs::torn-op::file=${file}::parts=${parts}::persist=${persist.join(",")}`);
    }

    get daemonAlive(): boolean {
        return this.daemon !== undefined && this.daemon.exitCode === null && this.daemon.signalCode === null;
    }

    /** After the daemon died (a fault) or to power-cycle: kill it, unmount, mount again on the same root. */
    async remount(): Promise<void> {
        await this.stopDaemon();
        await this.mount();
    }

    private async stopDaemon(): Promise<void> {
        if (this.daemon && this.daemonAlive) {
            // SIGTERM makes FUSE unmount and the daemon return; it may abort on the way out (harmless).
            this.daemon.kill("SIGTERM");
            const ended = await Promise.race([this.daemonExit!.then(() => true), sleep(3000).then(() => false)]);
            if (!ended) {
                this.daemon.kill("SIGKILL");
                await this.daemonExit;
            }
        }
        if (this.holder.exitCode === null) {
            spawnSync("nsenter", ["-t", String(this.holder.pid), "-m", "--", "umount", "-l", this.mnt], {
                env: { ...process.env, PATH: SBIN_PATH },
                stdio: "ignore",
            });
        }
    }

    /** Daemon ended, mount gone, namespace's watchdog ended. Safe to call twice. */
    async stop(): Promise<void> {
        await this.stopDaemon();
        if (this.holder.exitCode === null && this.holder.signalCode === null) {
            this.holder.stdin?.end();
            const ended = await Promise.race([this.holderExit.then(() => true), sleep(5000).then(() => false)]);
            if (!ended) {
                this.holder.kill("SIGKILL");
                await this.holderExit;
            }
        }
    }
}

/** The redis-server's version line, for results. */
export function redisVersion(): string {
    return execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
}
