/**
 * Program tests: real Pulumi.<stack>.yaml files loaded into the SDK's config, the SDK's mocks
 * recording every registered resource, and the program run (stackUnderMocks' runStack) or
 * imported only after both are set.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const ROOT = path.join(__dirname, "..", "..");
export const PROJECT = "mspbyte-redis";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** The config of a real stack file as the Pulumi CLI hands it to a program (objects as JSON text). */
export function stackFileConfig(stack: string): Record<string, string> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in value) {
            throw new Error(`${file}: ${key} is encrypted; tests pass secrets through stackConfig's secrets argument`);
        }
        out[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}

/** Resource outputs a mock must supply beyond the inputs, by type token. */
const COMPUTED: Record<string, (inputs: Record<string, any>, name: string) => Record<string, any>> = {
    "random:index/randomPassword:RandomPassword": () => ({ result: "Mock0Generated0Password0Abcdefgh" }),
    "docker:index/remoteImage:RemoteImage": (i) => ({
        imageId: `sha256:${"0".repeat(64)}`,
        repoDigest: `${i.name}@sha256:${"0".repeat(64)}`,
    }),
    "docker:index/volume:Volume": (i, name) => ({ mountpoint: `/var/lib/docker/volumes/${i.name ?? name}/_data` }),
    "aws:elasticache/replicationGroup:ReplicationGroup": (i) => ({
        primaryEndpointAddress: `master.${i.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        readerEndpointAddress: `replica.${i.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        configurationEndpointAddress: `clustercfg.${i.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        arn: `arn:aws:elasticache:us-east-1:123456789012:replicationgroup:${i.replicationGroupId}`,
    }),
    "aws:memorydb/cluster:Cluster": (i) => ({
        clusterEndpoints: [{ address: `clustercfg.${i.name}.abc123.memorydb.us-east-1.amazonaws.com`, port: i.port }],
    }),
    "aws:sns/topic:Topic": (_, name) => ({ arn: `arn:aws:sns:us-east-1:123456789012:${name}` }),
    "random:index/randomId:RandomId": () => ({ hex: "a1b2c3d4" }),
    "aws:secretsmanager/secretVersion:SecretVersion": () => ({ versionId: "00000000-0000-4000-8000-000000000001" }),
    // name_prefix completes the name with a 26-digit timestamp and counter.
    "aws:secretsmanager/secret:Secret": (i) => {
        const name = i.name ?? `${i.namePrefix}20261128093015123400000001`;
        return { name, arn: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf` };
    },
    "aws:ec2/instance:Instance": () => ({ privateDns: "ip-10-0-1-23.ec2.internal", privateIp: "10.0.1.23" }),
    "aws:iam/role:Role": (_, name) => ({ arn: `arn:aws:iam::123456789012:role/${name}`, name }),
    "aws:iam/instanceProfile:InstanceProfile": (_, name) => ({ name }),
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

/** Provider functions (data sources) the program may call, and what they answer under mocks. */
const CALLS: Record<string, (inputs: Record<string, any>) => Record<string, any>> = {
    "aws:ec2/getInstanceType:getInstanceType": (i) => ({
        instanceType: i.instanceType,
        memorySize:
            ({ "t4g.small": 2048, "t4g.medium": 4096, "r7g.large": 16384, "t3.small": 2048 } as Record<string, number>)[i.instanceType] ??
            1024,
        supportedArchitectures: i.instanceType.includes("g.") ? ["arm64"] : ["x86_64"],
    }),
    "aws:ec2/getAmi:getAmi": (i) => ({
        id: `ami-0debian12${i.filters[1].values[0] === "arm64" ? "arm" : "amd"}`,
        architecture: i.filters[1].values[0],
    }),
    "aws:ec2/getSubnet:getSubnet": (i) => ({ id: i.id, availabilityZone: "us-east-1a", vpcId: "vpc-0123456789abcdef0" }),
    "aws:index/getRegion:getRegion": () => ({ region: "us-east-1", name: "us-east-1", id: "us-east-1" }),
};

/** The inputs of every provider function call, by token. */
export const calls: { token: string; inputs: Record<string, any> }[] = [];

/**
 * The config a real stack file gives, with `overrides` replacing or adding plain keys and
 * `secrets` set as secret config (as `pulumi config set --secret` does): set in the SDK, where
 * the program's loadConfig reads it.
 */
export function setStackConfig(stack: string, opts: { secrets?: Record<string, string>; overrides?: Record<string, string> } = {}): void {
    const config = { ...stackFileConfig(stack), ...opts.overrides };
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(opts.secrets ?? {})) {
        config[key] = value;
        secretKeys.push(key);
    }
    pulumi.runtime.setAllConfig(config, secretKeys);
}

/**
 * Mocks that record every registered resource in `registered` and every provider function call
 * in `callLog`, answering with fixed values (COMPUTED, CALLS): the same on every run.
 */
export function programMocks(
    registered: Registered[],
    callLog: { token: string; inputs: Record<string, any> }[] = calls,
): pulumi.runtime.Mocks {
    return {
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            const computed = COMPUTED[args.type]?.(args.inputs, args.name) ?? {};
            return { id: `${args.name}-id`, state: { ...args.inputs, ...computed } };
        },
        call(args) {
            const answer = CALLS[args.token];
            if (!answer) throw new Error(`unexpected provider call in a program test: ${args.token}`);
            callLog.push({ token: args.token, inputs: args.inputs });
            return answer(args.inputs);
        },
    };
}

