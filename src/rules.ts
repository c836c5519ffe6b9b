/**
 * Rules that the stack config (before any resource exists) and the policy pack (on what the
 * program registers) both apply. Each is written once, here, and imported by both, so the two
 * can never disagree on what an open network, a pinned image or an unprotected stack is.
 * Pure functions over plain values; no Pulumi SDK.
 */

// ---------------------------------------------------------------------------------------------
// Stacks that may run without protection
// ---------------------------------------------------------------------------------------------

/** Stacks whose data may go without protection (throwaway, local). */
export const UNPROTECTED_STACKS: readonly string[] = ["dev"];

/** Whether a stack's data-holding resources must be protected (and may not be deleted with the stack). */
export function requiresProtection(stack: string): boolean {
    return !UNPROTECTED_STACKS.includes(stack);
}

// ---------------------------------------------------------------------------------------------
// Pinned images
// ---------------------------------------------------------------------------------------------

/** A registry host (with a dot or a port, or localhost) as the first path segment of a reference. */
const REGISTRY = /^(localhost|[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+|[a-zA-Z0-9.-]+:\d{1,5})$/;
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The parts of an image reference (`[registry/]path[:tag][@sha256:digest]`), or undefined when it is not one. */
export function parseImageReference(image: string): { registry?: string; path: string; tag?: string; digest?: string } | undefined {
    if (image.length > 512 || /\s/.test(image)) return undefined;
    let rest = image;
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
        if (!DIGEST.test(digest)) return undefined;
    }
    const slash = rest.lastIndexOf("/");
    const colon = rest.indexOf(":", slash + 1);
    let tag: string | undefined;
    if (colon >= 0) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
        if (!TAG.test(tag)) return undefined;
    }
    const segments = rest.split("/");
    let registry: string | undefined;
    if (segments.length > 1 && REGISTRY.test(segments[0]!)) registry = segments.shift();
    if (segments.length === 0 || !segments.every((s) => PATH_COMPONENT.test(s))) return undefined;
    return { registry, path: segments.join("/"), tag, digest };
}

/** An image reference pinned by digest, or by a tag other than latest. */
export function isPinnedImage(image: string): boolean {
    const ref = parseImageReference(image);
    if (!ref) return false;
    if (ref.digest) return true;
    return ref.tag !== undefined && ref.tag.toLowerCase() !== "latest";
}

// ---------------------------------------------------------------------------------------------
// Open networks, judged by the addresses a set of sources covers, not by its spelling
// ---------------------------------------------------------------------------------------------

export interface Cidr {
    family: 4 | 6;
    /** The network address as a number (host bits zero). */
    network: bigint;
    prefix: number;
    /** The canonical spelling (`10.0.0.0/16`, `fd00::/8`). */
    text: string;
}

const BITS = { 4: 32, 6: 128 } as const;

