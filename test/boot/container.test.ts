/**
 * The vm stack's user data, booted for real: systemd-nspawn machines on a Debian 12 root
 * filesystem with cloud-init, each case on its own machine, in parallel (see machine.ts for what
 * each machine talks to). What the AWS side would be: Secrets Manager and S3 from moto_server,
 * the metadata service from a stand-in, the EBS volume a loop device behind its by-id link.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDirective, parseRedisConf } from "../../src/redisConf";
import { BOOT_UNITS, REPORT_UNITS, SERVING_METRIC, VM_PACKAGE_UPGRADE } from "../../src/targets/vm/cloudInit";
import { type BootCerts, Machine, PRIVATE_IP, REDIS_PORT, cleanup, makeBootCerts, requireBootTools, rootfs } from "./machine";
import { type RenderedVm, renderVmStack } from "./render";
import { buildSsmAgentStandIn } from "./ssm-agent-stand-in";

const BOOT_TIMEOUT = 900_000;
let vm: RenderedVm;
let certs: BootCerts;
let root: string;
let ssmDeb: string;
let awsHosts: string[];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-boot-test-"));

beforeAll(async () => {
    requireBootTools();
    vm = await renderVmStack();
    awsHosts = [`secretsmanager.${vm.region}.amazonaws.com`, `s3.${vm.region}.amazonaws.com`, `monitoring.${vm.region}.amazonaws.com`];
    certs = makeBootCerts(tmp, awsHosts);
    ssmDeb = buildSsmAgentStandIn(tmp);
    const t = Date.now();
    root = rootfs(vm.packages);
    console.log(`root filesystem ready in ${((Date.now() - t) / 1000).toFixed(0)}s: ${root}`);
}, BOOT_TIMEOUT);

afterAll(() => {
    const t = Date.now();
    const errors = cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`cleanup: ${((Date.now() - t) / 1000).toFixed(1)}s`);
    expect(errors).toEqual([]);
}, 300_000);

interface Case {
    machine: Machine;
    secretArn: string;
    secretFile: string;
    userData: string;
}

/** A machine for one case, with AWS's side ready: the secret (with or without its value) and the SSM agent package. */
async function newCase(name: string, opts: { secretValue: boolean; diskWaitSeconds: number; secretWaitSeconds: number }): Promise<Case> {
    const machine = new Machine({
        name,
        rootfs: root,
        volumeId: vm.volumeId,
        certs,
        awsHosts,
        diskWaitSeconds: opts.diskWaitSeconds,
        secretWaitSeconds: opts.secretWaitSeconds,
    });
    // The program's secret, with a real certificate in place of the mocks' placeholder PEMs.
    const read = (f: string) => fs.readFileSync(f, "utf8");
    const secretFile = machine.file(
        "secret.json",
        JSON.stringify({ ...vm.secret, tlsCert: read(certs.redis.cert), tlsKey: read(certs.redis.key), tlsCa: read(certs.ca) }),
    );
    const secretArn = await machine.moto("secret", vm.secretName, ...(opts.secretValue ? [secretFile] : []));
    const arch = /MSPBYTE_DEB_ARCH=(\S+)/.exec(vm.userData)![1];
    await machine.moto("object", `amazon-ssm-${vm.region}`, `latest/debian_${arch}/amazon-ssm-agent.deb`, ssmDeb);
    // The one value AWS assigns that the mocks cannot know: the secret's ARN suffix.
    const userData = vm.userData.split(vm.mockSecretArn).join(secretArn);
    machine.setUserData(userData);
    return { machine, secretArn, secretFile, userData };
}

const sh = (m: Machine, cmd: string) => m.exec(["sh", "-c", cmd]);
const out = async (m: Machine, cmd: string) => (await sh(m, cmd)).stdout.trim();

/** redis-cli from outside the machine (its network namespace, the pipeline's side), over TLS. */
function redisCli(m: Machine, args: string[], password?: string) {
    return m.outside(
        ["redis-cli", "--tls", "--cacert", certs.ca, "-h", PRIVATE_IP, "-p", String(REDIS_PORT), ...args],
        password ? { REDISCLI_AUTH: password } : {},
    );
}

/** What `cloud-init status --wait` says once cloud-init has finished (or given up). */
async function cloudInitStatus(m: Machine): Promise<{ code: number; status: string }> {
    const r = await m.exec(["cloud-init", "status", "--wait"]);
    return { code: r.code, status: r.stdout.trim().split("\n").pop()!.trim() };
}

