import * as fs from "node:fs";
import * as path from "node:path";

/** The repository's redis.conf: the one source of the server settings every target uses. */
export const ROOT_REDIS_CONF = path.join(__dirname, "..", "redis.conf");

/** Directives that belong to a target, never to the portable root file. */
export const TARGET_DIRECTIVES = [
    "bind",
    "port",
    "dir",
    "requirepass",
    "masterauth",
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-ca-cert-file",
    "tls-auth-clients",
    "tls-replication",
    "supervised",
    "daemonize",
    "pidfile",
    "logfile",
    "unixsocket",
] as const;

export type ConfLine = { kind: "text"; raw: string } | { kind: "directive"; name: string; args: string[]; raw: string };

/** A parsed redis.conf that keeps comments, blank lines and order, so rendering changes only what it must. */
export interface RedisConf {
    readonly lines: ConfLine[];
}

/** Reads the root redis.conf (or another file) from disk. */
export function loadRedisConf(file: string = ROOT_REDIS_CONF): RedisConf {
    return parseRedisConf(fs.readFileSync(file, "utf8"));
}

/**
 * Splits one config line into arguments the way redis-server does (sdssplitargs): double quotes
 * with backslash escapes, single quotes with only \' escaped, bare words split on white space.
 */
export function splitArgs(line: string): string[] {
    const args: string[] = [];
    let i = 0;
    while (i < line.length) {
        while (i < line.length && /\s/.test(line[i]!)) i++;
        if (i >= line.length) break;
        let current = "";
        const quote = line[i] === '"' || line[i] === "'" ? line[i] : undefined;
        if (quote) i++;
        for (;;) {
            if (i >= line.length) {
                if (quote) throw new Error(`unbalanced quotes in redis.conf line: ${line}`);
                break;
            }
            const c = line[i]!;
            if (quote === '"' && c === "\\" && i + 1 < line.length) {
                const next = line[i + 1]!;
                const hex = /^x([0-9a-fA-F]{2})/.exec(line.slice(i + 1));
                if (hex) {
                    current += String.fromCharCode(parseInt(hex[1]!, 16));
                    i += 4;
                    continue;
                }
                const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" };
                current += escapes[next] ?? next;
                i += 2;
                continue;
            }
            if (quote === "'" && c === "\\" && line[i + 1] === "'") {
                current += "'";
                i += 2;
                continue;
            }
            if (quote && c === quote) {
                i++;
                if (i < line.length && !/\s/.test(line[i]!)) {
                    throw new Error(`closing quote must be followed by a space in redis.conf line: ${line}`);
                }
                break;
            }
            if (!quote && /\s/.test(c)) break;
            current += c;
            i++;
        }
        args.push(current);
    }
    return args;
}

