/**
 * The queue's contract, enforced on every `pulumi preview` and `pulumi up` of every stack:
 * pure validation functions, unit-tested by calling them directly (test/policy.test.ts).
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import { getAll, getDirective, parseRedisConf } from "../src/redisConf";
import { decodeUserData } from "../src/targets/vm/cloudInit";
import { isPinnedImage, requiresProtection, sourceProblems } from "../src/rules";
import {
    formatMemorySize,
    instanceTypeBudget,
    largestSafeMaxmemory,
    parseMemorySize,
    parseQuantity,
    type MemoryBudget,
} from "../src/memory";

type Check = Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name"> & { opts: { protect: boolean } } & Partial<
        Pick<ResourceValidationArgs, "getConfig">
    >;

/** A file named redis.conf (not 60-mspbyte-redis.conf and the like). */
const REDIS_CONF_PATH = /(^|\/)redis\.conf$/;
const DATA_TYPES = new Set([
    "docker:index/volume:Volume",
    "aws:ebs/volume:Volume",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:memorydb/cluster:Cluster",
    "kubernetes:apps/v1:StatefulSet",
]);
/** Stacks whose data may go without protection: the one list config uses too (src/rules.ts). */
export { UNPROTECTED_STACKS } from "../src/rules";

/** Every redis.conf a resource carries: container uploads, ConfigMaps, cloud-init user data. */
export function redisConfsOf(args: Check): { where: string; text: string }[] {
    const p = args.props;
    const out: { where: string; text: string }[] = [];
    if (args.type === "docker:index/container:Container") {
        for (const u of (p.uploads ?? []) as { file?: string; content?: string }[]) {
            if (u.file && REDIS_CONF_PATH.test(u.file) && typeof u.content === "string")
                out.push({ where: `upload ${u.file}`, text: u.content });
        }
    }
    if (args.type === "kubernetes:core/v1:ConfigMap") {
        for (const [key, value] of Object.entries((p.data ?? {}) as Record<string, unknown>)) {
            if (REDIS_CONF_PATH.test(key) && typeof value === "string") out.push({ where: `data.${key}`, text: value });
        }
    }
    const userData = typeof p.userDataBase64 === "string" ? decodeUserData(p.userDataBase64) : p.userData;
    if (args.type === "aws:ec2/instance:Instance" && typeof userData === "string" && userData.startsWith("#cloud-config")) {
        const doc = parse(userData) as { write_files?: { path?: string; content?: string }[] } | null;
        for (const f of doc?.write_files ?? []) {
            if (f.path && REDIS_CONF_PATH.test(f.path) && typeof f.content === "string")
                out.push({ where: `user data ${f.path}`, text: f.content });
        }
    }
    return out;
}

function parameters(props: Record<string, any>): Map<string, string> {
    return new Map(((props.parameters ?? []) as { name: string; value: string }[]).map((x) => [x.name, String(x.value)]));
}

export function validateNoeviction(args: Check, report: ReportViolation): void {
    for (const conf of redisConfsOf(args)) {
        const policy = getDirective(parseRedisConf(conf.text), "maxmemory-policy");
        if (policy !== "noeviction")
            report(
                `${conf.where}: maxmemory-policy is ${policy ?? "unset (volatile-lru or noeviction by version)"}; a job queue needs noeviction`,
            );
    }
    if (args.type === "aws:elasticache/parameterGroup:ParameterGroup" || args.type === "aws:memorydb/parameterGroup:ParameterGroup") {
        const policy = parameters(args.props).get("maxmemory-policy");
        if (policy !== "noeviction")
            report(
                `parameter group: maxmemory-policy is ${policy ?? "not set (the family's default evicts: volatile-lru)"}; a job queue needs noeviction`,
            );
    }
}

export function validatePersistence(args: Check, report: ReportViolation): void {
    for (const conf of redisConfsOf(args)) {
        const parsed = parseRedisConf(conf.text);
        if (getDirective(parsed, "appendonly") !== "yes") report(`${conf.where}: appendonly is not yes; servers we run keep an AOF`);
        const fsync = getDirective(parsed, "appendfsync");
        if (fsync !== undefined && fsync !== "everysec" && fsync !== "always")
            report(`${conf.where}: appendfsync ${fsync} can lose more than a second of jobs`);
        if (getAll(parsed, "save").every((s) => s.join("") === "")) report(`${conf.where}: no RDB save points; snapshots back the AOF up`);
    }
    if (args.type === "aws:elasticache/replicationGroup:ReplicationGroup" || args.type === "aws:memorydb/cluster:Cluster") {
        const days = Number(args.props.snapshotRetentionLimit ?? 0);
        if (!(days >= 1)) report(`snapshotRetentionLimit is ${days}: snapshots must be on (they stand in for the AOF)`);
    }
}

