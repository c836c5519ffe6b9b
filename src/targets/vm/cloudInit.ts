/**
 * The VM's cloud-init document: Debian's redis-server with our rendered redis.conf, the kernel
 * settings Redis's admin guide asks for, the data disk prepared without ever formatting data,
 * and the secrets fetched at boot rather than carried in user data.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { stringify } from "yaml";
import type { ConfOverrides } from "../../redisConf";

export const DATA_DIR = "/var/lib/redis";
export const CONF_DIR = "/etc/redis";
export const LOCAL_CONF = "mspbyte-local.conf";
const here = (file: string) => path.join(__dirname, file);
export const PREPARE_SCRIPT = here("prepare-data-disk.sh");
export const CONFIGURE_SCRIPT = here("configure-redis.sh");
export const CHECK_SCRIPT = here("check-data-dir.sh");
export const FIRST_BOOT_SCRIPT = here("first-boot.sh");
export const APPLY_SCRIPT = here("apply-user-data.py");
export const REPORT_SCRIPT = here("report-serving.sh");
/** The boot steps' own settings (ids, region; no secret), read by their units at every boot. */
export const ENV_FILE = "/etc/mspbyte/redis-vm.env";
/** The boot steps, as systemd units that run at every boot, in the order redis-server needs them. */
export const BOOT_UNITS = [
    "mspbyte-apply-user-data.service",
    "mspbyte-data-disk.service",
    "mspbyte-redis-config.service",
    "mspbyte-disable-thp.service",
] as const;
/** Every minute from boot on: the RedisServing metric the VM's serving alarm watches (vm.ts). */
export const REPORT_UNITS = ["mspbyte-report.service", "mspbyte-report.timer"] as const;
export const SERVING_METRIC = { namespace: "MSPByte/Redis", metricName: "RedisServing" } as const;
export const REDIS_DROP_IN = here("redis-server.mspbyte.conf");
/**
 * The VM's engine patch upgrade (README, Upgrades), run over Session Manager: Debian's package,
 * keeping the redis.conf this program wrote (it is re-applied at every boot anyway). The
 * package's maintainer scripts restart redis-server through its drop-in, so the data-volume
 * check runs again.
 */
export const VM_PACKAGE_UPGRADE = "apt-get install --only-upgrade -y -o Dpkg::Options::=--force-confold redis-server";
/** Backlog of pending connections; the kernel default (128 on older kernels, 4096 on newer) caps Redis's tcp-backlog of 511. */
export const SOMAXCONN = 1024;
export const NOFILE = 65536;

/** redis.conf overrides for the VM. `bind` and the password come from the boot-time include. */
export function vmConfOverrides(a: { port: number; maxmemory: string; tls: boolean; confDir?: string }): ConfOverrides {
    const confDir = a.confDir ?? CONF_DIR;
    return {
        port: a.port,
        dir: DATA_DIR,
        maxmemory: a.maxmemory,
        supervised: "systemd",
        ...(a.tls
            ? { tls: { certFile: `${confDir}/tls/server.crt`, keyFile: `${confDir}/tls/server.key`, caFile: `${confDir}/tls/ca.crt` } }
            : {}),
        extra: {
            // Journald keeps the log; the unit's ProtectSystem leaves no need for a log file.
            logfile: '""',
            include: `${confDir}/${LOCAL_CONF}`,
        },
    };
}

export interface CloudInitArgs {
    redisConf: string;
    volumeId: string;
    secretId: string;
    region: string;
    /** `amd64` or `arm64`, for the SSM agent's package. */
    debArch: "amd64" | "arm64";
    /**
     * The boot secret's current version, in a closing comment: new credentials (a password or
     * certificate change) make a new document, and a new document restarts the instance, so
     * the boot reads them.
     */
    secretVersion?: string;
}

const SYSCTL = [
    "# Redis forks for snapshots and AOF rewrites; without overcommit a fork can fail under memory pressure.",
    "vm.overcommit_memory = 1",
    `net.core.somaxconn = ${SOMAXCONN}`,
    "",
].join("\n");

