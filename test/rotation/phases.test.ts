/**
 * Password rotation through the stack's config, under mocks, on every target's real stack file:
 * steady state (`password` old), phase one (`password` new, `previousPassword` old), phase two
 * (`password` new). For each: what the provider is handed (both passwords in phase one, the new
 * one alone in phase two), that neither password reaches the engine outside a secret, and what
 * `pulumi up` does to each resource (changeSafety.ts with the providers' replace tables): live
 * in place on ElastiCache and MemoryDB, a restart (container replaced, pod rolled, instance
 * stopped and started) on docker, kubernetes and the VM, the data kept everywhere.
 */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../src/config";
import { loadRedisConf } from "../../src/redisConf";
import { buildTarget } from "../../src/targets";
import { AWS_REPLACE } from "../helpers/awsReplace";
import { type ReplaceTable, type ResourceChange, changeProblems, diffRuns, verdicts } from "../helpers/changeSafety";
import { DOCKER_TABLE, kubernetesTable, prepareRuns } from "../helpers/containerReplace";
import { PROJECT, isSecretInput, single, stackFileConfig } from "../helpers/pulumiMocks";
import { type StackRun, registerStack, stackConfig } from "../helpers/stackUnderMocks";

const OLD = "Old-Password-0123456789-abcdef";
const NEW = "New-Password-0123456789-ghijkl";
const MEMORYDB = { elasticache: { service: "memorydb", nodeType: "db.t4g.small", engineVersion: "7.3" } };

type Phase = "steady" | "phase one" | "phase two";
const PHASES: Record<Phase, Record<string, string>> = {
    steady: { password: OLD },
    "phase one": { password: NEW, previousPassword: OLD },
    "phase two": { password: NEW },
};

const k8sFile = stackFileConfig("kubernetes");
/** `phaseTwo`: config changed with phase two besides removing previousPassword. */
const TARGETS: {
    target: string;
    stack: string;
    changes?: Record<string, unknown>;
    phaseTwo?: Record<string, unknown>;
    table: ReplaceTable;
}[] = [
    { target: "docker", stack: "dev", table: DOCKER_TABLE },
    {
        target: "kubernetes",
        stack: "kubernetes",
        table: kubernetesTable({
            enableSecretMutable: k8sFile["kubernetes:enableSecretMutable"] === "true",
            enableConfigMapMutable: k8sFile["kubernetes:enableConfigMapMutable"] === "true",
        }),
    },
    // AWS takes SET only after a ROTATE: the first rotation's phase two sets it in config.
    { target: "elasticache", stack: "prod", phaseTwo: { elasticache: { authTokenUpdateStrategy: "SET" } }, table: AWS_REPLACE },
    { target: "memorydb", stack: "prod", changes: MEMORYDB, table: AWS_REPLACE },
    { target: "vm", stack: "vm", table: AWS_REPLACE },
];

/** The three phases of one target, each run given the one before as its prior state. */
const runs = new Map<string, Promise<Record<Phase, StackRun>>>();
function phasesOf(t: (typeof TARGETS)[number]): Promise<Record<Phase, StackRun>> {
    const key = t.target;
    if (!runs.has(key)) {
        runs.set(
            key,
            (async () => {
                const out = {} as Record<Phase, StackRun>;
                let prior: StackRun | undefined;
                for (const phase of Object.keys(PHASES) as Phase[]) {
                    const secrets = PHASES[phase];
                    const changes = phase === "phase two" && t.phaseTwo ? mergeChanges(t.changes, t.phaseTwo) : t.changes;
                    prior = await registerStack(t.stack, { ...stackConfig(t.stack, changes), ...secrets }, Object.keys(secrets), prior);
                    out[phase] = prior;
                }
                return out;
            })(),
        );
    }
    return runs.get(key)!;
}

function mergeChanges(a: Record<string, unknown> = {}, b: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = { ...(a[k] as object | undefined), ...(v as object) };
    return out;
}

const byType = (r: StackRun, type: string) => single(r.resources, type);
function step(t: (typeof TARGETS)[number], before: StackRun, after: StackRun): { changes: ResourceChange[]; problems: string[] } {
    const [b, a] = t.target === "kubernetes" ? prepareRuns(before, after) : [before, after];
    return { changes: diffRuns(b, a, t.table), problems: changeProblems(b, a, t.table) };
}

