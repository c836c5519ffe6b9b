/**
 * Each default is written in three places: the target's `<T>_DEFAULTS` (which its schema's
 * `.default()` reads and its component applies), the `@default` of the component's args, and
 * the README's config tables. This test reads the other two as text and holds them to the first,
 * so none of them can drift: a default changed in one place fails here until all agree, and a
 * key added to a schema fails until the README documents it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { describe, expect, it } from "vitest";
import { anyTargetSchema } from "../../src/config";
import { DOCKER_DEFAULTS, dockerSchema } from "../../src/targets/docker/config";
import { EXTERNAL_DEFAULTS, externalSchema } from "../../src/targets/external/config";
import { KUBERNETES_DEFAULTS, kubernetesSchema } from "../../src/targets/kubernetes/config";
import { MANAGED_DEFAULTS, elasticacheSchema } from "../../src/targets/managed/config";
import { VM_DEFAULTS, vmSchema } from "../../src/targets/vm/config";

const ROOT = path.join(__dirname, "..", "..");
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

type Shape = Record<string, { _zod: { def: { type: string; defaultValue?: unknown } } }>;

/** Each block: its schema, its defaults object, and the folder of the component whose args document them. */
const BLOCKS = [
    { block: "docker", schema: dockerSchema, defaults: DOCKER_DEFAULTS, folder: "docker" },
    { block: "vm", schema: vmSchema, defaults: VM_DEFAULTS, folder: "vm" },
    { block: "elasticache", schema: elasticacheSchema, defaults: MANAGED_DEFAULTS, folder: "managed" },
    { block: "kubernetes", schema: kubernetesSchema, defaults: KUBERNETES_DEFAULTS, folder: "kubernetes" },
    { block: "external", schema: externalSchema, defaults: EXTERNAL_DEFAULTS, folder: "external" },
] as const;

/** The defaults a schema applies, read from the schema itself. */
function schemaDefaults(shape: Shape): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(shape)) {
        if (field._zod.def.type === "default") out[key] = field._zod.def.defaultValue;
    }
    return out;
}

/** A value as the README writes it in a table: `6379`, `false`, `[]`, `[monitoring]`, `{ prefix: bull, queue: pipeline-jobs }`. */
function spelled(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(spelled).join(", ")}]`;
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${k}: ${spelled(v)}`).join(", ")} }`;
    }
    return String(value);
}

interface Row {
    /** The block the row's keys belong to (`top` for the stack's own keys). */
    block: string;
    keys: string[];
    /** The default cell split into one part per key (one part for all when the counts differ). */
    defaults: string[];
    line: number;
}

/** Splits at `, ` outside backticks and brackets. */
function splitTop(cell: string): string[] {
    const parts: string[] = [];
    let depth = 0;
    let code = false;
    let current = "";
    for (let i = 0; i < cell.length; i++) {
        const c = cell[i]!;
        if (c === "`") code = !code;
        else if (!code && (c === "(" || c === "[" || c === "{")) depth++;
        else if (!code && (c === ")" || c === "]" || c === "}")) depth--;
        if (!code && depth === 0 && c === "," && cell[i + 1] === " ") {
            parts.push(current.trim());
            current = "";
            i++;
            continue;
        }
        current += c;
    }
    parts.push(current.trim());
    return parts;
}

