/** A stack with bad config: the program stops with the config error before creating anything. */
import { beforeAll, expect, it } from "vitest";
import { ConfigError } from "../src/config";
import { Registered, setupStack } from "./helpers/pulumiMocks";

let resources: Registered[];

beforeAll(async () => {
    resources = await setupStack("dev", { overrides: { "mspbyte-redis:docker": JSON.stringify({ hostPort: 99999, hostIp: "0.0.0.0" }) } });
});

it("throws the config error and registers no resource", async () => {
    const error = await import("../src/index").then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe([
        "invalid stack config (Pulumi.<stack>.yaml, namespace mspbyte-redis):",
        "  - mspbyte-redis:docker.hostPort: given 99999; allowed: an integer from 1 to 65535",
        "  - mspbyte-redis:docker.hostIp: given \"0.0.0.0\"; allowed: 127.0.0.1, ::1 or one interface's address; every interface (0.0.0.0, ::) publishes Redis to every network this machine is on and needs docker.exposeToNetwork: true as well",
        "  - mspbyte-redis:docker.tls: given false; allowed: true when docker.hostIp (0.0.0.0) is not a loopback address: traffic then leaves this machine, and the password and every job with it",
    ].join("\n"));
    await new Promise((r) => setTimeout(r, 50));
    expect(resources).toEqual([]);
});