describe("what each target is handed in each phase", () => {
    it("docker: phase one renders the default user's ACL with both passwords instead of requirepass; phase two requirepass alone", async () => {
        const p = await phasesOf(TARGETS[0]!);
        const conf = (r: StackRun) => byType(r, "docker:index/container:Container").inputs.uploads[0].content as string;
        expect(conf(p.steady)).toContain(`\nrequirepass ${OLD}\n`);
        expect(conf(p["phase one"])).toContain(`\nuser default on >${NEW} >${OLD} ~* &* +@all\n`);
        expect(conf(p["phase one"])).not.toMatch(/^requirepass/m);
        expect(conf(p["phase two"])).toContain(`\nrequirepass ${NEW}\n`);
        expect(conf(p["phase two"])).not.toContain(OLD);
        expect(conf(p["phase two"])).not.toMatch(/^user /m);
        // The health check authenticates with the new password, accepted in both phases.
        for (const phase of ["phase one", "phase two"] as Phase[]) {
            expect(byType(p[phase], "docker:index/container:Container").inputs.envs).toEqual([`REDISCLI_AUTH=${NEW}`]);
        }
    });

    it("kubernetes: the Secret's auth.conf holds the ACL line in phase one and requirepass in phase two; the ConfigMap neither", async () => {
        const p = await phasesOf(TARGETS[1]!);
        const secret = (r: StackRun) => r.resources.find((x) => x.name === "redis-auth")!.inputs.stringData;
        expect(secret(p["phase one"])).toEqual({ password: NEW, "auth.conf": `user default on >${NEW} >${OLD} ~* &* +@all\n` });
        expect(secret(p["phase two"])).toEqual({ password: NEW, "auth.conf": `requirepass "${NEW}"\n` });
        for (const phase of Object.keys(PHASES) as Phase[]) {
            const cm = JSON.stringify(byType(p[phase], "kubernetes:core/v1:ConfigMap").inputs);
            expect(cm).not.toContain(OLD);
            expect(cm).not.toContain(NEW);
        }
    });

    it("elasticache: ROTATE until a rotation, the new token with ROTATE in phase one, the same token with SET in phase two", async () => {
        const p = await phasesOf(TARGETS[2]!);
        const rg = (r: StackRun) => byType(r, "aws:elasticache/replicationGroup:ReplicationGroup").inputs;
        expect([rg(p.steady).authToken, rg(p.steady).authTokenUpdateStrategy]).toEqual([OLD, "ROTATE"]);
        expect([rg(p["phase one"]).authToken, rg(p["phase one"]).authTokenUpdateStrategy]).toEqual([NEW, "ROTATE"]);
        expect([rg(p["phase two"]).authToken, rg(p["phase two"]).authTokenUpdateStrategy]).toEqual([NEW, "SET"]);
        // ROTATE never sends the old token: AWS keeps the one it has.
        expect(JSON.stringify(rg(p["phase one"]))).not.toContain(OLD);
        // A later rotation, SET kept in config: phase one is ROTATE whatever config says.
        const later = await registerStack(
            "prod",
            {
                ...stackConfig("prod", { elasticache: { authTokenUpdateStrategy: "SET" } }),
                password: "Third-Password-0123456789",
                previousPassword: NEW,
            },
            ["password", "previousPassword"],
        );
        expect(rg(later).authTokenUpdateStrategy).toBe("ROTATE");
    });

    it("memorydb: the user's passwords are [new, old] in phase one and [new] in phase two", async () => {
        const p = await phasesOf(TARGETS[3]!);
        const user = (r: StackRun) => byType(r, "aws:memorydb/user:User").inputs.authenticationMode;
        expect(user(p.steady)).toEqual({ type: "password", passwords: [OLD] });
        expect(user(p["phase one"])).toEqual({ type: "password", passwords: [NEW, OLD] });
        expect(user(p["phase two"])).toEqual({ type: "password", passwords: [NEW] });
    });

    it("vm: the boot secret carries previousPassword in phase one only", async () => {
        const p = await phasesOf(TARGETS[4]!);
        const secret = (r: StackRun) => JSON.parse(byType(r, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString);
        expect(secret(p["phase one"])).toMatchObject({ username: "default", password: NEW, previousPassword: OLD });
        expect(secret(p["phase two"])).toMatchObject({ username: "default", password: NEW });
        expect(secret(p["phase two"])).not.toHaveProperty("previousPassword");
    });
});

/** What `pulumi up` does in each phase, per target: the README's rotation table. */
const EXPECTED: Record<string, Record<"phase one" | "phase two", Record<string, string>>> = {
    docker: {
        "phase one": { "redis-container": "replace (delete first)" },
        "phase two": { "redis-container": "replace (delete first)" },
    },
    kubernetes: {
        "phase one": { "redis-auth": "in place", "redis-statefulset": "in place" },
        "phase two": { "redis-auth": "in place", "redis-statefulset": "in place" },
    },
    elasticache: {
        "phase one": { "redis-cache": "in place", "redis-auth-value": "replace" },
        "phase two": { "redis-cache": "in place" },
    },
    memorydb: {
        "phase one": { "redis-user": "in place", "redis-auth-value": "replace" },
        "phase two": { "redis-user": "in place" },
    },
    vm: {
        "phase one": { "redis-auth-value": "replace", "redis-instance": "in place" },
        "phase two": { "redis-auth-value": "replace", "redis-instance": "in place" },
    },
};

describe("what `pulumi up` does in each phase: verdicts, and every step can succeed with the data kept", () => {
    it.each(TARGETS)("$target", async (t) => {
        const p = await phasesOf(t);
        const one = step(t, p.steady, p["phase one"]);
        const two = step(t, p["phase one"], p["phase two"]);
        expect({ "phase one": verdicts(one.changes), "phase two": verdicts(two.changes) }).toEqual(EXPECTED[t.target]);
        expect([...one.problems, ...two.problems]).toEqual([]);
        if (t.target === "elasticache") {
            // Phase two is the strategy alone: the provider sends ModifyReplicationGroup(token, SET).
            expect(two.changes.find((c) => c.name === "redis-cache")!.changed).toEqual(["authTokenUpdateStrategy"]);
        }
        if (t.target === "kubernetes") {
            // The pod rolls in both phases: the checksum (a digest, no password) changes.
            const hash = (r: StackRun) =>
                byType(r, "kubernetes:apps/v1:StatefulSet").inputs.spec.template.metadata.annotations["mspbyte.io/config-hash"];
            expect(new Set([hash(p.steady), hash(p["phase one"]), hash(p["phase two"])]).size).toBe(3);
        }
    });
});

/**
 * The same stacks run with the raw inputs kept as the engine receives them: every string that
 * holds either password must be inside a secret.
 */
async function rawInputs(
    stack: string,
    changes: Record<string, unknown> | undefined,
    secrets: Record<string, string>,
): Promise<{ name: string; inputs: unknown }[]> {
    const seen: { name: string; inputs: unknown }[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(a) {
                seen.push({ name: `${a.type}::${a.name}`, inputs: a.inputs });
                // What later resources read from these: the cluster's endpoint.
                const computed =
                    a.type === "aws:memorydb/cluster:Cluster" ? { clusterEndpoints: [{ address: "clustercfg.example", port: 6379 }] } : {};
                return { id: `${a.name}-id`, state: { ...a.inputs, ...computed } };
            },
            call(a) {
                const answers: Record<string, Record<string, unknown>> = {
                    "aws:ec2/getInstanceType:getInstanceType": { memorySize: 2048, supportedArchitectures: ["arm64"] },
                    "aws:ec2/getAmi:getAmi": { id: "ami-0debian12arm", architecture: "arm64" },
                    "aws:ec2/getSubnet:getSubnet": { id: a.inputs.id, availabilityZone: "us-east-1a" },
                    "aws:index/getRegion:getRegion": { region: "us-east-1", name: "us-east-1" },
                };
                const answer = answers[a.token];
                if (!answer) throw new Error(`unexpected provider call: ${a.token}`);
                return answer;
            },
        },
        PROJECT,
        stack,
        false,
    );
    const config = parseStackConfig({ ...stackConfig(stack, changes), ...secrets }, stack, new Set(Object.keys(secrets)));
    await pulumi.runtime.runInPulumiStack(async () => ({
        details: buildTarget("redis", config, { stack, redisConf: loadRedisConf() }).details,
    }));
    for (let last = -1, stable = 0; stable < 20; ) {
        await new Promise((r) => setImmediate(r));
        stable = seen.length === last ? stable + 1 : 0;
        last = seen.length;
    }
    return seen;
}

