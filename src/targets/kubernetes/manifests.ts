/**
 * The Kubernetes objects of the kubernetes target, as plain manifests: the component creates
 * them as they are, and the tests validate these same objects against Kubernetes' OpenAPI
 * schemas. Pure functions of the settings (the args with their defaults applied).
 */
import { createHash } from "node:crypto";
import { formatMemorySize, maxmemoryFor, parseQuantity } from "../../memory";
import type { ConfOverrides } from "../../redisConf";
import { aclUserLine } from "../../rotation";

export const NAME = "mspbyte-redis";
export const DATA_DIR = "/data";
export const CONF_DIR = "/etc/redis";
export const SECRET_DIR = "/etc/redis-secret";
export const TLS_DIR = "/etc/redis-tls";
export const EXPORTER_PORT = 9121;
/** The `redis` user and group of the official image. */
export const REDIS_UID = 999;
/** Seconds Kubernetes waits after SIGTERM: Redis fsyncs the AOF and writes a final snapshot. */
export const TERMINATION_GRACE_SECONDS = 120;
/** The startup probe allows this long for loading a large AOF before liveness takes over. */
export const STARTUP_SECONDS = 600;
/**
 * How long `pulumi up` waits for the StatefulSet to become ready. Pulumi's default is 10 minutes,
 * no longer than the startup window alone; an update also waits for the old pod to stop (the
 * termination grace), the volume to move and the image to be pulled.
 */
export const PULUMI_AWAIT_MINUTES = 20;
/**
 * The server starts under umask 0077, so the AOF and RDB files are 0600 as with the official
 * image's entrypoint (which `command` bypasses in a pod).
 */
export const SERVER_UMASK = "0077";
/** The PVC the StatefulSet's claim template makes for its one pod. */
export const DATA_PVC = `data-${NAME}-0`;

