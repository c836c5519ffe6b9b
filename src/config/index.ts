/**
 * Stack configuration: one schema for every target, validated before any resource exists.
 * This is the only file that reads `pulumi.Config`; components take the typed result.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { INSTANCE_MEMORY_MIB, MemoryBudget, OS_RESERVE_BYTES, formatMemorySize, largestSafeMaxmemory, parseMemorySize, parseQuantity } from "./memory";
import { authTokenProblem, derivedNameProblems } from "./awsRules";
import { describeGiven, redactMessage, requiresProtection, sourceProblems, truncate, UNPROTECTED_STACKS } from "./rules";
import { AUTH_TOKEN_FORBIDDEN, elasticacheSchema } from "./targets/managed/config";
import { dockerSchema } from "./targets/docker/config";
import { externalSchema } from "./targets/external/config";
import { kubernetesSchema } from "./targets/kubernetes/config";
import { vmSchema } from "./targets/vm/config";
import { MAXMEMORY_MIN_BYTES, MEMORY_ALLOWED, memorySize, bool, strict } from "./config/zod";

export { MAXMEMORY_MIN_BYTES } from "./config/zod";
export { DEFAULT_CONTAINER_NAME, DEFAULT_REDIS_IMAGE, DOCKER_DEFAULTS, dockerSchema, type DockerConfig } from "./targets/docker/config";
export { AUTH_TOKEN_FORBIDDEN, LOG_RETENTION_DAYS, MANAGED_DEFAULTS, MAX_REPLICAS, elasticacheSchema, type ElasticacheConfig } from "./targets/managed/config";
export { EXTERNAL_DEFAULTS, externalSchema, type ExternalConfig } from "./targets/external/config";
export { DEFAULT_EXPORTER_IMAGE, KUBERNETES_DEFAULTS, QUANTITY, kubernetesSchema, type KubernetesConfig } from "./targets/kubernetes/config";
export { VM_DEFAULTS, vmSchema, type VmConfig } from "./targets/vm/config";


export const NAMESPACE = "mspbyte-redis";
import { TARGETS, type TargetName } from "./contract";
export { TARGETS, type TargetName };

/** AUTH tokens shorter than this are refused everywhere (ElastiCache's own minimum). */
export const PASSWORD_MIN_LENGTH = 16;
export const PASSWORD_MAX_LENGTH = 128;
const PASSWORD_ALLOWED = `a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret password\`; leave it unset to have one generated`;
const PREVIOUS_PASSWORD_ALLOWED = `the password being replaced, a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret previousPassword\` for phase one of a rotation (README, Password rotation) and removed for phase two`;

