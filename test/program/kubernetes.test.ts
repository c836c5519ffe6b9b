/** The kubernetes example stack (Pulumi.kubernetes.yaml) under mocks. */
import * as pulumi from "@pulumi/pulumi";
import { expectPolicyClean } from "../helpers/policy";
import { beforeAll, describe, expect, it } from "vitest";
import { getDirective, parseRedisConf } from "../../src/redisConf";
import { promiseOf, secretInput, single } from "../helpers/pulumiMocks";
import { type ProgramExports, type ProgramResource, runStack } from "../helpers/stackUnderMocks";

let resources: ProgramResource[];
let program: ProgramExports;

beforeAll(async () => {
    ({ resources, program } = await runStack("kubernetes"));
});

describe("kubernetes stack", () => {
    it("registers the namespace, secret, config, two services, the StatefulSet, PDB and NetworkPolicy", () => {
        expect(resources.map((r) => r.type).sort()).toEqual([
            "kubernetes:apps/v1:StatefulSet",
            "kubernetes:core/v1:ConfigMap",
            "kubernetes:core/v1:Namespace",
            "kubernetes:core/v1:PersistentVolumeClaimPatch",
            "kubernetes:core/v1:Secret",
            "kubernetes:core/v1:Service",
            "kubernetes:core/v1:Service",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:policy/v1:PodDisruptionBudget",
            "mspbyte:redis:Kubernetes",
            "random:index/randomPassword:RandomPassword",
        ]);
    });

    it("keeps the password in the Secret only, as a secret; the ConfigMap includes it from there", () => {
        const data = secretInput(single(resources, "kubernetes:core/v1:Secret").inputs.stringData);
        expect(data).toEqual({
            password: "Mock0Generated0Password0Abcdefgh",
            "auth.conf": 'requirepass "Mock0Generated0Password0Abcdefgh"\n',
        });
        const conf = single(resources, "kubernetes:core/v1:ConfigMap").inputs.data["redis.conf"];
        expect(conf).not.toContain("Mock0Generated0Password0Abcdefgh");
        const parsed = parseRedisConf(conf);
        expect(getDirective(parsed, "include")).toBe("/etc/redis-secret/auth.conf");
        expect(getDirective(parsed, "maxmemory")).toBe("614mb");
        expect(getDirective(parsed, "maxmemory-policy")).toBe("noeviction");
        expect(getDirective(parsed, "dir")).toBe("/data");
    });

    it("runs one locked-down pod with the data on a retained PVC", () => {
        const spec = single(resources, "kubernetes:apps/v1:StatefulSet").inputs.spec;
        expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
        expect(spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } });
        const pod = spec.template.spec;
        expect(pod).toMatchObject({ automountServiceAccountToken: false, terminationGracePeriodSeconds: 120 });
        expect(pod.securityContext).toMatchObject({
            runAsNonRoot: true,
            runAsUser: 999,
            fsGroup: 999,
            seccompProfile: { type: "RuntimeDefault" },
        });
        const [redis, exporter] = pod.containers;
        expect(redis.image).toBe("redis:7.4.11-bookworm");
        expect(redis.securityContext).toEqual({
            runAsNonRoot: true,
            runAsUser: 999,
            runAsGroup: 999,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        });
        expect(redis.resources).toEqual({ requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1Gi" } });
        expect(redis.startupProbe.failureThreshold * redis.startupProbe.periodSeconds).toBe(600);
        expect(exporter.name).toBe("exporter");
        expect(exporter.image).toBe("oliver006/redis_exporter:v1.88.0");
        expect(exporter.args).toEqual(["--disable-scrape-endpoint"]);
        // The umask the official entrypoint would set, which `command` bypasses: data files 0600.
        expect(redis.command).toEqual(["sh", "-c", 'umask 0077 && exec redis-server "$0"', "/etc/redis/redis.conf"]);
    });

    it("sizes the data PVC through a patch of the PVC the set made", () => {
        const patch = single(resources, "kubernetes:core/v1:PersistentVolumeClaimPatch").inputs;
        expect(patch.metadata).toMatchObject({ name: "data-mspbyte-redis-0", namespace: "mspbyte-redis" });
        expect(patch.spec).toEqual({ resources: { requests: { storage: "10Gi" } } });
    });

    it("rolls the pod on a config or password change through a digest, not the values", () => {
        const annotations = single(resources, "kubernetes:apps/v1:StatefulSet").inputs.spec.template.metadata.annotations;
        expect(annotations["mspbyte.io/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
        expect(JSON.stringify(annotations)).not.toContain("Mock0Generated0Password0Abcdefgh");
    });

    it("admits only the pipeline's pods, and the monitoring namespace on the metrics port", () => {
        const np = single(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs.spec;
        expect(np.policyTypes).toEqual(["Ingress"]);
        expect(np.ingress).toEqual([
            {
                from: [
                    { podSelector: { matchLabels: { app: "pipeline-worker" } } },
                    {
                        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "mspbyte-pipeline" } },
                        podSelector: { matchLabels: { app: "pipeline-worker" } },
                    },
                ],
                ports: [{ protocol: "TCP", port: 6379 }],
            },
            {
                from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
                ports: [{ protocol: "TCP", port: 9121 }],
            },
        ]);
        expect(single(resources, "kubernetes:policy/v1:PodDisruptionBudget").inputs.spec).toMatchObject({ maxUnavailable: 1 });
    });

    it("exports the contract with the in-cluster DNS name", async () => {
        expect(await promiseOf(program.host!)).toBe("mspbyte-redis.mspbyte-redis.svc.cluster.local");
        expect(await promiseOf(program.port!)).toBe(6379);
        expect(await promiseOf(program.url!)).toBe(
            "redis://default:Mock0Generated0Password0Abcdefgh@mspbyte-redis.mspbyte-redis.svc.cluster.local:6379",
        );
        expect(await pulumi.isSecret(program.url as pulumi.Output<unknown>)).toBe(true);
        expect(await promiseOf(program.persistence!)).toMatchObject({ mode: "aof+rdb", aof: true, maxmemory: "614mb" });
    });
});

it("passes the policy pack", () => {
    expectPolicyClean(resources, "kubernetes");
});
