/**
 * Builds one stack's target under fresh Pulumi mocks, as often as a test likes in one process
 * (a before and an after, or one stack file's many variations), and records every registered
 * resource with its inputs AND its resource options (protect, retainOnDelete,
 * deleteBeforeReplace, ignoreChanges, dependsOn ...), which the SDK's mocks do not show: a stack
 * transformation sees them.
 *
 * Three runners: `runStack` runs the program as index.ts does (the stack file's config read
 * through the SDK by loadConfig, then createRedis) with the program tests' fixed mock values;
 * `registerStack` builds from raw config with values new on every create, for change tests;
 * `buildUnderMocks` builds one component from its args, for the component tests.
 *
 * Target-neutral: the Docker and Kubernetes change-safety tests can use it as the AWS ones do.
 */
import * as pulumi from "@pulumi/pulumi";
import { vi } from "vitest";
import { NAMESPACE, type StackConfig, loadConfig, parseStackConfig } from "../../src/config";
import { type RedisOptions, createRedis } from "../../src/program";
import { type RedisConf, loadRedisConf } from "../../src/redisConf";
import { buildTarget } from "../../src/targets";
import { PROJECT, type Registered, plain, programMocks, quiet, setStackConfig, stackFileConfig } from "./pulumiMocks";

export interface CapturedOptions {
    protect: boolean;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    /** Names of the resources this one waits for explicitly. */
    dependsOn: string[];
    parent?: string;
}

export interface StackResource {
    type: string;
    name: string;
    /** Resolved inputs, secrets unwrapped. */
    inputs: Record<string, any>;
    /** What the mock provider answered (inputs and computed outputs). */
    outputs: Record<string, any>;
    opts: CapturedOptions;
}

export interface StackRun {
    stack: string;
    resources: StackResource[];
    /** The provider functions the program called, with their inputs. */
    calls: { token: string; inputs: Record<string, any> }[];
}

/** What EC2's DescribeInstanceTypes answers for the types the tests use (memory in MiB). */
export const INSTANCE_TYPES: Record<string, { memorySize: number; arch: "arm64" | "x86_64"; hypervisor: "nitro" | "xen" }> = {
    "t4g.small": { memorySize: 2048, arch: "arm64", hypervisor: "nitro" },
    "t4g.medium": { memorySize: 4096, arch: "arm64", hypervisor: "nitro" },
    "r7g.large": { memorySize: 16384, arch: "arm64", hypervisor: "nitro" },
    "t3.small": { memorySize: 2048, arch: "x86_64", hypervisor: "nitro" },
    "t2.small": { memorySize: 2048, arch: "x86_64", hypervisor: "xen" },
};

/** Provider functions answered under mocks; any other is an error (a strict mock). */
const CALLS: Record<string, (i: Record<string, any>) => Record<string, any>> = {
    "aws:ec2/getInstanceType:getInstanceType": (i) => {
        const t = INSTANCE_TYPES[i.instanceType];
        if (!t) throw new Error(`instance type ${i.instanceType} is not in INSTANCE_TYPES`);
        return { instanceType: i.instanceType, memorySize: t.memorySize, supportedArchitectures: [t.arch], hypervisor: t.hypervisor };
    },
    "aws:ec2/getAmi:getAmi": (i) => {
        const byName = (n: string) => (i.filters as { name: string; values: string[] }[]).find((f) => f.name === n)?.values[0];
        const arch = byName("architecture")!;
        return { id: byName("image-id") ?? `ami-debian12-${arch}-20261101`, architecture: arch };
    },
    "aws:ec2/getSubnet:getSubnet": (i) => ({ id: i.id, availabilityZone: "us-east-1a", vpcId: "vpc-0123456789abcdef0" }),
    "aws:index/getRegion:getRegion": () => ({ region: "us-east-1", name: "us-east-1", id: "us-east-1" }),
};

/** A counter standing in for what is new on every create: random values, name_prefix suffixes. */
let creations = 0;
const fresh = () => (++creations).toString(16).padStart(8, "0");

/**
 * Outputs the provider computes, by type token (what later resources and outputs read). Values
 * that are new on each create (FRESH_ON_CREATE) come from a counter; a later run given the
 * earlier one as `prior` keeps them while the resource's inputs are unchanged, as state does.
 */
