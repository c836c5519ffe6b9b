import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ProvidedCertificates, ServerCertificates, serverCertificates } from "../../certificates";
import { KubernetesConfig } from "../../config";
import { RedisEndpoint } from "../../endpoint";
import { serverResourceOptions } from "../../protection";
import { renderForTarget, persistenceForTarget } from "../../redisConf";
import * as m from "./manifests";

export interface KubernetesRedisArgs {
    /** Everything from the stack's `kubernetes` block. */
    config: KubernetesConfig;
    password: pulumi.Input<string>;
    /**
     * Phase one of a password rotation: the old password, accepted beside `password` (the
     * Secret's auth.conf). Restart: setting or removing it rolls the pod (the checksum changes);
     * the PVC stays, connections drop once and reconnect.
     */
    previousPassword?: pulumi.Input<string>;
    /** Overrides the maxmemory sized from the memory limit. */
    maxmemory?: string;
    /** Refuse to delete the StatefulSet. The data volume is kept either way (retention policy). */
    protect: boolean;
    /** The stack's own certificate instead of a generated one. */
    certificates?: ProvidedCertificates;
}

/**
 * Redis as a StatefulSet of one, its data on a PersistentVolumeClaim kept when the set is
 * deleted or scaled down; locked-down pods, probes that know LOADING from dead, a
 * NetworkPolicy that admits the pipeline only.
 */
export class KubernetesRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<object>;

    constructor(name: string, args: KubernetesRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:Kubernetes", name, {}, opts);
        const k = args.config;
        const maxmemory = args.maxmemory ?? m.kubernetesMaxmemory(k);
        const redisConf = renderForTarget(m.kubernetesConfOverrides(k, maxmemory));
        // Deleting a Namespace deletes every PVC in it, whatever the StatefulSet's retention
        // policy says: the program never deletes the one it creates (destroy, createNamespace
        // false or a new name leave it in the cluster, out of the stack).
        const namespace = k.createNamespace
            ? new k8s.core.v1.Namespace(`${name}-namespace`, m.namespaceManifest(k), { parent: this, retainOnDelete: true })
            : undefined;
        const after = { parent: this, dependsOn: namespace ? [namespace] : [] };
        const secretBase = m.secretManifest(k, "");
        const secret = new k8s.core.v1.Secret(`${name}-auth`, {
            metadata: secretBase.metadata,
            type: secretBase.type,
            stringData: pulumi.secret(pulumi.all([args.password, args.previousPassword]).apply(([pw, previous]) => m.secretManifest(k, pw, previous).stringData)),
        }, after);
        const configMap = new k8s.core.v1.ConfigMap(`${name}-config`, m.configMapManifest(k, redisConf), after);
        const certs = k.tls ? serverCertificates(name, m.serviceDnsNames(k), this, [], args.certificates) : undefined;
        const tlsSecret = certs ? this.createTlsSecret(name, k, certs, after) : undefined;
        new k8s.core.v1.Service(`${name}-headless`, m.headlessServiceManifest(k), after);
        const service = new k8s.core.v1.Service(`${name}-service`, m.clientServiceManifest(k), after);
        const tlsPem = certs ? pulumi.all([certs.certPem, certs.keyPem, certs.caPem]).apply((p) => p.join("\n")) : "";
        // A digest, not a secret: shown in previews so that a rolling pod has a visible reason.
        const checksum = pulumi.unsecret(pulumi.all([args.password, tlsPem, args.previousPassword]).apply(([pw, pem, previous]) => m.podChecksum(redisConf, pw, pem, previous)));
        const statefulSet = new k8s.apps.v1.StatefulSet(`${name}-statefulset`, m.statefulSetManifest(k, checksum),
            serverResourceOptions(args.protect, {
                ...after,
                dependsOn: [...after.dependsOn, secret, configMap, ...(tlsSecret ? [tlsSecret] : [])],
                // The claim template is immutable: a new storageSize would replace the set. The
                // size is applied to the PVC itself by the patch below.
                ignoreChanges: ["spec.volumeClaimTemplates"],
                customTimeouts: { create: `${m.PULUMI_AWAIT_MINUTES}m`, update: `${m.PULUMI_AWAIT_MINUTES}m` },
            }));
        // Kept on delete: the patch only ever grows the PVC the set made.
        new k8s.core.v1.PersistentVolumeClaimPatch(`${name}-data-size`, m.dataPvcPatchManifest(k), { ...after, dependsOn: [statefulSet], retainOnDelete: true });
        new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, m.podDisruptionBudgetManifest(k), after);
        new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, m.networkPolicyManifest(k), after);
        if (k.serviceMonitor) {
            new k8s.apiextensions.CustomResource(`${name}-service-monitor`, m.serviceMonitorManifest(k), after);
        }

        this.endpoint = {
            host: `${m.NAME}.${k.namespace}.svc.cluster.local`,
            port: k.port,
            // Without TLS, traffic stays inside the cluster network, limited by the NetworkPolicy.
            tls: k.tls,
            username: "default",
            password: args.password,
            persistence: persistenceForTarget(m.kubernetesConfOverrides(k, maxmemory)),
        };
        this.details = pulumi.output({
            service: "kubernetes",
            namespace: k.namespace,
            statefulSet: statefulSet.metadata.name,
            clientService: service.metadata.name,
            secretName: secret.metadata.name,
            maxmemory,
            ...(certs ? { caCertPem: certs.caPem } : {}),
        });
        this.registerOutputs({ details: this.details });
    }

    private createTlsSecret(name: string, k: KubernetesConfig, certs: ServerCertificates, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret {
        const base = m.tlsSecretManifest(k, { cert: "", key: "", ca: "" });
        return new k8s.core.v1.Secret(`${name}-tls`, {
            metadata: base.metadata,
            type: base.type,
            stringData: pulumi.secret(pulumi.all([certs.certPem, certs.keyPem, certs.caPem])
                .apply(([cert, key, ca]) => m.tlsSecretManifest(k, { cert, key, ca }).stringData)),
        }, opts);
    }
}
