/** Stack outputs (as `pulumi stack output --json --show-secrets` prints them) for a test server. */
import { type ConnectionOutputs, bullmqSettings, redisUrl } from "../src/contract";
import { persistenceOf } from "../src/persistence";
import { parseRedisConf } from "../src/redisConf";
import type { RedisServer } from "./redisServer";
import { TEST_PASSWORD, dockerConf } from "./render";

export function outputsFor(server: { port: number }, o: Partial<ConnectionOutputs> = {}): ConnectionOutputs {
    const base = {
        target: "docker" as const,
        host: "127.0.0.1",
        port: server.port,
        tls: false,
        username: "default",
        password: TEST_PASSWORD,
        ...o,
    };
    return {
        ...base,
        url: redisUrl(base),
        bullmq: bullmqSettings("bull", "pipeline-jobs"),
        persistence: persistenceOf(parseRedisConf(dockerConf())),
        ...o,
    };
}

export type { RedisServer };