const FRESH_ON_CREATE = new Set([
    "random:index/randomPassword:RandomPassword",
    "random:index/randomId:RandomId",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
]);
const COMPUTED: Record<string, (i: Record<string, any>, name: string) => Record<string, any>> = {
    "random:index/randomPassword:RandomPassword": () => ({ result: `Mock0Generated0Password0${fresh()}` }),
    "random:index/randomId:RandomId": () => ({ hex: fresh() }),
    "aws:elasticache/replicationGroup:ReplicationGroup": (i) => ({
        primaryEndpointAddress: `master.${i.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        readerEndpointAddress: `replica.${i.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        configurationEndpointAddress: `clustercfg.${i.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
    }),
    "aws:memorydb/cluster:Cluster": (i) => ({
        clusterEndpoints: [{ address: `clustercfg.${i.name}.abc123.memorydb.us-east-1.amazonaws.com`, port: i.port }],
    }),
    "aws:sns/topic:Topic": (_, name) => ({ arn: `arn:aws:sns:us-east-1:123456789012:${name}` }),
    "aws:secretsmanager/secret:Secret": (i, name) => {
        const n = i.name ?? `${i.namePrefix ?? name}2026112809301512340000${fresh().slice(-4)}`;
        return { name: n, arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${n}-AbCdEf` };
    },
    "aws:secretsmanager/secretVersion:SecretVersion": () => ({ versionId: `00000000-0000-4000-8000-0000${fresh()}` }),
    "aws:ec2/instance:Instance": () => ({ privateDns: "ip-10-0-1-23.ec2.internal", privateIp: "10.0.1.23" }),
    "aws:iam/role:Role": (_, name) => ({ arn: `arn:aws:iam::123456789012:role/${name}`, name }),
    "aws:iam/instanceProfile:InstanceProfile": (_, name) => ({ name }),
    "aws:memorydb/user:User": (i) => ({ userName: i.userName }),
    "aws:memorydb/acl:Acl": (i) => ({ name: i.name }),
    "aws:elasticache/parameterGroup:ParameterGroup": (i) => ({ name: i.name }),
    "aws:memorydb/parameterGroup:ParameterGroup": (i) => ({ name: i.name }),
    "aws:elasticache/subnetGroup:SubnetGroup": (i) => ({ name: i.name }),
    "aws:memorydb/subnetGroup:SubnetGroup": (i) => ({ name: i.name }),
    "aws:cloudwatch/logGroup:LogGroup": (i) => ({ name: i.name }),
    "tls:index/privateKey:PrivateKey": (_, name) => ({
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n`,
    }),
    "tls:index/selfSignedCert:SelfSignedCert": (_, name) => ({
        certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
    }),
    "tls:index/certRequest:CertRequest": (_, name) => ({
        certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${name}\n-----END CERTIFICATE REQUEST-----\n`,
    }),
    "tls:index/locallySignedCert:LocallySignedCert": (_, name) => ({
        certPem: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
    }),
};

/** A stack file's config with `changes` applied: `{ elasticache: { replicas: 2 } }` merges into the object key. */
export function stackConfig(stack: string, changes: Record<string, unknown> = {}): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(stackFileConfig(stack))) {
        if (key.startsWith(`${NAMESPACE}:`)) raw[key.slice(NAMESPACE.length + 1)] = value;
    }
    for (const [key, value] of Object.entries(changes)) {
        const base = typeof raw[key] === "string" && /^[{[]/.test(raw[key] as string) ? JSON.parse(raw[key] as string) : undefined;
        raw[key] = base && value && typeof value === "object" && !Array.isArray(value) ? JSON.stringify({ ...base, ...value }) : value;
    }
    return raw;
}

/** redis.conf, read once for every build (as the program reads it once). */
const REDIS_CONF = loadRedisConf();

const nameOf = (r: unknown): string => (r as { __name?: string }).__name ?? "?";

/** Records each resource's options, keyed `type::name`, as a stack transformation sees them. */
export function captureOptions(options: Map<string, CapturedOptions>): void {
    pulumi.runtime.registerStackTransformation((a) => {
        const o = a.opts as pulumi.CustomResourceOptions;
        const deps = o.dependsOn === undefined ? [] : Array.isArray(o.dependsOn) ? o.dependsOn : [o.dependsOn];
        options.set(`${a.type}::${a.name}`, {
            protect: o.protect ?? false,
            retainOnDelete: o.retainOnDelete ?? false,
            deleteBeforeReplace: o.deleteBeforeReplace ?? false,
            ignoreChanges: o.ignoreChanges ?? [],
            replaceOnChanges: o.replaceOnChanges ?? [],
            dependsOn: (deps as unknown[]).map(nameOf),
            parent: o.parent ? nameOf(o.parent) : undefined,
        });
        return undefined;
    });
}

export interface World {
    /** The newest Debian AMI's date stamp: a later one stands for a new Debian release. */
    amiRelease?: string;
    /** The parsed redis.conf the program is given (an edited one for a redis.conf change). @default the repository's, read once */
    redisConf?: RedisConf;
}

/**
 * Runs the stack's program (config validation and the one target) under fresh mocks and
 * returns everything it registered. `config` is raw stack config without the namespace;
 * `secrets` names the keys set as secrets.
 */
export async function registerStack(
    stack: string,
    config: Record<string, unknown>,
    secrets: string[] = [],
    prior?: StackRun,
    world: World = {},
): Promise<StackRun> {
    const inputs = new Map<string, { type: string; inputs: Record<string, any>; outputs: Record<string, any> }>();
    const options = new Map<string, CapturedOptions>();
    const calls: StackRun["calls"] = [];
    let failure: unknown;
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const resolved = plain(args.inputs);
                const before = prior?.resources.find((r) => r.type === args.type && r.name === args.name);
                const kept = before && FRESH_ON_CREATE.has(args.type) && JSON.stringify(before.inputs) === JSON.stringify(resolved);
                const state = kept ? before.outputs : { ...args.inputs, ...(COMPUTED[args.type]?.(args.inputs, args.name) ?? {}) };
                inputs.set(`${args.type}::${args.name}`, { type: args.type, inputs: resolved, outputs: plain(state) });
                // Ids are unique per stack (two stacks' volumes are two volumes) and end in `<name>-id`.
                return { id: `${stack}-${args.name}-id`, state };
            },
            call(args) {
                const answer = CALLS[args.token];
                if (!answer) throw new Error(`unexpected provider call: ${args.token}`);
                calls.push({ token: args.token, inputs: args.inputs });
                const result = answer(args.inputs);
                return args.token === "aws:ec2/getAmi:getAmi" && world.amiRelease
                    ? { ...result, id: result.id.replace("20261101", world.amiRelease) }
                    : result;
            },
        },
        PROJECT,
        stack,
        false,
    );
    const parsed = parseStackConfig(config, stack, new Set(secrets));
    await pulumi.runtime.runInPulumiStack(async () => {
        captureOptions(options);
        try {
            return { details: buildTarget("redis", parsed, { stack, redisConf: world.redisConf ?? REDIS_CONF }).details };
        } catch (e) {
            failure = e;
            return {};
        }
    });
    if (failure) throw failure;
    // Resources whose inputs wait on other resources' outputs register later: wait until quiet.
    await quiet(() => inputs.size);
    const resources: StackResource[] = [];
    for (const [key, r] of inputs) {
        if (r.type === "pulumi:pulumi:Stack") continue;
        const o = options.get(key);
        if (!o) throw new Error(`no options captured for ${key}`);
        resources.push({ type: r.type, name: key.slice(r.type.length + 2), inputs: r.inputs, outputs: r.outputs, opts: o });
    }
    return { stack, resources, calls };
}

