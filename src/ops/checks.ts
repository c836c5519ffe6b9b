/**
 * The judgements smoke and health share, as pure functions over what the server said (INFO,
 * CONFIG GET) and what the stack declares: one place decides what is a fault, so the two
 * commands never disagree about a server.
 */
import type { BullmqSettings, Persistence } from "../contract.ts";

/** used_memory above this share of maxmemory fails the headroom check. */
export const HEADROOM_LIMIT = 0.8;
/** A save point is overdue this long after it should have fired (BGSAVE takes time, and retries after a failure). */
export const SNAPSHOT_GRACE_SECONDS = 60;
/** BullMQ removes aged jobs when the next one finishes; a span this much over the age means it did not. */
export const RETENTION_GRACE_SECONDS = 60;

export type Status = "pass" | "fail";
export interface Verdict {
    status: Status;
    detail: string;
}

/** CONFIG GET answers; undefined where CONFIG is blocked (managed services). */
export interface ServerConfig {
    maxmemoryPolicy?: string;
    appendfsync?: string;
    save?: string;
}

const num = (i: Record<string, string>, k: string) => Number(i[k] ?? 0);

export function evictionVerdict(info: Record<string, string>, cfg: ServerConfig): Verdict {
    const policy = cfg.maxmemoryPolicy ?? info.maxmemory_policy;
    if (policy === "noeviction")
        return { status: "pass", detail: "maxmemory-policy is noeviction: a full server refuses writes, it drops no job" };
    return {
        status: "fail",
        detail: `maxmemory-policy is ${policy ?? "unknown (neither CONFIG GET nor INFO memory tells)"}: a full server would evict keys, and with them jobs; set noeviction`,
    };
}

export function headroomVerdict(info: Record<string, string>): Verdict {
    const used = num(info, "used_memory");
    const max = num(info, "maxmemory");
    if (!max)
        return { status: "fail", detail: `no maxmemory set (used ${info.used_memory_human}): the server grows until the machine runs out` };
    const share = `${((used / max) * 100).toFixed(1)}%`;
    if (used / max >= HEADROOM_LIMIT)
        return {
            status: "fail",
            detail: `used_memory ${info.used_memory_human} is ${share} of maxmemory ${info.maxmemory_human}: over ${HEADROOM_LIMIT * 100}%, writes will soon be refused`,
        };
    return { status: "pass", detail: `used_memory ${info.used_memory_human} is ${share} of maxmemory ${info.maxmemory_human}` };
}

/** What the server's snapshots really did, from INFO persistence and server (Redis 7 fields). */
export function snapshotState(info: Record<string, string>): {
    neverSaved: boolean;
    lastSaveAgeSeconds: number | null;
    saves: number | null;
    inProgress: boolean;
    lastStatus: string;
} {
    const now = info.server_time_usec ? Math.floor(num(info, "server_time_usec") / 1e6) : Math.floor(Date.now() / 1000);
    // rdb_last_save_time starts at the server's start time: only rdb_saves (or a bgsave's own
    // duration, -1 until one ran) tells whether a snapshot was ever written since.
    const saves = info.rdb_saves !== undefined ? num(info, "rdb_saves") : null;
    const neverSaved = saves !== null ? saves === 0 : info.rdb_last_bgsave_time_sec === "-1";
    return {
        neverSaved,
        lastSaveAgeSeconds: neverSaved ? null : Math.max(0, now - num(info, "rdb_last_save_time")),
        saves,
        inProgress: info.rdb_bgsave_in_progress === "1",
        lastStatus: info.rdb_last_bgsave_status ?? "unknown",
    };
}

/**
 * Persistence as the stack declares it, judged on what the server did: AOF on and its writes
 * (and fsyncs) ok, its last rewrite ok; the save points as declared; the last snapshot ok, or
 * none yet but not overdue; replicas connected where they stand in for the AOF.
 */
