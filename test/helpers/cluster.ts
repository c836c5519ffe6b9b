/**
 * A real three-master Redis Cluster on loopback for cluster-mode stacks (MemoryDB, ElastiCache
 * with clusterMode): each node started from the docker-rendered redis.conf with cluster mode
 * on, joined by `redis-cli --cluster create`, and waited for until every node says it is up.
 */
import { execFileSync } from "node:child_process";
import { bullmqSettings } from "../../src/contract";
import { applyOverrides, loadRedisConf, parseRedisConf, renderRedisConf } from "../../src/redisConf";
import { memorydbPersistence } from "../../src/persistence";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";

/** Starts the nodes into `nodes` (so the caller's afterAll stops them even when this fails). */
export async function startCluster(nodes: RedisServer[], size = 3): Promise<void> {
    const conf = renderRedisConf(
        applyOverrides(parseRedisConf(dockerConf()), {
            extra: {
                "cluster-enabled": "yes",
                "cluster-config-file": "nodes.conf",
                "cluster-node-timeout": "5000",
                masterauth: TEST_PASSWORD,
            },
        }),
    );
    for (let i = 0; i < size; i++) nodes.push(await RedisServer.start({ conf }));
    execFileSync(
        "redis-cli",
        ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"],
        {
            stdio: "pipe",
            env: { ...process.env, REDISCLI_AUTH: TEST_PASSWORD },
        },
    );
    for (const n of nodes) {
        const c = n.client({ password: TEST_PASSWORD });
        await c.connect();
        for (let i = 0; i < 100 && !/cluster_state:ok/.test(String(await c.call("CLUSTER", "INFO"))); i++)
            await new Promise((r) => setTimeout(r, 100));
        c.disconnect();
    }
}

/** A cluster-mode stack's outputs: the hash-tagged prefix a cluster needs, MemoryDB's persistence. */
export function clusterOutputs(nodes: RedisServer[]) {
    return outputsFor(nodes[0]!, {
        bullmq: bullmqSettings("{pipeline}", "pipeline-jobs"),
        persistence: memorydbPersistence(7, "03:00-04:00", 0, loadRedisConf()),
    });
}
