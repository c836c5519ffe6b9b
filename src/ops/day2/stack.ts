/**
 * A stack's outputs with its `details` (the contract's parser keeps only the contract; the
 * day-2 tools also need what only one target has: the ElastiCache replication group id, the
 * MemoryDB cluster name, the region in the secret's ARN).
 */
import type { ConnectionOutputs } from "../../contract.ts";
import { UsageError } from "../cli.ts";
import { parseOutputs, readJsonFile, readStackJson } from "../outputs.ts";

export interface Stack {
    outputs: ConnectionOutputs;
    details: Record<string, unknown>;
    /** `stack dev` or `outputs.json`, for messages. */
    label: string;
}

function fromJson(json: unknown, label: string): Stack {
    const outputs = parseOutputs(json, label);
    const raw = (json as Record<string, unknown>).details;
    const details = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    return { outputs, details, label };
}

export function readStackFile(file: string): Stack {
    return fromJson(readJsonFile(file), file);
}

export async function readPulumiStack(stack: string): Promise<Stack> {
    return fromJson(await readStackJson(stack), `stack ${stack}`);
}

export function loadStack(source: { stack?: string; outputs?: string }): Promise<Stack> {
    return source.outputs !== undefined ? Promise.resolve(readStackFile(source.outputs)) : readPulumiStack(source.stack!);
}

/** Which managed service holds the data, if any: native snapshots are the only backup there. */
export function managedService(
    s: Stack,
): { service: "elasticache"; replicationGroupId: string } | { service: "memorydb"; clusterName: string } | undefined {
    const d = s.details;
    if (d.service === "memorydb" && typeof d.clusterName === "string") return { service: "memorydb", clusterName: d.clusterName };
    if (d.service === "elasticache" && typeof d.replicationGroupId === "string")
        return { service: "elasticache", replicationGroupId: d.replicationGroupId };
    if (s.outputs.target === "elasticache") {
        throw new UsageError(
            `${s.label}: an elasticache stack without details.replicationGroupId or details.clusterName; export the whole stack output (pulumi stack output --json --show-secrets)`,
        );
    }
    return undefined;
}

/** The AWS region from an ARN in the details (the AUTH secret's), when there is one. */
export function regionOf(s: Stack): string | undefined {
    for (const v of Object.values(s.details)) {
        const m = typeof v === "string" ? /^arn:aws[\w-]*:[\w-]+:([a-z0-9-]+):/.exec(v) : null;
        if (m) return m[1];
    }
    return undefined;
}
