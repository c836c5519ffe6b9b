/**
 * The fault drills, short: three crash cycles, memory full, disk full, a torn AOF
 * (bench/drills.ts); and the drill command itself: help, argument and variable checks, and
 * cleanup when it is interrupted or its output closes. The power-loss drill is in
 * test/integration/powerloss.test.ts.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { WINDOW_MS, crashUnderLoad, diskFull, memoryFull, parseDrillArgs, truncatedAof } from "../bench/drills";
import { LAZYFS_HOWTO, requireLazyfs } from "../tools/lazyfs";

describe("fault drills on real redis-servers", () => {
    it(`kill -9 under load: nothing acknowledged more than ${WINDOW_MS / 1000} s before a crash is lost, and every survivor completes`, async () => {
        const r = await crashUnderLoad({ cycles: 3, quiet: true });
        console.log(`crash drill: ${JSON.stringify(r)}`);
        expect(r.acknowledged).toBeGreaterThan(1000);
        expect(r.lostOutsideWindow).toBe(0);
        expect(r.notCompleted).toBe(0);
    }, 180_000);

    it("memory full: the producer is refused, nothing is evicted, nothing is lost, work resumes after the backlog drains", async () => {
        const r = await memoryFull({ quiet: true });
        expect(r.refusal).toMatch(/^OOM command not allowed when used memory > 'maxmemory'/);
        expect(r.evictedKeys).toBe(0);
        expect(r.completedWhileFull).toBe(0);
        expect(r.completedAfterRoom).toBe(r.jobsAdded);
        expect(r.lostJobs).toBe(0);
        expect(r.acceptedAfterDrain).toBe(true);
    }, 120_000);

    it("disk full: writes refused with MISCONF, nothing acknowledged lost, writes resume when there is room", async () => {
        const r = await diskFull({ quiet: true });
        if (!r.possible) throw new Error(`the disk-full drill could not run: ${r.reason}`);
        expect(r.refusal).toMatch(/^MISCONF Errors writing to the AOF file/);
        expect(r.acknowledgedBeforeFull).toBeGreaterThan(100);
        expect(r.lostAcknowledged).toBe(0);
        expect(r.recovered).toBe(true);
    }, 60_000);

    it("a torn AOF tail: the server starts and loses at most the last command", async () => {
        const r = await truncatedAof({ quiet: true });
        expect(r.started).toBe(true);
        expect(r.present).toBeGreaterThanOrEqual(r.written - 1);
    }, 60_000);
});

const ROOT = path.join(__dirname, "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

/** Runs `npm run drill -- ARGS` as a user would (through tsx), with its own TMPDIR so what it leaves behind can be seen. */
function drill(
    args: string[],
    o: {
        env?: NodeJS.ProcessEnv;
        onLine?: (line: string, kill: (sig: NodeJS.Signals) => void, closeOutput: () => void, pid: number) => void;
    } = {},
) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-drillcli-"));
    const child = spawn(TSX, ["bench/drills.ts", ...args], {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp, ...o.env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let buffered = "";
    let closed = false;
    child.stdout.on("data", (d: Buffer) => {
        stdout += d;
        buffered += d;
        for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
            const line = buffered.slice(0, i);
            buffered = buffered.slice(i + 1);
            try {
                if (!closed)
                    o.onLine?.(
                        line,
                        (sig) => child.kill(sig),
                        () => {
                            closed = true;
                            child.stdout.destroy();
                        },
                        child.pid!,
                    );
            } catch (e) {
                child.kill("SIGINT");
                throw e;
            }
        }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    return new Promise<{ code: number | null; stdout: string; stderr: string; left: string[] }>((resolve) =>
        child.on("close", (code) => {
            const left = fs.readdirSync(tmp).filter((f) => f.startsWith("mspbyte-"));
            fs.rmSync(tmp, { recursive: true, force: true });
            resolve({ code, stdout, stderr, left });
        }),
    );
}

/** Every process: pid, parent pid, command line. */
function processes(): { pid: string; ppid: string; argv: string[] }[] {
    return fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .flatMap((pid) => {
            try {
                const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
                const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]!;
                return [{ pid, ppid, argv: fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean) }];
            } catch {
                return [];
            }
        });
}

function descendants(root: number): { pid: string; argv: string[] }[] {
    const all = processes();
    const found = new Set([String(root)]);
    for (let size = 0; size !== found.size; ) {
        size = found.size;
        for (const p of all) if (found.has(p.ppid)) found.add(p.pid);
    }
    return all.filter((p) => found.has(p.pid) && p.pid !== String(root));
}