/** The README's config tables (`| key | allowed | default |`), each row with its block. */
function readmeRows(text: string): Row[] {
    const lines = text.split("\n");
    const rows: Row[] = [];
    for (let i = 0; i < lines.length; i++) {
        if (lines[i]!.trim() !== "| key | allowed | default |") continue;
        let block: string | undefined;
        for (let j = i - 1; j >= 0 && block === undefined; j--) {
            const intro = /^`(\w+)` \(target /.exec(lines[j]!);
            if (intro) block = intro[1];
            else if (lines[j]!.startsWith("## ")) {
                const heading = lines[j]!.slice(3).trim();
                block = { "Stack config": "top", "The VM target": "vm", "The Kubernetes target": "kubernetes" }[heading];
                if (block === undefined)
                    throw new Error(`README line ${i + 1}: a config table under "${heading}", which this test does not know`);
            }
        }
        for (let k = i + 2; k < lines.length && lines[k]!.startsWith("|"); k++) {
            const cells = lines[k]!.split(/(?<!\\)\|/)
                .slice(1, -1)
                .map((c) => c.trim());
            const keys = [...cells[0]!.matchAll(/`([\w.]+)`/g)].map((m) => m[1]!);
            const parts = splitTop(cells[2] ?? "");
            rows.push({ block: block!, keys, defaults: parts.length === keys.length ? parts : keys.map(() => cells[2]!), line: k + 1 });
        }
    }
    return rows;
}

/** Every documented key as `block.key` (the top table's `docker.x` rows belong to docker), with its default cell part. */
function documented(): Map<string, { cell: string; line: number }> {
    const out = new Map<string, { cell: string; line: number }>();
    for (const row of readmeRows(README)) {
        row.keys.forEach((key, n) => {
            const full = row.block === "top" ? (key.includes(".") ? key : `top.${key}`) : `${row.block}.${key}`;
            out.set(full, { cell: row.defaults[n]!, line: row.line });
        });
    }
    return out;
}

/** Whether a README cell gives this value: as the first code span, or as a code span of its own. */
function cellGives(cell: string, value: unknown): boolean {
    const spans = [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
    return spans[0] === spelled(value);
}

interface ArgDoc {
    file: string;
    key: string;
    /** The `@default` text, when the member has one. */
    default?: string;
}

/** Every member of an exported `...Args` interface in a target's folder, with its `@default` text, read from the source. */
function argDocs(folder: string): ArgDoc[] {
    const dir = path.join(ROOT, "src", "targets", folder);
    const out: ArgDoc[] = [];
    for (const name of fs.readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "config.ts")) {
        const file = path.join(dir, name);
        const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
        const visit = (node: ts.Node) => {
            if (ts.isInterfaceDeclaration(node) && node.name.text.endsWith("Args")) {
                for (const m of node.members) {
                    if (!ts.isPropertySignature(m) || !ts.isIdentifier(m.name)) continue;
                    const tag = ts.getJSDocTags(m).find((t) => t.tagName.text === "default");
                    const text =
                        tag === undefined
                            ? undefined
                            : typeof tag.comment === "string"
                              ? tag.comment
                              : (ts.getTextOfJSDocComment(tag.comment) ?? "");
                    out.push({ file: path.relative(ROOT, file), key: m.name.text, default: text?.trim() });
                }
            }
            ts.forEachChild(node, visit);
        };
        visit(source);
    }
    return out;
}

/** The value an `@default` starts with when it is written as a literal (`6379`, `"10m"`, `[]`, `["monitoring"]`, `true`), else undefined. */
function literalDefault(text: string): { value: unknown } | undefined {
    const m = /^("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{\s*\}|-?\d+(?:\.\d+)?|true|false)(?=$|[\s.,;(])/.exec(text);
    if (!m) return undefined;
    try {
        return { value: JSON.parse(m[1]!) };
    } catch {
        return undefined;
    }
}

describe("defaults: <T>_DEFAULTS, the schemas, the README tables and the components' @default agree", () => {
    const docs = documented();

    it.each(BLOCKS)("$block: the schema's defaults are exactly <T>_DEFAULTS", ({ schema, defaults }) => {
        expect(schemaDefaults(schema.shape as unknown as Shape)).toEqual(defaults);
    });

    it.each(BLOCKS)(
        "$block: every key of the schema is in the README, each default as <T>_DEFAULTS has it",
        ({ block, schema, defaults }) => {
            const missing = Object.keys(schema.shape).filter((k) => !docs.has(`${block}.${k}`));
            expect(missing, `keys of ${block} the README's tables do not list`).toEqual([]);
            const wrong = Object.entries(defaults)
                .filter(([k, v]) => !cellGives(docs.get(`${block}.${k}`)!.cell, v))
                .map(
                    ([k, v]) =>
                        `README.md:${docs.get(`${block}.${k}`)!.line} ${block}.${k}: documented ${docs.get(`${block}.${k}`)!.cell}, the default is \`${spelled(v)}\``,
                );
            expect(wrong).toEqual([]);
        },
    );

    it.each(BLOCKS)("$block: the README documents no key the schema does not take", ({ block, schema }) => {
        const extra = [...docs.keys()].filter((k) => k.startsWith(`${block}.`) && !(k.slice(block.length + 1) in schema.shape));
        expect(extra).toEqual([]);
    });

    it("the stack's own keys: every one in the README's first table, bullmq's default as the schema has it", () => {
        const shape = anyTargetSchema.shape as unknown as Shape;
        const blocks = new Set<string>(BLOCKS.map((b) => b.block));
        const missing = Object.keys(shape).filter((k) => !blocks.has(k) && !docs.has(`top.${k}`));
        expect(missing).toEqual([]);
        const extra = [...docs.keys()].filter((k) => k.startsWith("top.") && !(k.slice(4) in shape));
        expect(extra).toEqual([]);
        const bullmq = schemaDefaults(shape).bullmq;
        expect(bullmq).toEqual({ prefix: "bull", queue: "pipeline-jobs" });
        expect(cellGives(docs.get("top.bullmq")!.cell, bullmq)).toBe(true);
    });

    it.each(BLOCKS)(
        "$block: each args member that has a default in <T>_DEFAULTS documents it with @default, the same value when written as a literal",
        ({ folder, defaults }) => {
            const args = argDocs(folder);
            expect(args.filter((a) => a.key in defaults).length, `args members of src/targets/${folder}/ with a default`).toBeGreaterThan(
                0,
            );
            const problems: string[] = [];
            for (const a of args) {
                if (!(a.key in defaults)) continue;
                const want = (defaults as Record<string, unknown>)[a.key];
                if (a.default === undefined) {
                    problems.push(`${a.file} ${a.key}: no @default (the default is ${JSON.stringify(want)})`);
                    continue;
                }
                const literal = literalDefault(a.default);
                if (literal !== undefined && JSON.stringify(literal.value) !== JSON.stringify(want)) {
                    problems.push(`${a.file} ${a.key}: @default ${a.default}, the default is ${JSON.stringify(want)}`);
                }
            }
            expect(problems).toEqual([]);
        },
    );

    it("the README's tables are read: every block has rows, each row's keys and its default", () => {
        for (const b of [...BLOCKS.map((x) => x.block), "top"])
            expect(
                [...docs.keys()].some((k) => k.startsWith(`${b}.`)),
                b,
            ).toBe(true);
        expect(docs.get("docker.hostPort")?.cell).toBe("`6379`");
        expect(docs.get("elasticache.maintenanceWindow")?.cell).toBe("`sun:05:00-sun:06:00`");
        expect(docs.get("kubernetes.metricsNamespaces")?.cell).toBe("`[monitoring]`");
        expect(literalDefault('"redis:7.4.11-bookworm" (DOCKER_DEFAULTS.image)')).toEqual({ value: "redis:7.4.11-bookworm" });
        expect(literalDefault("6379. Danger: changing it replaces the cache")).toEqual({ value: 6379 });
        expect(literalDefault("the cluster's default storage class")).toBeUndefined();
    });
});
