/**
 * maxmemory judged against what the target gives the server (the container's limit, the
 * instance type's memory, the pod's limit), fork headroom left: the rule of src/memory.ts, which
 * the policy pack applies to the resources too.
 */
import {
    formatMemorySize,
    INSTANCE_MEMORY_MIB,
    instanceTypeBudget,
    OS_RESERVE_BYTES,
    largestSafeMaxmemory,
    type MemoryBudget,
    parseMemorySize,
    parseQuantity,
} from "../memory";
import { VM_DEFAULTS } from "../targets/vm/config";
import { KUBERNETES_DEFAULTS } from "../targets/kubernetes/config";
import { MAXMEMORY_MIN_BYTES } from "./zod";

/** The parts of a parsed stack config the memory rule reads. */
export interface MemoryFitInput {
    target: string;
    maxmemory?: string | number;
    docker?: { memoryLimit?: string | number };
    vm?: { instanceType: string };
    kubernetes?: { memoryLimit: string };
}

/** What the target gives the server, when config knows it: the container's limit, the instance type's memory, the pod's limit. */
export function memoryBudget(c: MemoryFitInput): MemoryBudget | undefined {
    switch (c.target) {
        case "docker": {
            const limit = c.docker?.memoryLimit;
            return limit === undefined
                ? undefined
                : { totalBytes: parseMemorySize(limit)!, osReserveBytes: 0, source: `docker.memoryLimit ${String(limit)}` };
        }
        case "vm": {
            const type = c.vm?.instanceType ?? VM_DEFAULTS.instanceType;
            const mib = INSTANCE_MEMORY_MIB[type];
            return mib === undefined
                ? undefined
                : instanceTypeBudget(
                      type,
                      `vm.instanceType ${type} (${formatMemorySize(mib * 1024 * 1024)}, less ${formatMemorySize(OS_RESERVE_BYTES)} for the system)`,
                  );
        }
        case "kubernetes": {
            const limit = c.kubernetes?.memoryLimit ?? KUBERNETES_DEFAULTS.memoryLimit;
            const bytes = parseQuantity(limit);
            return bytes === undefined ? undefined : { totalBytes: bytes, osReserveBytes: 0, source: `kubernetes.memoryLimit ${limit}` };
        }
        default:
            return undefined;
    }
}

/**
 * maxmemory within what the machine gives the server, fork headroom left: beyond it the kernel
 * kills Redis (and loses the jobs since the last fsync) before noeviction ever refuses a write.
 */
export function checkMemoryFits(c: MemoryFitInput, issue: (path: (string | number)[], input: unknown, message: string) => void): void {
    const budget = memoryBudget(c);
    const largest = budget === undefined ? undefined : largestSafeMaxmemory(budget);
    // A limit refused on its own (under 16mb, not a size) is reported once, by its own key.
    if (budget && !(budget.totalBytes >= MAXMEMORY_MIN_BYTES)) return;
    // The Docker provider takes the limit in whole megabytes (`memory`) and drops the rest: the
    // container would get less than the limit written, and maxmemory would be sized above it.
    if (c.target === "docker" && budget && budget.totalBytes % (1024 * 1024) !== 0) {
        issue(
            ["docker", "memoryLimit"],
            c.docker?.memoryLimit,
            `a whole number of megabytes, as the Docker provider takes it; here ${formatMemorySize(Math.floor(budget.totalBytes / (1024 * 1024)) * 1024 * 1024)}`,
        );
        return;
    }
    if (budget && largest !== undefined && largest < MAXMEMORY_MIN_BYTES) {
        const key =
            c.target === "docker" ? ["docker", "memoryLimit"] : c.target === "vm" ? ["vm", "instanceType"] : ["kubernetes", "memoryLimit"];
        issue(
            key,
            budget.source.split(" ")[1],
            `more memory: ${budget.source} leaves ${formatMemorySize(largest)} for maxmemory, under the 16mb a queue needs`,
        );
        return;
    }
    if (c.maxmemory === undefined) return;
    const wanted = parseMemorySize(c.maxmemory);
    if (wanted === undefined) return;
    if (c.target === "vm" && budget === undefined) {
        issue(
            ["maxmemory"],
            c.maxmemory,
            `unset for vm.instanceType ${c.vm?.instanceType}, whose memory config does not know (maxmemory is then sized from it at deploy), or an instance type of the families in memory.ts's INSTANCE_MEMORY_MIB`,
        );
        return;
    }
    if (budget && largest !== undefined && wanted > largest) {
        issue(
            ["maxmemory"],
            c.maxmemory,
            `at most ${formatMemorySize(largest)} for ${budget.source}: the rest is headroom for the fork that snapshots and AOF rewrites make, and beyond it the kernel kills Redis before noeviction refuses a write (or give the server more memory)`,
        );
    }
}
