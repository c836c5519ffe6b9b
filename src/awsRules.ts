/**
 * AWS's rules for values the stack config decides, as pure functions: config.ts calls them so
 * that a value AWS would refuse (at `pulumi up`, after half the stack exists) is refused before
 * anything is created. Each returns what to fix, or undefined. The AWS API models check the
 * same rules on what the program actually sends (test/aws/models.test.ts).
 */

/** ElastiCache AUTH tokens: "The only permitted printable special characters are !, &, #, $, ^, <, >, and -." (CreateReplicationGroup, AuthToken) */
export const AUTH_TOKEN_CHARACTERS = /^[A-Za-z0-9!&#$^<>-]+$/;
/** A character an AUTH token may not hold (AUTH_TOKEN_CHARACTERS' complement); its length is the password's rule. */
export const AUTH_TOKEN_FORBIDDEN = /[^A-Za-z0-9!&#$^<>-]/;

export function authTokenProblem(token: string): string | undefined {
    if (!AUTH_TOKEN_FORBIDDEN.test(token)) return undefined;
    // Which character offends is not said: the message would carry part of the secret.
    return "an AUTH token of letters, digits and only these specials: ! & # $ ^ < > - (ElastiCache's rule); leave it unset to have one generated";
}

/** ReplicationGroupId and MemoryDB cluster names: 1 to 40 characters. */
export const CACHE_NAME_MAX = 40;
/** MemoryDB: the cluster's ACL is `<name>-acl`, and ACL names are at most 40 characters. */
export const MEMORYDB_NAME_MAX = CACHE_NAME_MAX - "-acl".length;

/**
 * A cache name (ElastiCache replication group id, MemoryDB cluster name): "1 to 40 alphanumeric
 * characters or hyphens. The first character must be a letter. A name cannot end with a hyphen
 * or contain two consecutive hyphens", stored lower-cased. Upper case is refused rather than
 * lowered: the alarms' dimensions must be the ids AWS stores.
 */
export function cacheNameProblem(name: string, service: "elasticache" | "memorydb" = "elasticache"): string | undefined {
    const max = service === "memorydb" ? MEMORYDB_NAME_MAX : CACHE_NAME_MAX;
    if (/^[a-z][a-z0-9-]*$/.test(name) && !/--|-$/.test(name) && name.length <= max) return undefined;
    return `1 to ${max} lowercase letters, digits and hyphens, starting with a letter, without -- or a trailing - (${service === "memorydb" ? "MemoryDB" : "ElastiCache"}'s rule for the cache's name)`;
}

/** A VM's server name goes into the snapshot policy's description: "The characters ^[0-9A-Za-z _-]+$ are supported." */
export function serverNameProblem(name: string): string | undefined {
    return /^[0-9A-Za-z_-]{1,200}$/.test(name)
        ? undefined
        : "letters, digits, _ and - only (the snapshot policy's description takes nothing else)";
}

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const MINUTES_PER_WEEK = 7 * 24 * 60;
/** "The minimum maintenance window is a 60 minute period"; snapshot windows have the same minimum. */
export const MIN_WINDOW_MINUTES = 60;

function clock(hhmm: string): number | undefined {
    const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
    return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** A daily window `hh:mm-hh:mm` (UTC) as [start, end) minutes of the day; end may pass midnight. */
export function dailyWindow(w: string): [number, number] | undefined {
    const [a, b] = w.split("-");
    const s = clock(a ?? ""),
        e = clock(b ?? "");
    if (s === undefined || e === undefined) return undefined;
    return [s, e <= s ? e + 24 * 60 : e];
}

/** A weekly window `ddd:hh:mm-ddd:hh:mm` (UTC) as [start, end) minutes of the week; end may pass Saturday. */
export function weeklyWindow(w: string): [number, number] | undefined {
    const m = /^([a-z]{3}):(\d\d:\d\d)-([a-z]{3}):(\d\d:\d\d)$/.exec(w);
    if (!m) return undefined;
    const d1 = DAYS.indexOf(m[1] as (typeof DAYS)[number]),
        d2 = DAYS.indexOf(m[3] as (typeof DAYS)[number]);
    const t1 = clock(m[2]!),
        t2 = clock(m[4]!);
    if (d1 < 0 || d2 < 0 || t1 === undefined || t2 === undefined) return undefined;
    const s = d1 * 1440 + t1;
    let e = d2 * 1440 + t2;
    if (e <= s) e += MINUTES_PER_WEEK;
    return [s, e];
}

export function snapshotWindowProblem(w: string): string | undefined {
    const d = dailyWindow(w);
    if (!d) return "a UTC window hh:mm-hh:mm with hours 00-23 and minutes 00-59, such as 03:00-04:00";
    if (d[1] - d[0] < MIN_WINDOW_MINUTES) return `a window of at least ${MIN_WINDOW_MINUTES} minutes, such as 03:00-04:00`;
    return undefined;
}

export function maintenanceWindowProblem(w: string): string | undefined {
    const d = weeklyWindow(w);
    if (!d) return "a UTC window ddd:hh:mm-ddd:hh:mm with ddd one of sun mon tue wed thu fri sat, such as sun:05:00-sun:06:00";
    if (d[1] - d[0] < MIN_WINDOW_MINUTES)
        return `a window of at least ${MIN_WINDOW_MINUTES} minutes ("The minimum maintenance window is a 60 minute period")`;
    if (d[1] - d[0] > 24 * 60) return "a window of at most 24 hours";
    return undefined;
}

/** Whether the daily snapshot window meets the weekly maintenance window on any day (AWS refuses overlapping windows). */
export function windowsOverlap(snapshotWindow: string, maintenanceWindow: string): boolean {
    const d = dailyWindow(snapshotWindow),
        w = weeklyWindow(maintenanceWindow);
    if (!d || !w) return false;
    for (let day = -1; day <= 7; day++) {
        const s = day * 1440 + d[0],
            e = day * 1440 + d[1];
        for (const shift of [-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK]) {
            if (s < w[1] + shift && w[0] + shift < e) return true;
        }
    }
    return false;
}

/**
 * EC2 instance families on the Xen hypervisor (not built on the Nitro System). Their EBS
 * volumes appear as /dev/xvd*, not as NVMe devices named by volume id, so the VM's boot
 * script would never find its data disk. From "Instances built on the Nitro System" (EC2 user
 * guide): every current-generation family is Nitro; these previous-generation ones are not.
 */
export const XEN_FAMILIES = new Set([
    "t1",
    "t2",
    "m1",
    "m2",
    "m3",
    "m4",
    "c1",
    "c3",
    "c4",
    "r3",
    "r4",
    "x1",
    "x1e",
    "i2",
    "i3",
    "d2",
    "h1",
    "g2",
    "g3",
    "g3s",
    "p2",
    "p3",
    "f1",
    "cc2",
    "cr1",
    "hs1",
]);

export function nitroProblem(instanceType: string): string | undefined {
    const [family, size] = instanceType.split(".");
    if (!family || !XEN_FAMILIES.has(family) || size === "metal") return undefined;
    return `an instance type built on the Nitro System, such as t4g.small, t3.small or m7g.large; ${family} runs on Xen, where the data volume is not an NVMe device named by its volume id and the boot script cannot find it`;
}

/** Whether Multi-AZ is on: as set, or else whenever there is a replica to fail over to (config and the ElastiCache component). */
export function multiAzOf(multiAz: boolean | undefined, replicas: number): boolean {
    return multiAz ?? replicas > 0;
}

/** Multi-AZ fails over to a replica in another zone: the subnet group must span two zones, so two subnets at least. */
export function multiAzSubnetsProblem(multiAz: boolean, subnetIds: string[]): string | undefined {
    if (!multiAz || subnetIds.length >= 2) return undefined;
    return "at least two subnets in different availability zones when Multi-AZ is on (it is on whenever elasticache.replicas is 1 or more, unless elasticache.multiAz is false)";
}

/**
 * Names derived from the stack name (`mspbyte-redis-<stack>`) are AWS names too: a stack name
 * that makes an invalid one is refused with the key that overrides it, or the rule for the
 * stack name. Returns `key: problem` lines.
 */
export function derivedNameProblems(
    target: string,
    elasticache: { name?: string; service: "elasticache" | "memorydb" } | undefined,
    stack: string,
): string[] {
    const derived = `mspbyte-redis-${stack}`;
    if (target === "elasticache" && elasticache && elasticache.name === undefined) {
        const p = cacheNameProblem(derived, elasticache.service);
        if (p)
            return [
                `elasticache.name: missing, and the stack name "${stack}" gives "${derived}"; allowed: ${p}; set elasticache.name, or use a shorter lowercase stack name`,
            ];
    }
    if (target === "vm") {
        const p = serverNameProblem(derived);
        if (p) return [`the stack name "${stack}" gives the server name "${derived}"; allowed: ${p}`];
    }
    return [];
}
