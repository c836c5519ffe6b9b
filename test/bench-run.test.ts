/**
 * `npm run bench` at its edges: --help and bad variables start nothing; Ctrl-C and a closed
 * output pipe stop every server and remove every folder; the verdict names the noise.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { parseBenchArgs, spread, verdict } from "../bench/run";

const ROOT = path.join(__dirname, "..");
const base = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-bench-test-"));
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

/** A fresh TMPDIR per run: the servers' folders land there, so what is left is visible. */
function sandbox(): { tmp: string; out: string } {
    const dir = fs.mkdtempSync(path.join(base, "run-"));
    fs.mkdirSync(path.join(dir, "t"));
    return { tmp: path.join(dir, "t"), out: path.join(dir, "out") };
}
/** What the bench left in its TMPDIR (tsx keeps its own cache there). */
const left = (tmp: string) => fs.readdirSync(tmp).filter((f) => f.startsWith("mspbyte-"));
const args = (...a: string[]) => ["--import", "tsx", "bench/run.ts", ...a];
const env = (tmp: string, extra: Record<string, string> = {}) => ({ ...process.env, TMPDIR: tmp, ...extra });
/** redis-servers whose command line names a folder under `dir`: must be none after any exit. */
function serversUnder(dir: string): number[] {
    return fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
            try {
                return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
            } catch {
                return false;
            }
        })
        .map(Number);
}
const exec = (a: string[], e: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, a, { cwd: ROOT, env: e, timeout: 55_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
    });

describe("arguments and variables, checked before anything starts", () => {
    it("--help prints the usage and starts nothing", async () => {
        const { tmp, out } = sandbox();
        const r = await exec(args("--help", "--out", out), env(tmp));
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Usage: npm run bench -- \[options\]\n/);
        expect(left(tmp)).toEqual([]);
        expect(fs.existsSync(out)).toBe(false);
    });

    it.each([
        { given: { BENCH_ROUNDS: "abc" }, argv: [], error: 'BENCH_ROUNDS must be a whole number from 1 to 100, got "abc"' },
        { given: { BENCH_ROUNDS: "0" }, argv: [], error: 'BENCH_ROUNDS must be a whole number from 1 to 100, got "0"' },
        { given: { BENCH_JOBS: "1e3" }, argv: [], error: 'BENCH_JOBS must be a whole number from 10 to 10000000, got "1e3"' },
        { given: {}, argv: ["--rounds", "5"], error: 'unknown argument "--rounds"' },
        { given: {}, argv: ["--out"], error: "--out needs a folder" },
    ])("$error", ({ given, argv, error }) => {
        expect(() => parseBenchArgs(argv, given)).toThrow(error);
    });

    it("BENCH_ROUNDS=abc: exit 2, one message, nothing started or written", async () => {
        const { tmp, out } = sandbox();
        const r = await exec(args("--out", out), env(tmp, { BENCH_ROUNDS: "abc" }));
        expect(r).toEqual({
            code: 2,
            stdout: "",
            stderr: 'bench: BENCH_ROUNDS must be a whole number from 1 to 100, got "abc"\nRun `npm run bench -- --help` for usage.\n',
        });
        expect(left(tmp)).toEqual([]);
        expect(fs.existsSync(out)).toBe(false);
    });

    it("results go to tmp/bench/ (untracked) by default, the tracked files only with --write-results", () => {
        expect(parseBenchArgs([], {})).toMatchObject({
            out: path.join(ROOT, "tmp", "bench"),
            writeResults: false,
            durability: true,
            health: true,
        });
        expect(parseBenchArgs(["--health", "--write-results"], {})).toMatchObject({ writeResults: true, durability: false, health: true });
    });
});

describe("every server and folder goes on any exit", () => {
    const interrupted = async (stop: (child: ReturnType<typeof spawn>) => void, code: number, why: string) => {
        const { tmp, out } = sandbox();
        const child = spawn(process.execPath, args("--health", "--out", out), { cwd: ROOT, env: env(tmp, { BENCH_HEALTH_RUNS: "1" }) });
        let stdout = "";
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
        await new Promise<void>((resolve) =>
            child.stdout.on("data", (d) => {
                stdout += d;
                if (stdout.includes("growing the keyspace")) resolve();
            }),
        );
        expect(fs.readdirSync(tmp).filter((f) => f.startsWith("mspbyte-redis-"))).toHaveLength(1);
        stop(child);
        expect(await exited).toBe(code);
        expect(stderr).toContain(`bench: ${why}: stopping 1 server(s) and removing their folders`);
        expect(left(tmp)).toEqual([]);
        expect(serversUnder(tmp)).toEqual([]);
        expect(fs.existsSync(out)).toBe(false);
    };

    it("Ctrl-C (SIGINT)", async () => {
        await interrupted((c) => c.kill("SIGINT"), 130, "interrupted");
    });

    it("the output pipe closed (EPIPE)", async () => {
        await interrupted((c) => c.stdout!.destroy(), 1, "output closed");
    });
});

describe("the verdict names the noise", () => {
    it.each([
        { ratios: [0.96, 0.97, 0.99], target: 0.95, says: "0.970 (0.960 to 0.990 across 3 rounds): met (>= 0.95)" },
        { ratios: [0.5, 0.6, 0.7], target: 0.95, says: "0.600 (0.500 to 0.700 across 3 rounds): NOT met (< 0.95)" },
        {
            ratios: [0.9, 1.02, 0.97],
            target: 0.95,
            says: "0.970 (0.900 to 1.020 across 3 rounds): not measurable here, the spread covers the target 0.95",
        },
        {
            ratios: [1.1],
            target: 0.95,
            says: "1.100 (1.100 to 1.100 across 1 round): not measurable with 1 round against 0.95 (BENCH_ROUNDS=5 or more)",
        },
    ])("$ratios against $target", ({ ratios, target, says }) => {
        expect(verdict(spread(ratios), target)).toBe(says);
    });
});
