import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type CertificateTransforms, type ProvidedCertificates, type ServerCertificates, serverCertificates } from "../../certificates";
import type { RedisEndpoint } from "../../endpoint";
import { parseQuantity } from "../../memory";
import { serverResourceOptions } from "../../protection";
import { persistenceOf } from "../../persistence";
import { type RedisConf, applyOverrides, renderRedisConf } from "../../redisConf";
import { metricsNamespacesProblem, networkPolicySourcesProblem } from "../../rules";
import { KUBERNETES_DEFAULTS } from "./config";
import * as m from "./manifests";

export interface KubernetesRedisArgs {
    /** The repository's redis.conf, parsed once by the program; rendered into the ConfigMap. */
    readonly redisConf: RedisConf;
    readonly password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation: the old password, accepted beside `password` (the
     * Secret's auth.conf). Restart: setting or removing it rolls the pod (the checksum changes);
     * the PVC stays, connections drop once and reconnect.
     */
    readonly previousPassword?: pulumi.Input<string>;
    /** Refuse to delete the StatefulSet. The data volume is kept either way (retention policy). */
    readonly protect: boolean;
    /**
     * The namespace every object lives in.
     * @default "mspbyte-redis"
     * Danger: changing it moves every object, the StatefulSet with them: the new set starts on a
     * new, empty PVC (the old one stays in the old namespace).
     */
    readonly namespace?: string;
    /**
     * Create the namespace (kept in the cluster on destroy: deleting a Namespace deletes its
     * PVCs). false: it exists already and is not managed here.
     * @default true
     */
    readonly createNamespace?: boolean;
    /**
     * The server's image, pinned by tag or digest. Restart: a new one rolls the pod; the PVC stays.
     * @default "redis:7.4.11-bookworm" (KUBERNETES_DEFAULTS.image)
     */
    readonly image?: string;
    /**
     * The data PVC's storage class (fixed when the claim is made).
     * @default the cluster's default storage class
     */
    readonly storageClass?: string;
    /**
     * The data PVC's size. Growing it patches the existing PVC in place (its storage class must
     * allow expansion); the StatefulSet and the pod stay.
     * @default "10Gi"
     * Danger: a PVC cannot shrink.
     */
    readonly storageSize?: string;
    /**
     * The server container's memory limit (and request), a Kubernetes quantity; maxmemory is
     * sized from it. Restart: a change rolls the pod.
     * @default "1Gi"
     */
    readonly memoryLimit?: string;
    /** The server container's CPU request. @default "250m" */
    readonly cpuRequest?: string;
    /**
     * Pods that may connect, by label, in the Redis namespace or the allowed ones. This or
     * `allowedNamespaces` must admit someone: a NetworkPolicy rule with no source admits every pod.
     * @default {} (none)
     */
    readonly allowedPodLabels?: Readonly<Record<string, string>>;
    /** Namespaces whose pods (matching allowedPodLabels, or any when it is empty) may connect. @default [] */
    readonly allowedNamespaces?: readonly string[];
    /** A redis_exporter sidecar on port 9121. Restart: turning it on or off rolls the pod. @default false */
    readonly metrics?: boolean;
    /** Namespaces that may scrape the exporter; never empty with `metrics`. @default ["monitoring"] */
    readonly metricsNamespaces?: readonly string[];
    /** The exporter's image, v1.83.0 or later. @default "oliver006/redis_exporter:v1.88.0" */
    readonly exporterImage?: string;
    /** A prometheus-operator ServiceMonitor for the exporter; the cluster must have its CRD. @default false */
    readonly serviceMonitor?: boolean;
    /** TLS between the pipeline's pods and Redis, with a certificate generated for the Services' names. @default false */
    readonly tls?: boolean;
    /** The stack's own certificate instead of a generated one (with `tls`). */
    readonly certificates?: ProvidedCertificates;
    /** true: voluntary evictions (node drains) wait for an operator; false: the pod moves, its data with it. @default false */
    readonly blockVoluntaryEviction?: boolean;
    /** The Services' and the server's port. @default 6379 */
    readonly port?: number;
    /**
     * Overrides the maxmemory sized from the memory limit.
     * @default 60% of `memoryLimit`
     */
    readonly maxmemory?: string;
    /**
     * Last word on each child's arguments: a function given the arguments the component built,
     * returning the ones to use. The TLS certificates, when generated, come from the shared
     * helper (src/certificates.ts) and have no entry.
     */
    readonly transform?: {
        readonly namespace?: (args: k8s.core.v1.NamespaceArgs) => k8s.core.v1.NamespaceArgs;
        readonly secret?: (args: k8s.core.v1.SecretArgs) => k8s.core.v1.SecretArgs;
        readonly configMap?: (args: k8s.core.v1.ConfigMapArgs) => k8s.core.v1.ConfigMapArgs;
        readonly tlsSecret?: (args: k8s.core.v1.SecretArgs) => k8s.core.v1.SecretArgs;
        readonly headlessService?: (args: k8s.core.v1.ServiceArgs) => k8s.core.v1.ServiceArgs;
        readonly service?: (args: k8s.core.v1.ServiceArgs) => k8s.core.v1.ServiceArgs;
        readonly statefulSet?: (args: k8s.apps.v1.StatefulSetArgs) => k8s.apps.v1.StatefulSetArgs;
        readonly dataSize?: (args: k8s.core.v1.PersistentVolumeClaimPatchArgs) => k8s.core.v1.PersistentVolumeClaimPatchArgs;
        readonly podDisruptionBudget?: (args: k8s.policy.v1.PodDisruptionBudgetArgs) => k8s.policy.v1.PodDisruptionBudgetArgs;
        readonly networkPolicy?: (args: k8s.networking.v1.NetworkPolicyArgs) => k8s.networking.v1.NetworkPolicyArgs;
        readonly serviceMonitor?: (args: k8s.apiextensions.CustomResourceArgs) => k8s.apiextensions.CustomResourceArgs;
        /** The generated CA and certificate's children, when `tls` without the stack's own certificate. */
        readonly certificates?: CertificateTransforms;
    };
}

/** The args with every default applied, and the maxmemory the server runs with. */
export interface KubernetesResolved extends m.KubernetesSettings {
    readonly maxmemory: string;
}

/**
 * Applies the defaults (KUBERNETES_DEFAULTS) and refuses what would open the server to every
 * pod or cannot be sized, as the stack config does.
 */
export function kubernetesSettings(args: KubernetesRedisArgs): KubernetesResolved {
    const d = KUBERNETES_DEFAULTS;
    const s: m.KubernetesSettings = {
        namespace: args.namespace ?? d.namespace,
        createNamespace: args.createNamespace ?? d.createNamespace,
        image: args.image ?? d.image,
        ...(args.storageClass !== undefined ? { storageClass: args.storageClass } : {}),
        storageSize: args.storageSize ?? d.storageSize,
        memoryLimit: args.memoryLimit ?? d.memoryLimit,
        cpuRequest: args.cpuRequest ?? d.cpuRequest,
        allowedPodLabels: args.allowedPodLabels ?? d.allowedPodLabels,
        allowedNamespaces: args.allowedNamespaces ?? d.allowedNamespaces,
        metrics: args.metrics ?? d.metrics,
        metricsNamespaces: args.metricsNamespaces ?? d.metricsNamespaces,
        exporterImage: args.exporterImage ?? d.exporterImage,
        serviceMonitor: args.serviceMonitor ?? d.serviceMonitor,
        tls: args.tls ?? d.tls,
        blockVoluntaryEviction: args.blockVoluntaryEviction ?? d.blockVoluntaryEviction,
        port: args.port ?? d.port,
    };
    // The stack config's rules (rules.ts), for args given directly.
    const problem =
        networkPolicySourcesProblem(s.allowedPodLabels, s.allowedNamespaces, "args") ??
        metricsNamespacesProblem(s.metrics, s.metricsNamespaces, "args");
    if (problem) throw new Error(problem);
    if (parseQuantity(s.memoryLimit) === undefined) {
        throw new Error(`kubernetes: memoryLimit must be a Kubernetes quantity, such as 1Gi; got ${JSON.stringify(s.memoryLimit)}`);
    }
    return { ...s, maxmemory: args.maxmemory ?? m.kubernetesMaxmemory(s) };
}

/** The kubernetes target's `details` output. */
export interface KubernetesDetails {
    service: "kubernetes";
    namespace: string;
    statefulSet: string;
    clientService: string;
    secretName: string;
    maxmemory: string;
    /** The generated (or the stack's own) CA, with TLS on. */
    caCertPem?: string;
}

/** The argument as the transform leaves it (a transform may also edit in place and return nothing). */
function transformed<A>(transform: ((args: A) => A) | undefined, args: A): A {
    return transform?.(args) ?? args;
}

/**
 * Redis as a StatefulSet of one, its data on a PersistentVolumeClaim kept when the set is
 * deleted or scaled down; locked-down pods, probes that know LOADING from dead, a
 * NetworkPolicy that admits the pipeline only.
 */
export class KubernetesRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<KubernetesDetails>;