/** A resource as the engine got it (secrets marked in its inputs), with its resource options. */
export interface ProgramResource extends Registered {
    opts: CapturedOptions;
}

/** The stack's exports as index.ts exports them: the contract outputs and `details`. */
export type ProgramExports = Record<string, pulumi.Output<unknown>>;

export interface ProgramRun {
    stack: string;
    /** Every resource the program registered, in order. */
    resources: ProgramResource[];
    program: ProgramExports;
    /** The provider functions the program called, with their inputs. */
    calls: { token: string; inputs: Record<string, any> }[];
}

export interface RunOptions {
    /** Plain keys (with the namespace) replacing or added to the stack file's config. */
    overrides?: Record<string, string>;
    /** Keys set as secret config, as `pulumi config set --secret` does. */
    secrets?: Record<string, string>;
    /** Changes the loaded config before the program builds from it (what the parser would refuse). */
    adjust?: (config: StackConfig) => StackConfig;
    /** The stack the program runs as, when not the one whose file gives the config. */
    as?: string;
    /** createRedis's options: the component's name, a parsed redis.conf in place of the file's. */
    redis?: RedisOptions;
}

/**
 * Runs the program as index.ts does, on a real stack file's config (with overrides and secrets)
 * loaded through the SDK, under fresh mocks answering fixed values. Throws what the program
 * throws (a config error), after checking that nothing was registered before it.
 */