/** Prints what a boot looked like (the README's examples come from here). */
function show(what: string, text: string): void {
    console.log(`----- ${what} -----\n${text}`);
}

/** What to look at when a boot did not go as expected. */
async function diagnose(m: Machine): Promise<string> {
    return out(
        m,
        [
            "cloud-init status --long",
            "systemctl --failed --no-pager",
            "tail -n 40 /var/log/cloud-init-output.log",
            "grep -E 'WARNING|ERROR|Traceback' /var/log/cloud-init.log | tail -n 20",
            "journalctl -b --no-pager -o cat -u 'mspbyte-*' -u redis-server | tail -n 40",
        ]
            .map((c) => `echo "### ${c}"; ${c}`)
            .join("; "),
    );
}

async function failedUnits(m: Machine): Promise<string[]> {
    return (await out(m, "systemctl --failed --plain --no-legend | awk '{print $1}'")).split("\n").filter(Boolean);
}

/** IMDSv2 only, and nothing asked of it beyond what the boot steps need. */
function expectImdsRequestsValid(m: Machine): void {
    const requests = m.imdsRequests();
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
        expect(r.status, JSON.stringify(r)).toBe(200);
        if (r.method === "PUT") expect(r.path).toBe("/latest/api/token");
        else
            expect(r.path).toMatch(
                /^\/latest\/(user-data|meta-data\/local-ipv4|meta-data\/instance-id|meta-data\/iam\/security-credentials\/.*)$/,
            );
    }
}

/** The stand-in metadata service's instance id (imds-stand-in.py). */
const INSTANCE_ID = "i-0standin00000001";

/**
 * Waits for mspbyte-report to say it published `value`, then reads back from moto what
 * CloudWatch received: the per-minute maxima of RedisServing for this instance, newest first.
 */
async function servingReported(m: Machine, value: 0 | 1): Promise<number[]> {
    await m.waitForJournal("mspbyte-report.service", new RegExp(`RedisServing=${value} for ${INSTANCE_ID}`), 180_000);
    return JSON.parse(await m.moto("metric", SERVING_METRIC.namespace, SERVING_METRIC.metricName, `InstanceId=${INSTANCE_ID}`, "Maximum"));
}

/** The order in which units finished starting, from this boot's journal. */
async function startOrder(m: Machine): Promise<string[]> {
    const lines = (await out(m, "journalctl -b -o cat --no-pager _PID=1")).split("\n");
    return lines.filter((l) => /^(Finished|Started) /.test(l));
}