    constructor(name: string, args: KubernetesRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        // Args checked before anything registers.
        const s = kubernetesSettings(args);
        super("mspbyte:redis:Kubernetes", name, {}, opts);
        // The root file with the pod's overrides, once: rendered into the ConfigMap and read for persistence.
        const serverConf = applyOverrides(args.redisConf, m.kubernetesConfOverrides(s, s.maxmemory));
        const redisConf = renderRedisConf(serverConf);
        const namespace = this.createNamespace(name, s, args);
        const after = { parent: this, dependsOn: namespace ? [namespace] : [] };
        const secret = this.createSecret(name, s, args, after);
        const configMap = this.createConfigMap(name, s, args, redisConf, after);
        const certs = s.tls
            ? serverCertificates(name, m.serviceDnsNames(s), this, [], args.certificates, args.transform?.certificates)
            : undefined;
        const tlsSecret = certs ? this.createTlsSecret(name, s, args, certs, after) : undefined;
        this.createHeadlessService(name, s, args, after);
        const service = this.createClientService(name, s, args, after);
        const statefulSet = this.createStatefulSet(name, s, args, redisConf, certs, {
            ...after,
            dependsOn: [...after.dependsOn, secret, configMap, ...(tlsSecret ? [tlsSecret] : [])],
        });
        this.createDataSizePatch(name, s, args, { ...after, dependsOn: [statefulSet] });
        this.createPodDisruptionBudget(name, s, args, after);
        this.createNetworkPolicy(name, s, args, after);
        if (s.serviceMonitor) this.createServiceMonitor(name, s, args, after);

        this.endpoint = {
            host: `${m.NAME}.${s.namespace}.svc.cluster.local`,
            port: s.port,
            // Without TLS, traffic stays inside the cluster network, limited by the NetworkPolicy.
            tls: s.tls,
            username: "default",
            password: args.password,
            persistence: persistenceOf(serverConf),
        };
        this.details = pulumi.output({
            service: "kubernetes" as const,
            namespace: s.namespace,
            statefulSet: statefulSet.metadata.name,
            clientService: service.metadata.name,
            secretName: secret.metadata.name,
            maxmemory: s.maxmemory,
            ...(certs ? { caCertPem: certs.caPem } : {}),
        });
        this.registerOutputs({ endpoint: { ...this.endpoint, password: pulumi.secret(args.password) }, details: this.details });
    }

