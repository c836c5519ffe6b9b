/**
 * `npm run env -- --stack NAME | --outputs FILE [--out PATH] [--force]`: the pipeline's `.env`.
 * Printed, or written with mode 0600; a different existing file is kept unless --force.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EXIT_OK, UsageError, parseCommand, runAsCommand } from "./cli.ts";

const USAGE = "npm run env -- --stack NAME | --outputs FILE [--out PATH] [--force]";

/** Writes `content` to `file` with mode 0600, atomically; returns what happened. */
export function writeEnvFile(file: string, content: string, force: boolean): "written" | "unchanged" | "replaced" {
    let existing: string | undefined;
    try {
        existing = fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT")
            throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`);
    }
    if (existing === content) {
        fs.chmodSync(file, 0o600);
        return "unchanged";
    }
    if (existing !== undefined && !force) {
        throw new UsageError(`${file} exists and differs from these outputs; pass --force to replace it`);
    }
    // Written beside the target and renamed over it: a reader never sees half a file, and the
    // secret is never in a file anyone else can read, not even for a moment.
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, content, { mode: 0o600 });
    fs.renameSync(tmp, file);
    return existing === undefined ? "written" : "replaced";
}

export async function main(argv: string[]): Promise<number> {
    const args = parseCommand(USAGE, argv, { out: { type: "string" }, force: { type: "boolean" } });
    const [{ envFile }, { loadOutputs }] = await Promise.all([import("../contract.ts"), import("./outputs.ts")]);
    const outputs = await loadOutputs({ stack: args.stack as string | undefined, outputs: args.outputs as string | undefined });
    const content = envFile(outputs);
    if (args.out === undefined) {
        process.stdout.write(content);
        return EXIT_OK;
    }
    const what = writeEnvFile(args.out as string, content, args.force === true);
    process.stderr.write(`${args.out}: ${what} (mode 0600)\n`);
    return EXIT_OK;
}

runAsCommand("env.ts", main);
