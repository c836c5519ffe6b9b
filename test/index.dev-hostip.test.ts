/**
 * Pulumi.dev.yaml with `docker.hostIp: localhost`, under mocks. The Docker Engine parses a host
 * name in a port binding as every address (test/engine shows it on a real engine), so the name
 * must reach the engine as an address.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { dockerSchema } from "../src/config";
import { checkHostIp } from "../src/targets/docker/docker";
import { Registered, promiseOf, runProgram, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("dev")["mspbyte-redis:docker"]!);
    resources = await setupStack("dev", { overrides: { "mspbyte-redis:docker": JSON.stringify({ ...base, hostIp: "localhost" }) } });
    program = await runProgram(resources, () => import("../src/index"));
});

describe("docker.hostIp: localhost", () => {
    it("publishes on 127.0.0.1, the address, never the name", () => {
        const c = single(resources, "docker:index/container:Container").inputs;
        expect(c.ports).toEqual([{ internal: 6379, external: 6379, ip: "127.0.0.1" }]);
    });

    it("exports the address as the host", async () => {
        expect(await promiseOf(program.host!)).toBe("127.0.0.1");
        expect(await promiseOf(program.tls!)).toBe(false);
    });
});

describe("host names in docker.hostIp", () => {
    it.each([
        { given: "localhost", ip: "127.0.0.1" },
        { given: "*", ip: "0.0.0.0" },
        { given: "::1", ip: "::1" },
        { given: "192.168.1.20", ip: "192.168.1.20" },
    ])("$given is published on $ip", ({ given, ip }) => {
        const d = dockerSchema.parse({ hostIp: given, tls: true, exposeToNetwork: true });
        expect(d.hostIp).toBe(ip);
    });

    it.each(["redis.internal", "my-laptop", "localhost.localdomain"])("%s is refused", (given) => {
        const r = dockerSchema.safeParse({ hostIp: given, tls: true });
        expect(r.success).toBe(false);
        expect(r.error!.issues[0]!.path).toEqual(["hostIp"]);
        expect(r.error!.issues[0]!.message).toBe("an IP address of this machine: 127.0.0.1 (default), ::1, or an interface address; not a host name (Docker publishes a name on every address)");
    });

    it("the component refuses a name given to it directly", () => {
        expect(() => checkHostIp("localhost")).toThrow("docker.hostIp must be an IP address, got \"localhost\": the Docker Engine publishes a host name on every address (0.0.0.0 and [::])");
        expect(() => checkHostIp("127.0.0.1")).not.toThrow();
        expect(() => checkHostIp("::")).not.toThrow();
    });
});