export function validateEncryption(args: Check, report: ReportViolation): void {
    const p = args.props;
    switch (args.type) {
        case "aws:elasticache/replicationGroup:ReplicationGroup":
            if (p.transitEncryptionEnabled !== true) report("transitEncryptionEnabled must be true");
            if (p.transitEncryptionMode !== undefined && p.transitEncryptionMode !== "required")
                report(`transitEncryptionMode is ${p.transitEncryptionMode}; it must be required`);
            if (p.atRestEncryptionEnabled !== true) report("atRestEncryptionEnabled must be true");
            break;
        case "aws:memorydb/cluster:Cluster":
            if (p.tlsEnabled === false) report("tlsEnabled must be true");
            break;
        case "aws:ebs/volume:Volume":
            if (p.encrypted !== true) report("the data volume must be encrypted");
            break;
        case "aws:ec2/instance:Instance":
            if (p.rootBlockDevice?.encrypted !== true) report("the root disk must be encrypted");
            if (p.metadataOptions?.httpTokens !== "required") report("IMDSv2 must be required (metadataOptions.httpTokens: required)");
            break;
    }
}

/** The pack's opt-in for public sources, as config's `allowPublicCidrs` (policy config: `{"redis-no-open-ingress": {"allowPublicCidrs": true}}`). */
export interface IngressPolicyConfig {
    allowPublicCidrs?: boolean;
}

const INGRESS_CONFIG_SCHEMA = { properties: { allowPublicCidrs: { type: "boolean" as const, default: false } } };

function allowPublic(args: { getConfig?: <T extends object>() => T }): boolean {
    return args.getConfig?.<IngressPolicyConfig>().allowPublicCidrs === true;
}

