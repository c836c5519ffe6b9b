/**
 * The layering, read from the import statements of every .ts file in src/, tools/, bench/ and
 * policy/: src/ (the program and the ops tools) imports none of tools/, test/ or bench/; tools/
 * (the real-server helpers) imports only src/; bench/ imports src/ and tools/, never test/;
 * policy/ imports only src/. The contract is the leaf (zod only), and the ops tools start
 * without the Pulumi SDK or the config schema: nothing they load at run time, directly or
 * through other modules, is @pulumi/* or src/config*. test/ may import every folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..");
const FOLDERS = ["src", "tools", "bench", "policy"] as const;
const SOURCE = /\.(ts|mts|cts)$/;

/** The folders each folder may import from (its own included); packages are always allowed. */
const ALLOWED: Record<(typeof FOLDERS)[number], string[]> = {
    src: ["src"],
    tools: ["tools", "src"],
    bench: ["bench", "tools", "src"],
    policy: ["policy", "src"],
};

interface Import {
    /** The module specifier as written. */
    spec: string;
    /** For a relative specifier: the repo-relative file it names (or the path, when no such file is read). */
    target?: string;
    /** `import type` / `export type` / `typeof import()`: erased before the code runs. */
    typeOnly: boolean;
    line: number;
}

type Files = ReadonlyMap<string, string>;

/** Every import, re-export, `import()`, `require()` and `import x = require()` of a file. */
function importsOf(file: string, files: Files): Import[] {
    const source = ts.createSourceFile(file, files.get(file)!, ts.ScriptTarget.Latest, true);
    const found: Import[] = [];
    const add = (node: ts.Node, spec: ts.Expression | undefined, typeOnly: boolean) => {
        if (!spec || !ts.isStringLiteralLike(spec)) return;
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push({ spec: spec.text, target: spec.text.startsWith(".") ? resolve(file, spec.text, files) : undefined, typeOnly, line });
    };
    const visit = (node: ts.Node) => {
        if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
        else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, node.isTypeOnly);
        else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
            add(node, node.moduleReference.expression, node.isTypeOnly);
        else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal as ts.Expression, true);
        else if (
            ts.isCallExpression(node) &&
            (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
                (ts.isIdentifier(node.expression) && node.expression.text === "require"))
        ) {
            add(node, node.arguments[0], false);
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

/** The repo-relative file a relative specifier loads: as written, with .ts, or the folder's index. */
function resolve(from: string, spec: string, files: Files): string {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    const candidates = [base, base.replace(/\.js$/, ".ts"), `${base}.ts`, `${base}.mts`, `${base}/index.ts`];
    return candidates.find((c) => files.has(c)) ?? base;
}

const folderOf = (p: string) => p.split("/")[0]!;
const isConfig = (p: string) => /^src\/config(\.ts$|\/|$)/.test(p);
const isPulumi = (spec: string) => spec.startsWith("@pulumi/");

/** Each import that breaks a rule, as `file:line imports spec (why)`. */
function violations(files: Files): { direction: string[]; contract: string[]; ops: string[] } {
    const direction: string[] = [];
    const contract: string[] = [];
    const ops: string[] = [];
    const at = (file: string, i: Import) => `${file}:${i.line} imports ${i.spec}`;
    for (const file of files.keys()) {
        const folder = folderOf(file) as (typeof FOLDERS)[number];
        for (const i of importsOf(file, files)) {
            if (i.target !== undefined && !ALLOWED[folder].includes(folderOf(i.target))) {
                direction.push(`${at(file, i)} (${folder}/ must not import ${folderOf(i.target)}/)`);
            }
            if (file === "src/contract.ts" && i.spec !== "zod") contract.push(`${at(file, i)} (the contract imports only zod)`);
        }
    }
    // The ops tools: what they load at run time (type-only imports are erased), each module
    // reached by its shortest chain from an ops file.
    const starts = [...files.keys()].filter((f) => f.startsWith("src/ops/"));
    const seen = new Set(starts);
    const queue = starts.map((f) => [f]);
    while (queue.length) {
        const chain = queue.shift()!;
        const file = chain[chain.length - 1]!;
        const via = chain.length > 1 ? ` (through ${chain.join(" -> ")})` : "";
        for (const i of importsOf(file, files).filter((x) => !x.typeOnly)) {
            if (isPulumi(i.spec)) ops.push(`${at(file, i)}${via}: the ops tools must not load the Pulumi SDK`);
            else if (i.target !== undefined && isConfig(i.target))
                ops.push(`${at(file, i)}${via}: the ops tools must not load the config schema`);
            else if (i.target !== undefined && files.has(i.target) && !seen.has(i.target)) {
                seen.add(i.target);
                queue.push([...chain, i.target]);
            }
        }
    }
    return { direction, contract, ops };
}

function readTree(): Map<string, string> {
    const files = new Map<string, string>();
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
            const rel = `${dir}/${e.name}`;
            if (e.isDirectory()) {
                if (e.name !== "node_modules") walk(rel);
            } else if (SOURCE.test(e.name) && !e.name.endsWith(".d.ts")) {
                files.set(rel, fs.readFileSync(path.join(ROOT, rel), "utf8"));
            }
        }
    };
    for (const folder of FOLDERS) if (fs.existsSync(path.join(ROOT, folder))) walk(folder);
    return files;
}

