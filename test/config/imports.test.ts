/**
 * The targets' config files (src/targets/<target>/config.ts) and the schema they are written
 * with load zod and the small rule modules only: never the Pulumi SDK, never a component. Read
 * from the import statements, followed through every relative import.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..");
const TARGETS_DIR = path.join(ROOT, "src", "targets");
const CONFIG_FILES = fs
    .readdirSync(TARGETS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(TARGETS_DIR, d.name, "config.ts")))
    .map((d) => path.join("src", "targets", d.name, "config.ts"));

/** The module specifiers a file imports or re-exports (type-only ones too: they are the stricter reading). */
function specifiers(file: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms), ...text.matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g)].map(
        (m) => m[1]!,
    );
}

function resolve(from: string, spec: string): string {
    const base = path.join(path.dirname(from), spec.replace(/\.ts$/, ""));
    for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(path.join(ROOT, candidate))) return candidate;
    throw new Error(`${from}: cannot resolve ${spec}`);
}

/** Every file and package a file loads, directly or through the files it imports. */
function closure(file: string): { files: Set<string>; packages: Set<string> } {
    const files = new Set<string>();
    const packages = new Set<string>();
    const visit = (f: string) => {
        if (files.has(f)) return;
        files.add(f);
        for (const spec of specifiers(f)) {
            if (spec.startsWith(".")) visit(resolve(f, spec));
            else packages.add(spec);
        }
    };
    visit(file);
    return { files, packages };
}

describe("the targets' config files load zod and rule modules only", () => {
    it("there is one per target folder", () => {
        expect(CONFIG_FILES.map((f) => f.split(path.sep)[2]).sort()).toEqual(["docker", "external", "kubernetes", "managed", "vm"]);
    });

    it.each(CONFIG_FILES)("%s", (file) => {
        const { files, packages } = closure(file);
        expect([...packages].sort()).toEqual(["zod"]);
        const allowed = (f: string) =>
            /^src\/(rules|awsRules|memory|contract)\.ts$/.test(f) ||
            /^src\/config\/zod\.ts$/.test(f) ||
            /^src\/targets\/\w+\/config\.ts$/.test(f);
        expect([...files].map((f) => f.split(path.sep).join("/")).filter((f) => !allowed(f))).toEqual([]);
    });

    it("the stack schema (src/config/schema.ts) loads no Pulumi package either", () => {
        const { packages } = closure(path.join("src", "config", "schema.ts"));
        expect([...packages].filter((p) => p.startsWith("@pulumi/"))).toEqual([]);
    });
});
