/** Memory sizes as redis.conf writes them, and the rule that sizes `maxmemory` to a machine. */

const UNITS: Record<string, number> = {
    "": 1, b: 1,
    k: 1000, kb: 1024,
    m: 1000 * 1000, mb: 1024 * 1024,
    g: 1000 * 1000 * 1000, gb: 1024 * 1024 * 1024,
};

export const MEMORY_SIZE_PATTERN = /^(\d+)\s*(b|k|kb|m|mb|g|gb)?$/i;

/** Bytes of a redis.conf memory size (`512mb`, `1gb`, `100000`), or undefined when it is not one. */
export function parseMemorySize(value: string | number): number | undefined {
    if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
    const m = MEMORY_SIZE_PATTERN.exec(value.trim());
    if (!m) return undefined;
    const bytes = Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]!;
    return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Bytes as the largest whole binary unit redis.conf takes (`536870912` → `512mb`). */
export function formatMemorySize(bytes: number): string {
    for (const [unit, size] of [["gb", 1024 ** 3], ["mb", 1024 ** 2], ["kb", 1024]] as const) {
        if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
    }
    return String(bytes);
}

/**
 * Share of a machine's (or container's) memory given to `maxmemory`. The rest is headroom for
 * what Redis uses outside its dataset: during a snapshot or AOF rewrite the forked child shares
 * pages copy-on-write, and every page the queue writes meanwhile is copied, up to the whole
 * dataset under heavy writes; plus client output buffers, the AOF rewrite buffer and the
 * allocator's fragmentation. 60% keeps a busy queue clear of the OOM killer during saves.
 */
export const MAXMEMORY_SHARE = 0.6;

/** Memory kept for the operating system on a whole machine, before the share above is taken. */
export const OS_RESERVE_BYTES = 256 * 1024 * 1024;

/** `maxmemory` for a machine or container with `totalBytes` of memory, rounded down to a whole MiB. */
export function maxmemoryFor(totalBytes: number, osReserveBytes = 0): number {
    const mib = 1024 * 1024;
    return Math.floor(((totalBytes - osReserveBytes) * MAXMEMORY_SHARE) / mib) * mib;
}

const QUANTITY_UNITS: Record<string, number> = {
    "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12,
    Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

/** Bytes of a Kubernetes memory quantity (`1Gi`, `512Mi`, `1G`), or undefined. */
export function parseQuantity(q: string): number | undefined {
    const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
    return m ? Math.floor(Number(m[1]) * QUANTITY_UNITS[m[2] ?? ""]!) : undefined;
}
