/** Pulumi.vm.yaml with the stack's own certificate (tlsCertificate, tlsKey, tlsCa as secrets). */
import { beforeAll, expect, it } from "vitest";
import { Registered, ofType, runProgram, secretInput, setupStack, single } from "./helpers/pulumiMocks";

const CERT = "-----BEGIN CERTIFICATE-----\nOWN-SERVER\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nOWN-KEY\n-----END PRIVATE KEY-----\n";
const CA = "-----BEGIN CERTIFICATE-----\nOWN-CA\n-----END CERTIFICATE-----\n";
let resources: Registered[];

beforeAll(async () => {
    resources = await setupStack("vm", { secrets: { "mspbyte-redis:tlsCertificate": CERT, "mspbyte-redis:tlsKey": KEY, "mspbyte-redis:tlsCa": CA } });
    await runProgram(resources, () => import("../src/index"));
});

it("uses the given certificate and generates none", () => {
    expect(resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
    const secret = JSON.parse(secretInput<string>(single(resources, "aws:secretsmanager/secretVersion:SecretVersion").inputs.secretString));
    expect(secret).toMatchObject({ tlsCert: CERT, tlsKey: KEY, tlsCa: CA });
    expect(ofType(resources, "aws:ec2/instance:Instance")).toHaveLength(1);
});
