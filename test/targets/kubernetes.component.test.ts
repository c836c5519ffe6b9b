/**
 * The Kubernetes component built directly from its args under mocks, many cases in one
 * process: what each arg and each default becomes, the transforms, the outputs it registers,
 * the resource options that keep the data (retainOnDelete, protect, ignoreChanges), and the
 * policy pack over what it registers.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatMemorySize, maxmemoryFor, parseQuantity } from "../../src/memory";
import { applyOverrides, getAll, getDirective, loadRedisConf, parseRedisConf } from "../../src/redisConf";
import { KUBERNETES_DEFAULTS } from "../../src/targets/kubernetes/config";
import { KubernetesRedis, type KubernetesRedisArgs, kubernetesSettings } from "../../src/targets/kubernetes/kubernetes";
import { type ComponentRun, buildUnderMocks, registeredOutputs } from "../helpers/stackUnderMocks";
import { policyViolations } from "../helpers/policy";
import { promiseOf, secretInput, single } from "../helpers/pulumiMocks";

const ROOT_CONF = loadRedisConf();
const PASSWORD = "Component0Password0123456789";
/** The args every case starts from: what has no default, and one label the NetworkPolicy admits. */
const REQUIRED: KubernetesRedisArgs = {
    redisConf: ROOT_CONF,
    password: pulumi.secret(PASSWORD),
    protect: true,
    allowedPodLabels: { app: "pipeline-worker" },
};

type Run = ComponentRun<KubernetesRedis>;

function build(args: Partial<KubernetesRedisArgs> = {}, engineStack = "kubernetes"): Promise<Run> {
    return buildUnderMocks(engineStack, () => new KubernetesRedis("redis", { ...REQUIRED, ...args }));
}

/** A Kubernetes child by name (the generated certificate is a `redis-tls` too, of another type). */
const named = (b: Run, name: string) => {
    const found = b.resources.filter((r) => r.name === name && r.type.startsWith("kubernetes:"));
    if (found.length !== 1) throw new Error(`${found.length} resources named ${name}: ${b.resources.map((r) => r.name).join(", ")}`);
    return found[0]!;
};
const statefulSet = (b: Run) => single(b.resources, "kubernetes:apps/v1:StatefulSet");
const configMapConf = (b: Run) => parseRedisConf(single(b.resources, "kubernetes:core/v1:ConfigMap").inputs.data["redis.conf"]);
const checksum = (b: Run): string => statefulSet(b).inputs.spec.template.metadata.annotations["mspbyte.io/config-hash"];

afterEach(() => vi.restoreAllMocks());

