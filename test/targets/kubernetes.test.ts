/**
 * The kubernetes target's objects validated against Kubernetes' OpenAPI schemas (the
 * kubernetes-models validators), its rendered redis.conf on a real redis-server, and its
 * probe commands run for real.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { kubernetesSchema } from "../../src/config";
import { runSmoke } from "../../src/ops/smoke";
import { renderForTarget } from "../../src/redisConf";
import * as m from "../../src/targets/kubernetes/manifests";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { makeCerts } from "../helpers/tls";

const base = kubernetesSchema.parse({ allowedPodLabels: { app: "pipeline-worker" } });
const full = kubernetesSchema.parse({
    allowedPodLabels: { app: "pipeline-worker" },
    allowedNamespaces: ["mspbyte-pipeline"],
    metrics: true,
    serviceMonitor: true,
    storageClass: "gp3",
    blockVoluntaryEviction: true,
});

const withTls = kubernetesSchema.parse({ allowedPodLabels: { app: "pipeline-worker" }, metrics: true, tls: true });

function objects(k: typeof base): [string, { validate(): void }][] {
    const conf = renderForTarget(m.kubernetesConfOverrides(k, m.kubernetesMaxmemory(k)));
    return [
        ["Namespace", new Namespace(m.namespaceManifest(k) as never)],
        ["Secret", new Secret(m.secretManifest(k, "Sample-Password-0123456789") as never)],
        ["ConfigMap", new ConfigMap(m.configMapManifest(k, conf) as never)],
        ["headless Service", new Service(m.headlessServiceManifest(k) as never)],
        ["client Service", new Service(m.clientServiceManifest(k) as never)],
        ["StatefulSet", new StatefulSet(m.statefulSetManifest(k, "0123456789abcdef") as never)],
        ["PodDisruptionBudget", new PodDisruptionBudget(m.podDisruptionBudgetManifest(k) as never)],
        ["PVC size patch", new PersistentVolumeClaim(m.dataPvcPatchManifest(k) as never)],
        ["NetworkPolicy", new NetworkPolicy(m.networkPolicyManifest(k) as never)],
        ...(k.serviceMonitor
            ? [["ServiceMonitor", new ServiceMonitor(m.serviceMonitorManifest(k) as never)] as [string, { validate(): void }]]
            : []),
        ...(k.tls
            ? [
                  ["TLS Secret", new Secret(m.tlsSecretManifest(k, { cert: "c", key: "k", ca: "a" }) as never)] as [
                      string,
                      { validate(): void },
                  ],
              ]
            : []),
    ];
}

describe("every generated object passes the Kubernetes OpenAPI schema", () => {
    it.each([
        ...objects(base),
        ...objects(full).map(([n, o]) => [`${n} (metrics, ServiceMonitor, storage class)`, o] as [string, { validate(): void }]),
        ...objects(withTls).map(([n, o]) => [`${n} (TLS)`, o] as [string, { validate(): void }]),
    ])("%s", (_, object) => {
        expect(() => object.validate()).not.toThrow();
    });

    it("the validator really validates: a wrong type is refused", () => {
        const broken = m.statefulSetManifest(base, "x") as unknown as { spec: { replicas: unknown } };
        broken.spec.replicas = "one";
        expect(() => new StatefulSet(broken as never).validate()).toThrow(/replicas must be integer/);
    });
});

describe("the Kubernetes-rendered redis.conf on a real redis-server, with the Secret's auth.conf", () => {
    const password = "K8s-Secret-Password-0123456789";
    let server: RedisServer;
    let secretDir: string;
    beforeAll(async () => {
        secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-k8s-secret-"));
        fs.writeFileSync(path.join(secretDir, "auth.conf"), m.secretManifest(base, password).stringData["auth.conf"], { mode: 0o440 });
        const conf = renderForTarget(m.kubernetesConfOverrides(base, m.kubernetesMaxmemory(base), secretDir));
        server = await RedisServer.start({ conf });
    });
    afterAll(async () => {
        await server?.destroy();
        fs.rmSync(secretDir, { recursive: true, force: true });
    });

    it("passes every smoke check", async () => {
        const results = await runSmoke(outputsFor(server, { password }));
        expect(results.filter((r) => r.status !== "pass")).toEqual([]);
    });

    const probe = (command: string[], env: Record<string, string>, port = server.port) =>
        spawnSync(
            command[0]!,
            command.slice(1).map((a) => a.replaceAll(`-p ${base.port}`, `-p ${port}`)),
            { encoding: "utf8", env: { PATH: process.env.PATH!, ...env } },
        );

    it("readiness: ready with the password, not ready with a wrong one or none", () => {
        expect(probe(m.readinessCommand(base.port), { REDISCLI_AUTH: password }).status).toBe(0);
        expect(probe(m.readinessCommand(base.port), { REDISCLI_AUTH: "Wrong-Password-0123456789" }).status).not.toBe(0);
        expect(probe(m.readinessCommand(base.port), {}).status).not.toBe(0);
    });

    it("liveness: alive on PONG; dead when nothing answers", async () => {
        expect(probe(m.livenessCommand(base.port), { REDISCLI_AUTH: password }).status).toBe(0);
        const { freePort } = await import("../../tools/redisServer");
        expect(probe(m.livenessCommand(base.port), { REDISCLI_AUTH: password }, await freePort()).status).not.toBe(0);
    });

    it("liveness tolerates LOADING (redis-cli's answer while an AOF loads, given by a stand-in redis-cli)", () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-k8s-bin-"));
        fs.writeFileSync(path.join(bin, "redis-cli"), "#!/bin/sh\necho 'LOADING Redis is loading the dataset in memory'\n", {
            mode: 0o755,
        });
        const withLoading = (cmd: string[]) =>
            spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", env: { PATH: `${bin}:${process.env.PATH}` } });
        expect(withLoading(m.livenessCommand(base.port)).status).toBe(0);
        expect(withLoading(m.readinessCommand(base.port)).status).not.toBe(0);
        fs.rmSync(bin, { recursive: true, force: true });
    });
});

describe("with TLS: the rendered redis.conf, the generated files' layout, and the probes over TLS", () => {
    const password = "K8s-Tls-Password-0123456789";
    let server: RedisServer;
    let dir: string;
    beforeAll(async () => {
        const certs = makeCerts();
        dir = certs.dir;
        fs.mkdirSync(path.join(dir, "tls"));
        fs.copyFileSync(certs.certFile, path.join(dir, "tls", "tls.crt"));
        fs.copyFileSync(certs.keyFile, path.join(dir, "tls", "tls.key"));
        fs.copyFileSync(certs.caFile, path.join(dir, "tls", "ca.crt"));
        fs.writeFileSync(path.join(dir, "auth.conf"), m.authConf(password));
        const conf = renderForTarget(m.kubernetesConfOverrides(withTls, "256mb", dir, path.join(dir, "tls")));
        server = await RedisServer.start({ conf, tls: true });
    });
    afterAll(async () => {
        await server?.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("passes every smoke check over TLS, certificate verified", async () => {
        const results = await runSmoke(outputsFor(server, { password, tls: true }), { caFile: path.join(dir, "tls", "ca.crt") });
        expect(results.filter((r) => r.status !== "pass")).toEqual([]);
    });

    it("the probes speak TLS: ready with the password, not with a wrong one; alive on PONG", () => {
        const run = (cmd: string[], auth: string) =>
            spawnSync(
                cmd[0]!,
                cmd.slice(1).map((a) => a.replaceAll(`-p ${withTls.port}`, `-p ${server.port}`)),
                { encoding: "utf8", env: { PATH: process.env.PATH!, REDISCLI_AUTH: auth } },
            ).status;
        const tlsDir = path.join(dir, "tls");
        expect(run(m.readinessCommand(withTls.port, true, tlsDir), password)).toBe(0);
        expect(run(m.readinessCommand(withTls.port, true, tlsDir), "Wrong-Password-0123456789")).not.toBe(0);
        expect(run(m.livenessCommand(withTls.port, true, tlsDir), password)).toBe(0);
        // Without --tls the same probe fails against a TLS-only server: the flags matter.
        expect(run(m.readinessCommand(withTls.port, false, tlsDir), password)).not.toBe(0);
    });
});

describe("fixes the Kubernetes target's defects, each at its own layer", () => {
    it.each([
        {
            given: { metrics: true, metricsNamespaces: [] },
            error: "kubernetes.metricsNamespaces: at least one namespace name, such as [monitoring]: an empty list renders `from: []`, which admits every pod to the metrics port",
        },
        {
            given: { metrics: true, exporterImage: "oliver006/redis_exporter:v1.62.0" },
            error: "kubernetes.exporterImage: redis_exporter v1.83.0 or later (the sidecar disables /scrape with --disable-scrape-endpoint, which earlier versions lack)",
        },
        {
            given: { metrics: true, exporterImage: `oliver006/redis_exporter:v1.82.9@sha256:${"a".repeat(64)}` },
            error: "kubernetes.exporterImage: redis_exporter v1.83.0 or later (the sidecar disables /scrape with --disable-scrape-endpoint, which earlier versions lack)",
        },
    ])("refuses $given", ({ given, error }) => {
        const r = kubernetesSchema.safeParse({ allowedPodLabels: { app: "pipeline-worker" }, ...given });
        expect(r.success).toBe(false);
        const issue = r.error!.issues[0]!;
        expect(`kubernetes.${issue.path.join(".")}: ${issue.message}`).toBe(error);
    });

    it.each([
        "oliver006/redis_exporter:v1.83.0",
        "oliver006/redis_exporter:v1.88.0",
        "oliver006/redis_exporter:v2.0.0",
        `oliver006/redis_exporter@sha256:${"a".repeat(64)}`,
    ])("exporter %s is accepted", (exporterImage) => {
        expect(kubernetesSchema.safeParse({ allowedPodLabels: { app: "x" }, metrics: true, exporterImage }).success).toBe(true);
    });

    it("an empty metricsNamespaces is harmless and accepted without metrics", () => {
        expect(kubernetesSchema.safeParse({ allowedPodLabels: { app: "x" }, metricsNamespaces: [] }).success).toBe(true);
    });

    it("the exporter runs with /scrape disabled, as a flag an older exporter would refuse", () => {
        const exporter = m.statefulSetManifest(full, "x").spec.template.spec.containers[1]! as any;
        expect(exporter.args).toEqual(["--disable-scrape-endpoint"]);
        expect(full.exporterImage).toBe("oliver006/redis_exporter:v1.88.0");
    });

    it("with TLS, the exporter verifies the certificate for the clients' name, not localhost", () => {
        const exporter = m.statefulSetManifest(withTls, "x").spec.template.spec.containers[1]! as any;
        expect(exporter.env).toContainEqual({
            name: "REDIS_EXPORTER_TLS_SERVER_NAME",
            value: "mspbyte-redis.mspbyte-redis.svc.cluster.local",
        });
        expect(m.serviceDnsNames(withTls)).toContain("mspbyte-redis.mspbyte-redis.svc.cluster.local");
    });

    it("the pod checksum moves with redis.conf, the password and the TLS material, and shows none of them", () => {
        const conf = renderForTarget(m.kubernetesConfOverrides(base, "614mb"));
        const a = m.podChecksum(conf, "Password-One-0123456789");
        expect(a).toMatch(/^[0-9a-f]{16}$/);
        expect(m.podChecksum(conf, "Password-One-0123456789")).toBe(a);
        expect(m.podChecksum(conf, "Password-Two-0123456789")).not.toBe(a);
        expect(m.podChecksum(conf.replace("614mb", "700mb"), "Password-One-0123456789")).not.toBe(a);
        expect(m.podChecksum(conf, "Password-One-0123456789", "-----BEGIN CERTIFICATE-----")).not.toBe(a);
        expect(a).not.toContain("Password");
    });

    it("the server starts under umask 0077 (a pod's command bypasses the image's entrypoint)", () => {
        const redis = m.statefulSetManifest(base, "x").spec.template.spec.containers[0]! as any;
        expect(redis.command).toEqual(["sh", "-c", 'umask 0077 && exec redis-server "$0"', "/etc/redis/redis.conf"]);
        // The real shell runs it: the umask and the argument arrive as written.
        const r = spawnSync("sh", ["-c", 'umask 0077 && exec sh -c \'umask; echo "$0"\' "$0"', "/etc/redis/redis.conf"], {
            encoding: "utf8",
        });
        expect(r.stdout).toBe("0077\n/etc/redis/redis.conf\n");
    });

    it("storage grows through a patch of the PVC the set made; the claim template keeps its first size", () => {
        expect(m.DATA_PVC).toBe("data-mspbyte-redis-0");
        const grown = kubernetesSchema.parse({ allowedPodLabels: { app: "x" }, storageSize: "20Gi" });
        expect(m.dataPvcPatchManifest(grown)).toEqual({
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: "data-mspbyte-redis-0", namespace: "mspbyte-redis", annotations: { "pulumi.com/patchForce": "true" } },
            spec: { resources: { requests: { storage: "20Gi" } } },
        });
        // The claim template's name and the StatefulSet's name make the PVC's name.
        const set = m.statefulSetManifest(grown, "x");
        expect(`${set.spec.volumeClaimTemplates[0]!.metadata.name}-${set.metadata.name}-0`).toBe(m.DATA_PVC);
    });

    it("Pulumi waits longer than the old pod's grace plus the startup window", () => {
        expect(m.PULUMI_AWAIT_MINUTES * 60).toBeGreaterThan(m.TERMINATION_GRACE_SECONDS + m.STARTUP_SECONDS + 60);
        const redis = m.statefulSetManifest(base, "x").spec.template.spec.containers[0]! as any;
        expect(redis.startupProbe.periodSeconds * redis.startupProbe.failureThreshold).toBe(m.STARTUP_SECONDS);
    });
});
