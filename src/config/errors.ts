/**
 * How a config problem is told: one line per problem naming the key, what was given (never a
 * secret) and what is allowed, with the nearest known key for a typo.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { describeGiven, truncate } from "../rules";

export const NAMESPACE = "mspbyte-redis";

/** Raised for invalid stack config: Pulumi prints its message without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`invalid stack config (Pulumi.<stack>.yaml, namespace ${NAMESPACE}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/** At most this many problems are listed: the message stays short whatever was given. */
export const MAX_PROBLEMS_LISTED = 20;

export function shortList(problems: string[]): string[] {
    if (problems.length <= MAX_PROBLEMS_LISTED) return problems;
    return [
        ...problems.slice(0, MAX_PROBLEMS_LISTED),
        `... and ${problems.length - MAX_PROBLEMS_LISTED} more problems, not listed: fix these first`,
    ];
}

/** Keys whose values are never shown: the password and the TLS material (a certificate may arrive as a key, swapped). */
export const SECRET_KEYS: ReadonlySet<string> = new Set(["password", "previousPassword", "tlsKey", "tlsCertificate", "tlsCa"]);

/** Whether a path names a key of the schema `shape` (not a key the user made up, not a map entry's name). */
function isKnownKeyPath(shape: Record<string, unknown>, path: readonly PropertyKey[]): boolean {
    let s: Record<string, unknown> | undefined = shape;
    for (const p of path) {
        if (typeof p === "number") continue;
        if (s === undefined) return true;
        const child = s[String(p)];
        if (child === undefined) return false;
        s = objectShape(child);
    }
    return true;
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
    let s = schema as { shape?: Record<string, unknown>; unwrap?: () => unknown } | undefined;
    for (let i = 0; i < 5 && s; i++) {
        if (s.shape) return s.shape;
        s = s.unwrap?.() as typeof s;
    }
    return undefined;
}

/** One zod issue as problem lines; `shape` is the stack schema's keys, by which a value may be shown. */
export function formatIssue(issue: z.core.$ZodIssue, shape: Record<string, unknown>): string[] {
    const key = `${NAMESPACE}:${issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("")}`;
    if (issue.code === "unrecognized_keys") {
        const where = issue.path.length === 0 ? `${NAMESPACE}:` : `${key}.`;
        const known = issue.message.replace(/^allowed keys: /, "").split(", ");
        return issue.keys.map((k) => {
            const near = closest(k, known);
            return `${where}${truncate(k, 40)}: unknown key; ${issue.message}${near ? ` (did you mean "${near}"?)` : ""}`;
        });
    }
    const top = issue.path[0]?.toString();
    // A value is shown only under a key known to hold nothing secret, and never when it looks
    // like key material (a private key pasted under tlsCertificate, a token under a name).
    const secretKey = top === undefined || SECRET_KEYS.has(top) || !isKnownKeyPath(shape, issue.path);
    return [`${key}: ${describeGiven(issue.input, { secretKey })}; allowed: ${issue.message}`];
}

/** The known key nearest to a typo, when it is near enough to be what was meant. */
function closest(word: string, candidates: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(word.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) [best, bestDistance] = [c, d];
    }
    return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const row = [i];
        for (let j = 1; j <= b.length; j++) {
            row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        prev = row;
    }
    return prev[b.length]!;
}