/**
 * Debian's redis-server package starts Redis when it is installed, on whatever /var/lib/redis
 * is then (the root disk). policy-rc.d (Debian's hook for invoke-rc.d and deb-systemd-invoke)
 * holds back that one start; the first-boot script removes it before starting Redis through
 * its boot units.
 */
const HOLD_REDIS_START = [
    "#!/bin/sh",
    "# From mspbyte-redis user data; removed by mspbyte-first-boot once the boot units are in place.",
    'for arg; do case "$arg" in redis-server|redis-server.service) exit 101 ;; esac; done',
    "exit 0",
    "",
].join("\n");

const read = (file: string) => fs.readFileSync(file, "utf8");

/**
 * The user data. Cloud-init writes the files and installs the packages once; the boot steps
 * are systemd units that run at every boot, and the first of them re-applies this document's
 * files from the instance's current user data, so a document changed on a stopped instance
 * takes effect at its next start.
 */
export function cloudInit(a: CloudInitArgs): string {
    const env = [
        "# mspbyte-redis boot settings (no secrets: the password is fetched from Secrets Manager).",
        `MSPBYTE_VOLUME_ID=${a.volumeId}`,
        `MSPBYTE_SECRET_ID=${a.secretId}`,
        `MSPBYTE_REGION=${a.region}`,
        `MSPBYTE_DEB_ARCH=${a.debArch}`,
        "",
    ].join("\n");
    const script = (name: string, file: string) => ({ path: `/usr/local/sbin/mspbyte-${name}`, content: read(file), permissions: "0755" });
    const unit = (name: string) => ({ path: `/etc/systemd/system/${name}`, content: read(here(name)), permissions: "0644" });
    const doc = {
        package_update: true,
        packages: ["redis-server", "awscli", "jq", "curl"],
        write_files: [
            { path: "/usr/sbin/policy-rc.d", content: HOLD_REDIS_START, permissions: "0755" },
            { path: ENV_FILE, content: env, permissions: "0644" },
            script("apply-user-data", APPLY_SCRIPT),
            script("prepare-data-disk", PREPARE_SCRIPT),
            script("configure-redis", CONFIGURE_SCRIPT),
            script("check-data-dir", CHECK_SCRIPT),
            script("first-boot", FIRST_BOOT_SCRIPT),
            script("report-serving", REPORT_SCRIPT),
            { path: "/etc/sysctl.d/60-mspbyte-redis.conf", content: SYSCTL, permissions: "0644" },
            ...BOOT_UNITS.map(unit),
            ...REPORT_UNITS.map(unit),
            { path: "/etc/systemd/system/redis-server.service.d/10-mspbyte.conf", content: read(REDIS_DROP_IN), permissions: "0644" },
            // Deferred: the redis user exists once the package is installed.
            { path: `${CONF_DIR}/redis.conf`, content: a.redisConf, owner: "redis:redis", permissions: "0640", defer: true },
        ],
        runcmd: [["/usr/local/sbin/mspbyte-first-boot"]],
    };
    const text = `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
    return a.secretVersion === undefined ? text : `${text.replace(/\n*$/, "\n")}# credentials: secret version ${a.secretVersion}\n`;
}

/**
 * EC2 takes at most 16 KB of user data (before base64); the document with its boot scripts is
 * larger. cloud-init reads gzip-compressed user data as it is, and so does the boot step that
 * re-applies it (apply-user-data.py): the instance is given the document gzipped, in base64.
 */
export const USER_DATA_MAX_BYTES = 16 * 1024;

export function encodeUserData(doc: string): string {
    const gz = gzipSync(doc, { level: 9 });
    if (gz.length > USER_DATA_MAX_BYTES)
        throw new Error(`the VM's user data is ${gz.length} bytes gzipped; EC2 takes at most ${USER_DATA_MAX_BYTES}`);
    return gz.toString("base64");
}

/** The document in `userDataBase64` (gzipped or not) as text. */
export function decodeUserData(base64: string): string {
    const bytes = Buffer.from(base64, "base64");
    return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}
