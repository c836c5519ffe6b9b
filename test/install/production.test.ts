/**
 * A production install (`npm ci --omit=dev`) runs every real stack: the program is loaded the
 * way Pulumi's Node.js language host loads it (runStack.cjs), with only `dependencies` present,
 * so a runtime import of a dev dependency, or a TypeScript that cannot compile the program,
 * fails here rather than at a team's first `pulumi up`. Needs the npm registry (as `npm ci` does).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTRACT_OUTPUTS } from "../../src/contract";

const ROOT = path.join(__dirname, "..", "..");
const STACKS = fs
    .readdirSync(ROOT)
    .flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? [])
    .sort();
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
};
let dir: string;

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-prod-install-"));
    for (const f of [
        "package.json",
        "package-lock.json",
        ".npmrc",
        "tsconfig.json",
        "Pulumi.yaml",
        "redis.conf",
        ...STACKS.map((s) => `Pulumi.${s}.yaml`),
    ]) {
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    fs.cpSync(path.join(ROOT, "src"), path.join(dir, "src"), { recursive: true });
    fs.copyFileSync(path.join(__dirname, "runStack.cjs"), path.join(dir, "runStack.cjs"));
    execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: dir,
        stdio: ["ignore", "ignore", "pipe"],
        timeout: 240_000,
    });
}, 300_000);

afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("npm ci --omit=dev", () => {
    it("installs no dev dependency", () => {
        for (const name of Object.keys(pkg.devDependencies)) {
            expect(fs.existsSync(path.join(dir, "node_modules", name)), name).toBe(false);
        }
        for (const name of Object.keys(pkg.dependencies)) {
            expect(fs.existsSync(path.join(dir, "node_modules", name)), name).toBe(true);
        }
    });

    it("finds the stack files", () => {
        expect(STACKS).toEqual(["dev", "external", "kubernetes", "prod", "vm"]);
    });

    it.each(STACKS)(
        "runs the %s stack as Pulumi's language host loads it, and exports the output contract",
        (stack) => {
            const run = spawnSync(process.execPath, ["runStack.cjs", stack], { cwd: dir, encoding: "utf8", timeout: 120_000 });
            expect(run.stderr + run.stdout).not.toMatch(/Cannot find module|TSError|error TS\d+/);
            expect(run.status, run.stderr).toBe(0);
            const result = JSON.parse(run.stdout.trim().split("\n").pop()!) as { typescript: string; types: string[]; outputs: string[] };
            // The project's TypeScript, not the SDK's vendored 3.8 (which cannot parse the program).
            expect(result.typescript).toBe(
                JSON.parse(fs.readFileSync(path.join(dir, "node_modules", "typescript", "package.json"), "utf8")).version,
            );
            expect(result.outputs).toEqual(expect.arrayContaining([...CONTRACT_OUTPUTS, "details"]));
            expect(result.types.length).toBeGreaterThan(0);
        },
        150_000,
    );
});
