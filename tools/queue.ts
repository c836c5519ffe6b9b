/** BullMQ queues on a real server: waiting for workers to empty one, counting what completed. */
import type { JobType, Queue } from "bullmq";
import type Redis from "ioredis";
import { sleep } from "./redisServer";

/**
 * Polls the queue's counts of `states` until none is left, or until they have not gone down
 * for `stallMs` (what is left is then for the caller to count as not completed).
 */
export async function waitForDrain(queue: Queue, states: JobType[], stallMs = 30_000): Promise<void> {
    let left = Infinity;
    let lastProgress = Date.now();
    for (;;) {
        const counts = await queue.getJobCounts(...states);
        const now = Object.values(counts).reduce((a, b) => a + b, 0);
        if (now === 0 || Date.now() - lastProgress > stallMs) return;
        if (now < left) [left, lastProgress] = [now, Date.now()];
        await sleep(250);
    }
}

/** How many of the job ids are in the queue's completed set (`bull:<queue>:completed`), 5,000 a round trip. */
export async function countCompleted(client: Redis, queue: string, ids: readonly string[]): Promise<number> {
    let completed = 0;
    for (let i = 0; i < ids.length; i += 5000) {
        const scores = (await client.call("ZMSCORE", `bull:${queue}:completed`, ...ids.slice(i, i + 5000))) as (string | null)[];
        completed += scores.filter((x) => x !== null).length;
    }
    return completed;
}
