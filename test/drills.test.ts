/** The fault drills, short: three crash cycles, memory full, disk full, a torn AOF (bench/drills.ts). */
import { describe, expect, it } from "vitest";
import { WINDOW_MS, crashUnderLoad, diskFull, memoryFull, truncatedAof } from "../bench/drills";

describe("fault drills on real redis-servers", () => {
    it(`kill -9 under load: nothing acknowledged more than ${WINDOW_MS / 1000} s before a crash is lost, and every survivor completes`, async () => {
        const r = await crashUnderLoad({ cycles: 3, quiet: true });
        console.log(`crash drill: ${JSON.stringify(r)}`);
        expect(r.acknowledged).toBeGreaterThan(1000);
        expect(r.lostOutsideWindow).toBe(0);
        expect(r.notCompleted).toBe(0);
    }, 180_000);

    it("memory full: the producer is refused, nothing is evicted, nothing is lost, work resumes after the backlog drains", async () => {
        const r = await memoryFull({ quiet: true });
        expect(r.refusal).toMatch(/^OOM command not allowed when used memory > 'maxmemory'/);
        expect(r.evictedKeys).toBe(0);
        expect(r.completedWhileFull).toBe(0);
        expect(r.completedAfterRoom).toBe(r.jobsAdded);
        expect(r.lostJobs).toBe(0);
        expect(r.acceptedAfterDrain).toBe(true);
    }, 120_000);

    it("disk full: writes refused with MISCONF, nothing acknowledged lost, writes resume when there is room", async () => {
        const r = await diskFull({ quiet: true });
        if (!r.possible) throw new Error(`the disk-full drill could not run: ${r.reason}`);
        expect(r.refusal).toMatch(/^MISCONF Errors writing to the AOF file/);
        expect(r.acknowledgedBeforeFull).toBeGreaterThan(100);
        expect(r.lostAcknowledged).toBe(0);
        expect(r.recovered).toBe(true);
    }, 60_000);

    it("a torn AOF tail: the server starts and loses at most the last command", async () => {
        const r = await truncatedAof({ quiet: true });
        expect(r.started).toBe(true);
        expect(r.present).toBeGreaterThanOrEqual(r.written - 1);
    }, 60_000);
});