/** The CIDR sources of the ingress a resource declares (rules, or a group's inline rules). */
export function ingressSources(type: string, p: Record<string, any>): string[] {
    if (type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        return [p.cidrIpv4, p.cidrIpv6].filter((c): c is string => typeof c === "string");
    if (type === "aws:ec2/securityGroupRule:SecurityGroupRule" && p.type === "ingress")
        return [...(p.cidrBlocks ?? []), ...(p.ipv6CidrBlocks ?? [])];
    if (type === "aws:ec2/securityGroup:SecurityGroup") {
        return ((p.ingress ?? []) as { cidrBlocks?: string[]; ipv6CidrBlocks?: string[] }[]).flatMap((r) => [
            ...(r.cidrBlocks ?? []),
            ...(r.ipv6CidrBlocks ?? []),
        ]);
    }
    return [];
}

/** Config's rule for sources (src/rules.ts), applied to what a resource declares. */
function reportSources(sources: string[], allow: boolean, what: string, report: ReportViolation): void {
    for (const p of sourceProblems(sources, { allowPublic: allow, optIn: "the policy config allowPublicCidrs" })) {
        if (p.kind === "form") continue; // the provider refuses those itself
        report(
            p.index === undefined ? `${what} from ${sources.join(", ")}: ${p.message}` : `${what} from ${sources[p.index]}: ${p.message}`,
        );
    }
}

export function validateNoOpenIngress(args: Check, report: ReportViolation): void {
    const what = args.type === "aws:ec2/securityGroup:SecurityGroup" ? "inline ingress" : "ingress";
    reportSources(ingressSources(args.type, args.props), allowPublic(args), what, report);
}

/**
 * The same rule over every ingress rule of the stack together: separate rules for 0.0.0.0/1
 * and 128.0.0.0/1 each look narrow, and together admit everyone.
 */
export function validateNoOpenIngressTogether(
    resources: { type: string; props: Record<string, any> }[],
    allow: boolean,
    report: ReportViolation,
): void {
    const sources = resources.flatMap((r) => ingressSources(r.type, r.props));
    for (const p of sourceProblems(sources, { allowPublic: allow, optIn: "the policy config allowPublicCidrs" })) {
        if (p.index === undefined) report(`the stack's ingress rules together (${sources.join(", ")}): ${p.message}`);
    }
}

/** An image reference pinned by a tag other than latest, or by digest: config's rule (src/rules.ts). */
export const isPinned = isPinnedImage;

export function validatePinnedImages(args: Check, report: ReportViolation): void {
    const images: string[] = [];
    if (args.type === "docker:index/remoteImage:RemoteImage" && typeof args.props.name === "string") images.push(args.props.name);
    if (args.type === "kubernetes:apps/v1:StatefulSet") {
        for (const c of (args.props.spec?.template?.spec?.containers ?? []) as { image?: string }[]) if (c.image) images.push(c.image);
    }
    for (const image of images) if (!isPinned(image)) report(`image ${image} is not pinned by tag or digest`);
}

/** The stack a resource belongs to, from its URN (urn:pulumi:<stack>::<project>::...). */
export function stackOf(urn: string): string {
    return urn.split(":")[2] ?? "";
}

export function validateDataProtected(args: Check, report: ReportViolation): void {
    if (!DATA_TYPES.has(args.type) || !requiresProtection(stackOf(args.urn))) return;
    if (!args.opts.protect) report(`${args.name} holds the queue's data and must be protected on stack ${stackOf(args.urn)}`);
}

/**
 * Directives of a redis.conf that carry a password: `requirepass`, `masterauth`, and an ACL
 * `user` line with a `>password` (or `#hash`) rule, as a rotation's first phase writes.
 */
export function passwordDirectives(text: string): string[] {
    const conf = parseRedisConf(text);
    const found: string[] = [];
    for (const name of ["requirepass", "masterauth"]) if (getDirective(conf, name) !== undefined) found.push(name);
    if (getAll(conf, "user").some((args) => args.slice(1).some((rule) => rule.startsWith(">") || rule.startsWith("#"))))
        found.push("an ACL user with a password");
    return found;
}

/**
 * Places where a password would sit unencrypted whatever Pulumi does with secrets: a command
 * line (docker inspect, ps), a ConfigMap, EC2 user data, a plain environment value.
 */
export function validateNoPlainPassword(args: Check, report: ReportViolation): void {
    const p = args.props;
    if (args.type === "docker:index/container:Container") {
        for (const arg of (p.command ?? []) as string[])
            if (/^--requirepass$|^--masterauth$/.test(arg))
                report("the password is on the container's command line; put it in the uploaded redis.conf");
    }
    if (args.type === "kubernetes:core/v1:ConfigMap") {
        for (const conf of redisConfsOf(args))
            for (const d of passwordDirectives(conf.text)) report(`${conf.where}: ${d} in a ConfigMap; it belongs in a Secret`);
    }
    if (args.type === "aws:ec2/instance:Instance") {
        for (const conf of redisConfsOf(args))
            for (const d of passwordDirectives(conf.text))
                report(`${conf.where}: ${d} in user data; fetch it at boot from Secrets Manager`);
    }
    if (args.type === "kubernetes:apps/v1:StatefulSet") {
        for (const c of (p.spec?.template?.spec?.containers ?? []) as { env?: { name: string; value?: string }[] }[]) {
            for (const e of c.env ?? [])
                if (/PASS|AUTH|TOKEN/i.test(e.name) && e.value !== undefined)
                    report(`env ${e.name} has a plain value; use valueFrom.secretKeyRef`);
        }
    }
}

/**
 * maxmemory within the memory the server gets, fork headroom left: config's rule
 * (largestSafeMaxmemory in src/memory.ts), applied where one resource carries both the memory
 * and the redis.conf (a container's `memory` in MB, an instance's type and user data).
 */
export function validateMemoryFits(args: Check, report: ReportViolation): void {
    const p = args.props;
    let budget: MemoryBudget | undefined;
    if (args.type === "docker:index/container:Container" && typeof p.memory === "number" && p.memory > 0) {
        budget = { totalBytes: p.memory * 1024 * 1024, osReserveBytes: 0, source: `the container's memory ${p.memory}MB` };
    }
    if (args.type === "aws:ec2/instance:Instance" && typeof p.instanceType === "string") {
        budget = instanceTypeBudget(p.instanceType, `instance type ${p.instanceType}`);
    }
    if (!budget) return;
    for (const conf of redisConfsOf(args))
        reportOverBudget(conf.where, getDirective(parseRedisConf(conf.text), "maxmemory"), budget, report);
}

function reportOverBudget(where: string, maxmemory: string | undefined, budget: MemoryBudget, report: ReportViolation): void {
    const bytes = maxmemory === undefined ? undefined : parseMemorySize(maxmemory);
    const largest = largestSafeMaxmemory(budget);
    if (bytes === undefined || bytes === 0)
        report(`${where}: no maxmemory with ${budget.source}; the kernel, not noeviction, would stop the server`);
    else if (bytes > largest)
        report(
            `${where}: maxmemory ${maxmemory} is over ${formatMemorySize(largest)}, the most ${budget.source} leaves after fork headroom`,
        );
}

/** The same rule for a StatefulSet, whose memory limit and redis.conf (a ConfigMap) are two resources. */
export function validateMemoryFitsTogether(
    resources: { type: string; name: string; props: Record<string, any> }[],
    report: ReportViolation,
): void {
    const confs = resources
        .filter((r) => r.type === "kubernetes:core/v1:ConfigMap")
        .flatMap((r) => redisConfsOf({ type: r.type, props: r.props, urn: "", name: r.name, opts: { protect: true } }));
    for (const r of resources.filter((x) => x.type === "kubernetes:apps/v1:StatefulSet")) {
        for (const c of (r.props.spec?.template?.spec?.containers ?? []) as {
            name?: string;
            resources?: { limits?: { memory?: string } };
        }[]) {
            const limit = c.resources?.limits?.memory;
            const bytes = typeof limit === "string" ? parseQuantity(limit) : undefined;
            if (c.name !== "redis" || bytes === undefined) continue;
            for (const conf of confs)
                reportOverBudget(
                    conf.where,
                    getDirective(parseRedisConf(conf.text), "maxmemory"),
                    { totalBytes: bytes, osReserveBytes: 0, source: `${r.name}'s memory limit ${limit}` },
                    report,
                );
        }
    }
}

const policy = (
    name: string,
    description: string,
    validateResource: (a: Check, r: ReportViolation) => void,
    extra: Partial<ResourceValidationPolicy> = {},
): ResourceValidationPolicy => ({
    name,
    description,
    enforcementLevel: "mandatory",
    validateResource: validateResource as ResourceValidationPolicy["validateResource"],
    ...extra,
});

export const policies: ResourceValidationPolicy[] = [
    policy("redis-noeviction", "Redis keeps maxmemory-policy noeviction wherever it is configured", validateNoeviction),
    policy("redis-persistence", "Persistence on: AOF and save points on servers we run, snapshots on managed ones", validatePersistence),
    policy("redis-encryption", "Encryption at rest and in transit on managed and VM targets; IMDSv2 on the VM", validateEncryption),
    policy(
        "redis-no-open-ingress",
        "No ingress from the whole internet, however spelled, nor from public ranges without the allowPublicCidrs opt-in",
        validateNoOpenIngress,
        { configSchema: INGRESS_CONFIG_SCHEMA },
    ),
    policy("redis-pinned-images", "Images pinned by tag or digest, never latest", validatePinnedImages),
    policy("redis-data-protected", "Resources holding queue data are protected outside dev", validateDataProtected),
    policy(
        "redis-no-plain-password",
        "No password where it is never encrypted: command lines, ConfigMaps, user data, plain env",
        validateNoPlainPassword,
    ),
    policy("redis-memory-fits", "maxmemory within the container's or instance's memory, fork headroom left", validateMemoryFits),
];

/** Policies over the whole stack: rules that no single resource shows. */
export const stackPolicies: StackValidationPolicy[] = [
    {
        name: "redis-no-open-ingress-together",
        description: "The stack's ingress rules together do not admit the whole internet",
        enforcementLevel: "mandatory",
        configSchema: INGRESS_CONFIG_SCHEMA,
        validateStack: (args, report) => validateNoOpenIngressTogether(args.resources, allowPublic(args), report),
    },
    {
        name: "redis-memory-fits-together",
        description: "maxmemory within the StatefulSet's memory limit, fork headroom left",
        enforcementLevel: "mandatory",
        validateStack: (args, report) => validateMemoryFitsTogether(args.resources, report),
    },
];