export const LABELS = {
    "app.kubernetes.io/name": "redis",
    "app.kubernetes.io/instance": NAME,
    "app.kubernetes.io/part-of": "mspbyte-pipeline",
    "app.kubernetes.io/managed-by": "pulumi",
};
export const SELECTOR = { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": NAME };

/**
 * What the manifests are built from: the component's args with every default applied
 * (kubernetes.ts, `kubernetesSettings`). A parsed `kubernetes` config block has this shape too.
 */
export interface KubernetesSettings {
    readonly namespace: string;
    readonly createNamespace: boolean;
    readonly image: string;
    readonly storageClass?: string;
    readonly storageSize: string;
    readonly memoryLimit: string;
    readonly cpuRequest: string;
    readonly allowedPodLabels: Readonly<Record<string, string>>;
    readonly allowedNamespaces: readonly string[];
    readonly metrics: boolean;
    readonly metricsNamespaces: readonly string[];
    readonly exporterImage: string;
    readonly serviceMonitor: boolean;
    readonly tls: boolean;
    readonly blockVoluntaryEviction: boolean;
    readonly port: number;
}

/** redis-cli's connection arguments inside the pod: TLS verified against the generated CA when on. */
function cli(port: number, tls: boolean, tlsDir: string): string {
    return `redis-cli -p ${port}${tls ? ` --tls --cacert ${tlsDir}/ca.crt` : ""}`;
}

/**
 * Readiness: an authenticated PONG, nothing else (NOAUTH, LOADING and errors are not ready).
 * The password comes from REDISCLI_AUTH in the container's environment.
 */
export function readinessCommand(port: number, tls = false, tlsDir: string = TLS_DIR): string[] {
    return ["sh", "-c", `${cli(port, tls, tlsDir)} ping | grep -qx PONG`];
}

/** Liveness: the server answers, PONG or LOADING (a large AOF being read is alive, not dead). */
export function livenessCommand(port: number, tls = false, tlsDir: string = TLS_DIR): string[] {
    return ["sh", "-c", `r="$(${cli(port, tls, tlsDir)} ping 2>&1)"; case "$r" in PONG|LOADING*) exit 0;; *) echo "$r"; exit 1;; esac`];
}

/** maxmemory for the container's memory limit (60%: see memory.ts for why). */
export function kubernetesMaxmemory(k: KubernetesSettings): string {
    return formatMemorySize(maxmemoryFor(parseQuantity(k.memoryLimit)!));
}

/** redis.conf overrides: the password arrives in a file from the Secret, included last. */
export function kubernetesConfOverrides(
    k: KubernetesSettings,
    maxmemory: string,
    secretDir: string = SECRET_DIR,
    tlsDir: string = TLS_DIR,
): ConfOverrides {
    return {
        port: k.port,
        ...(k.tls ? { tls: { certFile: `${tlsDir}/tls.crt`, keyFile: `${tlsDir}/tls.key`, caFile: `${tlsDir}/ca.crt` } } : {}),
        bind: ["*", "-::*"],
        dir: DATA_DIR,
        maxmemory,
        extra: { include: `${secretDir}/auth.conf` },
    };
}

/**
 * The pod template's checksum: a digest of everything the server reads at start from the
 * ConfigMap and the Secrets. A change rolls the pod; the digest reveals none of the values.
 */
export function podChecksum(redisConf: string, password: string, tlsPem = "", previousPassword?: string): string {
    const h = createHash("sha256");
    for (const part of ["mspbyte-redis pod checksum v1", redisConf, authConf(password, previousPassword), tlsPem])
        h.update(part).update("\0");
    return h.digest("hex").slice(0, 16);
}

/**
 * The Secret's `auth.conf`: the password as redis.conf reads it; in phase one of a rotation the
 * default user's ACL line with both passwords instead (src/rotation.ts).
 */
export function authConf(password: string, previousPassword?: string): string {
    if (previousPassword !== undefined) return `${aclUserLine([password, previousPassword])}\n`;
    return `requirepass "${password.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"\n`;
}

const meta = (k: KubernetesSettings, name: string, extra: Record<string, unknown> = {}) => ({
    name,
    namespace: k.namespace,
    labels: LABELS,
    ...extra,
});

export function namespaceManifest(k: KubernetesSettings) {
    return {
        apiVersion: "v1" as const,
        kind: "Namespace" as const,
        metadata: { name: k.namespace, labels: { "app.kubernetes.io/part-of": "mspbyte-pipeline" } },
    };
}

/** `password` (the new one in a rotation) is what the probes and the exporter use. */
export function secretManifest(k: KubernetesSettings, password: string, previousPassword?: string) {
    return {
        apiVersion: "v1" as const,
        kind: "Secret" as const,
        metadata: meta(k, `${NAME}-auth`),
        type: "Opaque",
        stringData: { password, "auth.conf": authConf(password, previousPassword) },
    };
}

/** The server's certificate, key and CA, as a kubernetes.io/tls Secret. */
export function tlsSecretManifest(k: KubernetesSettings, pem: { cert: string; key: string; ca: string }) {
    return {
        apiVersion: "v1" as const,
        kind: "Secret" as const,
        metadata: meta(k, `${NAME}-tls`),
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": pem.cert, "tls.key": pem.key, "ca.crt": pem.ca },
    };
}

/** The names the server's certificate must carry: every way a pod in the cluster reaches it. */
export function serviceDnsNames(k: KubernetesSettings): string[] {
    const svc = `${NAME}.${k.namespace}`;
    return [NAME, svc, `${svc}.svc`, `${svc}.svc.cluster.local`, `*.${NAME}-headless.${k.namespace}.svc.cluster.local`];
}

export function configMapManifest(k: KubernetesSettings, redisConf: string) {
    return {
        apiVersion: "v1" as const,
        kind: "ConfigMap" as const,
        metadata: meta(k, `${NAME}-config`),
        data: { "redis.conf": redisConf },
    };
}

export function headlessServiceManifest(k: KubernetesSettings) {
    return {
        apiVersion: "v1" as const,
        kind: "Service" as const,
        metadata: meta(k, `${NAME}-headless`),
        spec: {
            clusterIP: "None",
            publishNotReadyAddresses: true,
            selector: SELECTOR,
            ports: [{ name: "redis", port: k.port, targetPort: "redis" }],
        },
    };
}

export function clientServiceManifest(k: KubernetesSettings) {
    return {
        apiVersion: "v1" as const,
        kind: "Service" as const,
        metadata: meta(k, NAME),
        spec: {
            type: "ClusterIP",
            selector: SELECTOR,
            ports: [
                { name: "redis", port: k.port, targetPort: "redis" },
                ...(k.metrics ? [{ name: "metrics", port: EXPORTER_PORT, targetPort: "metrics" }] : []),
            ],
        },
    };
}

const containerSecurity = {
    runAsNonRoot: true,
    runAsUser: REDIS_UID,
    runAsGroup: REDIS_UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
};

/**
 * The server's command: umask first, then redis-server on the mounted config. The config path
 * arrives as $0 so the shell line holds no interpolated value.
 */
export function serverCommand(confPath: string = `${CONF_DIR}/redis.conf`): string[] {
    return ["sh", "-c", `umask ${SERVER_UMASK} && exec redis-server "$0"`, confPath];
}

/** The exporter's flags: /scrape?target= disabled (it would send the password to any host named). */
export const EXPORTER_ARGS = ["--disable-scrape-endpoint"];

/**
 * Grows the data PVC in place: the StatefulSet's claim template is immutable (changing it would
 * replace the set), so the size lives here and the template keeps its first value. Server-side
 * apply, forced over the StatefulSet controller's ownership of the field.
 */
export function dataPvcPatchManifest(k: KubernetesSettings) {
    return {
        apiVersion: "v1" as const,
        kind: "PersistentVolumeClaim" as const,
        metadata: { name: DATA_PVC, namespace: k.namespace, annotations: { "pulumi.com/patchForce": "true" } },
        spec: { resources: { requests: { storage: k.storageSize } } },
    };
}

/**
 * @param checksum changes whenever the pod must restart to pick up a change: redis.conf, the
 * password, the TLS material (a digest, never the values).
 */
export function statefulSetManifest<C = string>(k: KubernetesSettings, checksum: C) {
    const memory = k.memoryLimit;
    const authEnv = { name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: `${NAME}-auth`, key: "password" } } };
    const tlsMount = k.tls ? [{ name: "tls", mountPath: TLS_DIR, readOnly: true }] : [];
    const redis = {
        name: "redis",
        image: k.image,
        command: serverCommand(),
        ports: [{ name: "redis", containerPort: k.port }],
        env: [authEnv],
        resources: { requests: { cpu: k.cpuRequest, memory }, limits: { memory } },
        securityContext: containerSecurity,
        startupProbe: {
            exec: { command: readinessCommand(k.port, k.tls) },
            periodSeconds: 5,
            timeoutSeconds: 3,
            failureThreshold: STARTUP_SECONDS / 5,
        },
        readinessProbe: { exec: { command: readinessCommand(k.port, k.tls) }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
        livenessProbe: { exec: { command: livenessCommand(k.port, k.tls) }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
        volumeMounts: [
            { name: "data", mountPath: DATA_DIR },
            { name: "config", mountPath: CONF_DIR, readOnly: true },
            { name: "auth", mountPath: SECRET_DIR, readOnly: true },
            { name: "tmp", mountPath: "/tmp" },
            ...tlsMount,
        ],
    };
    const exporter = {
        name: "exporter",
        image: k.exporterImage,
        // A flag rather than its environment variable: an exporter too old to know it stops at
        // start instead of serving /scrape.
        args: EXPORTER_ARGS,
        ports: [{ name: "metrics", containerPort: EXPORTER_PORT }],
        env: [
            { name: "REDIS_ADDR", value: `${k.tls ? "rediss" : "redis"}://localhost:${k.port}` },
            { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: `${NAME}-auth`, key: "password" } } },
            ...(k.tls
                ? [
                      { name: "REDIS_EXPORTER_TLS_CA_CERT_FILE", value: `${TLS_DIR}/ca.crt` },
                      // Verify the certificate for the name clients use, which a stack's own certificate
                      // carries; it need not name localhost.
                      { name: "REDIS_EXPORTER_TLS_SERVER_NAME", value: `${NAME}.${k.namespace}.svc.cluster.local` },
                  ]
                : []),
        ],
        volumeMounts: tlsMount,
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
        securityContext: containerSecurity,
        readinessProbe: { httpGet: { path: "/health", port: "metrics" }, periodSeconds: 10 },
    };
    return {
        apiVersion: "apps/v1" as const,
        kind: "StatefulSet" as const,
        metadata: meta(k, NAME),
        spec: {
            serviceName: `${NAME}-headless`,
            replicas: 1,
            selector: { matchLabels: SELECTOR },
            // Deleting the set or scaling it down keeps the data volume.
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            updateStrategy: { type: "RollingUpdate" },
            template: {
                metadata: { labels: LABELS, annotations: { "mspbyte.io/config-hash": checksum } },
                spec: {
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
                    securityContext: {
                        runAsNonRoot: true,
                        runAsUser: REDIS_UID,
                        runAsGroup: REDIS_UID,
                        fsGroup: REDIS_UID,
                        fsGroupChangePolicy: "OnRootMismatch",
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    containers: k.metrics ? [redis, exporter] : [redis],
                    volumes: [
                        { name: "config", configMap: { name: `${NAME}-config` } },
                        {
                            name: "auth",
                            secret: { secretName: `${NAME}-auth`, defaultMode: 0o440, items: [{ key: "auth.conf", path: "auth.conf" }] },
                        },
                        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
                        ...(k.tls ? [{ name: "tls", secret: { secretName: `${NAME}-tls`, defaultMode: 0o440 } }] : []),
                    ],
                },
            },
            volumeClaimTemplates: [
                {
                    metadata: { name: "data", labels: LABELS },
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        ...(k.storageClass ? { storageClassName: k.storageClass } : {}),
                        resources: { requests: { storage: k.storageSize } },
                    },
                },
            ],
        },
    };
}

