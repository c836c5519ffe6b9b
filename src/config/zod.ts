/**
 * The zod helpers every config schema is written with: a strict object whose unknown keys are
 * errors listing the allowed ones, memory sizes in redis.conf's spelling, ports, booleans and
 * CIDR lists. Imports only zod and the small rule modules, never the Pulumi SDK.
 */
import { z } from "zod";
import { REDIS_MEMORY_SIZE, isRedisMemorySize, redisMemorySpelling } from "../memory";
import { isPinnedImage, sourceProblems } from "../rules";

/** Below this BullMQ cannot hold a useful backlog; `0` (no limit) is refused because a queue needs a ceiling. */
export const MAXMEMORY_MIN_BYTES = 16 * 1024 * 1024;

/**
 * A strict object: an unknown key is an error that lists the keys allowed there (`listed`, when
 * they are more than this object's own: the stack's keys for every target). `missing` is the
 * message when the object is required and not given (a target's own block).
 */
export function strict<T extends z.core.$ZodLooseShape>(shape: T, o: { missing?: string; listed?: readonly string[] } = {}) {
    const keys = [...(o.listed ?? Object.keys(shape))].sort().join(", ");
    return z.strictObject(shape, {
        error: (issue) => {
            if (issue.code === "unrecognized_keys") return `allowed keys: ${keys}`;
            if (issue.code === "invalid_type" && issue.input === undefined && o.missing !== undefined) return o.missing;
            if (issue.code === "invalid_type") return `an object with the keys ${keys}`;
            return undefined;
        },
    });
}

/**
 * A memory size in redis.conf's own spelling, which redis-server takes as it is; a size written
 * another way ("512 MB", "1.5gb", "512Mi") is refused with the spelling it wants.
 */
export const memorySize = (allowed: string) =>
    z.union([z.string(), z.number()], { error: allowed }).superRefine((v, ctx) => {
        if (isRedisMemorySize(v, MAXMEMORY_MIN_BYTES)) return;
        const spelling = typeof v === "string" && !REDIS_MEMORY_SIZE.test(v.trim()) ? redisMemorySpelling(v) : undefined;
        const wanted = spelling !== undefined && isRedisMemorySize(spelling, MAXMEMORY_MIN_BYTES) ? `; write it ${spelling}` : "";
        ctx.addIssue({ code: "custom", input: v, message: allowed + wanted });
    });

export const MEMORY_ALLOWED = `a memory size of at least 16mb, as redis.conf writes it: bytes (536870912) or a number with b, kb, mb or gb (512mb, 1gb)`;
const PORT_ALLOWED = "an integer from 1 to 65535";
const BOOLEAN_ALLOWED = "true or false";

export const port = () => z.number({ error: PORT_ALLOWED }).int().min(1).max(65535);
export const bool = () => z.boolean({ error: BOOLEAN_ALLOWED });

/**
 * Sources judged by what they cover (rules.ts, the policy pack's rule too): a block, or the
 * blocks together, admitting the whole internet are refused here; public blocks are refused
 * without the section's `allowPublicCidrs` opt-in, in the stack-level check.
 */
export const cidrList = (key: string) =>
    z.array(z.string(), { error: `a list of CIDR blocks, such as ["10.0.0.0/16"]` }).superRefine((list, ctx) => {
        for (const p of sourceProblems(list, { allowPublic: true, optIn: "allowPublicCidrs" })) {
            const message =
                p.kind === "internet" ? `${p.message} (use ${key} for the pipeline's subnets, or allowedSecurityGroupIds)` : p.message;
            ctx.addIssue({
                code: "custom",
                path: p.index === undefined ? [] : [p.index],
                input: p.index === undefined ? list : list[p.index],
                message,
            });
        }
    });

/** AWS ids and addresses the vm and elasticache blocks both take, each written once. */
export const vpcId = () => z.string({ error: "a VPC id, such as vpc-0123456789abcdef0" }).regex(/^vpc-[0-9a-f]+$/);
export const securityGroupIds = () =>
    z.array(z.string().regex(/^sg-[0-9a-f]+$/), { error: 'a list of security group ids, such as ["sg-0123"]' });
export const kmsKeyArn = () => z.string({ error: "a KMS key ARN" }).regex(/^arn:aws[\w-]*:kms:/);
export const emailAddress = () => z.string({ error: "an email address" }).regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/);

/** An image pinned by tag or digest; `example` is named in the message. */
export const pinnedImage = (example: string) =>
    z.string({ error: `an image pinned by tag or digest, such as ${example}` }).refine(isPinnedImage, {
        error: `an image pinned by tag or digest, such as ${example}; an untagged or :latest image changes under you`,
    });