    /**
     * Deleting a Namespace deletes every PVC in it, whatever the StatefulSet's retention policy
     * says: the program never deletes the one it creates (destroy, createNamespace false or a new
     * name leave it in the cluster, out of the stack).
     */
    private createNamespace(name: string, s: m.KubernetesSettings, args: KubernetesRedisArgs): k8s.core.v1.Namespace | undefined {
        if (!s.createNamespace) return undefined;
        return new k8s.core.v1.Namespace(`${name}-namespace`, transformed(args.transform?.namespace, m.namespaceManifest(s)), {
            parent: this,
            retainOnDelete: true,
        });
    }

    /** The password (for the probes and the exporter) and auth.conf (for the server), secret. */
    private createSecret(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.Secret {
        const base = m.secretManifest(s, "");
        return new k8s.core.v1.Secret(
            `${name}-auth`,
            transformed(args.transform?.secret, {
                metadata: base.metadata,
                type: base.type,
                stringData: pulumi.secret(
                    pulumi
                        .all([args.password, args.previousPassword])
                        .apply(([pw, previous]) => m.secretManifest(s, pw, previous).stringData),
                ),
            }),
            opts,
        );
    }

    private createConfigMap(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        redisConf: string,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.ConfigMap {
        return new k8s.core.v1.ConfigMap(`${name}-config`, transformed(args.transform?.configMap, m.configMapManifest(s, redisConf)), opts);
    }

    private createTlsSecret(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        certs: ServerCertificates,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.Secret {
        const base = m.tlsSecretManifest(s, { cert: "", key: "", ca: "" });
        return new k8s.core.v1.Secret(
            `${name}-tls`,
            transformed(args.transform?.tlsSecret, {
                metadata: base.metadata,
                type: base.type,
                stringData: pulumi.secret(
                    pulumi
                        .all([certs.certPem, certs.keyPem, certs.caPem])
                        .apply(([cert, key, ca]) => m.tlsSecretManifest(s, { cert, key, ca }).stringData),
                ),
            }),
            opts,
        );
    }

    private createHeadlessService(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.Service {
        return new k8s.core.v1.Service(
            `${name}-headless`,
            transformed(args.transform?.headlessService, m.headlessServiceManifest(s)),
            opts,
        );
    }

    private createClientService(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.Service {
        return new k8s.core.v1.Service(`${name}-service`, transformed(args.transform?.service, m.clientServiceManifest(s)), opts);
    }

    private createStatefulSet(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        redisConf: string,
        certs: ServerCertificates | undefined,
        opts: pulumi.CustomResourceOptions,
    ): k8s.apps.v1.StatefulSet {
        const tlsPem = certs ? pulumi.all([certs.certPem, certs.keyPem, certs.caPem]).apply((p) => p.join("\n")) : "";
        // A digest, not a secret: shown in previews so that a rolling pod has a visible reason.
        const checksum = pulumi.unsecret(
            pulumi
                .all([args.password, tlsPem, args.previousPassword])
                .apply(([pw, pem, previous]) => m.podChecksum(redisConf, pw, pem, previous)),
        );
        return new k8s.apps.v1.StatefulSet(
            `${name}-statefulset`,
            transformed(args.transform?.statefulSet, m.statefulSetManifest(s, checksum)),
            serverResourceOptions(args.protect, {
                ...opts,
                // The claim template is immutable: a new storageSize would replace the set. The
                // size is applied to the PVC itself by the patch (createDataSizePatch).
                ignoreChanges: ["spec.volumeClaimTemplates"],
                customTimeouts: { create: `${m.PULUMI_AWAIT_MINUTES}m`, update: `${m.PULUMI_AWAIT_MINUTES}m` },
            }),
        );
    }

    /** Kept on delete: the patch only ever grows the PVC the set made. */
    private createDataSizePatch(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.core.v1.PersistentVolumeClaimPatch {
        return new k8s.core.v1.PersistentVolumeClaimPatch(
            `${name}-data-size`,
            transformed(args.transform?.dataSize, m.dataPvcPatchManifest(s)),
            { ...opts, retainOnDelete: true },
        );
    }

    private createPodDisruptionBudget(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.policy.v1.PodDisruptionBudget {
        return new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            transformed(args.transform?.podDisruptionBudget, m.podDisruptionBudgetManifest(s)),
            opts,
        );
    }

    private createNetworkPolicy(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.networking.v1.NetworkPolicy {
        return new k8s.networking.v1.NetworkPolicy(
            `${name}-network-policy`,
            transformed(args.transform?.networkPolicy, m.networkPolicyManifest(s)),
            opts,
        );
    }

    private createServiceMonitor(
        name: string,
        s: m.KubernetesSettings,
        args: KubernetesRedisArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.apiextensions.CustomResource {
        return new k8s.apiextensions.CustomResource(
            `${name}-service-monitor`,
            transformed(args.transform?.serviceMonitor, m.serviceMonitorManifest(s)),
            opts,
        );
    }
}
