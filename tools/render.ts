/** The docker target's redis.conf, rendered exactly as the program uploads it. */
import { dockerConfOverrides } from "../src/targets/docker/docker";
import { renderForTarget } from "../src/redisConf";

export const TEST_PASSWORD = "Integration-Test-Password-0123";

export function dockerConf(o: { password?: string; maxmemory?: string; tls?: boolean; tlsDir?: string } = {}): string {
    return renderForTarget(
        dockerConfOverrides({ password: o.password ?? TEST_PASSWORD, maxmemory: o.maxmemory, tls: o.tls, tlsDir: o.tlsDir }),
    );
}
