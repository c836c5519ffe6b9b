/** Pulumi.kubernetes.yaml with kubernetes.tls: true, under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, expect, it } from "vitest";
import { getDirective, parseRedisConf } from "../src/redisConf";
import { expectPolicyClean } from "./helpers/policy";
import { Registered, ofType, promiseOf, runProgram, secretInput, setupStack, single, stackFileConfig } from "./helpers/pulumiMocks";

let resources: Registered[];
let program: Record<string, pulumi.Output<unknown>>;

beforeAll(async () => {
    const base = JSON.parse(stackFileConfig("kubernetes")["mspbyte-redis:kubernetes"]!);
    resources = await setupStack("kubernetes", { overrides: { "mspbyte-redis:kubernetes": JSON.stringify({ ...base, tls: true }) } });
    program = await runProgram(resources, () => import("../src/index"));
});

it("generates a CA and a certificate for every name the Services give, kept in a TLS Secret as a secret", () => {
    const request = single(resources, "tls:index/certRequest:CertRequest").inputs;
    expect(request.dnsNames).toEqual([
        "mspbyte-redis", "mspbyte-redis.mspbyte-redis", "mspbyte-redis.mspbyte-redis.svc", "mspbyte-redis.mspbyte-redis.svc.cluster.local",
        "*.mspbyte-redis-headless.mspbyte-redis.svc.cluster.local", "localhost",
    ]);
    const secrets = ofType(resources, "kubernetes:core/v1:Secret");
    const tlsSecret = secrets.find((x) => x.inputs.type === "kubernetes.io/tls")!;
    expect(Object.keys(secretInput(tlsSecret.inputs.stringData)).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
});

it("serves TLS only, and the pod's probes and exporter speak it", () => {
    const conf = parseRedisConf(single(resources, "kubernetes:core/v1:ConfigMap").inputs.data["redis.conf"]);
    expect(getDirective(conf, "port")).toBe("0");
    expect(getDirective(conf, "tls-port")).toBe("6379");
    expect(getDirective(conf, "tls-cert-file")).toBe("/etc/redis-tls/tls.crt");
    const pod = single(resources, "kubernetes:apps/v1:StatefulSet").inputs.spec.template.spec;
    const [redis, exporter] = pod.containers;
    expect(redis.readinessProbe.exec.command[2]).toBe("redis-cli -p 6379 --tls --cacert /etc/redis-tls/ca.crt ping | grep -qx PONG");
    expect(redis.volumeMounts).toContainEqual({ name: "tls", mountPath: "/etc/redis-tls", readOnly: true });
    expect(exporter.env).toContainEqual({ name: "REDIS_ADDR", value: "rediss://localhost:6379" });
    expect(pod.volumes).toContainEqual({ name: "tls", secret: { secretName: "mspbyte-redis-tls", defaultMode: 0o440 } });
});

it("exports tls: true, a rediss:// URL and the CA", async () => {
    expect(await promiseOf(program.tls!)).toBe(true);
    expect(await promiseOf(program.url!)).toBe("rediss://default:Mock0Generated0Password0Abcdefgh@mspbyte-redis.mspbyte-redis.svc.cluster.local:6379");
    expect(await promiseOf(program.details!)).toMatchObject({ caCertPem: expect.stringContaining("BEGIN CERTIFICATE") });
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "kubernetes");
});