describe("defaults: only the args without one", () => {
    it("the defaults documented on the args are KUBERNETES_DEFAULTS, the config's own", () => {
        expect(KUBERNETES_DEFAULTS).toMatchObject({
            namespace: "mspbyte-redis",
            createNamespace: true,
            image: "redis:7.4.11-bookworm",
            storageSize: "10Gi",
            memoryLimit: "1Gi",
            cpuRequest: "250m",
            allowedPodLabels: {},
            allowedNamespaces: [],
            metrics: false,
            metricsNamespaces: ["monitoring"],
            exporterImage: "oliver006/redis_exporter:v1.88.0",
            serviceMonitor: false,
            tls: false,
            blockVoluntaryEviction: false,
            port: 6379,
        });
    });

    it("the namespace, the secret, the config, two services, the set, its size patch, a PDB and a NetworkPolicy, under the component", async () => {
        const b = await build();
        expect(b.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
            "kubernetes:apps/v1:StatefulSet redis-statefulset",
            "kubernetes:core/v1:ConfigMap redis-config",
            "kubernetes:core/v1:Namespace redis-namespace",
            "kubernetes:core/v1:PersistentVolumeClaimPatch redis-data-size",
            "kubernetes:core/v1:Secret redis-auth",
            "kubernetes:core/v1:Service redis-headless",
            "kubernetes:core/v1:Service redis-service",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy redis-network-policy",
            "kubernetes:policy/v1:PodDisruptionBudget redis-pdb",
            "mspbyte:redis:Kubernetes redis",
        ]);
        for (const r of b.resources.filter((x) => x.type.startsWith("kubernetes:"))) expect(r.opts.parent, r.name).toBe("redis");
    });

    it("each default reaches the manifests", async () => {
        const b = await build();
        expect(named(b, "redis-namespace").inputs.metadata.name).toBe(KUBERNETES_DEFAULTS.namespace);
        for (const r of b.resources.filter((x) => x.type.startsWith("kubernetes:") && x.name !== "redis-namespace")) {
            expect(r.inputs.metadata.namespace, r.name).toBe(KUBERNETES_DEFAULTS.namespace);
        }
        const spec = statefulSet(b).inputs.spec;
        const [redis, ...others] = spec.template.spec.containers;
        expect(others).toEqual([]);
        expect(redis.image).toBe(KUBERNETES_DEFAULTS.image);
        expect(redis.resources).toEqual({
            requests: { cpu: KUBERNETES_DEFAULTS.cpuRequest, memory: KUBERNETES_DEFAULTS.memoryLimit },
            limits: { memory: KUBERNETES_DEFAULTS.memoryLimit },
        });
        expect(redis.ports).toEqual([{ name: "redis", containerPort: KUBERNETES_DEFAULTS.port }]);
        expect(spec.volumeClaimTemplates[0].spec).toEqual({
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: KUBERNETES_DEFAULTS.storageSize } },
        });
        expect(named(b, "redis-pdb").inputs.spec).toMatchObject({ maxUnavailable: 1 });
        expect(named(b, "redis-service").inputs.spec.ports).toEqual([{ name: "redis", port: 6379, targetPort: "redis" }]);
    });

    it("maxmemory is 60% of the memory limit, in the ConfigMap, the persistence and the details", async () => {
        const b = await build();
        const sized = formatMemorySize(maxmemoryFor(parseQuantity(KUBERNETES_DEFAULTS.memoryLimit)!));
        expect(sized).toBe("614mb");
        expect(getDirective(configMapConf(b), "maxmemory")).toBe(sized);
        expect(b.component.endpoint.persistence).toMatchObject({ mode: "aof+rdb", aof: true, maxmemory: sized });
        expect((await promiseOf(b.component.details)).maxmemory).toBe(sized);
    });

    it("the endpoint: the client Service's cluster DNS name, plain text inside the cluster", async () => {
        const e = (await build()).component.endpoint;
        expect({ host: e.host, port: e.port, tls: e.tls, username: e.username }).toEqual({
            host: "mspbyte-redis.mspbyte-redis.svc.cluster.local",
            port: 6379,
            tls: false,
            username: "default",
        });
    });
});