/**
 * Sets the mocks and the stack's config. `secrets` are set as secret config (as
 * `pulumi config set --secret` does); `overrides` replace or add plain keys.
 */
export async function setupStack(
    stack: string,
    opts: { secrets?: Record<string, string>; overrides?: Record<string, string> } = {},
): Promise<Registered[]> {
    const registered: Registered[] = [];
    setStackConfig(stack, opts);
    await pulumi.runtime.setMocks(programMocks(registered), PROJECT, stack, false);
    return registered;
}

/** The value of an output, once known. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) =>
        output.apply((v) => {
            resolve(v);
            return v;
        }),
    );
}

/** Resources of one type token. */
export function ofType<R extends Registered>(resources: R[], type: string): R[] {
    return resources.filter((r) => r.type === type);
}

/** The one resource of a type token, failing the test when there are none or several. */
export function single<R extends Registered>(resources: R[], type: string): R {
    const found = ofType(resources, type);
    if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    return found[0]!;
}

/**
 * Mocked registrations settle through promises and immediates, not timers: 20 quiet turns of
 * the event loop mean nothing is left to register.
 */
export async function quiet(count: () => number): Promise<void> {
    for (let last = -1, stable = 0; stable < 20; ) {
        await new Promise((r) => setImmediate(r));
        stable = count() === last ? stable + 1 : 0;
        last = count();
    }
}

/**
 * Imports the program and waits until it has registered everything: a resource whose inputs
 * are other resources' outputs registers only after those resolve, so the count is watched
 * until it stops changing.
 */
export async function runProgram<T = Record<string, pulumi.Output<unknown>>>(resources: Registered[], load: () => Promise<T>): Promise<T> {
    const program = await load();
    await quiet(() => resources.length);
    return program;
}

/** How the SDK marks a secret value in the inputs a mock receives (and in state). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when an input reached the engine as a secret. */
export function isSecretInput(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** Secret inputs unwrapped, at any depth: the values as the engine and the provider see them. */
export function plain<T = any>(value: unknown): T {
    if (isSecretInput(value)) return plain((value as { value: unknown }).value);
    if (Array.isArray(value)) return value.map(plain) as T;
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)])) as T;
    return value as T;
}

/** The value of a secret input, failing when it is not secret: a test that reads it proves it is. */
export function secretInput<T = any>(value: unknown): T {
    if (!isSecretInput(value)) throw new Error(`expected a secret input, got ${JSON.stringify(value)}`);
    return (value as { value: T }).value;
}
