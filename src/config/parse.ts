/**
 * From raw stack config to a StackConfig: values as `pulumi config` stores them are decoded,
 * checked against the schema and the rules no schema states (secrets given as plain text, a
 * block for another target, protection), and every problem is reported at once.
 */
import type { z } from "zod";
import { derivedNameProblems } from "../awsRules";
import { TARGETS, type TargetName } from "../contract";
import { redactMessage, requiresProtection, truncate, UNPROTECTED_STACKS } from "../rules";
import { ConfigError, formatIssue, NAMESPACE, shortList } from "./errors";
import { anyTargetSchema, stackSchema } from "./schema";

/** The stack's own TLS material, when it gives all three. */
export interface Certificates {
    certPem: string;
    keyPem: string;
    caPem: string;
}

type Normalised<P> = P extends unknown
    ? Omit<P, "tlsCertificate" | "tlsKey" | "tlsCa" | "protect" | "maxmemory"> & {
          stack: string;
          /** Whether data-holding resources are protected: the key, or the stack's rule (rules.ts). */
          protect: boolean;
          /** In redis.conf's spelling, lower case. */
          maxmemory?: string;
          certificates?: Certificates;
      }
    : never;

/**
 * The validated configuration of one stack: one member per target, each holding its own block
 * and no other. The password is plain here; it is wrapped with pulumi.secret wherever it enters
 * the program.
 */
export type StackConfig = Normalised<z.output<typeof stackSchema>>;
/** The config of a stack of one target (`StackConfigOf<"docker">`). */
export type StackConfigOf<T extends TargetName> = Extract<StackConfig, { target: T }>;

/** Keys whose value is a plain string even when it looks like JSON (a password of digits stays a string). */
const STRING_KEYS = new Set(["target", "password", "previousPassword", "maxmemory", "tlsCertificate", "tlsKey", "tlsCa"]);
const TLS_KEYS = ["tlsCertificate", "tlsKey", "tlsCa"] as const;

/**
 * Validates raw stack config (keys without the namespace, values as `pulumi config` stores them:
 * objects as JSON text) for stack `stack`. Pure: tests call it with tables of bad input.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string, secretKeys: ReadonlySet<string> = new Set()): StackConfig {
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) {
        input[key] = typeof value === "string" && !STRING_KEYS.has(key) ? parseJsonOrString(value) : value;
    }
    const problems: string[] = [];
    if (input.password !== undefined && !secretKeys.has("password")) {
        problems.push(`${NAMESPACE}:password: given as plain text; allowed: a secret, set with \`pulumi config set --secret password\``);
    }
    if (input.previousPassword !== undefined && !secretKeys.has("previousPassword")) {
        problems.push(
            `${NAMESPACE}:previousPassword: given as plain text; allowed: a secret, set with \`pulumi config set --secret previousPassword\``,
        );
    }
    const given = TLS_KEYS.filter((k) => input[k] !== undefined);
    if (given.length > 0 && given.length < TLS_KEYS.length) {
        problems.push(
            `${NAMESPACE}:${TLS_KEYS.find((k) => input[k] === undefined)}: missing; allowed: all three of tlsCertificate, tlsKey and tlsCa, or none (a certificate is then generated)`,
        );
    }
    if (input.tlsKey !== undefined && !secretKeys.has("tlsKey")) {
        problems.push(
            `${NAMESPACE}:tlsKey: given as plain text; allowed: a secret, set with \`pulumi config set --secret tlsKey < server.key\``,
        );
    }
    problems.push(...unusedSections(input));
    const issues = (error: z.ZodError | undefined) => (error?.issues ?? []).flatMap((i) => formatIssue(i, anyTargetSchema.shape));
    if (!isTarget(input.target)) {
        // No member to check against: every key is checked as any target would take it.
        problems.push(...issues(anyTargetSchema.safeParse(input, { reportInput: true }).error));
        throw new ConfigError(shortList(problems.map(redactMessage)));
    }
    const result = stackSchema.safeParse(input, { reportInput: true });
    if (!result.success) problems.push(...issues(result.error));
    if (result.success) problems.push(...protectionProblems(result.data, stack));
    if (result.success)
        problems.push(
            ...derivedNameProblems(
                result.data.target,
                result.data.target === "elasticache" ? result.data.elasticache : undefined,
                stack,
            ).map((p) => `${NAMESPACE}:${p}`),
        );
    if (problems.length > 0 || !result.success) throw new ConfigError(shortList(problems.map(redactMessage)));

    const { tlsCertificate, tlsKey, tlsCa, protect, maxmemory, ...rest } = result.data;
    return {
        ...rest,
        stack,
        protect: protect ?? requiresProtection(stack),
        maxmemory: maxmemory === undefined ? undefined : String(maxmemory).trim().toLowerCase(),
        certificates: tlsCertificate && tlsKey && tlsCa ? { certPem: tlsCertificate, keyPem: tlsKey, caPem: tlsCa } : undefined,
    } as StackConfig;
}

function isTarget(value: unknown): value is TargetName {
    return typeof value === "string" && (TARGETS as readonly string[]).includes(value);
}

/**
 * A block for a target the stack does not use would be silently ignored, and its reader would
 * believe it applies: each is an error naming the target it belongs to. The block is then left
 * out of the rest of the check (its own mistakes do not matter).
 */
function unusedSections(input: Record<string, unknown>): string[] {
    const target = input.target;
    if (!isTarget(target)) return [];
    const problems: string[] = [];
    for (const section of TARGETS) {
        if (section === target || input[section] === undefined) continue;
        problems.push(
            `${NAMESPACE}:${section}: given ${/^[aeiou]/.test(section) ? "an" : "a"} ${section} block; allowed: unset for target ${target}; this block configures target ${section} and nothing in it applies here (remove it, or set target: ${section})`,
        );
        delete input[section];
    }
    return problems;
}

/** The one rule for which stacks may run unprotected (rules.ts), applied before any resource exists. */
function protectionProblems(c: z.output<typeof stackSchema>, stack: string): string[] {
    if (!requiresProtection(stack)) return [];
    const problems: string[] = [];
    const where = `on stack ${truncate(stack, 40)}; only ${UNPROTECTED_STACKS.join(", ")} may run unprotected (the policy pack's redis-data-protected refuses the same)`;
    if (c.protect === false) problems.push(`${NAMESPACE}:protect: given false; allowed: true or unset ${where}`);
    if (c.target === "docker" && c.docker.deleteData === true)
        problems.push(`${NAMESPACE}:docker.deleteData: given true; allowed: false ${where}`);
    return problems;
}

function parseJsonOrString(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
