/**
 * Generated stack configs (test/config/generate.ts), through the real program under Pulumi's
 * mocks: every config with a labelled mistake stops the program with the config error before
 * any resource is registered; every config without one registers its resources, and each
 * redis.conf the program renders into them starts a real redis-server with the maxmemory it
 * names, within what the target gives the server. No planted secret appears in any message or
 * non-secret output. A faster property runs the same generator through parseStackConfig alone.
 *
 * The numbers for the closing note (bad-input cases tried, refused before any resource) are
 * printed at the end of the file's run.
 */
import fc from "fast-check";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it, vi } from "vitest";
import { ConfigError, memoryBudget, parseStackConfig } from "../../src/config";
import { INSTANCE_MEMORY_MIB, MAXMEMORY_SHARE, largestSafeMaxmemory, parseMemorySize } from "../../src/memory";
import { policies, redisConfsOf, stackPolicies } from "../../policy/policies";
import { MESSAGE_MAX_CHARS } from "../../src/rules";
import { applyOverrides, getDirective, parseRedisConf, renderRedisConf } from "../../src/redisConf";
import { type Registered, plain, quiet } from "../helpers/pulumiMocks";
import { RedisServer } from "../../tools/redisServer";
import { makeCerts, type TestCerts } from "../helpers/tls";
import { authConf } from "../../src/targets/kubernetes/manifests";
import { drawCase, unprefixed, type Case } from "./generate";

const tally = {
    parse: { tried: 0, bad: 0, refused: 0 },
    program: { tried: 0, bad: 0, refusedBeforeAnyResource: 0, good: 0, confsStarted: 0, tlsConfsStarted: 0 },
};
const HEAD = "invalid stack config";
/** One line of the error: the namespace prefix, then a problem cut to MESSAGE_MAX_CHARS. */
const LINE_MAX = "  - ".length + MESSAGE_MAX_CHARS + " (99999 characters)".length;

function expectNoSecret(text: string, c: Case): void {
    for (const secret of c.planted) expect(text, "a planted secret appears").not.toContain(secret);
}

/** A config error: no secret, and every line short whatever was given. */
function expectSafeMessage(text: string, c: Case): void {
    expectNoSecret(text, c);
    for (const line of text.split("\n")) expect(line.length).toBeLessThanOrEqual(LINE_MAX);
}

describe("parseStackConfig on generated configs", () => {
    it("refuses every config with a mistake, accepts every one without, and never prints a secret", () => {
        fc.assert(
            fc.property(fc.gen(), (g) => {
                const c = drawCase(g);
                const { raw, secrets } = unprefixed(c);
                tally.parse.tried++;
                if (c.mistakes.length > 0) tally.parse.bad++;
                let error: unknown;
                try {
                    const config = parseStackConfig(raw, c.stack, secrets);
                    // Accepted: maxmemory fits what the target gives the server.
                    const budget = memoryBudget(config);
                    if (budget && config.maxmemory)
                        expect(parseMemorySize(config.maxmemory)!).toBeLessThanOrEqual(largestSafeMaxmemory(budget));
                } catch (e) {
                    error = e;
                }
                if (error) {
                    expect(error, String(error)).toBeInstanceOf(ConfigError);
                    expectSafeMessage((error as Error).message, c);
                    tally.parse.refused++;
                }
                expect({
                    refused: error !== undefined,
                    mistakes: c.mistakes,
                    message: error ? String((error as Error).message) : "",
                }).toMatchObject({ refused: c.mistakes.length > 0 });
            }),
            { numRuns: 400, seed: 1313, endOnFailure: true },
        );
    });
});

// ---------------------------------------------------------------------------------------------

const CALLS: Record<string, (i: Record<string, any>) => Record<string, any>> = {
    "aws:ec2/getInstanceType:getInstanceType": (i) => ({
        instanceType: i.instanceType,
        memorySize: INSTANCE_MEMORY_MIB[i.instanceType] ?? 8192,
        supportedArchitectures: /\d+g[a-z]*\./.test(i.instanceType) ? ["arm64"] : ["x86_64"],
    }),
    "aws:ec2/getAmi:getAmi": () => ({ id: "ami-0123456789abcdef0", architecture: "arm64" }),
    "aws:ec2/getSubnet:getSubnet": (i) => ({ id: i.id, availabilityZone: "us-east-1a", vpcId: "vpc-0123456789abcdef0" }),
    "aws:index/getRegion:getRegion": () => ({ region: "us-east-1", name: "us-east-1", id: "us-east-1" }),
};

