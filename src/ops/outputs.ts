/**
 * The stack outputs the ops tools read: from `pulumi stack output --json --show-secrets`, or
 * from a file holding that same JSON. Checked against the output contract before use.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import { z } from "zod";
import { CONTRACT_OUTPUTS, ConnectionOutputs } from "../contract";
import { TARGETS } from "../config";
import { UsageError } from "./cli";

const outputsSchema = z.object({
    target: z.enum(TARGETS),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    tls: z.boolean(),
    username: z.string().min(1),
    password: z.string(),
    url: z.string(),
    bullmq: z.object({
        prefix: z.string().min(1),
        queue: z.string().min(1),
        defaultJobOptions: z.object({}).passthrough(),
    }),
    persistence: z.object({
        mode: z.enum(["aof+rdb", "snapshots+replicas", "transaction-log", "provider-managed"]),
        aof: z.boolean(),
        appendfsync: z.string().optional(),
        rdbSavePoints: z.array(z.string()),
        maxmemory: z.string(),
        maxmemoryPolicy: z.literal("noeviction"),
        snapshotRetentionDays: z.number().optional(),
        replicas: z.number().optional(),
        unsupported: z.array(z.object({ directive: z.string(), reason: z.string(), insteadUse: z.string() })),
    }),
});

/** Validates parsed outputs JSON; `source` names where it came from in the one-line error. */
export function parseOutputs(json: unknown, source: string): ConnectionOutputs {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw new UsageError(`${source}: expected the JSON object that \`pulumi stack output --json --show-secrets\` prints`);
    }
    const missing = CONTRACT_OUTPUTS.filter((k) => !(k in json));
    if (missing.length > 0) {
        throw new UsageError(`${source}: missing output${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (is it an mspbyte-redis stack?)`);
    }
    const secret = (json as Record<string, unknown>).password;
    if (typeof secret === "string" && secret === "[secret]") {
        throw new UsageError(`${source}: the password is masked as [secret]; export the outputs with --show-secrets`);
    }
    const result = outputsSchema.safeParse(json);
    if (!result.success) {
        const issue = result.error.issues[0]!;
        throw new UsageError(`${source}: output ${issue.path.join(".")} is not as the contract says (${issue.message})`);
    }
    return result.data as ConnectionOutputs;
}

export function readOutputsFile(file: string): ConnectionOutputs {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (e) {
        throw new UsageError(`${file} is not valid JSON: ${(e as Error).message}`);
    }
    return parseOutputs(json, file);
}

/** Runs the Pulumi CLI for a stack's outputs. */
export function readStackOutputs(stack: string): Promise<ConnectionOutputs> {
    return new Promise((resolve, reject) => {
        execFile("pulumi", ["stack", "output", "--json", "--show-secrets", "--stack", stack], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
                return reject(new UsageError("the pulumi CLI is not on the PATH: install it (see README) or pass --outputs FILE"));
            }
            if (err) {
                const first = stderr.trim().split("\n").find((l) => l.trim() !== "") ?? err.message;
                return reject(new UsageError(`pulumi stack output --stack ${stack} failed: ${first.trim()}`));
            }
            try {
                resolve(parseOutputs(JSON.parse(stdout), `stack ${stack}`));
            } catch (e) {
                reject(e instanceof UsageError ? e : new UsageError(`stack ${stack}: pulumi printed no JSON`));
            }
        });
    });
}

export function loadOutputs(source: { stack?: string; outputs?: string }): Promise<ConnectionOutputs> {
    return source.outputs !== undefined ? Promise.resolve(readOutputsFile(source.outputs)) : readStackOutputs(source.stack!);
}
