/**
 * Native snapshots on the managed services, which refuse replication commands (SYNC and PSYNC
 * are on both services' lists of restricted commands): a named snapshot through the AWS SDK,
 * waited for until the service reports it available. The snapshot stays in the account; a
 * file copy of it is an export to S3 (`aws elasticache copy-snapshot --target-bucket`,
 * `aws memorydb copy-snapshot --target-bucket`), which `restore --in` then takes.
 */
import {
    CreateSnapshotCommand as CreateCacheSnapshot,
    DescribeSnapshotsCommand as DescribeCacheSnapshots,
    ElastiCacheClient,
} from "@aws-sdk/client-elasticache";
import {
    CreateSnapshotCommand as CreateDbSnapshot,
    DescribeSnapshotsCommand as DescribeDbSnapshots,
    MemoryDBClient,
} from "@aws-sdk/client-memorydb";

export type ManagedTarget = { service: "elasticache"; replicationGroupId: string } | { service: "memorydb"; clusterName: string };

export interface NativeOptions {
    region?: string;
    /** The SDK clients to use (tests give ones whose HTTP handler is a test double). */
    elasticache?: ElastiCacheClient;
    memorydb?: MemoryDBClient;
    pollMs?: number;
    timeoutMs?: number;
    onStatus?: (status: string, seconds: number) => void;
}

export interface NativeResult {
    service: ManagedTarget["service"];
    source: string;
    name: string;
    status: string;
    seconds: number;
    /** Bytes of the snapshot where the service reports them (ElastiCache per node, in MB). */
    sizeBytes?: number;
}

/** Snapshot names: letters, digits and hyphens, starting with a letter (both services' rule). */
export function defaultSnapshotName(source: string, now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-").toLowerCase();
    return `${source}-backup-${stamp}`
        .replace(/[^a-zA-Z0-9-]/g, "-")
        .replace(/-+/g, "-")
        .slice(0, 255);
}

export const SNAPSHOT_NAME_RE = /^[a-zA-Z][a-zA-Z0-9-]*$/;

/** ElastiCache writes CacheSize as "1.5 MB" (or GB); null when it says nothing. */
export function parseCacheSize(s: string | undefined): number | undefined {
    const m = /^([\d.]+)\s*(B|KB|MB|GB|TB)$/i.exec(s?.trim() ?? "");
    if (!m) return undefined;
    const scale = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2]!.toUpperCase() as "B"]!;
    return Math.round(Number(m[1]) * scale);
}

export async function nativeSnapshot(target: ManagedTarget, name: string, o: NativeOptions = {}): Promise<NativeResult> {
    const started = Date.now();
    const pollMs = o.pollMs ?? 15_000;
    const timeoutMs = o.timeoutMs ?? 60 * 60_000;
    const seconds = () => Math.round((Date.now() - started) / 100) / 10;
    const config = o.region ? { region: o.region } : {};
    const source = target.service === "elasticache" ? target.replicationGroupId : target.clusterName;
    let status: string;
    let sizeBytes: number | undefined;
    let describe: () => Promise<{ status: string; sizeBytes?: number }>;
    if (target.service === "elasticache") {
        const client = o.elasticache ?? new ElastiCacheClient(config);
        const created = await client.send(new CreateCacheSnapshot({ ReplicationGroupId: target.replicationGroupId, SnapshotName: name }));
        status = created.Snapshot?.SnapshotStatus ?? "creating";
        describe = async () => {
            const r = await client.send(new DescribeCacheSnapshots({ SnapshotName: name, ShowNodeGroupConfig: true }));
            const s = r.Snapshots?.[0];
            const sizes = (s?.NodeSnapshots ?? []).map((n) => parseCacheSize(n.CacheSize)).filter((v): v is number => v !== undefined);
            return { status: s?.SnapshotStatus ?? "missing", ...(sizes.length ? { sizeBytes: sizes.reduce((a, b) => a + b, 0) } : {}) };
        };
    } else {
        const client = o.memorydb ?? new MemoryDBClient(config);
        const created = await client.send(new CreateDbSnapshot({ ClusterName: target.clusterName, SnapshotName: name }));
        status = created.Snapshot?.Status ?? "creating";
        describe = async () => {
            const r = await client.send(new DescribeDbSnapshots({ SnapshotName: name }));
            return { status: r.Snapshots?.[0]?.Status ?? "missing" };
        };
    }
    o.onStatus?.(status, seconds());
    while (status !== "available") {
        if (status === "failed" || status === "missing" || status === "deleted") {
            throw new Error(`${target.service} snapshot ${name} of ${source} is ${status}`);
        }
        if (Date.now() - started > timeoutMs)
            throw new Error(
                `${target.service} snapshot ${name} of ${source} still ${status} after ${Math.round(timeoutMs / 1000)} s (it goes on in AWS)`,
            );
        await new Promise((r) => setTimeout(r, pollMs));
        const d = await describe();
        if (d.status !== status) o.onStatus?.(d.status, seconds());
        status = d.status;
        sizeBytes = d.sizeBytes;
    }
    return { service: target.service, source, name, status, seconds: seconds(), ...(sizeBytes !== undefined ? { sizeBytes } : {}) };
}
