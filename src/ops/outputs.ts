/**
 * The stack outputs the ops tools read: from `pulumi stack output --json --show-secrets`, or
 * from a file holding that same JSON. Checked against the output contract before use, every
 * problem listed at once, and no message ever quotes the file's text (it holds the password).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { CONTRACT_OUTPUTS, type ConnectionOutputs, connectionOutputsSchema } from "../contract.ts";
import { UsageError, registerSecret } from "./cli.ts";

/** Outputs whose values are secret: a problem with them is named, its value never shown. */
const SECRET_OUTPUTS = new Set(["password", "url"]);

/**
 * Where `url` disagrees with the other outputs, worded from the non-secret outputs only: a
 * malformed URL can put part of its password where a host would be, so none of its parts is
 * ever quoted.
 */
export function urlProblems(
    o: Pick<ConnectionOutputs, "url"> & Partial<Pick<ConnectionOutputs, "host" | "port" | "tls" | "username" | "password">>,
): string[] {
    let u: URL;
    try {
        u = new URL(o.url);
    } catch {
        return [
            `output url is not a URL; expected ${o.tls ? "rediss" : "redis"}://${o.username ?? "default"}:<password>@${o.host ?? "<host>"}:${o.port ?? "<port>"}`,
        ];
    }
    const scheme = u.protocol.replace(/:$/, "");
    const problems: string[] = [];
    if (scheme !== "redis" && scheme !== "rediss") problems.push(`output url does not start with redis:// or rediss://`);
    else if (o.tls !== undefined && (scheme === "rediss") !== o.tls)
        problems.push(`output url starts with ${scheme}:// but output tls is ${o.tls}`);
    const decode = (s: string) => {
        try {
            return decodeURIComponent(s);
        } catch {
            return undefined;
        }
    };
    const bare = (h: string) => h.replace(/^\[|\]$/g, "").toLowerCase();
    if (o.host !== undefined && bare(u.hostname) !== bare(o.host))
        problems.push(`output url names another host than output host ${o.host}`);
    if (o.port !== undefined && (u.port === "" ? 6379 : Number(u.port)) !== o.port)
        problems.push(`output url names another port than output port ${o.port}`);
    if (o.username !== undefined && decode(u.username) !== o.username)
        problems.push(`output url names another user than output username ${o.username}`);
    if (o.password !== undefined && decode(u.password) !== o.password)
        problems.push("output url holds another password than output password");
    return problems;
}

/** Every way `json` falls short of the contract, each a line; empty when it is fit to use. */
export function outputsProblems(json: unknown): string[] {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return ["expected the JSON object that `pulumi stack output --json --show-secrets` prints"];
    }
    const record = json as Record<string, unknown>;
    for (const k of SECRET_OUTPUTS) if (typeof record[k] === "string") registerSecret(record[k] as string);
    const problems: string[] = [];
    const missing = CONTRACT_OUTPUTS.filter((k) => !(k in record));
    if (missing.length > 0)
        problems.push(`missing output${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (is it an mspbyte-redis stack?)`);
    if (record.password === "[secret]" || record.url === "[secret]")
        problems.push("the password is masked as [secret]; export the outputs with --show-secrets");
    const result = connectionOutputsSchema.safeParse(json);
    if (!result.success) {
        for (const issue of result.error.issues) {
            const key = String(issue.path[0] ?? "");
            if (missing.includes(key as (typeof CONTRACT_OUTPUTS)[number])) continue;
            const name = issue.path.join(".");
            // A secret's problem is said without zod's wording, which may describe the value.
            problems.push(
                SECRET_OUTPUTS.has(key)
                    ? `output ${name} must be a string`
                    : `output ${name} is not as the contract says (${issue.message})`,
            );
        }
    }
    // The url is compared whenever the outputs it is compared with have their types, whatever
    // else is wrong: a file written by hand gets every problem in one go.
    const r = record as Partial<Record<string, unknown>>;
    const ofType = <T>(k: string, t: string) => (typeof r[k] === t ? (r[k] as T) : undefined);
    if (r.password === "") problems.push("output password is empty: the server would take connections without one");
    if (typeof r.url === "string" && r.password !== "[secret]" && r.url !== "[secret]") {
        problems.push(
            ...urlProblems({
                url: r.url,
                host: ofType("host", "string"),
                port: ofType("port", "number"),
                tls: ofType("tls", "boolean"),
                username: ofType("username", "string"),
                password: ofType("password", "string"),
            }),
        );
    }
    return [...new Set(problems)];
}

/** Validates parsed outputs JSON; `source` names where it came from; every problem in one error. */
export function parseOutputs(json: unknown, source: string): ConnectionOutputs {
    const problems = outputsProblems(json);
    if (problems.length === 1) throw new UsageError(`${source}: ${problems[0]}`);
    if (problems.length > 1) throw new UsageError(`${source}: ${problems.length} problems:\n  ${problems.join("\n  ")}`);
    // The contract's outputs only (details and other extras dropped), as the schema reads them.
    return connectionOutputsSchema.parse(json) as ConnectionOutputs;
}