export const stackSchema = strict({
    target: z.enum(TARGETS, { error: TARGETS.join(" | ") }),
    password: z.string({ error: PASSWORD_ALLOWED })
        .min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).regex(/^[\x21-\x7e]+$/).optional(),
    /**
     * Phase one of a password rotation (src/rotation.ts): the old password, still accepted beside
     * `password` until this key is removed (phase two). Secret, like `password`.
     */
    previousPassword: z.string({ error: PREVIOUS_PASSWORD_ALLOWED })
        .min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH).regex(/^[\x21-\x7e]+$/).optional(),
    /** The stack's own TLS certificate, key and CA (PEM, all three secret), used instead of generated ones. */
    tlsCertificate: z.string({ error: "a PEM certificate (-----BEGIN CERTIFICATE-----)" }).regex(/-----BEGIN CERTIFICATE-----/).optional(),
    tlsKey: z.string({ error: "a PEM private key (-----BEGIN ... PRIVATE KEY-----)" }).regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/).optional(),
    tlsCa: z.string({ error: "a PEM CA certificate (-----BEGIN CERTIFICATE-----)" }).regex(/-----BEGIN CERTIFICATE-----/).optional(),
    /** Protect data-holding resources from deletion. @default true on every stack but dev */
    protect: bool().optional(),
    /** Overrides redis.conf's maxmemory (512mb) for this stack. */
    maxmemory: memorySize(MEMORY_ALLOWED).optional(),
    bullmq: strict({
        prefix: z.string({ error: "a key prefix: letters, digits, and _ - : { }" }).regex(/^[\w:{}-]{1,64}$/).default("bull"),
        queue: z.string({ error: "a queue name: letters, digits, _ and -" }).regex(/^[\w-]{1,64}$/).default("pipeline-jobs"),
    }).default({ prefix: "bull", queue: "pipeline-jobs" }),
    docker: dockerSchema.optional(),
    vm: vmSchema.optional(),
    elasticache: elasticacheSchema.optional(),
    kubernetes: kubernetesSchema.optional(),
    external: externalSchema.optional(),
}).superRefine((c, ctx) => {
    const issue = (path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
    if (c.target === "elasticache" && c.elasticache === undefined) {
        issue(["elasticache"], undefined, "an object with at least vpcId, subnetIds and allowedCidrs or allowedSecurityGroupIds, for target elasticache");
    }
    if (c.target === "vm" && c.vm === undefined) {
        issue(["vm"], undefined, "an object with at least vpcId, subnetId and allowedCidrs or allowedSecurityGroupIds, for target vm");
    }
    if (c.target === "kubernetes" && c.kubernetes === undefined) {
        issue(["kubernetes"], undefined, "an object with at least allowedPodLabels or allowedNamespaces, for target kubernetes");
    }
    if (c.target === "external" && c.external === undefined) {
        issue(["external"], undefined, "an object with at least host, for target external");
    }
    if (c.target === "external" && c.password === undefined) {
        issue(["password"], undefined, "the external server's password, a secret set with `pulumi config set --secret password`; it cannot be generated for a server this program does not run");
    }
    if (c.target === "elasticache" && c.password !== undefined && AUTH_TOKEN_FORBIDDEN.test(c.password)) {
        issue(["password"], c.password, authTokenProblem(c.password)!);
    }
    for (const p of rotationProblems(c)) issue(["previousPassword"], c.previousPassword, p);
    if (c.target === "elasticache" && c.maxmemory !== undefined) {
        issue(["maxmemory"], c.maxmemory, "unset for target elasticache; the node type sets maxmemory and reserved-memory-percent keeps the headroom (choose elasticache.nodeType instead)");
    }
    if (c.target === "external" && c.maxmemory !== undefined) {
        issue(["maxmemory"], c.maxmemory, "unset for target external; the provider's plan sets maxmemory on a server this program does not run");
    }
    if ((c.target === "elasticache" || c.target === "external") && c.tlsCertificate !== undefined) {
        issue(["tlsCertificate"], c.tlsCertificate, `unset for target ${c.target}, with tlsKey and tlsCa; the stack's own certificate is used by the docker, vm and kubernetes targets only`);
    }
    for (const section of ["vm", "elasticache"] as const) {
        const s = c[section];
        if (c.target !== section || !s) continue;
        for (const p of sourceProblems(s.allowedCidrs, { allowPublic: s.allowPublicCidrs, optIn: `${section}.allowPublicCidrs` })) {
            if (p.kind === "public") issue([section, "allowedCidrs", p.index!], s.allowedCidrs[p.index!], p.message);
        }
    }
    checkMemoryFits(c, issue);
});

/**
 * A rotation's phase one is checked against `password`: there must be a new password to move
 * to, different from the old one, and both must be what the target takes. Messages never hold
 * either value.
 */
function rotationProblems(c: { target: TargetName; password?: string; previousPassword?: string }): string[] {
    const previous = c.previousPassword;
    if (previous === undefined) return [];
    if (c.target === "external") {
        return ["unset for target external; an external server's passwords are rotated by its provider (README, Password rotation): set `password` to the new one once the provider accepts it"];
    }
    if (c.password === undefined) {
        return ["unset while `password` is unset; phase one of a rotation sets the new `password` (a secret) and keeps the old one here"];
    }
    if (previous === c.password) {
        return ["a password other than `password`; phase one keeps the old password here beside the new one in `password`"];
    }
    if (c.target === "elasticache" && AUTH_TOKEN_FORBIDDEN.test(previous)) return [authTokenProblem(previous)!];
    return [];
}

/** What the target gives the server, when config knows it: the container's limit, the instance type's memory, the pod's limit. */
export function memoryBudget(c: Pick<z.output<typeof stackSchema>, "target" | "docker" | "vm" | "kubernetes">): MemoryBudget | undefined {
    const mib = 1024 * 1024;
    switch (c.target) {
        case "docker": {
            const limit = c.docker?.memoryLimit;
            return limit === undefined ? undefined : { totalBytes: parseMemorySize(limit)!, osReserveBytes: 0, source: `docker.memoryLimit ${String(limit)}` };
        }
        case "vm": {
            const type = c.vm?.instanceType ?? "t4g.small";
            const memory = INSTANCE_MEMORY_MIB[type];
            return memory === undefined ? undefined : { totalBytes: memory * mib, osReserveBytes: OS_RESERVE_BYTES, source: `vm.instanceType ${type} (${formatMemorySize(memory * mib)}, less ${formatMemorySize(OS_RESERVE_BYTES)} for the system)` };
        }
        case "kubernetes": {
            const limit = c.kubernetes?.memoryLimit ?? "1Gi";
            const bytes = parseQuantity(limit);
            return bytes === undefined ? undefined : { totalBytes: bytes, osReserveBytes: 0, source: `kubernetes.memoryLimit ${limit}` };
        }
        default:
            return undefined;
    }
}

/**
 * maxmemory within what the machine gives the server, fork headroom left: beyond it the kernel
 * kills Redis (and loses the jobs since the last fsync) before noeviction ever refuses a write.
 */
function checkMemoryFits(c: z.output<typeof stackSchema>, issue: (path: (string | number)[], input: unknown, message: string) => void): void {
    const budget = memoryBudget(c);
    const largest = budget === undefined ? undefined : largestSafeMaxmemory(budget);
    // A limit refused on its own (under 16mb, not a size) is reported once, by its own key.
    if (budget && !(budget.totalBytes >= MAXMEMORY_MIN_BYTES)) return;
    // The Docker provider takes the limit in whole megabytes (`memory`) and drops the rest: the
    // container would get less than the limit written, and maxmemory would be sized above it.
    if (c.target === "docker" && budget && budget.totalBytes % (1024 * 1024) !== 0) {
        issue(["docker", "memoryLimit"], c.docker?.memoryLimit, `a whole number of megabytes, as the Docker provider takes it; here ${formatMemorySize(Math.floor(budget.totalBytes / (1024 * 1024)) * 1024 * 1024)}`);
        return;
    }
    if (budget && largest !== undefined && largest < MAXMEMORY_MIN_BYTES) {
        const key = c.target === "docker" ? ["docker", "memoryLimit"] : c.target === "vm" ? ["vm", "instanceType"] : ["kubernetes", "memoryLimit"];
        issue(key, budget.source.split(" ")[1], `more memory: ${budget.source} leaves ${formatMemorySize(largest)} for maxmemory, under the 16mb a queue needs`);
        return;
    }
    if (c.maxmemory === undefined) return;
    const wanted = parseMemorySize(c.maxmemory);
    if (wanted === undefined) return;
    if (c.target === "vm" && budget === undefined) {
        issue(["maxmemory"], c.maxmemory, `unset for vm.instanceType ${c.vm?.instanceType}, whose memory config does not know (maxmemory is then sized from it at deploy), or an instance type of the families in memory.ts's INSTANCE_MEMORY_MIB`);
        return;
    }
    if (budget && largest !== undefined && wanted > largest) {
        issue(["maxmemory"], c.maxmemory, `at most ${formatMemorySize(largest)} for ${budget.source}: the rest is headroom for the fork that snapshots and AOF rewrites make, and beyond it the kernel kills Redis before noeviction refuses a write (or give the server more memory)`);
    }
}

type DockerConfig = z.output<typeof dockerSchema>;
type ElasticacheConfig = z.output<typeof elasticacheSchema>;
type ExternalConfig = z.output<typeof externalSchema>;
type VmConfig = z.output<typeof vmSchema>;
type KubernetesConfig = z.output<typeof kubernetesSchema>;

/** The validated configuration of one stack. */
export interface StackConfig {
    stack: string;
    target: TargetName;
    /** Plain here; wrapped with pulumi.secret wherever it enters the program. */
    password?: string;
    /** Phase one of a rotation: the old password, accepted beside `password` (src/rotation.ts). */
    previousPassword?: string;
    protect: boolean;
    maxmemory?: string;
    bullmq: { prefix: string; queue: string };
    docker: DockerConfig;
    /** The stack's own TLS material, when it gives all three. */
    certificates?: { certPem: string; keyPem: string; caPem: string };
    /** Present when target is elasticache. */
    elasticache?: ElasticacheConfig;
    /** Present when target is vm. */
    vm?: VmConfig;
    /** Present when target is kubernetes. */
    kubernetes?: KubernetesConfig;
    /** Present when target is external. */
    external?: ExternalConfig;
}

/** Raised for invalid stack config: Pulumi prints its message without a stack trace. */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`invalid stack config (Pulumi.<stack>.yaml, namespace ${NAMESPACE}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/** Keys whose value is a plain string even when it looks like JSON (a password of digits stays a string). */
const STRING_KEYS = new Set(["target", "password", "previousPassword", "maxmemory", "tlsCertificate", "tlsKey", "tlsCa"]);
/** Keys whose values are never shown: the password and the TLS material (a certificate may arrive as a key, swapped). */
const SECRET_KEYS = new Set(["password", "previousPassword", "tlsKey", "tlsCertificate", "tlsCa"]);

/** Whether a path names a key of the schema (not a key the user made up, not a map entry's name). */
function isKnownKeyPath(path: readonly PropertyKey[]): boolean {
    let shape: Record<string, unknown> | undefined = stackSchema.shape;
    for (const p of path) {
        if (typeof p === "number") continue;
        if (shape === undefined) return true;
        const child = shape[String(p)] as { unwrap?: () => unknown; shape?: Record<string, unknown> } | undefined;
        if (child === undefined) return false;
        shape = objectShape(child);
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
        problems.push(`${NAMESPACE}:previousPassword: given as plain text; allowed: a secret, set with \`pulumi config set --secret previousPassword\``);
    }
    const given = TLS_KEYS.filter((k) => input[k] !== undefined);
    if (given.length > 0 && given.length < TLS_KEYS.length) {
        problems.push(`${NAMESPACE}:${TLS_KEYS.find((k) => input[k] === undefined)}: missing; allowed: all three of tlsCertificate, tlsKey and tlsCa, or none (a certificate is then generated)`);
    }
    if (input.tlsKey !== undefined && !secretKeys.has("tlsKey")) {
        problems.push(`${NAMESPACE}:tlsKey: given as plain text; allowed: a secret, set with \`pulumi config set --secret tlsKey < server.key\``);
    }
    problems.push(...unusedSections(input));
    const result = stackSchema.safeParse(input, { reportInput: true });
    if (!result.success) problems.push(...result.error.issues.flatMap(formatIssue));
    if (result.success) problems.push(...protectionProblems(result.data, stack));
    if (result.success) problems.push(...derivedNameProblems(result.data.target, result.data.elasticache, stack).map((p) => `${NAMESPACE}:${p}`));
    if (problems.length > 0 || !result.success) throw new ConfigError(shortList(problems.map(redactMessage)));

    const c = result.data;
    return {
        stack,
        target: c.target,
        password: c.password,
        previousPassword: c.previousPassword,
        protect: c.protect ?? requiresProtection(stack),
        maxmemory: c.maxmemory === undefined ? undefined : String(c.maxmemory).trim().toLowerCase(),
        bullmq: c.bullmq,
        docker: dockerSchema.parse(c.docker ?? {}),
        certificates: c.tlsCertificate && c.tlsKey && c.tlsCa ? { certPem: c.tlsCertificate, keyPem: c.tlsKey, caPem: c.tlsCa } : undefined,
        elasticache: c.elasticache,
        vm: c.vm,
        kubernetes: c.kubernetes,
        external: c.external,
    };
}

