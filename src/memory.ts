/** Memory sizes as redis.conf writes them, and the rule that sizes `maxmemory` to a machine. */

const UNITS: Record<string, number> = {
    "": 1,
    b: 1,
    k: 1000,
    kb: 1024,
    m: 1000 * 1000,
    mb: 1024 * 1024,
    g: 1000 * 1000 * 1000,
    gb: 1024 * 1024 * 1024,
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

/**
 * A memory size exactly as redis-server reads it from redis.conf or `CONFIG SET` (memtoull):
 * digits, then optionally b, k, kb, m, mb, g or gb in any case, as one word. Checked against
 * redis-server 7.0: "512 mb" is two words (wrong number of arguments), and "1.5gb", "+512mb",
 * "1tb" and "512MiB" are "argument must be a memory value".
 */
export const REDIS_MEMORY_SIZE = /^\d+(b|k|kb|m|mb|g|gb)?$/i;

/**
 * A memory size as redis.conf writes it (REDIS_MEMORY_SIZE, or a number of bytes) of at least
 * `minBytes`: the stack config's rule for maxmemory and docker.memoryLimit, and the Docker
 * component's for its memoryLimit.
 */
export function isRedisMemorySize(value: string | number, minBytes = 0): boolean {
    if (typeof value === "string" && !REDIS_MEMORY_SIZE.test(value.trim())) return false;
    const bytes = parseMemorySize(value);
    return bytes !== undefined && bytes >= minBytes;
}

const LIBERAL_SIZE =
    /^\+?\s*(\d+(?:\.\d+)?|\.\d+)\s*(b|bytes?|k|kb|kib|ki|m|mb|mib|mi|megs?|megabytes?|g|gb|gib|gi|gigs?|gigabytes?|t|tb|tib|ti)?$/i;
const LIBERAL_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * The redis.conf spelling of a size written the way people write sizes ("512 MB", "1.5GB",
 * "512Mi", "1 TB"), or undefined when the value is not a size at all. Units are read as binary,
 * as Kubernetes' Mi and most people's "MB" mean.
 */
export function redisMemorySpelling(value: string): string | undefined {
    const v = value.trim();
    if (REDIS_MEMORY_SIZE.test(v)) return v.toLowerCase();
    const m = LIBERAL_SIZE.exec(v);
    if (!m) return undefined;
    const unit = (m[2] ?? "b").toLowerCase();
    const bytes = Math.floor(Number(m[1]) * (unit.startsWith("byte") ? 1 : LIBERAL_UNITS[unit[0]!]!));
    if (!Number.isSafeInteger(bytes)) return undefined;
    const mib = 1024 * 1024;
    return formatMemorySize(bytes >= mib ? Math.floor(bytes / mib) * mib : bytes);
}

/** Bytes as the largest whole binary unit redis.conf takes (`536870912` → `512mb`). */
export function formatMemorySize(bytes: number): string {
    for (const [unit, size] of [
        ["gb", 1024 ** 3],
        ["mb", 1024 ** 2],
        ["kb", 1024],
    ] as const) {
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
    "": 1,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
};

/** Kubernetes quantities: binary (Ki, Mi, Gi) or decimal (k, M, G) suffixes. */
export const QUANTITY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** Bytes of a Kubernetes memory quantity (`1Gi`, `512Mi`, `1G`), or undefined. */
export function parseQuantity(q: string): number | undefined {
    const m = QUANTITY.exec(q);
    return m ? Math.floor(Number(m[1]) * QUANTITY_UNITS[m[2] ?? ""]!) : undefined;
}

/**
 * Memory (MiB) of the EC2 instance types a Redis VM is usually given: burstable, general
 * purpose, memory optimised and Graviton compute families, bare metal left out. From EC2's
 * DescribeInstanceTypes (MemoryInfo.SizeInMiB), as moto 5.2.1 ships it in
 * moto/ec2/resources/instance_types.json.gz. An instance type outside this table is still
 * deployed (the program asks AWS for its memory at deploy time); only an explicit `maxmemory`
 * cannot be checked against it, and is refused.
 */
export const INSTANCE_MEMORY_MIB: Readonly<Record<string, number>> = {
    "t3.nano": 512,
    "t3.micro": 1024,
    "t3.small": 2048,
    "t3.medium": 4096,
    "t3.large": 8192,
    "t3.xlarge": 16384,
    "t3.2xlarge": 32768,
    "t3a.nano": 512,
    "t3a.micro": 1024,
    "t3a.small": 2048,
    "t3a.medium": 4096,
    "t3a.large": 8192,
    "t3a.xlarge": 16384,
    "t3a.2xlarge": 32768,
    "t4g.nano": 512,
    "t4g.micro": 1024,
    "t4g.small": 2048,
    "t4g.medium": 4096,
    "t4g.large": 8192,
    "t4g.xlarge": 16384,
    "t4g.2xlarge": 32768,
    "m5.large": 8192,
    "m5.xlarge": 16384,
    "m5.2xlarge": 32768,
    "m5.4xlarge": 65536,
    "m5.8xlarge": 131072,
    "m5.12xlarge": 196608,
    "m5.16xlarge": 262144,
    "m5.24xlarge": 393216,
    "m6a.large": 8192,
    "m6a.xlarge": 16384,
    "m6a.2xlarge": 32768,
    "m6a.4xlarge": 65536,
    "m6a.8xlarge": 131072,
    "m6a.12xlarge": 196608,
    "m6a.16xlarge": 262144,
    "m6a.24xlarge": 393216,
    "m6a.32xlarge": 524288,
    "m6a.48xlarge": 786432,
    "m6i.large": 8192,
    "m6i.xlarge": 16384,
    "m6i.2xlarge": 32768,
    "m6i.4xlarge": 65536,
    "m6i.8xlarge": 131072,
    "m6i.12xlarge": 196608,
    "m6i.16xlarge": 262144,
    "m6i.24xlarge": 393216,
    "m6i.32xlarge": 524288,
    "m6g.medium": 4096,
    "m6g.large": 8192,
    "m6g.xlarge": 16384,
    "m6g.2xlarge": 32768,
    "m6g.4xlarge": 65536,
    "m6g.8xlarge": 131072,
    "m6g.12xlarge": 196608,
    "m6g.16xlarge": 262144,
    "m7a.medium": 4096,
    "m7a.large": 8192,
    "m7a.xlarge": 16384,
    "m7a.2xlarge": 32768,
    "m7a.4xlarge": 65536,
    "m7a.8xlarge": 131072,
    "m7a.12xlarge": 196608,
    "m7a.16xlarge": 262144,
    "m7a.24xlarge": 393216,
    "m7a.32xlarge": 524288,
    "m7a.48xlarge": 786432,
    "m7i.large": 8192,
    "m7i.xlarge": 16384,
    "m7i.2xlarge": 32768,
    "m7i.4xlarge": 65536,
    "m7i.8xlarge": 131072,
    "m7i.12xlarge": 196608,
    "m7i.16xlarge": 262144,
    "m7i.24xlarge": 393216,
    "m7i.48xlarge": 786432,
    "m7g.medium": 4096,
    "m7g.large": 8192,
    "m7g.xlarge": 16384,
    "m7g.2xlarge": 32768,
    "m7g.4xlarge": 65536,
    "m7g.8xlarge": 131072,
    "m7g.12xlarge": 196608,
    "m7g.16xlarge": 262144,
    "r5.large": 16384,
    "r5.xlarge": 32768,
    "r5.2xlarge": 65536,
    "r5.4xlarge": 131072,
    "r5.8xlarge": 262144,
    "r5.12xlarge": 393216,
    "r5.16xlarge": 524288,
    "r5.24xlarge": 786432,
    "r6a.large": 16384,
    "r6a.xlarge": 32768,
    "r6a.2xlarge": 65536,
    "r6a.4xlarge": 131072,
    "r6a.8xlarge": 262144,
    "r6a.12xlarge": 393216,
    "r6a.16xlarge": 524288,
    "r6a.24xlarge": 786432,
    "r6a.32xlarge": 1048576,
    "r6a.48xlarge": 1572864,
    "r6i.large": 16384,
    "r6i.xlarge": 32768,
    "r6i.2xlarge": 65536,
    "r6i.4xlarge": 131072,
    "r6i.8xlarge": 262144,
    "r6i.12xlarge": 393216,
    "r6i.16xlarge": 524288,
    "r6i.24xlarge": 786432,
    "r6i.32xlarge": 1048576,
    "r6g.medium": 8192,
    "r6g.large": 16384,
    "r6g.xlarge": 32768,
    "r6g.2xlarge": 65536,
    "r6g.4xlarge": 131072,
    "r6g.8xlarge": 262144,
    "r6g.12xlarge": 393216,
    "r6g.16xlarge": 524288,
    "r7a.medium": 8192,
    "r7a.large": 16384,
    "r7a.xlarge": 32768,
    "r7a.2xlarge": 65536,
    "r7a.4xlarge": 131072,
    "r7a.8xlarge": 262144,
    "r7a.12xlarge": 393216,
    "r7a.16xlarge": 524288,
    "r7a.24xlarge": 786432,
    "r7a.32xlarge": 1048576,
    "r7a.48xlarge": 1572864,
    "r7i.large": 16384,
    "r7i.xlarge": 32768,
    "r7i.2xlarge": 65536,
    "r7i.4xlarge": 131072,
    "r7i.8xlarge": 262144,
    "r7i.12xlarge": 393216,
    "r7i.16xlarge": 524288,
    "r7i.24xlarge": 786432,
    "r7i.48xlarge": 1572864,
    "r7g.medium": 8192,
    "r7g.large": 16384,
    "r7g.xlarge": 32768,
    "r7g.2xlarge": 65536,
    "r7g.4xlarge": 131072,
    "r7g.8xlarge": 262144,
    "r7g.12xlarge": 393216,
    "r7g.16xlarge": 524288,
    "c6g.medium": 2048,
    "c6g.large": 4096,
    "c6g.xlarge": 8192,
    "c6g.2xlarge": 16384,
    "c6g.4xlarge": 32768,
    "c6g.8xlarge": 65536,
    "c6g.12xlarge": 98304,
    "c6g.16xlarge": 131072,
    "c7g.medium": 2048,
    "c7g.large": 4096,
    "c7g.xlarge": 8192,
    "c7g.2xlarge": 16384,
    "c7g.4xlarge": 32768,
    "c7g.8xlarge": 65536,
    "c7g.12xlarge": 98304,
    "c7g.16xlarge": 131072,
};

/** What a target gives the server: its memory in bytes, what the OS keeps of it, and where that comes from. */
export interface MemoryBudget {
    totalBytes: number;
    osReserveBytes: number;
    /** The key that sets it, for messages (`docker.memoryLimit 1gb`). */
    source: string;
}

/**
 * The largest `maxmemory` a budget allows: the share of memory that leaves the fork of a
 * snapshot or AOF rewrite its copy-on-write headroom (see MAXMEMORY_SHARE).
 */
export function largestSafeMaxmemory(b: MemoryBudget): number {
    return maxmemoryFor(b.totalBytes, b.osReserveBytes);
}

/**
 * An EC2 instance type's budget, when its memory is known (INSTANCE_MEMORY_MIB): config and
 * the policy pack judge maxmemory against the same figure, the system's share set aside.
 */
export function instanceTypeBudget(instanceType: string, source: string): MemoryBudget | undefined {
    const mib = INSTANCE_MEMORY_MIB[instanceType];
    return mib === undefined ? undefined : { totalBytes: mib * 1024 * 1024, osReserveBytes: OS_RESERVE_BYTES, source };
}