describe("the drill command", () => {
    it.each([
        { given: ["--cycles", "abc"], env: {}, error: '--cycles must be a whole number from 1 to 1000, got "abc"' },
        { given: ["--cycles", "0"], env: {}, error: '--cycles must be a whole number from 1 to 1000, got "0"' },
        { given: ["--cycles=2.5"], env: {}, error: '--cycles must be a whole number from 1 to 1000, got "2.5"' },
        { given: [], env: { DRILL_CYCLES: "NaN" }, error: 'DRILL_CYCLES must be a whole number from 1 to 1000, got "NaN"' },
        { given: [], env: { DRILL_CONTROL_CYCLES: "-1" }, error: 'DRILL_CONTROL_CYCLES must be a whole number from 1 to 1000, got "-1"' },
        { given: ["--control-cycles"], env: {}, error: "--control-cycles needs a value" },
        { given: ["--only", "crash,fire"], env: {}, error: '--only takes drills from crash, memory, disk, torn, powerloss; got "fire"' },
        { given: ["--out"], env: {}, error: "--out needs a value" },
        { given: ["--rounds", "3"], env: {}, error: 'unknown argument "--rounds"' },
    ])("refuses $given $env: $error", ({ given, env, error }) => {
        expect(() => parseDrillArgs(given, env)).toThrow(error);
    });

    it("defaults: every drill, 20 cycles, 5 control cycles, results in the untracked tmp/ folder only", () => {
        const a = parseDrillArgs([], {});
        expect(a).toEqual({
            help: false,
            only: ["crash", "memory", "disk", "torn", "powerloss"],
            cycles: 20,
            controlCycles: 5,
            out: path.join(ROOT, "tmp", "drills.json"),
            writeResults: false,
        });
        expect(parseDrillArgs(["--only", "powerloss,crash", "--cycles=3", "--write-results"], { DRILL_CYCLES: "7" })).toMatchObject({
            only: ["crash", "powerloss"],
            cycles: 3,
            writeResults: true,
        });
    });

    it("--help prints the usage and exits 0 without running anything; a bad value exits 2 before anything starts", async () => {
        const help = await drill(["--help"]);
        expect(help.code).toBe(0);
        expect(help.stdout).toMatch(/^Usage: npm run drill -- \[options\]/);
        expect(help.stdout).not.toMatch(/crash under load:/);
        expect(help.left).toEqual([]);
        const bad = await drill([], { env: { DRILL_CYCLES: "abc" } });
        expect(bad.code).toBe(2);
        expect(bad.stderr).toBe(
            'drill: DRILL_CYCLES must be a whole number from 1 to 1000, got "abc"\nRun `npm run drill -- --help` for usage.\n',
        );
    }, 60_000);

    it("LazyFS missing or LAZYFS_BIN wrong: exit 2 with how to get it, nothing started", async () => {
        expect(() => requireLazyfs({ LAZYFS_BIN: "/nonexistent/lazyfs" })).toThrow(
            `LAZYFS_BIN="/nonexistent/lazyfs" is not an executable file: ${LAZYFS_HOWTO}`,
        );
        const r = await drill(["--only", "powerloss"], { env: { LAZYFS_BIN: "/nonexistent/lazyfs" } });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/github\.com\/dsrhaslab\/lazyfs/);
        expect(r.stdout).toBe("");
    }, 30_000);

    it("Ctrl-C during a crash drill: its redis-server is stopped and its folder removed, exit 130", async () => {
        const r = await drill(["--only", "crash", "--cycles", "3"], {
            onLine: (line, kill) => {
                if (/^cycle\s+1:/.test(line)) kill("SIGINT");
            },
        });
        expect(r.stderr).toMatch(/interrupted: stopping servers, unmounting, removing folders/);
        expect(r.code).toBe(130);
        expect(r.left).toEqual([]);
    }, 90_000);

    it("the output pipe closed mid-run: the drill cleans up and exits 1 instead of orphaning its servers", async () => {
        const r = await drill(["--only", "crash", "--cycles", "3"], {
            onLine: (line, _kill, closeOutput) => {
                if (/^cycle\s+1:/.test(line)) closeOutput();
            },
        });
        expect(r.stderr).toMatch(/output closed: stopping servers, unmounting, removing folders/);
        expect(r.code).toBe(1);
        expect(r.left).toEqual([]);
    }, 90_000);

    it("Ctrl-C during the power-loss drill: the server and the LazyFS daemon are ended, the mount and the folder gone", async () => {
        requireLazyfs(); // fails with how to get LazyFS when it is missing
        let daemons: { pid: string; work: string }[] = [];
        const r = await drill(["--only", "powerloss", "--cycles", "3"], {
            onLine: (line, kill, _close, pid) => {
                if (/everysec cycle\s+1:/.test(line)) {
                    daemons = descendants(pid)
                        .filter((d) => /lazyfs$/.test(d.argv[0] ?? ""))
                        .map((d) => ({ pid: d.pid, work: path.dirname(d.argv[1]!) }));
                    kill("SIGINT");
                }
            },
        });
        expect(r.code).toBe(130);
        expect(daemons.length).toBe(1);
        const { pid, work } = daemons[0]!;
        expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
        expect(fs.existsSync(work)).toBe(false);
        // Nothing of the run is left: every process of its namespace named its folder or was the daemon.
        expect(processes().filter((p) => p.argv.some((a) => a.includes(work)))).toEqual([]);
    }, 90_000);
});