describe("the checker", () => {
    it("finds each kind of forbidden import in a made-up tree, and nothing else", () => {
        const files = new Map([
            ["src/program.ts", 'import { a } from "./contract";\nimport { b } from "../tools/redisServer";\n'],
            ["src/contract.ts", 'import { z } from "zod";\nimport { c } from "./config";\n'],
            ["src/config.ts", 'import * as pulumi from "@pulumi/pulumi";\n'],
            [
                "src/ops/smoke.ts",
                'import { d } from "./checks";\nimport type { StackConfig } from "../config";\nexport { e } from "../contract";\n',
            ],
            ["src/ops/checks.ts", 'const late = () => import("@pulumi/pulumi");\n'],
            ["tools/redisServer.ts", 'import { f } from "../src/redisConf";\nimport { g } from "../test/helpers/pulumiMocks";\n'],
            [
                "bench/run.ts",
                'import { h } from "../tools/redisServer";\nimport { i } from "./exit";\nconst j = require("../test/helpers/outputs");\n',
            ],
            ["bench/exit.ts", 'type K = typeof import("../bench/run");\n'],
            ["policy/index.ts", 'import { l } from "../src/rules";\nimport { m } from "../bench/run";\n'],
        ]);
        expect(violations(files)).toEqual({
            direction: [
                "src/program.ts:2 imports ../tools/redisServer (src/ must not import tools/)",
                "tools/redisServer.ts:2 imports ../test/helpers/pulumiMocks (tools/ must not import test/)",
                "bench/run.ts:3 imports ../test/helpers/outputs (bench/ must not import test/)",
                "policy/index.ts:2 imports ../bench/run (policy/ must not import bench/)",
            ],
            contract: ["src/contract.ts:2 imports ./config (the contract imports only zod)"],
            ops: [
                "src/ops/checks.ts:1 imports @pulumi/pulumi: the ops tools must not load the Pulumi SDK",
                "src/contract.ts:2 imports ./config (through src/ops/smoke.ts -> src/contract.ts): the ops tools must not load the config schema",
            ],
        });
    });
});

describe("the layering of this tree", () => {
    const files = readTree();
    const found = violations(files);

    it("reads every source file of src/, tools/, bench/ and policy/, and their imports", () => {
        for (const f of ["src/contract.ts", "src/ops/smoke.ts", "tools/redisServer.ts", "bench/run.ts", "policy/index.ts"])
            expect([...files.keys()]).toContain(f);
        expect(importsOf("bench/run.ts", files).map((i) => i.target)).toContain("tools/redisServer.ts");
        expect(importsOf("tools/outputs.ts", files).map((i) => i.target)).toContain("src/contract.ts");
    });

    it("src/ imports no tools/, test/ or bench/; tools/ only src/; bench/ no test/; policy/ only src/", () => {
        expect(found.direction).toEqual([]);
    });

    it("src/contract.ts imports only zod", () => {
        expect(found.contract).toEqual([]);
    });

    it("nothing the ops tools load at run time is @pulumi/* or src/config*", () => {
        expect(found.ops).toEqual([]);
    });
});
