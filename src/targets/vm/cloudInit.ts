/**
 * The VM's cloud-init document: Debian's redis-server with our rendered redis.conf, the kernel
 * settings Redis's admin guide asks for, the data disk prepared without ever formatting data,
 * and the secrets fetched at boot rather than carried in user data.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { ConfOverrides } from "../../redisConf";

export const DATA_DIR = "/var/lib/redis";
export const CONF_DIR = "/etc/redis";
export const LOCAL_CONF = "mspbyte-local.conf";
export const PREPARE_SCRIPT = path.join(__dirname, "prepare-data-disk.sh");
export const CONFIGURE_SCRIPT = path.join(__dirname, "configure-redis.sh");
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
        ...(a.tls ? { tls: { certFile: `${confDir}/tls/server.crt`, keyFile: `${confDir}/tls/server.key`, caFile: `${confDir}/tls/ca.crt` } } : {}),
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
}

const SYSCTL = [
    "# Redis forks for snapshots and AOF rewrites; without overcommit a fork can fail under memory pressure.",
    "vm.overcommit_memory = 1",
    `net.core.somaxconn = ${SOMAXCONN}`,
    "",
].join("\n");

const DISABLE_THP = [
    "[Unit]",
    "Description=Transparent huge pages off, for Redis (latency and memory use after fork)",
    "DefaultDependencies=no",
    "Before=redis-server.service",
    "After=sysinit.target local-fs.target",
    "",
    "[Service]",
    "Type=oneshot",
    "ExecStart=/bin/sh -c 'echo never > /sys/kernel/mm/transparent_hugepage/enabled && echo never > /sys/kernel/mm/transparent_hugepage/defrag'",
    "",
    "[Install]",
    "WantedBy=basic.target",
    "",
].join("\n");

const REDIS_DROP_IN = [
    "[Unit]",
    // Requires the data disk's mount: Redis never starts on the empty directory underneath.
    `RequiresMountsFor=${DATA_DIR}`,
    "After=mspbyte-disable-thp.service",
    "",
    "[Service]",
    `LimitNOFILE=${NOFILE}`,
    `ReadWritePaths=${DATA_DIR}`,
    // A shutdown save of a large dataset takes a while; systemd must not kill it midway.
    "TimeoutStopSec=300",
    "",
].join("\n");

export function cloudInit(a: CloudInitArgs): string {
    const doc = {
        package_update: true,
        packages: ["redis-server", "awscli", "jq", "curl"],
        write_files: [
            { path: `${CONF_DIR}/redis.conf`, content: a.redisConf, owner: "redis:redis", permissions: "0640", defer: true },
            { path: "/usr/local/sbin/mspbyte-prepare-data-disk", content: fs.readFileSync(PREPARE_SCRIPT, "utf8"), permissions: "0755" },
            { path: "/usr/local/sbin/mspbyte-configure-redis", content: fs.readFileSync(CONFIGURE_SCRIPT, "utf8"), permissions: "0755" },
            { path: "/etc/sysctl.d/60-mspbyte-redis.conf", content: SYSCTL, permissions: "0644" },
            { path: "/etc/systemd/system/mspbyte-disable-thp.service", content: DISABLE_THP, permissions: "0644" },
            { path: "/etc/systemd/system/redis-server.service.d/10-mspbyte.conf", content: REDIS_DROP_IN, permissions: "0644" },
        ],
        runcmd: [
            // The package started Redis with Debian's own config: stop it before the disk goes under it.
            ["systemctl", "stop", "redis-server"],
            ["env", `MSPBYTE_VOLUME_ID=${a.volumeId}`, "/usr/local/sbin/mspbyte-prepare-data-disk"],
            ["env", `MSPBYTE_SECRET_ID=${a.secretId}`, `MSPBYTE_REGION=${a.region}`, "/usr/local/sbin/mspbyte-configure-redis"],
            ["sysctl", "--system"],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "mspbyte-disable-thp.service"],
            ["systemctl", "enable", "redis-server"],
            ["systemctl", "restart", "redis-server"],
            // Session Manager is the only way in (no SSH port); Debian does not package its agent.
            ["sh", "-c", `curl -fsSLo /tmp/amazon-ssm-agent.deb https://s3.${a.region}.amazonaws.com/amazon-ssm-${a.region}/latest/debian_${a.debArch}/amazon-ssm-agent.deb && dpkg -i /tmp/amazon-ssm-agent.deb && systemctl enable --now amazon-ssm-agent`],
        ],
    };
    return "#cloud-config\n" + stringify(doc, { lineWidth: 0 });
}