/** At most this many problems are listed: the message stays short whatever was given. */
export const MAX_PROBLEMS_LISTED = 20;

function shortList(problems: string[]): string[] {
    if (problems.length <= MAX_PROBLEMS_LISTED) return problems;
    return [...problems.slice(0, MAX_PROBLEMS_LISTED), `... and ${problems.length - MAX_PROBLEMS_LISTED} more problems, not listed: fix these first`];
}

const SECTIONS = ["docker", "vm", "elasticache", "kubernetes", "external"] as const satisfies readonly TargetName[];

/**
 * A block for a target the stack does not use would be silently ignored, and its reader would
 * believe it applies: each is an error naming the target it belongs to. The block is then left
 * out of the rest of the check (its own mistakes do not matter).
 */
function unusedSections(input: Record<string, unknown>): string[] {
    const target = input.target;
    if (typeof target !== "string" || !(TARGETS as readonly string[]).includes(target)) return [];
    const problems: string[] = [];
    for (const section of SECTIONS) {
        if (section === target || input[section] === undefined) continue;
        problems.push(`${NAMESPACE}:${section}: given ${/^[aeiou]/.test(section) ? "an" : "a"} ${section} block; allowed: unset for target ${target}; this block configures target ${section} and nothing in it applies here (remove it, or set target: ${section})`);
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
    if (c.target === "docker" && c.docker?.deleteData === true) problems.push(`${NAMESPACE}:docker.deleteData: given true; allowed: false ${where}`);
    return problems;
}

/** Reads this stack's config through the Pulumi SDK and validates it. */
export function loadConfig(): StackConfig {
    const prefix = `${NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = value;
        if (isConfigSecret(key)) secretKeys.add(name);
    }
    return parseStackConfig(raw, pulumi.getStack(), secretKeys);
}

/**
 * Whether a config key was set as a secret. The SDK keeps this behind an internal function;
 * it reads the list of secret keys the Pulumi CLI hands the program.
 */
function isConfigSecret(key: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    return runtimeConfig.isConfigSecret?.(key) ?? false;
}

function parseJsonOrString(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
    const key = NAMESPACE + ":" + issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("");
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
    const secretKey = top === undefined || SECRET_KEYS.has(top) || !isKnownKeyPath(issue.path);
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