export function persistenceVerdict(declared: Persistence, info: Record<string, string>, cfg: ServerConfig): Verdict {
    const problems: string[] = [];
    const found: string[] = [];
    if (declared.aof) {
        if (info.aof_enabled !== "1") problems.push("the outputs declare AOF but the server runs with appendonly no");
        else {
            if (info.aof_last_write_status !== "ok")
                problems.push(
                    `the last AOF write or fsync failed (aof_last_write_status:${info.aof_last_write_status}): the server refuses writes until the disk takes them`,
                );
            if (info.aof_last_bgrewrite_status && info.aof_last_bgrewrite_status !== "ok")
                problems.push(`the last AOF rewrite failed (aof_last_bgrewrite_status:${info.aof_last_bgrewrite_status})`);
            if (problems.length === 0) found.push("AOF on, last write ok");
            if (info.aof_rewrite_in_progress === "1") found.push("AOF rewrite in progress");
            else if (info.aof_rewrite_scheduled === "1") found.push("AOF rewrite scheduled");
            if (num(info, "aof_delayed_fsync") > 0) found.push(`${info.aof_delayed_fsync} delayed fsyncs (a slow disk)`);
        }
        if (declared.appendfsync && cfg.appendfsync !== undefined && cfg.appendfsync !== declared.appendfsync)
            problems.push(`appendfsync is ${cfg.appendfsync}, the outputs declare ${declared.appendfsync}`);
        else if (cfg.appendfsync) found.push(`appendfsync ${cfg.appendfsync}`);
    }
    if (declared.rdbSavePoints.length > 0 && declared.mode === "aof+rdb") {
        const want = declared.rdbSavePoints.join(" ");
        if (cfg.save !== undefined && cfg.save !== want) problems.push(`save is "${cfg.save}", the outputs declare "${want}"`);
        const s = snapshotState(info);
        const changes = num(info, "rdb_changes_since_last_save");
        const sinceSave = s.lastSaveAgeSeconds ?? num(info, "uptime_in_seconds");
        const overdue =
            !s.inProgress &&
            (cfg.save ?? want)
                .match(/\d+ \d+/g)
                ?.map((p) => p.split(" ").map(Number) as [number, number])
                .find(([secs, n]) => changes >= n && sinceSave >= secs + SNAPSHOT_GRACE_SECONDS);
        if (s.lastStatus !== "ok") problems.push(`the last snapshot failed (rdb_last_bgsave_status:${s.lastStatus})`);
        else if (overdue)
            problems.push(
                `no snapshot for ${sinceSave} s with ${changes} changes: save point "${overdue.join(" ")}" should have written one`,
            );
        const points = `RDB save points ${cfg.save ?? want}`;
        if (s.inProgress) found.push(`${points}, snapshot in progress`);
        else if (s.neverSaved)
            found.push(`${points}, no snapshot yet since the server started ${num(info, "uptime_in_seconds")} s ago (${changes} changes)`);
        else if (s.lastStatus === "ok") found.push(`${points}, last snapshot ok ${s.lastSaveAgeSeconds} s ago`);
    }
    if (declared.mode === "snapshots+replicas" && declared.replicas !== undefined) {
        const connected = num(info, "connected_slaves");
        if (info.role === "master" && connected < declared.replicas)
            problems.push(`${connected} of ${declared.replicas} declared replicas connected`);
        else found.push(`${connected} replica(s) connected`);
    }
    if (declared.mode === "transaction-log" || declared.mode === "provider-managed")
        found.push(`${declared.mode} as declared (not visible to a client)`);
    return problems.length > 0 ? { status: "fail", detail: problems.join("; ") } : { status: "pass", detail: found.join("; ") };
}

/** One queue's depths and finished-job ages, read from BullMQ's own keys. */
export interface QueueDepths {
    name: string;
    /** false when the queue has no meta key: nothing has used it yet. */
    exists: boolean;
    paused: boolean;
    waiting: number;
    prioritized: number;
    waitingChildren: number;
    active: number;
    delayed: number;
    completed: number;
    failed: number;
    /** Finish times (ms since the epoch) of the oldest and newest finished jobs; null when none. */
    completedOldestMs: number | null;
    completedNewestMs: number | null;
    failedOldestMs: number | null;
    failedNewestMs: number | null;
}

/**
 * Finished jobs against the stack's `removeOnComplete` / `removeOnFail`. BullMQ trims a set to
 * `count` and drops jobs older than `age` each time a job finishes, so more than `count`, or an
 * oldest job finished more than `age` before the newest, means the jobs were added without the
 * stack's defaultJobOptions. An idle queue may hold jobs older than `age` until the next one
 * finishes: that is said, not failed.
 */
export function retentionVerdict(q: QueueDepths, bullmq: BullmqSettings, nowMs = Date.now()): Verdict {
    const problems: string[] = [];
    const found: string[] = [];
    const sets = [
        ["completed", q.completed, q.completedOldestMs, q.completedNewestMs, bullmq.defaultJobOptions.removeOnComplete, "removeOnComplete"],
        ["failed", q.failed, q.failedOldestMs, q.failedNewestMs, bullmq.defaultJobOptions.removeOnFail, "removeOnFail"],
    ] as const;
    for (const [set, count, oldest, newest, keep, option] of sets) {
        let line = `${count} ${set} (keeps ${keep.count}, ${age(keep.age)})`;
        if (count > keep.count)
            problems.push(
                `${q.name}: ${count} ${set} jobs kept, the stack keeps at most ${keep.count} (${option}.count): jobs are added without the stack's defaultJobOptions`,
            );
        if (oldest !== null && newest !== null) {
            const span = (newest - oldest) / 1000;
            if (span > keep.age + RETENTION_GRACE_SECONDS)
                problems.push(
                    `${q.name}: the oldest ${set} job finished ${elapsed(span)} before the newest, the stack keeps ${age(keep.age)} (${option}.age): jobs are added without the stack's defaultJobOptions`,
                );
            const oldestAge = Math.max(0, (nowMs - oldest) / 1000);
            line += `, oldest ${elapsed(oldestAge)} ago`;
            if (oldestAge > keep.age + RETENTION_GRACE_SECONDS && span <= keep.age + RETENTION_GRACE_SECONDS)
                line += " (idle: BullMQ removes it when the next job finishes)";
        }
        found.push(line);
    }
    if (q.paused) found.push("paused");
    return problems.length > 0
        ? { status: "fail", detail: problems.join("; ") }
        : { status: "pass", detail: `${q.name}: ${found.join("; ")}` };
}

/** A setting: 86400 -> "24h", 604800 -> "7d"; otherwise as `elapsed`. */
export function age(seconds: number): string {
    const s = Math.round(seconds);
    if (s % 86400 === 0 && s >= 2 * 86400) return `${s / 86400}d`;
    if (s % 3600 === 0 && s >= 3600) return `${s / 3600}h`;
    return elapsed(s);
}

/** A measured time, in its two largest units: "1d 6h", "3h 2m", "1m 30s", "4s". */
export function elapsed(seconds: number): string {
    const s = Math.floor(seconds);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}