describe("each arg", () => {
    it("namespace, image, sizes, CPU and port as given", async () => {
        const b = await build({
            namespace: "queues",
            image: "redis:7.4.12-bookworm",
            storageClass: "gp3",
            storageSize: "20Gi",
            memoryLimit: "2Gi",
            cpuRequest: "500m",
            port: 6380,
        });
        expect(named(b, "redis-namespace").inputs.metadata.name).toBe("queues");
        const spec = statefulSet(b).inputs.spec;
        const redis = spec.template.spec.containers[0];
        expect(redis.image).toBe("redis:7.4.12-bookworm");
        expect(redis.resources).toEqual({ requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "2Gi" } });
        expect(spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: "gp3", resources: { requests: { storage: "20Gi" } } });
        expect(named(b, "redis-data-size").inputs.spec).toEqual({ resources: { requests: { storage: "20Gi" } } });
        expect(getDirective(configMapConf(b), "port")).toBe("6380");
        expect(getDirective(configMapConf(b), "maxmemory")).toBe("1228mb");
        expect(b.component.endpoint).toMatchObject({ host: "mspbyte-redis.queues.svc.cluster.local", port: 6380 });
        expect(await promiseOf(b.component.details)).toEqual({
            service: "kubernetes",
            namespace: "queues",
            statefulSet: "mspbyte-redis",
            clientService: "mspbyte-redis",
            secretName: "mspbyte-redis-auth",
            maxmemory: "1228mb",
        });
    });

    it("maxmemory given wins over the one sized from the limit", async () => {
        const b = await build({ maxmemory: "300mb" });
        expect(getDirective(configMapConf(b), "maxmemory")).toBe("300mb");
        expect(b.component.endpoint.persistence).toMatchObject({ maxmemory: "300mb" });
    });

    it("createNamespace false: no Namespace, nothing waits on one", async () => {
        const b = await build({ createNamespace: false });
        expect(b.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace")).toEqual([]);
        for (const r of b.resources) expect(r.opts.dependsOn, r.name).not.toContain("redis-namespace");
    });

    it("allowedNamespaces and labels: the NetworkPolicy admits those pods on the Redis port only", async () => {
        const b = await build({ allowedNamespaces: ["pipeline"] });
        expect(named(b, "redis-network-policy").inputs.spec.ingress).toEqual([
            {
                from: [
                    { podSelector: { matchLabels: { app: "pipeline-worker" } } },
                    {
                        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "pipeline" } },
                        podSelector: { matchLabels: { app: "pipeline-worker" } },
                    },
                ],
                ports: [{ protocol: "TCP", port: 6379 }],
            },
        ]);
    });

    it("metrics and a ServiceMonitor: the exporter beside the server, its port open to the metrics namespaces", async () => {
        const b = await build({
            metrics: true,
            serviceMonitor: true,
            metricsNamespaces: ["observability"],
            exporterImage: "oliver006/redis_exporter:v1.89.0",
        });
        const [, exporter] = statefulSet(b).inputs.spec.template.spec.containers;
        expect(exporter).toMatchObject({
            name: "exporter",
            image: "oliver006/redis_exporter:v1.89.0",
            args: ["--disable-scrape-endpoint"],
        });
        expect(named(b, "redis-network-policy").inputs.spec.ingress[1]).toEqual({
            from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } } }],
            ports: [{ protocol: "TCP", port: 9121 }],
        });
        expect(named(b, "redis-service-monitor").type).toBe("kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
    });

    it("blockVoluntaryEviction: the PDB keeps the one pod", async () => {
        const b = await build({ blockVoluntaryEviction: true });
        expect(named(b, "redis-pdb").inputs.spec).toEqual({
            selector: { matchLabels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "mspbyte-redis" } },
            minAvailable: 1,
        });
    });

    it("the redis.conf given is the one rendered: nothing is read from disk", async () => {
        const b = await build({ redisConf: applyOverrides(ROOT_CONF, { extra: { appendfsync: "always" } }) });
        expect(getDirective(configMapConf(b), "appendfsync")).toBe("always");
        expect(b.component.endpoint.persistence).toMatchObject({ appendfsync: "always" });
    });

    it("the password sits in the Secret only; the pod rolls through a digest when it changes", async () => {
        const b = await build();
        expect(secretInput(named(b, "redis-auth").inputs.stringData)).toEqual({
            password: PASSWORD,
            "auth.conf": `requirepass "${PASSWORD}"\n`,
        });
        expect(JSON.stringify(configMapConf(b))).not.toContain(PASSWORD);
        expect(JSON.stringify(statefulSet(b).inputs)).not.toContain(PASSWORD);
        const other = await build({ password: pulumi.secret("Component0Other0Password0123") });
        expect(checksum(other)).not.toBe(checksum(b));
        expect(checksum(await build())).toBe(checksum(b));
    });

    it("previousPassword: auth.conf holds the default user's ACL line with both, and the pod rolls", async () => {
        const b = await build({ previousPassword: pulumi.secret("Component0Previous0123456789") });
        const auth = secretInput(named(b, "redis-auth").inputs.stringData)["auth.conf"] as string;
        const user = getAll(parseRedisConf(auth), "user");
        expect(user[0]).toEqual(expect.arrayContaining(["default", "on", `>${PASSWORD}`, ">Component0Previous0123456789"]));
        expect(checksum(b)).not.toBe(checksum(await build()));
    });
});

