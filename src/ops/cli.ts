/**
 * What every ops command shares: arguments, the exit codes, errors as one line.
 *
 * The commands run under Node's own type stripping (`node src/ops/smoke.ts`): relative imports
 * name their `.ts` file, type-only imports say `type`, and no syntax needs compiling (no enums,
 * namespaces or parameter properties). A command's module loads only Node's own modules and
 * light ones of this folder when it starts; the outputs schema (zod), ioredis, BullMQ and the
 * AWS SDK are imported where they are used, once the arguments are parsed, so `--help` and a
 * wrong argument answer at once.
 */
import * as path from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** Bad arguments or input (a missing file, bad JSON, a missing output): exit 2, one line. */
export class UsageError extends Error {}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `--stack NAME | --outputs FILE` plus the command's own options. */
export function parseCommand<O extends Options>(usage: string, argv: string[], options: O) {
    let parsed: { values: Record<string, unknown> };
    try {
        parsed = parseArgs({
            args: argv,
            options: { stack: { type: "string" }, outputs: { type: "string" }, help: { type: "boolean", short: "h" }, ...options },
            strict: true,
            allowPositionals: false,
        });
    } catch (e) {
        throw new UsageError(`${(e as Error).message.split("\n")[0]}\nusage: ${usage}`);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) {
        process.stdout.write(`usage: ${usage}\n`);
        process.exit(EXIT_OK);
    }
    if ((values.stack === undefined) === (values.outputs === undefined)) {
        throw new UsageError(`give exactly one of --stack NAME or --outputs FILE\nusage: ${usage}`);
    }
    return values;
}

/** Secrets this process holds (the password, the URL, their encoded forms): never printed. */
const secrets = new Set<string>();

/** Registers a secret, with its percent-encoded form; empty strings are ignored. */
export function registerSecret(value: string): void {
    if (value.length === 0) return;
    secrets.add(value);
    secrets.add(encodeURIComponent(value));
}

/** `text` with every registered secret replaced by `<secret>`: the last guard before any output. */
export function scrub(text: string): string {
    let out = text;
    // Longest first: a URL holds the password, and must go whole.
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("<secret>");
    return out;
}

/**
 * Runs `main` when this process was started as the command in `file` (`node src/ops/smoke.ts`,
 * as `npm run smoke` does), and not when a test or another tool imports its module.
 */
export function runAsCommand(file: string, main: (argv: string[]) => Promise<number>): void {
    const script = process.argv[1];
    if (script === undefined || path.basename(script) !== file || path.basename(path.dirname(path.resolve(script))) !== "ops") return;
    runMain(() => main(process.argv.slice(2)));
}

/** Runs a command's main: its exit code, or 2 with one line for a usage error; never a stack trace. */
export function runMain(main: () => Promise<number>): void {
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            const message = scrub(e instanceof Error ? e.message : String(e));
            process.stderr.write(`error: ${message}\n`);
            process.exit(e instanceof UsageError ? EXIT_USAGE : EXIT_FAILED);
        },
    );
}

/** A byte count as people read it: 1.5 MiB. */
export function humanBytes(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = n;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) [v, u] = [v / 1024, u + 1];
    return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