function parseIpv4(s: string): bigint | undefined {
    const parts = s.split(".");
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseIpv6(s: string): bigint | undefined {
    if (!/^[0-9a-fA-F:]+$/.test(s) || s.split("::").length > 2) return undefined;
    const [head, tail] = s.includes("::") ? (s.split("::") as [string, string]) : [s, undefined];
    const groups = (x: string) => (x === "" ? [] : x.split(":"));
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    const missing = 8 - h.length - t.length;
    if ((tail === undefined && missing !== 0) || (tail !== undefined && missing < 1)) return undefined;
    const all = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...t];
    if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatAddress(family: 4 | 6, n: bigint): string {
    if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join(".");
    const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
    // The longest run of zero groups (two or more) becomes "::" (RFC 5952).
    let best = -1,
        bestLen = 1;
    for (let i = 0; i < 8; ) {
        if (groups[i] !== 0) {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > bestLen) [best, bestLen] = [i, j - i];
        i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best < 0) return hex.join(":");
    return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** An IP address (v4 or v6) as a number, or undefined. */
export function parseIp(s: string): { family: 4 | 6; value: bigint } | undefined {
    const v4 = parseIpv4(s);
    if (v4 !== undefined) return { family: 4, value: v4 };
    const v6 = parseIpv6(s);
    return v6 === undefined ? undefined : { family: 6, value: v6 };
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; suggestion?: string };

/**
 * A CIDR block as AWS takes it: an address and a prefix length, the address being the network's
 * own (host bits zero). The provider refuses the rest before AWS sees it (terraform-provider-aws
 * internal/service/ec2/vpc_security_group_rule.go @ acde588265bb9030379201e363f9f682879b51bd:
 * cidr_ipv4 and cidr_ipv6 validated by IPv4CIDRNetworkAddress / IPv6CIDRNetworkAddress), so a
 * refusal here says which block was meant.
 */
export function parseCidr(s: string): CidrParse {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
    if (!m) {
        const ip = parseIp(s.trim());
        return ip ? { ok: false, suggestion: `${formatAddress(ip.family, ip.value)}/${BITS[ip.family]}` } : { ok: false };
    }
    const ip = parseIp(m[1]!);
    const prefix = Number(m[2]);
    if (!ip || prefix > BITS[ip.family]) return { ok: false };
    const hostBits = BigInt(BITS[ip.family] - prefix);
    const network = (ip.value >> hostBits) << hostBits;
    const text = `${formatAddress(ip.family, network)}/${prefix}`;
    if (network !== ip.value) return { ok: false, suggestion: text };
    return { ok: true, cidr: { family: ip.family, network, prefix, text } };
}

type Range = [bigint, bigint];

function rangeOf(c: Pick<Cidr, "family" | "network" | "prefix">): Range {
    const size = 1n << BigInt(BITS[c.family] - c.prefix);
    return [c.network, c.network + size - 1n];
}

function block(text: string): Cidr {
    const p = parseCidr(text);
    if (!p.ok) throw new Error(`bad built-in CIDR ${text}`);
    return p.cidr;
}

/**
 * Private ranges: a source wholly inside these is the pipeline's own network. RFC 1918, the
 * shared address space AWS allows as a VPC range (RFC 6598), and IPv6 unique local addresses.
 */
export const PRIVATE_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"] as const;

/**
 * Addresses nobody on the internet has (RFC 6890's special-purpose registries): private,
 * loopback, link-local, documentation, benchmarking, multicast, reserved. "The whole internet"
 * is every address outside these.
 */
const NOT_INTERNET_CIDRS = [
    ...PRIVATE_CIDRS,
    "0.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
    // IPv6: everything outside global unicast (2000::/3), and documentation inside it.
    "::/3",
    "4000::/2",
    "8000::/1",
    "2001:db8::/32",
];
const PRIVATE = PRIVATE_CIDRS.map(block);
const NOT_INTERNET = NOT_INTERNET_CIDRS.map(block);

function merge(ranges: Range[]): Range[] {
    const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const out: Range[] = [];
    for (const r of sorted) {
        const last = out[out.length - 1];
        // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
        if (last && r[0] <= last[1] + 1n) last[1] = r[1] > last[1] ? r[1] : last[1];
        else out.push([r[0], r[1]]);
    }
    return out;
}

function covers(ranges: Range[], whole: Range): boolean {
    return merge(ranges).some(([a, b]) => a <= whole[0] && b >= whole[1]);
}

/** Whether the block lies wholly inside the private ranges. */
export function isPrivateCidr(c: Cidr): boolean {
    const r = rangeOf(c);
    return covers(PRIVATE.filter((p) => p.family === c.family).map(rangeOf), r);
}

/**
 * The address families (4, 6) whose whole internet the blocks together admit: every address
 * anyone outside could have is covered, whatever the spelling (`0.0.0.0/0`, `0::/0`,
 * `0.0.0.0/1` with `128.0.0.0/1`, `::/1` with `8000::/1`, or every public range listed one by one).
 */
export function internetCoveredBy(cidrs: readonly Cidr[]): (4 | 6)[] {
    const families: (4 | 6)[] = [];
    for (const family of [4, 6] as const) {
        const mine = cidrs.filter((c) => c.family === family);
        if (mine.length === 0) continue;
        const ranges = [...mine, ...NOT_INTERNET.filter((c) => c.family === family)].map(rangeOf);
        if (covers(ranges, [0n, (1n << BigInt(BITS[family])) - 1n])) families.push(family);
    }
    return families;
}

export interface SourceProblem {
    /** Index of the offending block in the list, or undefined when the list as a whole is the problem. */
    index?: number;
    /** `form`: not a network's CIDR; `internet`: admits the whole internet; `public`: public addresses without the opt-in. */
    kind: "form" | "internet" | "public";
    message: string;
}

/**
 * The one rule for who may reach the server: every block is a network's own CIDR; no block,
 * and no set of blocks together, admits the whole internet; and a block that reaches outside
 * the private ranges needs the explicit opt-in. `optIn` names where that opt-in is set.
 */
export function sourceProblems(sources: readonly string[], o: { allowPublic: boolean; optIn: string }): SourceProblem[] {
    const problems: SourceProblem[] = [];
    const parsed: Cidr[] = [];
    sources.forEach((s, index) => {
        const p = parseCidr(s);
        if (!p.ok) {
            problems.push({
                index,
                kind: "form",
                message: p.suggestion
                    ? `a CIDR block with the network's own address, here ${p.suggestion}`
                    : "a CIDR block, such as 10.0.0.0/16",
            });
            return;
        }
        parsed.push(p.cidr);
        if (internetCoveredBy([p.cidr]).length > 0) {
            problems.push({
                index,
                kind: "internet",
                message: `a private CIDR block; ${p.cidr.text} would admit the whole internet to the queue`,
            });
        } else if (!o.allowPublic && !isPrivateCidr(p.cidr)) {
            problems.push({
                index,
                kind: "public",
                message: `a private CIDR block (${PRIVATE_CIDRS.join(", ")}); ${p.cidr.text} reaches public addresses, which needs ${o.optIn}: true`,
            });
        }
    });
    if (!problems.some((p) => p.kind === "internet")) {
        const open = internetCoveredBy(parsed);
        if (open.length > 0) {
            problems.push({
                kind: "internet",
                message: `private CIDR blocks; together these cover every ${open.map((f) => `IPv${f}`).join(" and ")} address on the internet, as ${f0(open[0]!)} would`,
            });
        }
    }
    return problems;
}

function f0(family: 4 | 6): string {
    return family === 4 ? "0.0.0.0/0" : "::/0";
}

/**
 * The AWS targets admit CIDR blocks and security groups: with neither, nothing can reach the
 * server (the vm and elasticache blocks' rule).
 */
export function unreachableProblem(
    section: "vm" | "elasticache",
    s: { allowedCidrs: readonly string[]; allowedSecurityGroupIds: readonly string[] },
): string | undefined {
    if (s.allowedCidrs.length > 0 || s.allowedSecurityGroupIds.length > 0) return undefined;
    return `at least one CIDR block here or one security group in ${section}.allowedSecurityGroupIds; without either nothing can reach the ${section === "vm" ? "server" : "cache"}`;
}

// ---------------------------------------------------------------------------------------------
// Host names and addresses
// ---------------------------------------------------------------------------------------------

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS host name (RFC 1123 labels, at most 253 characters) or an IP address. */
export function isHostNameOrAddress(host: string): boolean {
    if (parseIp(host)) return true;
    const name = host.endsWith(".") ? host.slice(0, -1) : host;
    return name.length >= 1 && name.length <= 253 && name.split(".").every((l) => LABEL.test(l)) && !/^\d+$/.test(name.split(".").pop()!);
}

/** Names and addresses that stay on this machine. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "::1", "localhost"]);
/** Addresses that mean every interface of this machine. */
export const WILDCARD_HOSTS: ReadonlySet<string> = new Set(["0.0.0.0", "::", "*"]);

/**
 * What was meant when a host is written as an endpoint (`host:port`, `[v6]:port`, a `redis://`
 * URL, as providers' consoles show it): the host and the port to set instead.
 */
export function splitEndpoint(value: string): { host: string; port?: number } | undefined {
    let v = value.trim();
    const url = /^(rediss?|tcp|https?):\/\/(?:[^@/]*@)?([^/?#]+)/i.exec(v);
    if (url) v = url[2]!;
    else if (v.includes("/")) return undefined;
    const bracket = /^\[([0-9a-fA-F:]+)\](?::(\d{1,5}))?$/.exec(v);
    if (bracket) return { host: bracket[1]!, port: bracket[2] === undefined ? undefined : Number(bracket[2]) };
    const hostPort = /^([^:]+):(\d{1,5})$/.exec(v);
    if (hostPort) return { host: hostPort[1]!, port: Number(hostPort[2]) };
    return url ? { host: v } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Targets' args: rules the stack config and the components both apply
// ---------------------------------------------------------------------------------------------

/**
 * Where a refusal is said: `config` gives the stack config's text (what is allowed, shown after
 * the key and the given value), `args` the component's error, which names its arg itself. The
 * rule, what it refuses, is the same for both.
 */
export type Said = "config" | "args";

/**
 * Docker's hostIp is an IP address, never a name: the engine parses the port binding's host
 * address as an IP (Go's net.ParseIP) and publishes on every address (0.0.0.0 and [::]) when
 * that fails, so a host name ("localhost") would expose Redis everywhere in plain text. The
 * stack config resolves `localhost` and `*` itself before the component sees them.
 */
export function dockerHostIpProblem(hostIp: string, said: Said): string | undefined {
    if (parseIp(hostIp)) return undefined;
    return said === "config"
        ? "an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address; not a host name (Docker publishes a name on every address)"
        : `docker.hostIp must be an IP address, got ${JSON.stringify(hostIp)}: the Docker Engine publishes a host name on every address (0.0.0.0 and [::])`;
}

/**
 * The Redis NetworkPolicy admits the pods matching allowedPodLabels in the allowed namespaces:
 * with neither, its rule has no source, which Kubernetes reads as every pod.
 */
export function networkPolicySourcesProblem(
    allowedPodLabels: Readonly<Record<string, string>>,
    allowedNamespaces: readonly string[],
    said: Said,
): string | undefined {
    if (Object.keys(allowedPodLabels).length > 0 || allowedNamespaces.length > 0) return undefined;
    return said === "config"
        ? "at least one label here, or a namespace in kubernetes.allowedNamespaces; the NetworkPolicy would otherwise admit no client"
        : "kubernetes: allowedPodLabels or allowedNamespaces must admit someone; a NetworkPolicy rule with no source admits every pod";
}

/** With metrics on, the exporter's port admits the listed namespaces: an empty list renders `from: []`, every pod. */
export function metricsNamespacesProblem(metrics: boolean, metricsNamespaces: readonly string[], said: Said): string | undefined {
    if (!metrics || metricsNamespaces.length > 0) return undefined;
    return said === "config"
        ? "at least one namespace name, such as [monitoring]: an empty list renders `from: []`, which admits every pod to the metrics port"
        : "kubernetes: metricsNamespaces must name a namespace with metrics on; an empty list admits every pod to the exporter";
}

/** A server on another host is reached over TLS, unless plain text is accepted explicitly (allowPlaintext). */
export function plaintextProblem(x: { host: string; tls: boolean; allowPlaintext: boolean }, said: Said): string | undefined {
    if (x.tls || x.allowPlaintext || LOOPBACK_HOSTS.has(x.host)) return undefined;
    return said === "config"
        ? "true for a server on another host; plain text sends the password and every job over the network (set external.allowPlaintext: true to accept that)"
        : `external: tls must be true for a server on another host (${x.host}); plain text sends the password and every job over the network (allowPlaintext: true accepts that)`;
}

// ---------------------------------------------------------------------------------------------
// Secrets in messages
// ---------------------------------------------------------------------------------------------

/** An echoed value is cut to this many characters. */
export const ECHO_MAX_CHARS = 60;
/** A whole problem line is cut to this many characters, whatever was given. */
export const MESSAGE_MAX_CHARS = 600;

function entropy(s: string): number {
    const counts = new Map<string, number>();
    for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    let h = 0;
    for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
    return h;
}

/** Runs of characters a key, token or encoded secret is written in. */
const TOKEN = /[A-Za-z0-9+/=_\-.~]{20,}/g;

/**
 * Whether a string looks like key material: a PEM block, an SSH or cloud access key, or a long
 * run of random-looking characters (base64 or hex of a key or token). Image digests
 * (`sha256:` followed by hex) are names, not secrets.
 */
export function looksLikeKeyMaterial(s: string): boolean {
    if (/-----BEGIN [A-Z0-9 ]+-----|PRIVATE KEY|\b(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]/.test(s)) return true;
    if (/\b(AKIA|ASIA)[0-9A-Z]{16}\b/.test(s)) return true;
    for (const m of s.matchAll(TOKEN)) {
        const token = m[0];
        const before = s.slice(0, m.index);
        if (/sha256:$/.test(before) || /^sha256:/.test(token)) continue;
        if (/^[0-9a-fA-F]{32,}$/.test(token)) return true;
        const classes = [/[a-z]/, /[A-Z]/, /\d/].filter((r) => r.test(token)).length;
        if (token.length >= 24 && classes >= 3 && entropy(token) >= 3.5) return true;
    }
    return false;
}

/** A value cut to `max` characters, saying how long it was. */
export function truncate(s: string, max = ECHO_MAX_CHARS): string {
    return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}

/**
 * How a given value is shown in a message: as JSON, cut short, when its key holds nothing
 * secret and the value does not look like key material; otherwise only its kind and length.
 */
export function describeGiven(value: unknown, o: { secretKey: boolean }): string {
    if (value === undefined) return "missing";
    const json = JSON.stringify(value) ?? String(value);
    const kind =
        typeof value === "string"
            ? "a value"
            : Array.isArray(value)
              ? "a list"
              : value !== null && typeof value === "object"
                ? "an object"
                : "a value";
    if (o.secretKey)
        return typeof value === "string"
            ? `given a secret of ${value.length} characters`
            : `given ${kind} (not shown: the key holds a secret)`;
    if (looksLikeKeyMaterial(json)) return `given ${kind} that looks like key material (${json.length} characters, not shown)`;
    return `given ${truncate(json)}`;
}

/** A problem line made safe to print: key material removed, and cut to a bounded length. */
export function redactMessage(message: string): string {
    let out = message.replace(/-----BEGIN [A-Z0-9 ]+-----\s*[A-Za-z0-9+/=\s]{16,}(-----END [A-Z0-9 ]+-----)?/g, "[PEM block, not shown]");
    out = out.replace(TOKEN, (token, offset: number) =>
        looksLikeKeyMaterial(token) && !/sha256:$/.test(out.slice(0, offset)) ? "[not shown]" : token,
    );
    return truncate(out, MESSAGE_MAX_CHARS);
}