/** Runs src/index.ts as `pulumi up` would, under mocks, with this config. */
async function runProgram(c: Case): Promise<{ error: unknown; registered: Registered[]; outputs: Record<string, unknown> }> {
    const registered: Registered[] = [];
    pulumi.runtime.setAllConfig({ "aws:region": "us-east-1", ...c.raw }, c.secrets);
    await pulumi.runtime.setMocks(
        {
            newResource(a) {
                registered.push({ type: a.type, name: a.name, inputs: a.inputs });
                return {
                    id: `${a.name}-id`,
                    state: {
                        ...a.inputs,
                        imageId: `sha256:${"0".repeat(64)}`,
                        repoDigest: `${a.inputs.name}@sha256:${"0".repeat(64)}`,
                        primaryEndpointAddress: "master.mock.cache.amazonaws.com",
                        readerEndpointAddress: "replica.mock.cache.amazonaws.com",
                        configurationEndpointAddress: "clustercfg.mock.cache.amazonaws.com",
                        clusterEndpoints: [{ address: "clustercfg.mock.memorydb.amazonaws.com", port: a.inputs.port }],
                        privateIp: "10.0.1.23",
                        privateDns: "ip-10-0-1-23.ec2.internal",
                        arn: `arn:aws:mock:us-east-1:123456789012:${a.name}`,
                        name: a.inputs.name ?? a.name,
                        result: "Mock0Generated0Password0Abcdefgh",
                        privateKeyPem: "",
                        certPem: "",
                    },
                };
            },
            call(a) {
                const answer = CALLS[a.token];
                if (!answer) throw new Error(`unexpected provider call: ${a.token}`);
                return answer(a.inputs);
            },
        },
        "mspbyte-redis",
        c.stack,
        false,
    );
    vi.resetModules();
    let error: unknown;
    let outputs: Record<string, unknown> = {};
    try {
        outputs = await import("../../src/index");
    } catch (e) {
        error = e;
    }
    // Resources whose inputs wait on other resources register a little later: wait until the count settles.
    await quiet(() => registered.length);
    return { error, registered, outputs };
}

function settled(o: unknown): Promise<{ value: unknown; secret: boolean }> {
    if (!pulumi.Output.isInstance(o)) return Promise.resolve({ value: o, secret: false });
    const out = o as pulumi.Output<unknown>;
    return Promise.all([
        new Promise((resolve) =>
            out.apply((v) => {
                resolve(v);
                return v;
            }),
        ),
        (out as unknown as { isSecret: Promise<boolean> }).isSecret,
    ]).then(([value, secret]) => ({ value, secret }));
}

let certs: TestCerts | undefined;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-config-props-"));
const started = new Map<string, number>();

/**
 * Starts the rendered file on a real redis-server: its own directives, with only what must point
 * at this machine redirected (the data directory, the include the target fills at boot or from
 * a Secret, the TLS files), and reads back maxmemory.
 */
async function startRendered(conf: string, password: string): Promise<number> {
    const parsed = parseRedisConf(conf);
    const include = path.join(scratch, `include-${started.size}.conf`);
    // The file the target fills outside the rendered redis.conf (the pod's Secret, the VM's boot
    // step): the password as the Kubernetes target writes it.
    fs.writeFileSync(include, authConf(password), { mode: 0o600 });
    const tls = getDirective(parsed, "tls-port") !== undefined;
    if (tls) certs ??= makeCerts();
    if (tls) tally.program.tlsConfsStarted++;
    const extra: Record<string, string> = {};
    if (getDirective(parsed, "include") !== undefined) extra.include = include;
    if (tls) Object.assign(extra, { "tls-cert-file": certs!.certFile, "tls-key-file": certs!.keyFile, "tls-ca-cert-file": certs!.caFile });
    const text = renderRedisConf(applyOverrides(parsed, { extra }));
    const server = await RedisServer.start({ conf: text, tls });
    try {
        const client = server.client({
            password: getDirective(parsed, "requirepass") ?? password,
            ...(tls ? { tls: { ca: fs.readFileSync(certs!.caFile), servername: "localhost" } } : {}),
        });
        await client.connect();
        try {
            const [, value] = (await client.config("GET", "maxmemory")) as [string, string];
            return Number(value);
        } finally {
            client.disconnect();
        }
    } finally {
        await server.destroy();
    }
}