function plainHolders(value: unknown, path: string, secrets: string[], out: string[]): string[] {
    if (isSecretInput(value)) return out;
    if (typeof value === "string") {
        if (secrets.some((s) => value.includes(s))) out.push(path);
    } else if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) plainHolders(v, `${path}[${i}]`, secrets, out);
    } else if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) plainHolders(v, `${path}.${k}`, secrets, out);
    }
    return out;
}

describe("secrets stay secret", () => {
    it.each(TARGETS)("$target: in phase one neither password reaches the engine outside a secret", async (t) => {
        const seen = await rawInputs(t.stack, t.changes, PHASES["phase one"]);
        expect(seen.length).toBeGreaterThan(3);
        const found = seen.flatMap((r) => plainHolders(r.inputs, r.name, [OLD, NEW], []));
        expect(found).toEqual([]);
        // And both are there, in secrets (a test that found nothing must have looked somewhere).
        const all = JSON.stringify(seen.map((r) => r.inputs));
        expect(all).toContain(NEW);
        if (t.target !== "elasticache") expect(all).toContain(OLD);
    });
});

describe("config: previousPassword is checked like password and never shown", () => {
    const base = (stack: string, extra: Record<string, unknown> = {}) => ({ ...stackConfig(stack), ...extra });
    const problems = (raw: Record<string, unknown>, stack: string, secrets: string[]) => {
        try {
            parseStackConfig(raw, stack, new Set(secrets));
            return [];
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            return e.problems;
        }
    };
    it.each([
        {
            case: "the same as password",
            stack: "dev",
            raw: { password: NEW, previousPassword: NEW },
            secrets: ["password", "previousPassword"],
            error: "mspbyte-redis:previousPassword: given a secret of 30 characters; allowed: a password other than `password`; phase one keeps the old password here beside the new one in `password`",
        },
        {
            case: "without password",
            stack: "dev",
            raw: { previousPassword: OLD },
            secrets: ["previousPassword"],
            error: "mspbyte-redis:previousPassword: given a secret of 30 characters; allowed: unset while `password` is unset; phase one of a rotation sets the new `password` (a secret) and keeps the old one here",
        },
        {
            case: "in plain text",
            stack: "dev",
            raw: { password: NEW, previousPassword: OLD },
            secrets: ["password"],
            error: "mspbyte-redis:previousPassword: given as plain text; allowed: a secret, set with `pulumi config set --secret previousPassword`",
        },
        {
            case: "too short",
            stack: "dev",
            raw: { password: NEW, previousPassword: "short-one" },
            secrets: ["password", "previousPassword"],
            error: "mspbyte-redis:previousPassword: given a secret of 9 characters; allowed: the password being replaced, a secret of 16 to 128 printable ASCII characters without spaces, set with `pulumi config set --secret previousPassword` for phase one of a rotation (README, Password rotation) and removed for phase two",
        },
        {
            case: "an AUTH token ElastiCache refuses",
            stack: "prod",
            raw: { password: NEW, previousPassword: "has@an-at-sign-in-it" },
            secrets: ["password", "previousPassword"],
            error: "mspbyte-redis:previousPassword: given a secret of 20 characters; allowed: an AUTH token of letters, digits and only these specials: ! & # $ ^ < > - (ElastiCache's rule); leave it unset to have one generated",
        },
        {
            case: "SET on MemoryDB, which has no token strategy",
            stack: "prod",
            raw: {
                elasticache: JSON.stringify({
                    ...JSON.parse(stackConfig("prod").elasticache as string),
                    ...MEMORYDB.elasticache,
                    authTokenUpdateStrategy: "SET",
                }),
            },
            secrets: [],
            error: 'mspbyte-redis:elasticache.authTokenUpdateStrategy: given "SET"; allowed: ROTATE or unset for service memorydb; a MemoryDB user takes both passwords in phase one and the new one alone once previousPassword is removed',
        },
        {
            case: "on external, whose provider rotates",
            stack: "external",
            raw: { password: NEW, previousPassword: OLD },
            secrets: ["password", "previousPassword"],
            error: "mspbyte-redis:previousPassword: given a secret of 30 characters; allowed: unset for target external; an external server's passwords are rotated by its provider (README, Password rotation): set `password` to the new one once the provider accepts it",
        },
    ])("$case", ({ stack, raw, secrets, error }) => {
        const got = problems(base(stack, raw), stack, secrets);
        expect(got).toEqual([error]);
        for (const p of got) {
            expect(p).not.toContain(OLD);
            expect(p).not.toContain("has@an");
            expect(p).not.toContain("short-one");
        }
    });

    it("phase one is accepted on every target that runs its own server", () => {
        for (const stack of ["dev", "kubernetes", "prod", "vm"]) {
            expect(
                parseStackConfig(base(stack, PHASES["phase one"]), stack, new Set(["password", "previousPassword"])).previousPassword,
            ).toBe(OLD);
        }
    });
});
