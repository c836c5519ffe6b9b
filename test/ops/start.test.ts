/**
 * The ops commands start under plain Node (its type stripping, no tsx), as their npm scripts run
 * them, and load only what a run needs: `--help` and a wrong argument load no package at all,
 * a check of an outputs file loads zod (the contract's schema) and no client library, and no
 * run ever loads the Pulumi SDK or the stack config schema.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { dockerConf } from "../../tools/render";
import { ROOT, npmScript, opsArgv } from "./npmScript";

const COMMANDS = ["smoke", "health", "env", "backup", "restore", "queue", "passwords"];
const FLAG = "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON";
/** Node's compile cache, on before the first .ts file is stripped: a second start strips and compiles nothing. */
const CACHE = "--import ./src/ops/compileCache.mjs";

/**
 * Preloaded before the command: records every package and every file of this repository that
 * the process loads, and prints them as the last line of stderr when it exits.
 */
const RECORDER = `
import { registerHooks } from "node:module";
const packages = new Set();
const files = new Set();
const root = ${JSON.stringify(`file://${ROOT}/`)};
registerHooks({
    resolve(specifier, context, next) {
        const r = next(specifier, context);
        const pkg = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
        if (pkg) packages.add(pkg[1]);
        else if (r.url.startsWith(root)) files.add(r.url.slice(root.length));
        return r;
    },
});
process.on("exit", () => process.stderr.write("loaded " + JSON.stringify({ packages: [...packages].sort(), files: [...files].sort() }) + "\\n"));
`;

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    packages: string[];
    files: string[];
}

/** Runs `file` as its npm script does, with the recorder preloaded. */
function run(file: string, ...args: string[]): Promise<Run> {
    const argv = opsArgv(file, ...args);
    return new Promise((resolve) => {
        execFile(
            process.execPath,
            [`--import=data:text/javascript,${encodeURIComponent(RECORDER)}`, ...argv],
            { cwd: ROOT, timeout: 55_000 },
            (err, stdout, stderr) => {
                const lines = stderr.split("\n");
                let i = lines.length - 1;
                while (i >= 0 && !lines[i]!.startsWith("loaded ")) i--;
                const loaded =
                    i >= 0
                        ? (JSON.parse(lines[i]!.slice("loaded ".length)) as { packages: string[]; files: string[] })
                        : { packages: ["(no record)"], files: [] };
                if (i >= 0) lines.splice(i, 1);
                resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr: lines.join("\n"), ...loaded });
            },
        );
    });
}

const neverLoaded = (r: Run) => {
    expect(r.packages.filter((p) => p.startsWith("@pulumi/"))).toEqual([]);
    expect(r.files.filter((f) => /^src\/(config|endpoint|program|index|targets\/)/.test(f))).toEqual([]);
};

describe("the npm scripts of the ops commands", () => {
    it.each(COMMANDS)("npm run %s runs src/ops/%s.ts with plain node, without the type warning, with the compile cache", (name) => {
        const { name: script, nodeArgs } = npmScript(`src/ops/${name}.ts`);
        expect(script).toBe(name);
        expect(nodeArgs).toEqual([FLAG, ...CACHE.split(" "), `src/ops/${name}.ts`]);
    });
});

describe("--help and argument errors answer before any package loads", () => {
    it.each(COMMANDS)("%s --help", async (name) => {
        const r = await run(`src/ops/${name}.ts`, "--help");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^usage: npm run ${name} -- `));
        expect(r.stderr).toBe("");
        expect(r.packages).toEqual([]);
        neverLoaded(r);
    });

    it.each(COMMANDS)("%s with an unknown option: exit 2, one line, nothing loaded", async (name) => {
        const r = await run(`src/ops/${name}.ts`, ...(name === "queue" ? ["counts"] : []), "--bogus");
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^error: Unknown option '--bogus'\nusage: npm run ${name} -- `));
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.packages).toEqual([]);
    });
});

describe("Node's compile cache", () => {
    it("the first start fills it (in the temp folder), the next strips no .ts file again", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-cache-"));
        try {
            const start = () =>
                new Promise<string>((resolve) => {
                    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, NODE_DEBUG_NATIVE: "COMPILE_CACHE" };
                    delete env.NODE_COMPILE_CACHE;
                    execFile(
                        process.execPath,
                        opsArgv("src/ops/smoke.ts", "--help"),
                        { cwd: ROOT, env, timeout: 55_000 },
                        (_err, _stdout, stderr) => resolve(stderr),
                    );
                });
            const first = await start();
            expect(first).toContain(`saving transpilation cache for StrippedTypeScript ${ROOT}/src/ops/smoke.ts`);
            expect(fs.readdirSync(path.join(tmp, "node-compile-cache"))).not.toEqual([]);
            const second = await start();
            expect(second).toContain(`retrieving transpile cache for StrippedTypeScript ${ROOT}/src/ops/smoke.ts...success`);
            expect(second).toContain(`retrieving transpile cache for StrippedTypeScript ${ROOT}/src/ops/cli.ts...success`);
            expect(second).not.toMatch(/no transpile cache for StrippedTypeScript/);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});

describe("a run loads what it uses", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-start-"));
    const servers: RedisServer[] = [];
    afterAll(async () => {
        for (const s of servers) await s.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("smoke --check of an outputs file: zod for the contract's schema, no client library", async () => {
        const file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputsFor({ port: 6379 })));
        const r = await run("src/ops/smoke.ts", "--outputs", file, "--check");
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(`${file}: every output as the contract says\n`);
        expect(r.packages).toEqual(["zod"]);
        expect(r.files).toContain("src/contract.ts");
        neverLoaded(r);
    });

    it("smoke on a healthy server: ioredis, BullMQ and zod, never the Pulumi SDK or the config schema", async () => {
        const server = await RedisServer.start({ conf: dockerConf() });
        servers.push(server);
        const file = path.join(dir, "healthy.json");
        fs.writeFileSync(file, JSON.stringify(outputsFor(server)));
        const r = await run("src/ops/smoke.ts", "--outputs", file);
        expect(r.code).toBe(0);
        expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^10 checks: 10 passed, 0 failed, 0 skipped in \d+\.\d\d s$/);
        expect(r.stderr).toBe("");
        for (const p of ["bullmq", "ioredis", "zod"]) expect(r.packages).toContain(p);
        expect(r.packages.filter((p) => p.startsWith("@aws-sdk/"))).toEqual([]);
        neverLoaded(r);
    });
});

describe("every module of src/ops links under plain Node", () => {
    it("each imports, none runs a command when imported, and the packages they load where used export what they take", async () => {
        const files = (fs.readdirSync(path.join(ROOT, "src", "ops"), { recursive: true }) as string[])
            .filter((f) => f.endsWith(".ts"))
            .map((f) => `src/ops/${f.split(path.sep).join("/")}`);
        expect(files).toEqual(expect.arrayContaining(COMMANDS.map((c) => `src/ops/${c}.ts`)));
        // A static named import that a package does not export fails as the module links; what
        // the modules take from ioredis and BullMQ where they use them is checked by name.
        const code = [
            ...files.map((f) => `await import(${JSON.stringify(`./${f}`)});`),
            'const ioredis = await import("ioredis");',
            'const bullmq = await import("bullmq");',
            'const taken = { "ioredis default": ioredis.default, "ioredis Cluster": ioredis.Cluster, "bullmq Queue": bullmq.Queue, "bullmq Worker": bullmq.Worker };',
            'const missing = Object.entries(taken).filter(([, v]) => typeof v !== "function").map(([k]) => k);',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal in the script Node runs
            'console.log(missing.length ? `missing: ${missing.join(", ")}` : "linked");',
        ].join("\n");
        const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(process.execPath, [FLAG, "--input-type=module", "-e", code], { cwd: ROOT, timeout: 55_000 }, (err, stdout, stderr) =>
                resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
            );
        });
        expect(r).toEqual({ code: 0, stdout: "linked\n", stderr: "" });
    });
});
