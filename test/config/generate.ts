/**
 * Stack configs as people write them, generated: every field drawn either from values that are
 * right for the stack (given everything else drawn) or from a pool of mistakes people make, each
 * mistake labelled. A config with no label must be accepted; a config with one must be refused.
 * Secrets planted anywhere (password, key material, tokens in the wrong key) are recorded so
 * that no message can be checked without them.
 */
import fc from "fast-check";
import { INSTANCE_MEMORY_MIB, OS_RESERVE_BYTES, formatMemorySize, maxmemoryFor, parseMemorySize } from "../../src/memory";
import { TARGETS, type TargetName } from "../../src/config";

export interface Case {
    stack: string;
    target: TargetName;
    /** Config as the Pulumi CLI hands it to the program: `mspbyte-redis:` keys, objects as JSON text. */
    raw: Record<string, string>;
    secrets: string[];
    /** What is wrong with it, one label per mistake; empty for a config that must be accepted. */
    mistakes: string[];
    /** Strings that must appear in no message or output. */
    planted: string[];
}

const MiB = 1024 * 1024;
const GOOD_IMAGES = [
    "redis:7.4.11-bookworm",
    "redis:7.4",
    `redis@sha256:${"c".repeat(64)}`,
    "registry.example.com:5000/ops/redis:7.4.11",
    "ghcr.io/example/redis:7.2.5-alpine",
];
const BAD_IMAGES = ["redis", "redis:latest", "registry.example.com:5000/redis", "redis:LATEST", "redis: 7.4", "Redis:7.4"];
const INSTANCE_TYPES = Object.keys(INSTANCE_MEMORY_MIB);
const SG = "sg-0a1b2c3d4e5f60003";

/** A private key body: random base64, so that only its own text can match it. */
const keyBody = fc.string({
    unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
    minLength: 64,
    maxLength: 64,
});
const pem = (kind: string, body: string) => `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`;
/** Printable ASCII without spaces: what config takes for a password outside ElastiCache. */
const printable = (min: number, max: number) =>
    fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: min, maxLength: max });
const alnum = (min: number, max: number) =>
    fc.string({ unit: fc.constantFrom(..."ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"), minLength: min, maxLength: max });

/** A size redis.conf and Redis take, of `bytes` rounded down to the unit drawn. */
function spell(g: Draw, bytes: number): string {
    const unit = g(fc.constantFrom("mb", "MB", "kb", "", "gb"));
    if (unit === "gb" && bytes >= 1024 * MiB) return `${Math.floor(bytes / (1024 * MiB))}gb`;
    if (unit.toLowerCase() === "mb") return `${Math.floor(bytes / MiB)}${unit}`;
    if (unit === "kb") return `${Math.floor(bytes / 1024)}kb`;
    return String(Math.floor(bytes / MiB) * MiB);
}

/** Spellings Redis refuses, with the mistake each is. */
function badSpelling(g: Draw): string {
    const n = g(fc.integer({ min: 32, max: 512 }));
    return g(fc.constantFrom(`${n} MB`, `${n}.5mb`, `${n}Mi`, `+${n}mb`, `${n}MiB`, "lots", "0", `${n} megs`, `${n}tb`));
}

function privateCidr(g: Draw): string {
    const a = g(fc.integer({ min: 0, max: 255 }));
    const b = g(fc.integer({ min: 0, max: 255 }));
    return g(
        fc.constantFrom(
            `10.${a}.${b}.0/24`,
            `10.${a}.0.0/16`,
            `172.${16 + (a % 16)}.${b}.0/24`,
            `192.168.${b}.0/24`,
            `100.${64 + (a % 64)}.0.0/16`,
            `fd${(a % 256).toString(16).padStart(2, "0")}:${b.toString(16)}::/48`,
        ),
    );
}

function publicCidr(g: Draw): string {
    const b = g(fc.integer({ min: 0, max: 255 }));
    return g(fc.constantFrom(`8.8.${b}.0/24`, `52.${b}.0.0/16`, "203.0.113.0/24", `2600:1f18:${b.toString(16)}::/48`, "1.0.0.0/8"));
}

/** Source lists that admit the whole internet, however spelled. */
const INTERNET = [
    ["0.0.0.0/0"],
    ["0::/0"],
    ["0.0.0.0/1", "128.0.0.0/1"],
    ["::/1"],
    ["2000::/4", "3000::/4"],
    ["10.0.0.0/8", "0.0.0.0/0"],
    ["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"],
];

/** Draws one value of an arbitrary. */
type Draw = <T>(a: fc.Arbitrary<T>) => T;

