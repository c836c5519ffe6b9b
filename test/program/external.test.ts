/** The external example stack (Pulumi.external.yaml) with its password set as a secret. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { promiseOf } from "../helpers/pulumiMocks";
import { type ProgramExports, type ProgramResource, runStack } from "../helpers/stackUnderMocks";

let resources: ProgramResource[];
let program: ProgramExports;

beforeAll(async () => {
    ({ resources, program } = await runStack("external", { secrets: { "mspbyte-redis:password": "Provider-Given-Password-123" } }));
});

it("provisions nothing: one component, no child resource", () => {
    expect(resources.map((r) => r.type)).toEqual(["mspbyte:redis:External"]);
});

it("exports the same contract from the stack's config", async () => {
    expect(await promiseOf(program.target!)).toBe("external");
    expect(await promiseOf(program.host!)).toBe("redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com");
    expect(await promiseOf(program.port!)).toBe(12345);
    expect(await promiseOf(program.tls!)).toBe(true);
    expect(await promiseOf(program.username!)).toBe("default");
    expect(await promiseOf(program.password!)).toBe("Provider-Given-Password-123");
    expect(await promiseOf(program.url!)).toBe(
        "rediss://default:Provider-Given-Password-123@redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com:12345",
    );
    expect(await pulumi.isSecret(program.password as pulumi.Output<unknown>)).toBe(true);
    expect(await pulumi.isSecret(program.url as pulumi.Output<unknown>)).toBe(true);
    expect(await promiseOf(program.persistence!)).toMatchObject({
        mode: "provider-managed",
        aof: true,
        appendfsync: "everysec",
        maxmemoryPolicy: "noeviction",
    });
});
