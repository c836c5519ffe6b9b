/**
 * The power-loss drill, short (bench/powerloss.ts): the data directory on LazyFS, cut at a
 * random moment, unsynced data dropped, restart on the same folder. Needs root, /dev/fuse and
 * LazyFS (LAZYFS_BIN or `lazyfs` on the PATH; .ci/run builds it): without them it fails and
 * says how to get them.
 */
import { describe, expect, it } from "vitest";
import { POWER_WINDOW_MS, powerLoss, tornWrite } from "../../bench/powerloss";

describe("power loss on LazyFS (real redis-server, real FUSE filesystem)", () => {
    it(`appendfsync everysec, 3 cuts: nothing acknowledged more than ${POWER_WINDOW_MS / 1000} s before a cut is lost, and every surviving job completes`, async () => {
        const r = await powerLoss({ mode: "everysec", cycles: 3, loadMs: [1200, 2500], quiet: true });
        console.log(
            `power loss, everysec: window ${JSON.stringify(r.windowMs)} ms; lost ${r.lostWrites} writes and ${r.lostJobs} jobs of ${r.acknowledgedWrites} and ${r.acknowledgedJobs}`,
        );
        expect(r.acknowledgedWrites + r.acknowledgedJobs).toBeGreaterThan(1000);
        expect(r.lostOlderThanClaim).toBe(0);
        expect(r.windowMs.max).toBeLessThan(POWER_WINDOW_MS);
        // The cut really drops what was not fsynced (else the method measures nothing).
        expect(r.lostWrites + r.lostJobs).toBeGreaterThan(0);
        expect(r.jobsCompletedAfterRestart).toBe(r.jobsSurviving);
    }, 120_000);

    it("appendfsync always, the control: a cut loses nothing acknowledged", async () => {
        const r = await powerLoss({ mode: "always", cycles: 1, loadMs: [1200, 2000], quiet: true });
        expect(r.acknowledgedWrites + r.acknowledgedJobs).toBeGreaterThan(300);
        expect(r.lostWrites).toBe(0);
        expect(r.lostJobs).toBe(0);
        expect(r.jobsCompletedAfterRestart).toBe(r.jobsSurviving);
    }, 90_000);

    it("a torn AOF write (half on disk, then the power goes) under appendfsync always: the server starts by itself and loses nothing acknowledged", async () => {
        const r = await tornWrite({ appendfsync: "always", quiet: true });
        expect(r.faultFired).toBe(true);
        expect(r.startedAlone).toBe(true);
        expect(r.loadMessage).toMatch(/loaded anyway because aof-load-truncated is enabled/);
        expect(r.lost).toBe(0);
    }, 60_000);
});
