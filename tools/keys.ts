/** Which acknowledged keys a server still has, checked in pipelined batches (tens of thousands at a time). */
import type Redis from "ioredis";

/** The items whose key is not on the server: one pipelined EXISTS per item, 5,000 a round trip; a command error throws. */
export async function absentOnServer<T>(client: Redis, items: readonly T[], keyOf: (item: T) => string): Promise<T[]> {
    const absent: T[] = [];
    for (let i = 0; i < items.length; i += 5000) {
        const batch = items.slice(i, i + 5000);
        const pipeline = client.pipeline();
        for (const item of batch) pipeline.exists(keyOf(item));
        const replies = (await pipeline.exec())!;
        replies.forEach(([err, exists], j) => {
            if (err) throw err;
            if (exists !== 1) absent.push(batch[j]!);
        });
    }
    return absent;
}