export function podDisruptionBudgetManifest(k: KubernetesSettings) {
    return {
        apiVersion: "policy/v1" as const,
        kind: "PodDisruptionBudget" as const,
        metadata: meta(k, NAME),
        spec: { selector: { matchLabels: SELECTOR }, ...(k.blockVoluntaryEviction ? { minAvailable: 1 } : { maxUnavailable: 1 }) },
    };
}

export function networkPolicyManifest(k: KubernetesSettings) {
    const pods = Object.keys(k.allowedPodLabels).length > 0 ? { podSelector: { matchLabels: k.allowedPodLabels } } : {};
    const from = [
        ...(Object.keys(k.allowedPodLabels).length > 0 ? [{ podSelector: { matchLabels: k.allowedPodLabels } }] : []),
        ...k.allowedNamespaces.map((ns) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } }, ...pods })),
    ];
    return {
        apiVersion: "networking.k8s.io/v1" as const,
        kind: "NetworkPolicy" as const,
        metadata: meta(k, NAME),
        spec: {
            podSelector: { matchLabels: SELECTOR },
            policyTypes: ["Ingress"],
            ingress: [
                { from, ports: [{ protocol: "TCP", port: k.port }] },
                ...(k.metrics
                    ? [
                          {
                              from: k.metricsNamespaces.map((ns) => ({
                                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
                              })),
                              ports: [{ protocol: "TCP", port: EXPORTER_PORT }],
                          },
                      ]
                    : []),
            ],
        },
    };
}

export function serviceMonitorManifest(k: KubernetesSettings) {
    return {
        apiVersion: "monitoring.coreos.com/v1" as const,
        kind: "ServiceMonitor" as const,
        metadata: meta(k, NAME),
        spec: { selector: { matchLabels: SELECTOR }, endpoints: [{ port: "metrics", interval: "30s" }] },
    };
}
