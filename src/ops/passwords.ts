/**
 * `npm run passwords -- --stack NAME | --outputs FILE [--env VAR]... [--accept VAR]...
 * [--refuse VAR]... [--stdin] [--user NAME] [--ca FILE]`: which of the given passwords the
 * server accepts, for the two phases of a password rotation (new one added beside the old,
 * clients moved, old one removed). Candidates come from environment variables (named, never
 * given on the command line, where `ps` and shell history would keep them) and from stdin, one
 * a line; the stack's own `password` output is always tried first. Each is tried with AUTH on a
 * connection of its own. No password, nor any part or hash of one, is ever printed: a candidate
 * is named by where it came from.
 *
 * --accept VAR / --refuse VAR also say what is expected; exit 1 when an expectation fails or a
 * server asks for no password at all.
 */
import type { ConnectionOutputs } from "../contract.ts";
import { EXIT_FAILED, EXIT_OK, UsageError, parseCommand, registerSecret, runAsCommand, scrub } from "./cli.ts";
import { connect } from "./connection.ts";

export interface Candidate {
    /** Where it came from: `stack output password`, `env NEW_PW`, `stdin line 2`. */
    label: string;
    password: string;
    expect?: "accepted" | "refused";
}

export type Verdict = "accepted" | "refused" | "no password required";

/** AUTH with one candidate on a fresh connection. Errors other than a refusal are thrown. */
export async function tryPassword(o: ConnectionOutputs, user: string, password: string, caFile?: string): Promise<Verdict> {
    const client = await connect(o, { anonymous: true, caFile });
    try {
        // Redis 7 accepts AUTH with any password for a user marked nopass: ask first whether
        // an unauthenticated client is served at all.
        const open = await client.ping().then(
            () => true,
            (e: Error) => !/NOAUTH/.test(e.message),
        );
        if (open) return "no password required";
        await client.call("AUTH", user, password);
        return "accepted";
    } catch (e) {
        const m = (e as Error).message;
        if (/^WRONGPASS|invalid password|invalid username-password/i.test(m)) return "refused";
        // The message of a failed AUTH never holds the password (the server does not echo it).
        throw new Error(`AUTH failed: ${m}`);
    } finally {
        client.disconnect();
    }
}

export function candidatesFrom(
    env: NodeJS.ProcessEnv,
    names: { env?: string[]; accept?: string[]; refuse?: string[] },
    stdin?: string,
): Candidate[] {
    const out: Candidate[] = [];
    const add = (name: string, expect?: Candidate["expect"]) => {
        const v = env[name];
        if (v === undefined || v === "") throw new UsageError(`environment variable ${name} is not set (or empty)`);
        out.push({ label: `env ${name}`, password: v, ...(expect ? { expect } : {}) });
    };
    for (const n of names.env ?? []) add(n);
    for (const n of names.accept ?? []) add(n, "accepted");
    for (const n of names.refuse ?? []) add(n, "refused");
    if (stdin !== undefined) {
        stdin.split(/\r?\n/).forEach((line, i) => {
            if (line !== "") out.push({ label: `stdin line ${i + 1}`, password: line });
        });
    }
    return out;
}

function readStdin(): Promise<string> {
    return new Promise((resolve, reject) => {
        let text = "";
        process.stdin.setEncoding("utf8");
        process.stdin.on("data", (d) => (text += d));
        process.stdin.on("end", () => resolve(text));
        process.stdin.on("error", reject);
    });
}

const USAGE =
    "npm run passwords -- --stack NAME | --outputs FILE [--env VAR]... [--accept VAR]... [--refuse VAR]... [--stdin] [--user NAME] [--ca FILE]";

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, stdinText?: string): Promise<number> {
    const args = parseCommand(USAGE, argv, {
        env: { type: "string", multiple: true },
        accept: { type: "string", multiple: true },
        refuse: { type: "string", multiple: true },
        stdin: { type: "boolean" },
        user: { type: "string" },
        ca: { type: "string" },
    }) as Record<string, string | boolean | string[] | undefined>;
    const { loadOutputs } = await import("./outputs.ts");
    const o = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const stdin = args.stdin ? (stdinText ?? (await readStdin())) : undefined;
    const candidates: Candidate[] = [
        { label: "stack output password", password: o.password },
        ...candidatesFrom(
            env,
            {
                env: args.env as string[] | undefined,
                accept: args.accept as string[] | undefined,
                refuse: args.refuse as string[] | undefined,
            },
            stdin,
        ),
    ];
    // Every candidate is a secret: the last filter before any output replaces it.
    for (const c of candidates) registerSecret(c.password);
    const user = (args.user as string | undefined) ?? o.username;
    const caFile = args.ca as string | undefined;
    process.stdout.write(`passwords: ${o.target} at ${o.host}:${o.port}, user ${user}\n`);
    let failed = 0;
    const tally = { accepted: 0, refused: 0 };
    for (const c of candidates) {
        let v: Verdict;
        try {
            v = await tryPassword(o, user, c.password, caFile);
        } catch (e) {
            process.stdout.write(`FAIL ${c.label}: ${scrub((e as Error).message)}\n`);
            return EXIT_FAILED;
        }
        if (v === "no password required") {
            process.stdout.write(`FAIL the server asks for no password: it accepts any client (set one, see README)\n`);
            return EXIT_FAILED;
        }
        tally[v]++;
        const ok = c.expect === undefined || c.expect === v;
        if (!ok) failed++;
        process.stdout.write(`${v.padEnd(8)}  ${c.label}${c.expect ? ` (expected ${c.expect}${ok ? "" : ": FAIL"})` : ""}\n`);
    }
    process.stdout.write(
        `${candidates.length} candidates: ${tally.accepted} accepted, ${tally.refused} refused${failed ? `; ${failed} not as expected` : ""}\n`,
    );
    return failed ? EXIT_FAILED : EXIT_OK;
}

runAsCommand("passwords.ts", main);