describe("args the component refuses before anything registers, as the stack config does", () => {
    it.each([
        {
            args: { allowedPodLabels: {} },
            message:
                "kubernetes: allowedPodLabels or allowedNamespaces must admit someone; a NetworkPolicy rule with no source admits every pod",
        },
        {
            args: { metrics: true, metricsNamespaces: [] },
            message: "kubernetes: metricsNamespaces must name a namespace with metrics on; an empty list admits every pod to the exporter",
        },
        { args: { memoryLimit: "lots" }, message: 'kubernetes: memoryLimit must be a Kubernetes quantity, such as 1Gi; got "lots"' },
    ])("$args", ({ args, message }) => {
        expect(() => kubernetesSettings({ ...REQUIRED, ...args })).toThrow(message);
        expect(() => new KubernetesRedis("redis", { ...REQUIRED, ...args })).toThrow(message);
    });

    it("namespaces alone admit someone", () => {
        expect(() => kubernetesSettings({ ...REQUIRED, allowedPodLabels: {}, allowedNamespaces: ["pipeline"] })).not.toThrow();
    });
});

describe("TLS", () => {
    it("a certificate for every name a pod reaches the server by, in a kubernetes.io/tls Secret; the plain port closed", async () => {
        const b = await build({ tls: true });
        expect(single(b.resources, "tls:index/certRequest:CertRequest").inputs.dnsNames).toEqual([
            "mspbyte-redis",
            "mspbyte-redis.mspbyte-redis",
            "mspbyte-redis.mspbyte-redis.svc",
            "mspbyte-redis.mspbyte-redis.svc.cluster.local",
            "*.mspbyte-redis-headless.mspbyte-redis.svc.cluster.local",
            "localhost",
        ]);
        const tlsSecret = named(b, "redis-tls");
        expect(tlsSecret.inputs.type).toBe("kubernetes.io/tls");
        expect(Object.keys(secretInput(tlsSecret.inputs.stringData)).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
        expect(statefulSet(b).opts.dependsOn).toEqual(["redis-namespace", "redis-auth", "redis-config", "redis-tls"]);
        expect(tlsSecret.opts.dependsOn).toEqual(["redis-namespace"]);
        expect(getDirective(configMapConf(b), "port")).toBe("0");
        expect(getDirective(configMapConf(b), "tls-port")).toBe("6379");
        expect(b.component.endpoint.tls).toBe(true);
        expect((await promiseOf(b.component.details)).caCertPem).toMatch(/BEGIN CERTIFICATE/);
    });

    it("the stack's own certificate: nothing generated, its PEM in the Secret", async () => {
        const certificates = {
            certPem: "-----BEGIN CERTIFICATE-----\nown\n",
            keyPem: "-----BEGIN PRIVATE KEY-----\nown\n",
            caPem: "-----BEGIN CERTIFICATE-----\nown-ca\n",
        };
        const b = await build({ tls: true, certificates });
        expect(b.resources.filter((r) => r.type.startsWith("tls:"))).toEqual([]);
        expect(secretInput(named(b, "redis-tls").inputs.stringData)).toEqual({
            "tls.crt": certificates.certPem,
            "tls.key": certificates.keyPem,
            "ca.crt": certificates.caPem,
        });
    });
});

describe("resource options: what keeps the data", () => {
    it("the Namespace and the PVC patch stay in the cluster on delete; the set keeps its claim template", async () => {
        const b = await build();
        expect(named(b, "redis-namespace").opts).toMatchObject({ retainOnDelete: true });
        expect(named(b, "redis-data-size").opts).toMatchObject({ retainOnDelete: true, dependsOn: ["redis-statefulset"] });
        expect(statefulSet(b).opts).toMatchObject({
            protect: true,
            ignoreChanges: ["spec.volumeClaimTemplates"],
            dependsOn: ["redis-namespace", "redis-auth", "redis-config"],
        });
        for (const name of ["redis-auth", "redis-config", "redis-headless", "redis-service", "redis-pdb", "redis-network-policy"]) {
            expect(named(b, name).opts.dependsOn, name).toEqual(["redis-namespace"]);
        }
    });

    it.each([true, false])("protect %s reaches the StatefulSet", async (protect) => {
        expect(statefulSet(await build({ protect })).opts.protect).toBe(protect);
    });

    it("the policy pack passes a protected set and refuses an unprotected one outside dev", async () => {
        expect(policyViolations((await build({ metrics: true, serviceMonitor: true })).resources, "kubernetes")).toEqual([]);
        expect(policyViolations((await build({ protect: false }, "prod")).resources, "prod")).toEqual([
            "redis-data-protected redis-statefulset: redis-statefulset holds the queue's data and must be protected on stack prod",
        ]);
    });
});

describe("transform: the last word on each child's args", () => {
    it("every child gets the args the component built and is registered with what its transform returns", async () => {
        const seen: string[] = [];
        /** Adds an annotation, recording which child it was given. */
        const mark =
            <A extends { metadata?: pulumi.Input<any> }>(child: string) =>
            (a: A): A => {
                seen.push(child);
                return { ...a, metadata: { ...(a.metadata as object), annotations: { "example.com/transformed": child } } };
            };
        const b = await build({
            tls: true,
            metrics: true,
            serviceMonitor: true,
            transform: {
                namespace: mark("namespace"),
                secret: mark("secret"),
                configMap: mark("configMap"),
                tlsSecret: mark("tlsSecret"),
                headlessService: mark("headlessService"),
                service: mark("service"),
                statefulSet: mark("statefulSet"),
                dataSize: mark("dataSize"),
                podDisruptionBudget: mark("podDisruptionBudget"),
                networkPolicy: mark("networkPolicy"),
                serviceMonitor: mark("serviceMonitor"),
            },
        });
        expect(seen).toEqual([
            "namespace",
            "secret",
            "configMap",
            "tlsSecret",
            "headlessService",
            "service",
            "statefulSet",
            "dataSize",
            "podDisruptionBudget",
            "networkPolicy",
            "serviceMonitor",
        ]);
        const byChild: Record<string, string> = {
            namespace: "redis-namespace",
            secret: "redis-auth",
            configMap: "redis-config",
            tlsSecret: "redis-tls",
            headlessService: "redis-headless",
            service: "redis-service",
            statefulSet: "redis-statefulset",
            dataSize: "redis-data-size",
            podDisruptionBudget: "redis-pdb",
            networkPolicy: "redis-network-policy",
            serviceMonitor: "redis-service-monitor",
        };
        for (const [child, name] of Object.entries(byChild)) {
            expect(named(b, name).inputs.metadata.annotations, child).toEqual({ "example.com/transformed": child });
        }
        // The options stay the component's: a transform changes args, not protection.
        expect(statefulSet(b).opts).toMatchObject({ protect: true, ignoreChanges: ["spec.volumeClaimTemplates"] });
        // The Secret's stringData stays secret through a transform that spreads it.
        expect(secretInput(named(b, "redis-auth").inputs.stringData).password).toBe(PASSWORD);
    });

    it("a transform may change the spec in place: the exporter's memory", async () => {
        const b = await build({
            metrics: true,
            transform: {
                statefulSet: (a) => {
                    const spec = a.spec as { template: { spec: { containers: { resources: unknown }[] } } };
                    spec.template.spec.containers[1]!.resources = { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "128Mi" } };
                    return a;
                },
            },
        });
        expect(statefulSet(b).inputs.spec.template.spec.containers[1].resources).toEqual({
            requests: { cpu: "20m", memory: "64Mi" },
            limits: { memory: "128Mi" },
        });
    });
});

describe("outputs", () => {
    it("every public output is registered, the password secret", async () => {
        const { run: b, outputs } = await registeredOutputs(() => build());
        expect(Object.keys(outputs).sort()).toEqual(["details", "endpoint"]);
        expect(await pulumi.isSecret(outputs.endpoint.password)).toBe(true);
        expect(await promiseOf(outputs.details)).toEqual(await promiseOf(b.component.details));
    });

    it("details: the namespace, the set, the client Service, the Secret and maxmemory (typed KubernetesDetails)", async () => {
        expect(await promiseOf((await build()).component.details)).toEqual({
            service: "kubernetes",
            namespace: "mspbyte-redis",
            statefulSet: "mspbyte-redis",
            clientService: "mspbyte-redis",
            secretName: "mspbyte-redis-auth",
            maxmemory: "614mb",
        });
    });
});
