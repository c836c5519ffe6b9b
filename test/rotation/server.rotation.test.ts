/**
 * A rotation on a real redis-server started from the docker and kubernetes targets' rendered
 * config, phase by phase as `pulumi up` applies them there (the container replaced, the pod
 * rolled: the server restarts on the same data with the next phase's config). A BullMQ worker
 * connected with the old password before phase one stays with it through phase one's restart and
 * completes every job while the producer moves to the new password; the worker moves, then
 * phase two: the old password is refused, the new one accepted (checked with `npm run
 * passwords`'s own function), and every job ran exactly once.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Queue, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { tryPassword } from "../../src/ops/passwords";
import { applyOverrides, parseRedisConf, renderForTarget, renderRedisConf } from "../../src/redisConf";
import { dockerConfOverrides } from "../../src/targets/docker/docker";
import * as m from "../../src/targets/kubernetes/manifests";
import { kubernetesSchema } from "../../src/config";
import { outputsFor } from "../../tools/outputs";
import { RedisServer, sleep } from "../../tools/redisServer";

const OLD = "Old-Rotation-Password-0123456789";
// A character redis.conf must quote, so the rendered ACL line is read back as written.
const NEW = 'New-Rotation-"Password"-9876543210';
const QUEUE = "pipeline-jobs";

const started: RedisServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
    for (const s of started) await s.destroy();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The server's next phase: its config rewritten as the target renders it, then a restart on the same data. */
async function restartWith(server: RedisServer, conf: string, password: string): Promise<void> {
    fs.writeFileSync(server.confFile, renderRedisConf(applyOverrides(parseRedisConf(conf), { dir: server.dir })), { mode: 0o600 });
    await server.stop();
    await server.restart(password);
}

const verdicts = async (server: RedisServer) => ({
    old: await tryPassword(outputsFor(server), "default", OLD),
    new: await tryPassword(outputsFor(server), "default", NEW),
});

describe("docker: the rendered redis.conf through both phases, a worker and a producer on it", () => {
    it("phase one accepts both and the old-password worker completes every job; phase two refuses the old one", async () => {
        const conf = (password: string, previousPassword?: string) => renderForTarget(dockerConfOverrides({ password, previousPassword }));
        const server = await RedisServer.start({ conf: conf(OLD) });
        started.push(server);
        const connection = (password: string) => ({ host: "127.0.0.1", port: server.port, password });
        /** Each job id, once each time a worker ran it. */
        const ran: string[] = [];
        const startWorker = (password: string) => {
            // A job active when the server stops is moved back to waiting by the worker's
            // stalled-job check once its lock has expired (BullMQ's defaults: every 30 s, a 30 s
            // lock, kept across the restart by the AOF): 1 s and 5 s here keep the test short.
            const w = new Worker(
                QUEUE,
                async (job) => {
                    ran.push(job.id!);
                    return "ok";
                },
                { connection: connection(password), stalledInterval: 1000, lockDuration: 5000 },
            );
            w.on("error", () => undefined); // the restarts drop its connections; it reconnects
            return w;
        };
        const produce = async (password: string, n: number, tag: string) => {
            const q = new Queue(QUEUE, { connection: connection(password) });
            try {
                return (await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: tag, data: { i } })))).map((j) => j.id!);
            } finally {
                await q.close();
            }
        };
        // Done is what Redis says: a completion the server committed just before a restart may
        // never reach the worker (its reply lost with the connection), so no event for that job.
        const waitFor = async (ids: string[]) => {
            const q = new Queue(QUEUE, { connection: connection(NEW) });
            try {
                const state = async (id: string) => `${id}: ${await q.getJobState(id)} ${(await q.getJob(id))?.failedReason ?? ""}`.trim();
                let left = ids;
                // Up to 60 s: a stalled job waits for its lock to expire, and a loaded machine is slow.
                for (let t = 0; t < 600 && left.length > 0; t++) {
                    left = (await Promise.all(left.map(async (id) => ((await q.getJobState(id)) === "completed" ? undefined : id)))).filter(
                        (id): id is string => id !== undefined,
                    );
                    if (left.length > 0) await sleep(100);
                }
                // A job left is named with its state in Redis (and, failed, its reason).
                return await Promise.all(left.map(state));
            } finally {
                await q.close();
            }
        };

        let worker = startWorker(OLD);
        try {
            const ids = await produce(OLD, 20, "before");
            expect(await verdicts(server)).toEqual({ old: "accepted", new: "refused" });

            // Phase one: the ACL line with both passwords; the server restarts on its data.
            await restartWith(server, conf(NEW, OLD), NEW);
            expect(await verdicts(server)).toEqual({ old: "accepted", new: "accepted" });
            ids.push(...(await produce(OLD, 10, "phase-one-old")));
            ids.push(...(await produce(NEW, 20, "phase-one-new")));
            // The worker still holds the old password only: it reconnected with it and ran all of them.
            expect(await waitFor(ids)).toEqual([]);

            // Clients move (the worker restarted with the new password), then phase two.
            await worker.close();
            worker = startWorker(NEW);
            await restartWith(server, conf(NEW), NEW);
            expect(await verdicts(server)).toEqual({ old: "refused", new: "accepted" });
            ids.push(...(await produce(NEW, 20, "phase-two")));
            expect(await waitFor(ids)).toEqual([]);
            // None lost: every job ran and is completed, once, in the queue. A job active at a
            // restart may run again once its lock expires (at-least-once): with the worker's
            // concurrency of 1, at most one job per restart.
            expect(new Set(ran).size).toBe(70);
            expect(ran.length).toBeLessThanOrEqual(70 + 2);
            const q = new Queue(QUEUE, { connection: connection(NEW) });
            try {
                expect(await q.getJobCounts("completed", "failed", "waiting", "active", "delayed")).toEqual({
                    completed: 70,
                    failed: 0,
                    waiting: 0,
                    active: 0,
                    delayed: 0,
                });
            } finally {
                await q.close();
            }
        } finally {
            await worker.close();
        }
    }, 180_000); // two waits of up to 60 s each, so that a slow drain fails with the jobs left, not a timeout
});

describe("kubernetes: the ConfigMap's redis.conf including the Secret's auth.conf", () => {
    it("phase one's auth.conf accepts both passwords, phase two's only the new one", async () => {
        const k = kubernetesSchema.parse({ allowedNamespaces: ["pipeline"] });
        const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-rotation-secret-"));
        dirs.push(secretDir);
        const authFile = path.join(secretDir, "auth.conf");
        const conf = renderForTarget(m.kubernetesConfOverrides(k, "256mb", secretDir));
        fs.writeFileSync(authFile, m.secretManifest(k, OLD).stringData["auth.conf"]);
        const server = await RedisServer.start({ conf });
        started.push(server);
        expect(await verdicts(server)).toEqual({ old: "accepted", new: "refused" });

        // The pod rolls onto the Secret's new auth.conf.
        fs.writeFileSync(authFile, m.secretManifest(k, NEW, OLD).stringData["auth.conf"]);
        await restartWith(server, conf, NEW);
        expect(await verdicts(server)).toEqual({ old: "accepted", new: "accepted" });

        fs.writeFileSync(authFile, m.secretManifest(k, NEW).stringData["auth.conf"]);
        await restartWith(server, conf, NEW);
        expect(await verdicts(server)).toEqual({ old: "refused", new: "accepted" });
    });
});
