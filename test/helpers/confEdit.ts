/** Routine-change tests that edit the root redis.conf for one run, without touching the file. */
import * as fs from "node:fs";
import { ROOT_REDIS_CONF, type RedisConf, parseRedisConf } from "../../src/redisConf";

/** The repository's redis.conf as the program is given it, edited for one run (the file itself is untouched). */
export function editedRedisConf(edit: (text: string) => string): RedisConf {
    return parseRedisConf(edit(fs.readFileSync(ROOT_REDIS_CONF, "utf8")));
}