/** Quotes one argument so that redis-server reads it back unchanged. */
export function quoteArg(arg: string): string {
    if (arg !== "" && /^[A-Za-z0-9_.,:/@+=%*<>~^!?#$&()[\]{}|-]+$/.test(arg) && !arg.startsWith("#")) return arg;
    let out = '"';
    for (const ch of arg) {
        const code = ch.charCodeAt(0);
        if (ch === '"' || ch === "\\") out += `\\${ch}`;
        else if (ch === "\n") out += "\\n";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\t") out += "\\t";
        else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
        else out += ch;
    }
    return `${out}"`;
}

export function parseRedisConf(text: string): RedisConf {
    const lines: ConfLine[] = text.split(/\r?\n/).map((raw) => {
        const trimmed = raw.trim();
        if (trimmed === "" || trimmed.startsWith("#")) return { kind: "text", raw };
        const [name, ...args] = splitArgs(trimmed);
        return { kind: "directive", name: name!.toLowerCase(), args, raw };
    });
    if (lines.length > 0 && lines[lines.length - 1]!.raw === "") lines.pop();
    return { lines };
}

/** Every value of a directive, one array of arguments per occurrence. */
export function getAll(conf: RedisConf, name: string): string[][] {
    return conf.lines
        .filter((l): l is Extract<ConfLine, { kind: "directive" }> => l.kind === "directive" && l.name === name)
        .map((l) => l.args);
}

/** The last value of a single-valued directive (the one redis-server applies), joined with spaces. */
export function getDirective(conf: RedisConf, name: string): string | undefined {
    const all = getAll(conf, name);
    return all.length === 0 ? undefined : all[all.length - 1]!.join(" ");
}

/** TLS for a server: redis-server listens with TLS on `port`, and on no plain port at all. */
export interface TlsOverrides {
    certFile: string;
    keyFile: string;
    caFile?: string;
    /** Whether clients must present a certificate. @default "no": the password authenticates. */
    authClients?: "yes" | "no" | "optional";
}

/** What a target adds to the root file. Anything left undefined keeps the root file's value. */
export interface ConfOverrides {
    port?: number;
    bind?: string[];
    dir?: string;
    password?: string;
    maxmemory?: string;
    tls?: TlsOverrides;
    supervised?: "no" | "systemd" | "upstart" | "auto";
    /** Any other directive, by name: a string sets one value, an array of strings one line each. */
    extra?: Record<string, string | string[]>;
}

/**
 * Applies target overrides to a parsed file. A replaced directive keeps its place and the
 * comment above it; a new one is appended under one marked section, so a reader of the
 * rendered file sees at a glance what the target changed.
 */
export function applyOverrides(conf: RedisConf, overrides: ConfOverrides): RedisConf {
    const set = new Map<string, string[][]>();
    const one = (name: string, ...args: string[]) => set.set(name, [args]);
    if (overrides.tls) {
        // With TLS the plain port is closed: traffic that leaves the host is encrypted or refused.
        one("port", "0");
        one("tls-port", String(overrides.port ?? 6379));
        one("tls-cert-file", overrides.tls.certFile);
        one("tls-key-file", overrides.tls.keyFile);
        if (overrides.tls.caFile) one("tls-ca-cert-file", overrides.tls.caFile);
        one("tls-auth-clients", overrides.tls.authClients ?? "no");
    } else if (overrides.port !== undefined) {
        one("port", String(overrides.port));
    }
    if (overrides.bind) one("bind", ...overrides.bind);
    if (overrides.dir !== undefined) one("dir", overrides.dir);
    if (overrides.password !== undefined) one("requirepass", overrides.password);
    if (overrides.maxmemory !== undefined) one("maxmemory", overrides.maxmemory);
    if (overrides.supervised !== undefined) one("supervised", overrides.supervised);
    for (const [name, value] of Object.entries(overrides.extra ?? {})) {
        set.set(name.toLowerCase(), Array.isArray(value) ? value.map((v) => splitArgs(v)) : [splitArgs(value)]);
    }

    const lines: ConfLine[] = [];
    const placed = new Set<string>();
    for (const line of conf.lines) {
        if (line.kind !== "directive" || !set.has(line.name)) {
            lines.push(line);
            continue;
        }
        if (placed.has(line.name)) continue; // later occurrences are folded into the first
        placed.add(line.name);
        for (const args of set.get(line.name)!) lines.push(directive(line.name, args));
    }
    const appended = [...set.keys()].filter((name) => !placed.has(name));
    if (appended.length > 0) {
        lines.push({ kind: "text", raw: "" });
        lines.push({ kind: "text", raw: "# --- Set for this target by mspbyte-redis (src/redisConf.ts) ---" });
        for (const name of appended) for (const args of set.get(name)!) lines.push(directive(name, args));
    }
    return { lines };
}

function directive(name: string, args: string[]): ConfLine {
    return { kind: "directive", name, args, raw: [name, ...args.map(quoteArg)].join(" ") };
}

export function renderRedisConf(conf: RedisConf): string {
    return `${conf.lines.map((l) => l.raw).join("\n")}\n`;
}

/**
 * Applies a target's overrides to the root file and renders the result. `conf` is the parsed
 * root file the program loaded once; without it the file is read from disk (tests, tools).
 */
export function renderForTarget(overrides: ConfOverrides, conf: RedisConf = loadRedisConf()): string {
    return renderRedisConf(applyOverrides(conf, overrides));
}

/** Target-only directives found in a file meant to be portable: the root file must have none. */
export function targetDirectivesIn(conf: RedisConf): string[] {
    const names = new Set<string>(TARGET_DIRECTIVES);
    return conf.lines.filter((l) => l.kind === "directive" && names.has(l.name)).map((l) => (l as { name: string }).name);
}