/**
 * JSON.parse, with an error that says where and what kind, never which text: V8's own message
 * quotes the first characters around the fault, which in an outputs file is often the password.
 */
export function parseJson(text: string, source: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        const { offset, what } = jsonFault(text);
        const before = text.slice(0, offset);
        const line = before.split("\n").length;
        const column = offset - before.lastIndexOf("\n");
        throw new UsageError(
            `${source} is not valid JSON: ${what} at line ${line}, column ${column} (the text is not shown: it may hold the password)`,
        );
    }
}

/** The offset and kind of the first fault in text that JSON.parse refused. */
export function jsonFault(text: string): { offset: number; what: string } {
    let i = 0;
    class Fault {
        readonly what: string;

        constructor(what: string) {
            this.what = what;
        }
    }
    const ws = () => {
        while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
    };
    const fail = (what?: string): never => {
        throw new Fault(
            what ??
                (i >= text.length
                    ? "unexpected end of the file"
                    : text[i] === "'"
                      ? "a single quote where JSON wants a double-quoted string"
                      : /[A-Za-z0-9_$-]/.test(text[i]!)
                        ? "a value or name without double quotes"
                        : "an unexpected character"),
        );
    };
    const str = () => {
        i++;
        for (;;) {
            if (i >= text.length) fail("a string that never ends");
            const ch = text[i]!;
            if (ch === '"') return void i++;
            if (ch === "\\") {
                const esc = text[i + 1];
                if (esc === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
                else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 2;
                else fail("a bad escape in a string");
            } else if (ch < " ") fail("a control character (a line break?) inside a string");
            else i++;
        }
    };
    const value = (): void => {
        ws();
        const ch = text[i];
        if (ch === "{") {
            i++;
            ws();
            if (text[i] === "}") return void i++;
            for (;;) {
                ws();
                if (text[i] !== '"') fail();
                str();
                ws();
                if (text[i] !== ":") fail("a missing colon after a name");
                i++;
                value();
                ws();
                if (text[i] === ",") {
                    i++;
                    continue;
                }
                if (text[i] === "}") return void i++;
                fail("a missing comma or closing brace");
            }
        }
        if (ch === "[") {
            i++;
            ws();
            if (text[i] === "]") return void i++;
            for (;;) {
                value();
                ws();
                if (text[i] === ",") {
                    i++;
                    continue;
                }
                if (text[i] === "]") {
                    i++;
                    return;
                }
                fail("a missing comma or closing bracket");
            }
        }
        if (ch === '"') {
            str();
            return;
        }
        const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
        if (!m) fail();
        i += m![0].length;
    };
    try {
        value();
        ws();
        if (i < text.length) fail("more text after the JSON value");
        return { offset: i, what: "a fault" };
    } catch (e) {
        if (e instanceof Fault) return { offset: Math.min(i, text.length), what: e.what };
        throw e;
    }
}

function readText(file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
}

/** An outputs file as JSON, with errors that never show its text. */
export function readJsonFile(file: string): unknown {
    return parseJson(readText(file), file);
}

export function readOutputsFile(file: string): ConnectionOutputs {
    return parseOutputs(readJsonFile(file), file);
}

/** `--outputs FILE --check`: every problem of the file, without connecting; empty when none. */
export function checkOutputsFile(file: string): string[] {
    let json: unknown;
    try {
        json = parseJson(readText(file), file);
    } catch (e) {
        return [(e as Error).message];
    }
    return outputsProblems(json);
}

/** Runs the Pulumi CLI for a stack's whole output (the contract and `details`) as JSON. */
export function readStackJson(stack: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
        execFile(
            "pulumi",
            ["stack", "output", "--json", "--show-secrets", "--stack", stack],
            { maxBuffer: 16 * 1024 * 1024 },
            (err, stdout, stderr) => {
                if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
                    return reject(new UsageError("the pulumi CLI is not on the PATH: install it (see README) or pass --outputs FILE"));
                }
                if (err) {
                    const first =
                        stderr
                            .trim()
                            .split("\n")
                            .find((l) => l.trim() !== "") ?? err.message;
                    return reject(new UsageError(`pulumi stack output --stack ${stack} failed: ${first.trim()}`));
                }
                try {
                    resolve(parseJson(stdout, `pulumi stack output --stack ${stack}`));
                } catch (e) {
                    reject(e);
                }
            },
        );
    });
}

/** Runs the Pulumi CLI for a stack's outputs. */
export async function readStackOutputs(stack: string): Promise<ConnectionOutputs> {
    return parseOutputs(await readStackJson(stack), `stack ${stack}`);
}

export function loadOutputs(source: { stack?: string; outputs?: string }): Promise<ConnectionOutputs> {
    return source.outputs !== undefined ? Promise.resolve().then(() => readOutputsFile(source.outputs!)) : readStackOutputs(source.stack!);
}