/** Mistakes that can be made on a stack of each target. */
const MISTAKES: Record<TargetName, string[]> = {
    docker: [
        "password",
        "protect",
        "tls swapped",
        "section",
        "maxmemory spelling",
        "maxmemory over",
        "memoryLimit",
        "hostPort",
        "image",
        "deleteData",
        "key material in a name",
    ],
    vm: [
        "password",
        "protect",
        "tls swapped",
        "section",
        "maxmemory spelling",
        "maxmemory over",
        "maxmemory unsized",
        "public source",
        "whole internet",
        "not a CIDR",
    ],
    elasticache: [
        "password",
        "protect",
        "tls on a managed cache",
        "section",
        "maxmemory spelling",
        "maxmemory set",
        "public source",
        "whole internet",
        "not a CIDR",
        "replicas",
    ],
    kubernetes: ["password", "protect", "tls swapped", "section", "maxmemory spelling", "maxmemory over", "memoryLimit", "image"],
    external: ["password", "no password", "protect", "tls on a managed cache", "section", "maxmemory spelling", "maxmemory set", "host"],
};

/**
 * One config: half of them right in every field, the other half with one mistake (sometimes
 * two) from the target's list, everything else right.
 */
export function drawCase(gen: fc.GeneratorValue): Case {
    const g: Draw = (a) => gen(() => a);
    const planted: string[] = [];
    const secrets: string[] = [];
    const raw: Record<string, string> = {};
    const set = (key: string, value: unknown, secret = false) => {
        raw[`mspbyte-redis:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
        if (secret) secrets.push(`mspbyte-redis:${key}`);
    };
    const chance = (percent: number) => g(fc.integer({ min: 0, max: 99 })) < percent;
    const target = g(fc.constantFrom(...TARGETS));
    const mistakes = chance(50)
        ? [...new Set(Array.from({ length: chance(80) ? 1 : 2 }, () => g(fc.constantFrom(...MISTAKES[target]))))]
        : [];
    const has = (m: string) => mistakes.includes(m);
    const stack =
        has("protect") || has("deleteData") ? g(fc.constantFrom("staging", "prod")) : g(fc.constantFrom("dev", "staging", "prod"));
    set("target", target);

    // password: a secret, or generated (not for external); mistakes: short, plain text, a PEM key
    if (has("password")) {
        const kind = g(fc.constantFrom("short", "plain", "pem"));
        const value = kind === "short" ? g(alnum(4, 15)) : kind === "pem" ? pem("PRIVATE KEY", g(keyBody)) : g(alnum(16, 64));
        set("password", value, kind !== "plain");
        planted.push(value);
    } else if (target === "external" ? !has("no password") : chance(60)) {
        // ElastiCache takes letters, digits and a few specials; the servers we run any printable ASCII.
        const value = g(target === "elasticache" ? alnum(16, 64) : printable(16, 64));
        set("password", value, true);
        planted.push(value);
    }

    if (has("protect")) set("protect", "false");
    else if (stack === "dev" && chance(20)) set("protect", g(fc.constantFrom("false", "true")));

    // the stack's own TLS material (docker, vm, kubernetes)
    const tlsTargets = target === "docker" || target === "vm" || target === "kubernetes";
    if (has("tls swapped") || has("tls on a managed cache") || (tlsTargets && chance(15))) {
        const key = pem("PRIVATE KEY", g(keyBody));
        const cert = pem("CERTIFICATE", g(keyBody));
        const swapped = has("tls swapped");
        set("tlsCertificate", swapped ? key : cert, true);
        set("tlsKey", swapped ? cert : key, true);
        set("tlsCa", cert, true);
        // The private key is the secret; certificates are public (the CA is an output for clients).
        planted.push(key.split("\n")[1]!);
    }

    if (has("section")) set(g(fc.constantFrom(...TARGETS.filter((t) => t !== target))), {});

    // what the target gives the server, and maxmemory against it
    let budget: number | undefined;
    const section: Record<string, unknown> = {};
    if (target === "docker") {
        if (has("memoryLimit")) section.memoryLimit = g(fc.constantFrom("1 GB", "10mb", "20mb", "512Mi", "1.5gb", "-1"));
        else if (has("maxmemory over") || chance(60)) {
            section.memoryLimit = spell(g, g(fc.integer({ min: 32, max: 8192 })) * MiB);
            budget = maxmemoryFor(parseMemorySize(section.memoryLimit as string)!);
        }
    } else if (target === "vm") {
        section.instanceType = has("maxmemory unsized") ? "x2iedn.xlarge" : g(fc.constantFrom(...INSTANCE_TYPES));
        if (!has("maxmemory unsized")) budget = maxmemoryFor(INSTANCE_MEMORY_MIB[section.instanceType as string]! * MiB, OS_RESERVE_BYTES);
    } else if (target === "kubernetes") {
        if (has("memoryLimit")) section.memoryLimit = g(fc.constantFrom("32Mi", "1GB", "1 Gi", "lots"));
        else {
            const mi = g(fc.integer({ min: 64, max: 16384 }));
            section.memoryLimit = `${mi}Mi`;
            budget = maxmemoryFor(mi * MiB);
        }
    }
    if (has("maxmemory spelling")) set("maxmemory", badSpelling(g));
    else if (has("maxmemory over")) set("maxmemory", formatMemorySize((budget ?? 0) + MiB * g(fc.integer({ min: 1, max: 4096 }))));
    else if (has("maxmemory unsized") || has("maxmemory set")) set("maxmemory", spell(g, g(fc.integer({ min: 16, max: 4096 })) * MiB));
    else if ((target === "docker" || target === "vm" || target === "kubernetes") && chance(40)) {
        const ceiling = budget ?? 4096 * MiB;
        set("maxmemory", spell(g, g(fc.integer({ min: 16, max: Math.floor(ceiling / MiB) })) * MiB));
    }

    // TLS on the servers we run: the rendered tls-* directives are started too
    if ((target === "docker" || target === "vm" || target === "kubernetes") && chance(30)) section.tls = true;

    // the target's own section
    switch (target) {
        case "docker": {
            section.hostPort = has("hostPort") ? g(fc.constantFrom(0, 70000, 6379.5, "6380")) : g(fc.integer({ min: 1, max: 65535 }));
            section.image = g(fc.constantFrom(...(has("image") ? BAD_IMAGES : GOOD_IMAGES)));
            if (has("deleteData") || (stack === "dev" && chance(10))) section.deleteData = true;
            if (has("key material in a name")) {
                const body = g(keyBody);
                section[g(fc.constantFrom("containerName", "volumeName"))] = pem(
                    g(fc.constantFrom("RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY")),
                    body,
                );
                planted.push(body);
            }
            break;
        }
        case "vm":
        case "elasticache": {
            section.vpcId = "vpc-0123456789abcdef0";
            if (target === "vm") {
                section.subnetId = "subnet-0a1b2c3d4e5f60001";
                if (chance(30)) section.port = g(fc.integer({ min: 1, max: 65535 }));
            } else section.subnetIds = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"];
            section.allowedSecurityGroupIds = [SG];
            const optIn = chance(30);
            if (optIn) section.allowPublicCidrs = true;
            if (has("public source")) {
                section.allowedCidrs = [privateCidr(g), publicCidr(g)];
                section.allowPublicCidrs = false;
            } else if (has("whole internet")) section.allowedCidrs = g(fc.constantFrom(...INTERNET));
            else if (has("not a CIDR"))
                section.allowedCidrs = [g(fc.constantFrom("10.1.2.3/16", "10.0.0.5", "10.0.0.0/33", "10.0.0.0 /16", "any"))];
            else if (optIn && chance(50)) section.allowedCidrs = [privateCidr(g), publicCidr(g)];
            else section.allowedCidrs = Array.from({ length: g(fc.integer({ min: 0, max: 3 })) }, () => privateCidr(g));
            if (target === "elasticache")
                section.replicas = has("replicas") ? g(fc.constantFrom(6, -1, 1.5)) : g(fc.integer({ min: 0, max: 5 }));
            break;
        }
        case "kubernetes": {
            section.allowedPodLabels = { app: "pipeline-worker" };
            if (chance(30)) section.port = g(fc.integer({ min: 1, max: 65535 }));
            section.image = g(fc.constantFrom(...(has("image") ? BAD_IMAGES : GOOD_IMAGES)));
            break;
        }
        case "external": {
            const host = g(
                fc.oneof(fc.domain(), fc.ipV4(), fc.constantFrom("2001:db8::10", "redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com")),
            );
            const port = g(fc.integer({ min: 1, max: 65535 }));
            const bracketed = host.includes(":") ? `[${host}]` : host;
            section.host = has("host")
                ? g(
                      fc.constantFrom(
                          `${bracketed}:${port}`,
                          `rediss://default@${bracketed}:${port}`,
                          `redis_${port}.example.com`,
                          `${host} `,
                      ),
                  )
                : host;
            section.port = port;
            break;
        }
    }
    set(target, section);
    return { stack, target, raw, secrets, mistakes, planted };
}

/** The raw config without the namespace, as parseStackConfig takes it. */
export function unprefixed(c: Case): { raw: Record<string, string>; secrets: Set<string> } {
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.raw)) raw[k.replace(/^mspbyte-redis:/, "")] = v;
    return { raw, secrets: new Set(c.secrets.map((k) => k.replace(/^mspbyte-redis:/, ""))) };
}