export async function runStack(stack: string, opts: RunOptions = {}): Promise<ProgramRun> {
    const { run, failure } = await execute(stack, opts);
    if (failure === undefined) return run;
    if (run.resources.length > 0)
        throw new Error(`the program failed after registering ${run.resources.map((r) => r.name).join(", ")}: ${String(failure)}`);
    throw failure;
}

/** Runs the program as runStack does, expecting it to fail: what it threw and what it registered. */
export async function runStackFailing(stack: string, opts: RunOptions = {}): Promise<{ error: unknown; resources: ProgramResource[] }> {
    const { run, failure } = await execute(stack, opts);
    if (failure === undefined) throw new Error(`the program on ${stack} did not fail`);
    return { error: failure, resources: run.resources };
}

async function execute(stack: string, opts: RunOptions): Promise<{ run: ProgramRun; failure: unknown }> {
    const registered: Registered[] = [];
    const callLog: ProgramRun["calls"] = [];
    const options = new Map<string, CapturedOptions>();
    const as = opts.as ?? stack;
    setStackConfig(stack, opts);
    await pulumi.runtime.setMocks(programMocks(registered, callLog), PROJECT, as, false);
    let program: ProgramExports = {};
    let failure: unknown;
    await pulumi.runtime.runInPulumiStack(async () => {
        captureOptions(options);
        try {
            const config = loadConfig();
            const redis = createRedis(opts.adjust ? opts.adjust(config) : config, opts.redis);
            program = { ...redis.outputs, details: redis.details };
        } catch (e) {
            failure = e;
        }
        return {};
    });
    await quiet(() => registered.length);
    return { run: { stack: as, resources: withOptions(registered, options), program, calls: callLog }, failure };
}

/** The registered resources but the stack itself, each with the options captured for it. */
function withOptions(registered: Registered[], options: Map<string, CapturedOptions>): ProgramResource[] {
    return registered
        .filter((r) => r.type !== "pulumi:pulumi:Stack")
        .map((r) => {
            const opts = options.get(`${r.type}::${r.name}`);
            if (!opts) throw new Error(`no options captured for ${r.type}::${r.name}`);
            return { ...r, opts };
        });
}

/** A component built under fresh mocks: it, and every resource it registered with its options. */
export interface ComponentRun<T> {
    component: T;
    resources: ProgramResource[];
    /** The provider functions it called, with their inputs. */
    calls: { token: string; inputs: Record<string, any> }[];
}

/**
 * Builds one component directly (no stack config, no program) under fresh mocks answering the
 * program tests' fixed values, `stack` being the engine's stack name, and waits until every
 * child has registered.
 */
export async function buildUnderMocks<T extends pulumi.ComponentResource>(stack: string, build: () => T): Promise<ComponentRun<T>> {
    const registered: Registered[] = [];
    const calls: ComponentRun<T>["calls"] = [];
    const options = new Map<string, CapturedOptions>();
    await pulumi.runtime.setMocks(programMocks(registered, calls), PROJECT, stack, false);
    let component: T | undefined;
    await pulumi.runtime.runInPulumiStack(async () => {
        captureOptions(options);
        component = build();
        return {};
    });
    await quiet(() => registered.length);
    return { component: component!, resources: withOptions(registered, options), calls };
}

/**
 * Builds a component as `build` does and returns, in order, what the component passed to
 * registerOutputs (`registered`: its own call first, then the SDK's own call without outputs),
 * and `outputs`, the first; fails when the component registered none.
 */
export async function registeredOutputs<T>(
    build: () => Promise<ComponentRun<T>>,
): Promise<{ run: ComponentRun<T>; registered: Record<string, any>[]; outputs: Record<string, any> }> {
    const spy = vi.spyOn(pulumi.ComponentResource.prototype as unknown as { registerOutputs: (o?: unknown) => void }, "registerOutputs");
    try {
        const run = await build();
        const registered = spy.mock.calls.filter((_, i) => spy.mock.contexts[i] === run.component).map((c) => c[0] as Record<string, any>);
        const outputs = registered[0];
        if (outputs === undefined) throw new Error("the component registered no outputs");
        return { run, registered, outputs };
    } finally {
        spy.mockRestore();
    }
}