describe.concurrent("the vm stack's user data, booted", () => {
    it(
        "first boot: packages, the data disk formatted once and mounted, config in place, Redis on TLS with the secret's password; then a second boot (no format, same data, changed user data applied), the package upgrade as the README gives it (restarted through the data-volume check, data and config kept), and a boot with the volume detached (no Redis)",
        async ({ onTestFinished }) => {
            const c = await newCase("lifecycle", { secretValue: true, diskWaitSeconds: 30, secretWaitSeconds: 120 });
            const m = c.machine;
            onTestFinished(() => m.stop());
            const loop = m.createVolume();
            m.attachVolume();
            const t0 = Date.now();
            await m.boot();
            expect(await cloudInitStatus(m), await diagnose(m)).toEqual({ code: 0, status: "status: done" });
            console.log(`first boot: cloud-init done after ${((Date.now() - t0) / 1000).toFixed(0)}s`);
            expect(await m.booted(60_000)).toBe("running");
            expect(await failedUnits(m)).toEqual([]);
            // The units as systemd itself reads them, on the machine they run on.
            const verify = await m.exec(["systemd-analyze", "verify", "--man=no", ...BOOT_UNITS, ...REPORT_UNITS, "redis-server.service"]);
            expect(verify.stdout + verify.stderr).toBe("");
            expect(verify.code).toBe(0);
            show(
                "first boot",
                await out(
                    m,
                    "cloud-init status --long; journalctl -b -o short --no-pager -u 'mspbyte-*' | grep -v THP | sed 's/^\\S* \\S* \\S* //'",
                ),
            );

            // Packages, installed by cloud-init; the package's own start of Redis held back.
            expect(await out(m, `dpkg-query -W -f '\${Package} \${Status}\\n' ${vm.packages.join(" ")} | sort`)).toBe(
                [...vm.packages]
                    .sort()
                    .map((p) => `${p} install ok installed`)
                    .join("\n"),
            );
            expect(await out(m, "cat /var/log/cloud-init-output.log")).toMatch(/policy-rc\.d.*redis-server/);
            expect(fs.existsSync(path.join(m.root, "usr/sbin/policy-rc.d"))).toBe(false);

            // The data disk: formatted once, mounted at /var/lib/redis, in fstab by UUID, marked.
            const diskLog = await m.journal("mspbyte-data-disk.service");
            expect(diskLog.match(/is blank: formatting it/g)).toHaveLength(1);
            expect(await out(m, "findmnt -n -o SOURCE,FSTYPE --target /var/lib/redis")).toBe(`${loop} ext4`);
            const uuid = await out(m, `blkid -p -s UUID -o value ${loop}`);
            expect(await out(m, "grep /var/lib/redis /etc/fstab")).toBe(`UUID=${uuid} /var/lib/redis ext4 defaults,nofail,noatime 0 2`);
            expect(await out(m, "cat /var/lib/redis/.mspbyte-data-volume")).toBe(vm.volumeId);

            // Redis started only after its boot steps had finished.
            const order = await startOrder(m);
            const at = (re: RegExp) => order.findIndex((l) => re.test(l));
            expect(at(/^Started redis-server/)).toBeGreaterThan(at(/^Finished mspbyte-data-disk/));
            expect(at(/^Finished mspbyte-data-disk/)).toBeGreaterThan(-1);
            expect(at(/^Started redis-server/)).toBeGreaterThan(at(/^Finished mspbyte-redis-config/));

            // The rendered config in place, owners and modes; the secret's files readable by redis only.
            expect(
                await out(
                    m,
                    "stat -c '%n %U:%G %a' /etc/redis/redis.conf /etc/redis/mspbyte-local.conf /etc/redis/tls /etc/redis/tls/server.key /var/lib/redis",
                ),
            ).toBe(
                [
                    "/etc/redis/redis.conf redis:redis 640",
                    "/etc/redis/mspbyte-local.conf root:redis 640",
                    // setgid, as Debian makes /etc/redis
                    "/etc/redis/tls root:redis 2750",
                    "/etc/redis/tls/server.key root:redis 640",
                    "/var/lib/redis redis:redis 750",
                ].join("\n"),
            );
            expect(await out(m, "cat /etc/redis/redis.conf")).toBe(vm.redisConf.trim());
            expect(await out(m, "grep -c requirepass /etc/redis/mspbyte-local.conf")).toBe("1");

            // From outside, over TLS: PONG with the secret's password; refused without it, and in plain text.
            expect((await redisCli(m, ["PING"], vm.secret.password)).stdout.trim()).toBe("PONG");
            const noPassword = await redisCli(m, ["PING"]);
            expect(noPassword.stdout + noPassword.stderr).toMatch(/NOAUTH/);
            const plain = await m.outside(["redis-cli", "-h", PRIVATE_IP, "-p", String(REDIS_PORT), "PING"], {
                REDISCLI_AUTH: vm.secret.password,
            });
            expect(plain.stdout.trim()).not.toBe("PONG");

            // The contract's settings, live.
            const conf = parseRedisConf(vm.redisConf);
            const live = async (key: string) =>
                (await redisCli(m, ["--no-raw", "CONFIG", "GET", key], vm.secret.password)).stdout
                    .split("\n")[1]
                    ?.replace(/^\d+\) "?|"$/g, "");
            expect(await live("maxmemory-policy")).toBe(getDirective(conf, "maxmemory-policy"));
            expect(await live("appendonly")).toBe(getDirective(conf, "appendonly"));
            expect(await live("appendfsync")).toBe(getDirective(conf, "appendfsync"));
            expect(await live("maxmemory")).toBe(String(1075 * 1024 * 1024));
            expect(getDirective(conf, "maxmemory")).toBe("1075mb");
            expect(await live("save")).toBe("900 1 300 10 60 10000");
            expect(await live("dir")).toBe("/var/lib/redis");
            expect(await live("tls-port")).toBe(String(REDIS_PORT));
            expect(await live("port")).toBe("0");
            expect(await live("bind")).toBe(`${PRIVATE_IP} 127.0.0.1`);
            // The serving metric the VM's alarm watches: 1, for this instance, received by CloudWatch (moto).
            expect((await servingReported(m, 1))[0]).toBe(1);
            expect(await out(m, "systemctl is-enabled mspbyte-report.timer")).toBe("enabled");
            expectImdsRequestsValid(m);

            // Data written now must be there after the reboot.
            expect((await redisCli(m, ["SET", "boot:marker", "written-on-first-boot"], vm.secret.password)).stdout.trim()).toBe("OK");
            await m.stop();

            // Second boot, with the user data changed while stopped (maxmemory, as a new instance type gives).
            m.setUserData(c.userData.replace("maxmemory 1075mb", "maxmemory 512mb"));
            await m.boot();
            expect(await m.booted(300_000)).toBe("running");
            expect(await failedUnits(m)).toEqual([]);
            expect(await m.journal("mspbyte-data-disk.service")).toMatch(/already holds a filesystem: leaving its data as it is/);
            expect(await m.journal("mspbyte-data-disk.service")).not.toMatch(/formatting/);
            expect(await out(m, `blkid -p -s UUID -o value ${loop}`)).toBe(uuid);
            expect(await m.journal("mspbyte-apply-user-data.service")).toMatch(/updated \/etc\/redis\/redis\.conf/);
            await waitForRedis(m);
            expect((await redisCli(m, ["GET", "boot:marker"], vm.secret.password)).stdout.trim()).toBe("written-on-first-boot");
            expect(await live("maxmemory")).toBe(String(512 * 1024 * 1024));
            show(
                "second boot",
                await out(
                    m,
                    "journalctl -b -o cat --no-pager -u mspbyte-apply-user-data -u mspbyte-data-disk | grep -v -e '^Starting' -e '^Finished'",
                ),
            );

            // The README's package upgrade, run as written. The mirror has no newer redis-server than
            // the installed one, so the same version is reinstalled: its maintainer scripts stop and
            // restart the service as an upgrade's do, through the units and the data-volume check.
            const pidBefore = await out(m, "systemctl show -p MainPID --value redis-server");
            const upgrade = await sh(
                m,
                `DEBIAN_FRONTEND=noninteractive ${VM_PACKAGE_UPGRADE.replace("--only-upgrade", "--reinstall")} 2>&1`,
            );
            expect(upgrade.code, upgrade.stdout).toBe(0);
            await waitForRedis(m);
            expect(await out(m, "systemctl show -p MainPID --value redis-server")).not.toBe(pidBefore);
            // The data-volume check ran again for the restart: once at boot, once after the package.
            expect(
                Number(
                    await out(
                        m,
                        "journalctl -b -o cat --no-pager -u redis-server | grep -c 'check-data-dir: /var/lib/redis is volume' || true",
                    ),
                ),
            ).toBeGreaterThanOrEqual(2);
            expect(await out(m, "stat -c '%U:%G %a' /etc/redis/redis.conf")).toBe("redis:redis 640");
            expect(await out(m, "grep '^maxmemory ' /etc/redis/redis.conf")).toBe("maxmemory 512mb");
            expect((await redisCli(m, ["GET", "boot:marker"], vm.secret.password)).stdout.trim()).toBe("written-on-first-boot");
            expect(await live("dir")).toBe("/var/lib/redis");
            expect(await failedUnits(m)).toEqual([]);
            await m.stop();

            // Third boot: the volume detached. Redis must not start, and say why.
            m.detachVolume();
            await m.boot();
            expect(await m.booted(300_000)).toBe("degraded");
            expect(await failedUnits(m)).toEqual(["mspbyte-data-disk.service"]);
            expect(await m.journal("mspbyte-data-disk.service")).toMatch(/did not appear at .* within 30s: Redis stays stopped/);
            expect(await out(m, "systemctl is-active redis-server")).toBe("inactive");
            expect(await out(m, "mountpoint /var/lib/redis || true")).toBe("/var/lib/redis is not a mountpoint");
            expect(await out(m, "journalctl -b -o cat --no-pager _PID=1 | grep -i redis-server || true")).toMatch(
                /Dependency failed for redis-server/,
            );
            expect((await redisCli(m, ["PING"], vm.secret.password)).stdout).not.toMatch(/PONG/);
            show(
                "volume detached",
                await out(m, "systemctl --failed --no-pager --no-legend; systemctl status redis-server --no-pager -n 0 | head -n 3"),
            );
            await m.stop();
        },
        BOOT_TIMEOUT,
    );

    it(
        "data disk absent at first boot: Redis does not start, the failed step is listed, cloud-init reports an error",
        async ({ onTestFinished }) => {
            const { machine: m } = await newCase("no-disk", { secretValue: true, diskWaitSeconds: 30, secretWaitSeconds: 120 });
            onTestFinished(() => m.stop());
            await m.boot();
            const status = await cloudInitStatus(m);
            expect(status.code).not.toBe(0);
            expect(status.status).toBe("status: error");
            // cloud-final: cloud-init's last stage, failed because its runcmd did.
            expect(await failedUnits(m), await diagnose(m)).toEqual(["cloud-final.service", "mspbyte-data-disk.service"]);
            expect(await m.journal("mspbyte-data-disk.service")).toMatch(
                /did not appear at \/dev\/disk\/by-id\/nvme-Amazon_Elastic_Block_Store_\S+ within 30s: Redis stays stopped/,
            );
            expect(await out(m, "systemctl is-active redis-server")).toBe("inactive");
            // Never started, not even by its package: nothing of Redis on the root disk's directory.
            expect(await out(m, "journalctl -b -o cat --no-pager _PID=1 | grep -c '^Started redis-server' || true")).toBe("0");
            expect(await out(m, "ls -A /var/lib/redis")).toBe("");
            expect(await out(m, "cat /var/log/cloud-init-output.log")).toMatch(/first-boot: failed: systemctl start redis-server.service/);
            show(
                "data disk absent at first boot",
                await out(
                    m,
                    "cloud-init status --long; systemctl --failed --no-pager --no-legend; journalctl -b -o cat --no-pager -u mspbyte-data-disk | tail -n 4; journalctl -b -o cat --no-pager _PID=1 | grep 'redis-server'",
                ),
            );
            expect((await redisCli(m, ["PING"], vm.secret.password)).stdout).not.toMatch(/PONG/);
            // The alarm's side: this instance reports 0, never 1 (and the report itself did not fail).
            const values = await servingReported(m, 0);
            expect(values.length).toBeGreaterThan(0);
            expect(
                values.every((v) => v === 0),
                JSON.stringify(values),
            ).toBe(true);
            expect(await failedUnits(m)).toEqual(["cloud-final.service", "mspbyte-data-disk.service"]);
            await m.stop();
        },
        BOOT_TIMEOUT,
    );

    it(
        "data disk attached late: the disk step waits for it, then Redis starts on it",
        async ({ onTestFinished }) => {
            const { machine: m } = await newCase("late-disk", { secretValue: true, diskWaitSeconds: 600, secretWaitSeconds: 120 });
            onTestFinished(() => m.stop());
            const loop = m.createVolume();
            await m.boot({ lateAttach: true });
            await m.waitForJournal("mspbyte-data-disk.service", /waiting for volume/, 600_000);
            expect(await out(m, "systemctl is-active redis-server")).not.toBe("active");
            m.attachVolume();
            expect(await cloudInitStatus(m), await diagnose(m)).toEqual({ code: 0, status: "status: done" });
            expect(await failedUnits(m)).toEqual([]);
            expect(await out(m, "findmnt -n -o SOURCE --target /var/lib/redis")).toBe(loop);
            expect(await out(m, "systemctl is-active redis-server")).toBe("active");
            expect((await redisCli(m, ["PING"], vm.secret.password)).stdout.trim()).toBe("PONG");
            await m.stop();
        },
        BOOT_TIMEOUT,
    );

    it(
        "secret not yet readable: the config step retries, then Redis starts with the secret's password",
        async ({ onTestFinished }) => {
            const c = await newCase("late-secret", { secretValue: false, diskWaitSeconds: 30, secretWaitSeconds: 600 });
            const m = c.machine;
            onTestFinished(() => m.stop());
            m.createVolume();
            m.attachVolume();
            await m.boot();
            await m.waitForJournal("mspbyte-redis-config.service", /reading secret \S+ failed; retrying in/, 600_000);
            expect(await out(m, "systemctl is-active redis-server")).not.toBe("active");
            await m.moto("value", c.secretArn, c.secretFile);
            expect(await cloudInitStatus(m), await diagnose(m)).toEqual({ code: 0, status: "status: done" });
            expect(await failedUnits(m)).toEqual([]);
            expect((await redisCli(m, ["PING"], vm.secret.password)).stdout.trim()).toBe("PONG");
            // The secret never reaches the journal.
            expect(await out(m, "journalctl -b --no-pager")).not.toContain(vm.secret.password);
            await m.stop();
        },
        BOOT_TIMEOUT,
    );
});

async function waitForRedis(m: Machine): Promise<void> {
    const deadline = Date.now() + 120_000;
    while ((await redisCli(m, ["PING"], vm.secret.password)).stdout.trim() !== "PONG") {
        if (Date.now() > deadline) throw new Error(`Redis did not answer: ${await out(m, "systemctl status redis-server --no-pager")}`);
        await new Promise((r) => setTimeout(r, 1000));
    }
}
