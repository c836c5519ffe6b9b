/** The dev stack with a password set as a secret: used as given, nothing generated. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { Registered, promiseOf, runProgram, secretInput, setupStack, single } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    resources = await setupStack("dev", {
        secrets: { "mspbyte-redis:password": "Chosen-Password_0123456789" },
        overrides: { "mspbyte-redis:maxmemory": "1gb" },
    });
    program = await runProgram(resources, () => import("../src/index"));
});

it("uses the configured password and generates none", async () => {
    expect(resources.filter((r) => r.type.startsWith("random:"))).toEqual([]);
    expect(await promiseOf(program.password!)).toBe("Chosen-Password_0123456789");
    expect(await pulumi.isSecret(program.password as pulumi.Output<unknown>)).toBe(true);
    const uploads = secretInput(single(resources, "docker:index/container:Container").inputs.uploads);
    expect(uploads[0].content).toContain("\nrequirepass Chosen-Password_0123456789\n");
});

it("renders the stack's maxmemory in place of redis.conf's, and reports it", async () => {
    const uploads = secretInput(single(resources, "docker:index/container:Container").inputs.uploads);
    expect(uploads[0].content).toMatch(/\nmaxmemory 1gb\n/);
    expect(uploads[0].content).not.toMatch(/\nmaxmemory 512mb\n/);
    expect(await promiseOf(program.persistence!)).toMatchObject({ maxmemory: "1gb" });
});
