/**
 * The stack config's schema: the keys every target shares, and one member per target holding
 * its own block (the blocks' schemas sit beside their components, src/targets/<t>/config.ts),
 * told apart by `target`. The type of a parsed config follows from it.
 */
import { z } from "zod";
import { authTokenProblem } from "../awsRules";
import { TARGETS, type TargetName } from "../contract";
import { sourceProblems } from "../rules";
import { dockerSchema } from "../targets/docker/config";
import { externalSchema } from "../targets/external/config";
import { kubernetesSchema } from "../targets/kubernetes/config";
import { elasticacheSchema } from "../targets/managed/config";
import { vmSchema } from "../targets/vm/config";
import { checkMemoryFits } from "./memoryFit";
import { bool, MEMORY_ALLOWED, memorySize, strict } from "./zod";

/** AUTH tokens shorter than this are refused everywhere (ElastiCache's own minimum). */
export const PASSWORD_MIN_LENGTH = 16;
export const PASSWORD_MAX_LENGTH = 128;

const PASSWORD_ALLOWED = `a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret password\`; leave it unset to have one generated`;
const PREVIOUS_PASSWORD_ALLOWED = `the password being replaced, a secret of ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} printable ASCII characters without spaces, set with \`pulumi config set --secret previousPassword\` for phase one of a rotation (README, Password rotation) and removed for phase two`;
const EXTERNAL_PASSWORD_MISSING =
    "the external server's password, a secret set with `pulumi config set --secret password`; it cannot be generated for a server this program does not run";
const TARGET_ALLOWED = TARGETS.join(" | ");

const password = (error: string | ((issue: { input: unknown }) => string)) =>
    z
        .string({ error })
        .min(PASSWORD_MIN_LENGTH)
        .max(PASSWORD_MAX_LENGTH)
        .regex(/^[\x21-\x7e]+$/);

/** The keys every target takes, after `target` and before the target's own block. */
const common = {
    password: password(PASSWORD_ALLOWED).optional(),
    /**
     * Phase one of a password rotation (src/rotation.ts): the old password, still accepted beside
     * `password` until this key is removed (phase two). Secret, like `password`.
     */
    previousPassword: password(PREVIOUS_PASSWORD_ALLOWED).optional(),
    /** The stack's own TLS certificate, key and CA (PEM, all three secret), used instead of generated ones. */
    tlsCertificate: z
        .string({ error: "a PEM certificate (-----BEGIN CERTIFICATE-----)" })
        .regex(/-----BEGIN CERTIFICATE-----/)
        .optional(),
    tlsKey: z
        .string({ error: "a PEM private key (-----BEGIN ... PRIVATE KEY-----)" })
        .regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/)
        .optional(),
    tlsCa: z
        .string({ error: "a PEM CA certificate (-----BEGIN CERTIFICATE-----)" })
        .regex(/-----BEGIN CERTIFICATE-----/)
        .optional(),
    /** Protect data-holding resources from deletion. @default true on every stack but dev */
    protect: bool().optional(),
    /** Overrides redis.conf's maxmemory (512mb) for this stack. */
    maxmemory: memorySize(MEMORY_ALLOWED).optional(),
    bullmq: strict({
        prefix: z
            .string({ error: "a key prefix: letters, digits, and _ - : { }" })
            .regex(/^[\w:{}-]{1,64}$/)
            .default("bull"),
        queue: z
            .string({ error: "a queue name: letters, digits, _ and -" })
            .regex(/^[\w-]{1,64}$/)
            .default("pipeline-jobs"),
    }).default({ prefix: "bull", queue: "pipeline-jobs" }),
};

/**
 * Every key a stack file may hold, whatever its target: what an unknown top-level key's error
 * lists, and the schema a config whose target is missing or unknown is checked against.
 */
export const anyTargetSchema = strict({
    target: z.enum(TARGETS, { error: TARGET_ALLOWED }),
    ...common,
    docker: dockerSchema.optional(),
    vm: vmSchema.optional(),
    elasticache: elasticacheSchema.optional(),
    kubernetes: kubernetesSchema.optional(),
    external: externalSchema.optional(),
});
const STACK_KEYS = Object.keys(anyTargetSchema.shape);

const target = <T extends TargetName>(name: T) => z.literal(name, { error: TARGET_ALLOWED });

export const stackSchema = z
    .discriminatedUnion(
        "target",
        [
            strict({ target: target("docker"), ...common, docker: dockerSchema.prefault({}) }, { listed: STACK_KEYS }),
            strict({ target: target("vm"), ...common, vm: vmSchema }, { listed: STACK_KEYS }),
            /** ElastiCache, or MemoryDB with `elasticache.service: memorydb`. */
            strict({ target: target("elasticache"), ...common, elasticache: elasticacheSchema }, { listed: STACK_KEYS }),
            strict({ target: target("kubernetes"), ...common, kubernetes: kubernetesSchema }, { listed: STACK_KEYS }),
            strict(
                {
                    target: target("external"),
                    ...common,
                    password: password((issue) => (issue.input === undefined ? EXTERNAL_PASSWORD_MISSING : PASSWORD_ALLOWED)),
                    external: externalSchema,
                },
                { listed: STACK_KEYS },
            ),
        ],
        { error: TARGET_ALLOWED },
    )
    .superRefine((c, ctx) => {
        const issue = (path: (string | number)[], input: unknown, message: string) =>
            ctx.addIssue({ code: "custom", path, input, message });
        const tokenProblem = c.target === "elasticache" && c.password !== undefined ? authTokenProblem(c.password) : undefined;
        if (tokenProblem) issue(["password"], c.password, tokenProblem);
        for (const p of rotationProblems(c)) issue(["previousPassword"], c.previousPassword, p);
        if (c.target === "elasticache" && c.maxmemory !== undefined) {
            issue(
                ["maxmemory"],
                c.maxmemory,
                "unset for target elasticache; the node type sets maxmemory and reserved-memory-percent keeps the headroom (choose elasticache.nodeType instead)",
            );
        }
        if (c.target === "external" && c.maxmemory !== undefined) {
            issue(
                ["maxmemory"],
                c.maxmemory,
                "unset for target external; the provider's plan sets maxmemory on a server this program does not run",
            );
        }
        if ((c.target === "elasticache" || c.target === "external") && c.tlsCertificate !== undefined) {
            issue(
                ["tlsCertificate"],
                c.tlsCertificate,
                `unset for target ${c.target}, with tlsKey and tlsCa; the stack's own certificate is used by the docker, vm and kubernetes targets only`,
            );
        }
        const sources = c.target === "vm" ? c.vm : c.target === "elasticache" ? c.elasticache : undefined;
        for (const p of sources
            ? sourceProblems(sources.allowedCidrs, { allowPublic: sources.allowPublicCidrs, optIn: `${c.target}.allowPublicCidrs` })
            : []) {
            if (p.kind === "public") issue([c.target, "allowedCidrs", p.index!], sources!.allowedCidrs[p.index!], p.message);
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
        return [
            "unset for target external; an external server's passwords are rotated by its provider (README, Password rotation): set `password` to the new one once the provider accepts it",
        ];
    }
    if (c.password === undefined) {
        return ["unset while `password` is unset; phase one of a rotation sets the new `password` (a secret) and keeps the old one here"];
    }
    if (previous === c.password) {
        return ["a password other than `password`; phase one keeps the old password here beside the new one in `password`"];
    }
    const tokenProblem = c.target === "elasticache" ? authTokenProblem(previous) : undefined;
    return tokenProblem ? [tokenProblem] : [];
}