describe("the program on generated configs", () => {
    afterAll(() => {
        fs.rmSync(scratch, { recursive: true, force: true });
        if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
        console.log(
            `config property tests: parseStackConfig ${tally.parse.tried} configs, ${tally.parse.bad} with a mistake, ${tally.parse.refused} refused; ` +
                `program ${tally.program.tried} configs, ${tally.program.bad} with a mistake, ${tally.program.refusedBeforeAnyResource} refused before any resource was registered, ` +
                `${tally.program.good} accepted, ${tally.program.confsStarted} rendered redis.conf files started on a real redis-server (${tally.program.tlsConfsStarted} with TLS)`,
        );
    });

    it("refuses before any resource, or registers resources whose redis.conf starts a real server", async () => {
        await fc.assert(
            fc.asyncProperty(fc.gen(), async (g) => {
                const c = drawCase(g);
                tally.program.tried++;
                const { error, registered, outputs } = await runProgram(c);
                if (c.mistakes.length > 0) {
                    tally.program.bad++;
                    expect(String((error as Error | undefined)?.message), `mistakes: ${c.mistakes.join("; ")}`).toMatch(
                        new RegExp(`^${HEAD}`),
                    );
                    expectSafeMessage((error as Error).message, c);
                    expect(registered).toEqual([]);
                    tally.program.refusedBeforeAnyResource++;
                    return;
                }
                expect(error, `accepted config failed: ${String((error as Error | undefined)?.message)}`).toBeUndefined();
                expect(registered.length).toBeGreaterThan(0);
                tally.program.good++;
                // No planted secret in any output the contract leaves in plain text.
                for (const [name, o] of Object.entries(outputs)) {
                    const { value, secret } = await settled(o);
                    if (!secret) expectNoSecret(JSON.stringify(value) ?? "", c);
                    else expect(["password", "url", "details"]).toContain(name);
                }
                const { raw, secrets } = unprefixed(c);
                const config = parseStackConfig(raw, c.stack, secrets);
                const budget = memoryBudget(config);
                // What config accepts, the policy pack accepts (data protection aside: resource
                // options are not visible under mocks), with the pack's opt-in set as config's is.
                const optIn = {
                    allowPublicCidrs:
                        config.target === "vm"
                            ? config.vm.allowPublicCidrs
                            : config.target === "elasticache" && config.elasticache.allowPublicCidrs,
                };
                const getConfig = <T extends object>() => optIn as T;
                const props = registered.map((r) => ({
                    type: r.type,
                    name: r.name,
                    props: plain(r.inputs) as Record<string, any>,
                    urn: `urn:pulumi:${c.stack}::mspbyte-redis::${r.type}::${r.name}`,
                    opts: { protect: true },
                    getConfig,
                }));
                const violations: string[] = [];
                for (const r of props) {
                    for (const p of policies.filter((x) => x.name !== "redis-data-protected")) {
                        void (p.validateResource as unknown as (a: unknown, report: (m?: string) => void) => void)(r, (m) =>
                            violations.push(`${p.name} ${r.name}: ${m}`),
                        );
                    }
                }
                for (const p of stackPolicies)
                    void (p.validateStack as unknown as (a: unknown, report: (m?: string) => void) => void)(
                        { resources: props, getConfig },
                        (m) => violations.push(`${p.name}: ${m}`),
                    );
                expect(violations).toEqual([]);
                for (const r of registered) {
                    for (const conf of redisConfsOf({
                        type: r.type,
                        props: plain(r.inputs) as Record<string, any>,
                        urn: "",
                        name: r.name,
                        opts: { protect: true },
                    })) {
                        const key = conf.text;
                        let maxmemory = started.get(key);
                        if (maxmemory === undefined) {
                            maxmemory = await startRendered(conf.text, config.password ?? "Property-Test-Password-0123");
                            started.set(key, maxmemory);
                            tally.program.confsStarted++;
                        }
                        expect(maxmemory).toBe(parseMemorySize(getDirective(parseRedisConf(conf.text), "maxmemory")!));
                        if (budget) expect(maxmemory).toBeLessThanOrEqual(budget.totalBytes * MAXMEMORY_SHARE);
                    }
                }
            }),
            { numRuns: 60, seed: 1313, endOnFailure: true },
        );
    });
});
