/**
 * The `kubernetes` block of a stack file: its schema and the defaults the schema applies.
 * Imports only zod and the rule modules, so the config check loads without the Pulumi SDK.
 */
import { z } from "zod";
import { bool, pinnedImage, port, strict } from "../../config/zod";
import { parseQuantity, QUANTITY } from "../../memory";
import { isPinnedImage, metricsNamespacesProblem, networkPolicySourcesProblem } from "../../rules";
import { DEFAULT_REDIS_IMAGE } from "../docker/config";

/** Kubernetes quantities (src/memory.ts, which reads them). */
export { QUANTITY };
const K8S_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
/**
 * redis_exporter v1.83.0 added --disable-scrape-endpoint (REDIS_EXPORTER_DISABLE_SCRAPE_ENDPOINT;
 * oliver006/redis_exporter d58dc609, main.go and exporter/exporter.go): without it `/scrape?target=`
 * sends the configured password to any host a caller names. v1.88.0 (16db88a0) has it, and
 * --tls-server-name, which the sidecar uses.
 */
export const DEFAULT_EXPORTER_IMAGE = "oliver006/redis_exporter:v1.88.0";

/** Every default the `kubernetes` block applies; the component applies the same ones to its args. */
export const KUBERNETES_DEFAULTS = {
    namespace: "mspbyte-redis",
    createNamespace: true,
    image: DEFAULT_REDIS_IMAGE,
    storageSize: "10Gi",
    memoryLimit: "1Gi",
    cpuRequest: "250m",
    allowedPodLabels: {},
    allowedNamespaces: [],
    metrics: false,
    metricsNamespaces: ["monitoring"],
    exporterImage: DEFAULT_EXPORTER_IMAGE,
    serviceMonitor: false,
    tls: false,
    blockVoluntaryEviction: false,
    port: 6379,
} as const;

export const kubernetesSchema = strict(
    {
        namespace: z
            .string({ error: "a namespace name: lowercase letters, digits and -" })
            .regex(K8S_NAME)
            .default(KUBERNETES_DEFAULTS.namespace),
        /** false: the namespace exists already and is not managed here. */
        createNamespace: bool().default(KUBERNETES_DEFAULTS.createNamespace),
        image: pinnedImage(DEFAULT_REDIS_IMAGE).default(KUBERNETES_DEFAULTS.image),
        /** @default the cluster's default storage class */
        storageClass: z.string({ error: "a storage class name" }).regex(K8S_NAME).optional(),
        /**
         * The data PVC's size. Growing it patches the existing PVC in place (its storage class must
         * allow expansion); the StatefulSet and the pod stay. Danger: a PVC cannot shrink.
         */
        storageSize: z.string({ error: "a Kubernetes quantity, such as 10Gi" }).regex(QUANTITY).default(KUBERNETES_DEFAULTS.storageSize),
        /** The container's memory limit (and request); maxmemory is sized from it. */
        memoryLimit: z
            .string({ error: "a Kubernetes quantity of at least 64Mi, such as 1Gi" })
            .regex(QUANTITY)
            .default(KUBERNETES_DEFAULTS.memoryLimit),
        cpuRequest: z
            .string({ error: "a Kubernetes CPU quantity, such as 250m" })
            .regex(/^\d+(\.\d+)?m?$/)
            .default(KUBERNETES_DEFAULTS.cpuRequest),
        /** Pods that may connect, by label, in the Redis namespace or the allowed ones. */
        allowedPodLabels: z
            .record(z.string(), z.string().regex(LABEL_VALUE), { error: "a map of label to value, such as { app: pipeline-worker }" })
            .default(() => ({ ...KUBERNETES_DEFAULTS.allowedPodLabels })),
        /** Namespaces whose pods (matching allowedPodLabels, or any when it is empty) may connect. */
        allowedNamespaces: z
            .array(z.string().regex(K8S_NAME), { error: "a list of namespace names" })
            .default(() => [...KUBERNETES_DEFAULTS.allowedNamespaces]),
        /** A redis_exporter sidecar on port 9121. */
        metrics: bool().default(KUBERNETES_DEFAULTS.metrics),
        metricsNamespaces: z
            .array(z.string().regex(K8S_NAME), { error: "a list of namespace names" })
            .default(() => [...KUBERNETES_DEFAULTS.metricsNamespaces]),
        /** Pinned as the policy pack's redis-pinned-images wants it (rules.ts). */
        exporterImage: z
            .string({ error: "an image pinned by tag or digest" })
            .refine(isPinnedImage)
            .default(KUBERNETES_DEFAULTS.exporterImage),
        /** A prometheus-operator ServiceMonitor; the cluster must have its CRD. */
        serviceMonitor: bool().default(KUBERNETES_DEFAULTS.serviceMonitor),
        /** TLS between the pipeline's pods and Redis, with a certificate generated for the Services' names. */
        tls: bool().default(KUBERNETES_DEFAULTS.tls),
        /** true: voluntary evictions (node drains) wait for an operator; false: the pod moves, its data with it. */
        blockVoluntaryEviction: bool().default(KUBERNETES_DEFAULTS.blockVoluntaryEviction),
        port: port().default(KUBERNETES_DEFAULTS.port),
    },
    { missing: "an object with at least allowedPodLabels or allowedNamespaces, for target kubernetes" },
).superRefine((k, ctx) => {
    const issue = (path: string, input: unknown, message: string) => ctx.addIssue({ code: "custom", path: [path], input, message });
    // The NetworkPolicy's and the exporter's sources: rules.ts, the component's rules too.
    const sourcesProblem = networkPolicySourcesProblem(k.allowedPodLabels, k.allowedNamespaces, "config");
    if (sourcesProblem) issue("allowedPodLabels", k.allowedPodLabels, sourcesProblem);
    if ((parseQuantity(k.memoryLimit) ?? 0) < 64 * 1024 * 1024)
        issue("memoryLimit", k.memoryLimit, "a Kubernetes quantity of at least 64Mi, such as 1Gi");
    if (k.serviceMonitor && !k.metrics)
        issue("serviceMonitor", true, "false unless kubernetes.metrics is true (the ServiceMonitor scrapes the exporter)");
    const metricsProblem = metricsNamespacesProblem(k.metrics, k.metricsNamespaces, "config");
    if (metricsProblem) issue("metricsNamespaces", k.metricsNamespaces, metricsProblem);
    // The sidecar runs with --disable-scrape-endpoint: an older exporter refuses the flag and the
    // pod never becomes ready. A tag that is not a version (or a digest alone) cannot be judged.
    const exporterVersion = /:v?(\d+)\.(\d+)\.(\d+)(?:@|$)/.exec(k.exporterImage);
    if (k.metrics && exporterVersion && Number(exporterVersion[1]) * 1000 + Number(exporterVersion[2]) < 1083) {
        issue(
            "exporterImage",
            k.exporterImage,
            "redis_exporter v1.83.0 or later (the sidecar disables /scrape with --disable-scrape-endpoint, which earlier versions lack)",
        );
    }
});

export type KubernetesConfig = z.output<typeof kubernetesSchema>;
