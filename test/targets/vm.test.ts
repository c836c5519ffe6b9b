/**
 * The VM target's documents and scripts, checked by the real tools: cloud-init's own schema
 * validator, shellcheck, a real filesystem on a real (loop) block device, and a real
 * redis-server started from the VM-rendered redis.conf with what the boot script writes.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSmoke } from "../../src/ops/smoke";
import { renderForTarget } from "../../src/redisConf";
import {
    CHECK_SCRIPT,
    CONFIGURE_SCRIPT,
    FIRST_BOOT_SCRIPT,
    PREPARE_SCRIPT,
    REPORT_SCRIPT,
    cloudInit,
    vmConfOverrides,
} from "../../src/targets/vm/cloudInit";
import { outputsFor } from "../../tools/outputs";
import { RedisServer } from "../../tools/redisServer";
import { SBIN_PATH, requireTool } from "../../tools/requireTool";
import { makeCerts } from "../helpers/tls";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-vm-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sampleDocument = () =>
    cloudInit({
        redisConf: renderForTarget(vmConfOverrides({ port: 6379, maxmemory: "1075mb", tls: true })),
        volumeId: "vol-0123456789abcdef0",
        secretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:mspbyte-redis/vm/auth-AbCdEf",
        region: "us-east-1",
        debArch: "arm64",
    });

describe("the cloud-init document", () => {
    it("passes `cloud-init schema`", () => {
        requireTool("cloud-init");
        const file = path.join(tmp, "user-data.yaml");
        fs.writeFileSync(file, sampleDocument());
        const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(/Valid cloud-config/);
        expect(r.status).toBe(0);
    });

    it("is refused by `cloud-init schema` when broken (the validator really validates)", () => {
        const file = path.join(tmp, "broken.yaml");
        fs.writeFileSync(file, sampleDocument().replace("package_update: true", 'package_update: "sometimes"'));
        const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
        expect(r.status).not.toBe(0);
        expect(r.stdout + r.stderr).toMatch(/package_update/);
    });

    it("matches the snapshot", () => {
        expect(sampleDocument()).toMatchSnapshot();
    });
});

describe("the boot scripts", () => {
    it.each([PREPARE_SCRIPT, CONFIGURE_SCRIPT, CHECK_SCRIPT, FIRST_BOOT_SCRIPT, REPORT_SCRIPT])("%s passes shellcheck", (script) => {
        requireTool("shellcheck");
        const r = spawnSync("shellcheck", ["--severity=style", script], { encoding: "utf8" });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });
});

describe("preparing the data disk, on a real block device", () => {
    let device: string;
    let image: string;
    let loop = false;
    const dataDir = path.join(tmp, "var-lib-redis");
    const fstab = path.join(tmp, "fstab");
    const uuidOf = () =>
        execFileSync("blkid", ["-p", "-s", "UUID", "-o", "value", device], { encoding: "utf8", env: { PATH: SBIN_PATH } }).trim();
    const run = () =>
        spawnSync("bash", [PREPARE_SCRIPT], {
            encoding: "utf8",
            env: {
                PATH: SBIN_PATH,
                MSPBYTE_DATA_DEVICE: device,
                MSPBYTE_DATA_DIR: dataDir,
                MSPBYTE_FSTAB: fstab,
                MSPBYTE_DATA_OWNER: `${process.getuid!()}:${process.getgid!()}`,
                // Without loop devices (not root), the filesystem is made and probed for real on a
                // file; only the mount is replaced, by a command that records it.
                ...(loop ? {} : { MSPBYTE_MOUNT: path.join(tmp, "record-mount") }),
            },
        });
    const unmount = () => {
        if (loop) spawnSync("umount", [dataDir], { env: { PATH: SBIN_PATH } });
    };

    beforeAll(() => {
        requireTool("mkfs.ext4");
        requireTool("blkid");
        requireTool("debugfs");
        image = path.join(tmp, "data.img");
        execFileSync("truncate", ["-s", "64M", image]);
        const attached = spawnSync("losetup", ["--find", "--show", image], { encoding: "utf8", env: { PATH: SBIN_PATH } });
        loop = attached.status === 0;
        device = loop ? attached.stdout.trim() : image;
        fs.writeFileSync(path.join(tmp, "record-mount"), `#!/bin/sh\necho "$@" >> ${path.join(tmp, "mounts.log")}\n`, { mode: 0o755 });
        console.log(loop ? `data disk on loop device ${device}` : "no loop device here: mkfs and blkid on a file, mount recorded");
    });
    afterAll(() => {
        unmount();
        if (loop) spawnSync("losetup", ["-d", device], { env: { PATH: SBIN_PATH } });
    });

    it("formats a blank disk once, mounts it, records it in fstab by UUID", () => {
        expect(spawnSync("blkid", ["-p", device], { env: { PATH: SBIN_PATH } }).status).toBe(2);
        const r = run();
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain(`${device} is blank: formatting it (ext4, label redis-data)`);
        const uuid = uuidOf();
        expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
        expect(fs.readFileSync(fstab, "utf8")).toBe(`UUID=${uuid} ${dataDir} ext4 defaults,nofail,noatime 0 2\n`);
        if (loop) {
            expect(spawnSync("mountpoint", ["-q", dataDir]).status).toBe(0);
            fs.writeFileSync(path.join(dataDir, "appendonly.aof"), "*1\r\n$4\r\nPING\r\n");
        } else {
            expect(fs.readFileSync(path.join(tmp, "mounts.log"), "utf8")).toContain(`-o noatime ${device} ${dataDir}`);
            execFileSync("debugfs", ["-w", "-R", `write ${PREPARE_SCRIPT} appendonly.aof`, device], {
                env: { PATH: SBIN_PATH },
                stdio: "ignore",
            });
        }
    });

    it("leaves a disk with data untouched: same filesystem, same files, fstab not repeated", () => {
        const uuid = uuidOf();
        unmount();
        const r = run();
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toContain(`${device} already holds a filesystem: leaving its data as it is`);
        expect(uuidOf()).toBe(uuid);
        expect(fs.readFileSync(fstab, "utf8").trim().split("\n")).toHaveLength(1);
        const files = execFileSync("debugfs", ["-R", "ls -l /", device], {
            encoding: "utf8",
            env: { PATH: SBIN_PATH },
            stdio: ["ignore", "pipe", "ignore"],
        });
        expect(files).toContain("appendonly.aof");
    });

    it("Redis's start check passes on the mounted, marked volume and refuses the directory underneath", () => {
        expect(loop, "mounting the loop device needs root, as CI has").toBe(true);
        const check = () =>
            spawnSync("bash", [CHECK_SCRIPT], {
                encoding: "utf8",
                env: { PATH: SBIN_PATH, MSPBYTE_DATA_DIR: dataDir, MSPBYTE_VOLUME_ID: device },
            });
        expect(run().status).toBe(0);
        const ok = check();
        expect(ok.status, ok.stderr).toBe(0);
        expect(ok.stdout).toBe(`check-data-dir: ${dataDir} is volume ${device} (${device})\n`);
        const wrong = spawnSync("bash", [CHECK_SCRIPT], {
            encoding: "utf8",
            env: { PATH: SBIN_PATH, MSPBYTE_DATA_DIR: dataDir, MSPBYTE_VOLUME_ID: "vol-0another" },
        });
        expect(wrong.status).toBe(1);
        expect(wrong.stderr).toBe(`check-data-dir: ${dataDir} holds volume ${device}, not vol-0another: refusing to start Redis\n`);
        unmount();
        const under = check();
        expect(under.status).toBe(1);
        expect(under.stderr).toBe(
            `check-data-dir: ${dataDir} is not a mount point (the data volume is not mounted): refusing to start Redis\n`,
        );
    });

    it("waits for a volume that attaches late (its by-id link appears), then mounts it", async () => {
        expect(loop, "mounting the loop device needs root, as CI has").toBe(true);
        const byId = fs.mkdtempSync(path.join(tmp, "by-id-"));
        const child = spawn("bash", [PREPARE_SCRIPT], {
            env: {
                PATH: SBIN_PATH,
                MSPBYTE_VOLUME_ID: "vol-0late",
                MSPBYTE_BY_ID_DIR: byId,
                MSPBYTE_DATA_DIR: dataDir,
                MSPBYTE_FSTAB: fstab,
                MSPBYTE_DATA_OWNER: `${process.getuid!()}:${process.getgid!()}`,
                MSPBYTE_DISK_WAIT_SECONDS: "60",
            },
        });
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
        await new Promise((r) => setTimeout(r, 2500));
        expect(stdout).toContain(
            `prepare-data-disk: waiting for volume vol-0late at ${byId}/nvme-Amazon_Elastic_Block_Store_vol0late (next look in 1s)\n`,
        );
        fs.symlinkSync(device, path.join(byId, "nvme-Amazon_Elastic_Block_Store_vol0late"));
        expect(await exited).toBe(0);
        expect(stdout).toContain(`${device} already holds a filesystem: leaving its data as it is`);
        expect(spawnSync("mountpoint", ["-q", dataDir]).status).toBe(0);
        expect(fs.readFileSync(path.join(dataDir, ".mspbyte-data-volume"), "utf8")).toBe("vol-0late\n");
        unmount();
    });

    it("gives up on a volume that never attaches: exit 1, nothing mounted", () => {
        const byId = fs.mkdtempSync(path.join(tmp, "by-id-"));
        const r = spawnSync("bash", [PREPARE_SCRIPT], {
            encoding: "utf8",
            env: {
                PATH: SBIN_PATH,
                MSPBYTE_VOLUME_ID: "vol-0never",
                MSPBYTE_BY_ID_DIR: byId,
                MSPBYTE_DATA_DIR: dataDir,
                MSPBYTE_FSTAB: fstab,
                MSPBYTE_DISK_WAIT_SECONDS: "2",
            },
        });
        expect(r.status).toBe(1);
        expect(r.stdout.trim().split("\n").pop()).toBe(
            `prepare-data-disk: volume vol-0never did not appear at ${byId}/nvme-Amazon_Elastic_Block_Store_vol0never within 2s: Redis stays stopped`,
        );
        expect(spawnSync("mountpoint", ["-q", dataDir]).status).not.toBe(0);
    });

    it("refuses to guess when no volume is named", () => {
        const r = spawnSync("bash", [PREPARE_SCRIPT], { encoding: "utf8", env: { PATH: SBIN_PATH } });
        expect(r.status).toBe(2);
        expect(r.stdout).toBe("prepare-data-disk: set MSPBYTE_VOLUME_ID (vol-...) or MSPBYTE_DATA_DEVICE\n");
    });
});

describe("the VM-rendered redis.conf on a real redis-server, configured by the boot script", () => {
    const servers: RedisServer[] = [];
    afterAll(async () => {
        for (const s of servers) await s.destroy();
    });

    /** Runs configure-redis.sh with `aws` answering from a file, as Secrets Manager would. */
    function configure(confDir: string, secret: object): void {
        requireTool("jq");
        const bin = path.join(confDir, "bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(path.join(confDir, "secret.json"), JSON.stringify(secret));
        fs.writeFileSync(
            path.join(bin, "aws"),
            `#!/bin/sh\n[ "$1 $2" = "secretsmanager get-secret-value" ] || exit 9\ncat ${path.join(confDir, "secret.json")}\n`,
            { mode: 0o755 },
        );
        const r = spawnSync("bash", [CONFIGURE_SCRIPT], {
            encoding: "utf8",
            env: {
                PATH: `${bin}:${SBIN_PATH}`,
                MSPBYTE_SECRET_ID: "arn:test",
                MSPBYTE_REGION: "us-east-1",
                MSPBYTE_CONF_DIR: confDir,
                MSPBYTE_PRIVATE_IP: "127.0.0.1",
                MSPBYTE_CONF_GROUP: String(process.getgid!()),
            },
        });
        expect(r.status, r.stderr).toBe(0);
        expect(fs.statSync(path.join(confDir, "mspbyte-local.conf")).mode & 0o777).toBe(0o640);
    }

    it("plain: the password comes from the secret, and every smoke check passes", async () => {
        const confDir = fs.mkdtempSync(path.join(tmp, "etc-redis-"));
        const password = 'Vm-Secret "quoted" \\ password 0123';
        configure(confDir, { username: "default", password });
        const conf = renderForTarget(vmConfOverrides({ port: 6379, maxmemory: "256mb", tls: false, confDir }));
        const server = await RedisServer.start({ conf });
        servers.push(server);
        const results = await runSmoke(outputsFor(server, { password }));
        expect(results.filter((r) => r.status !== "pass")).toEqual([]);
    });

    it("password rotation, phase one: with previousPassword in the secret, the new and the old password are both accepted", async () => {
        const confDir = fs.mkdtempSync(path.join(tmp, "etc-redis-rotation-"));
        const password = 'New "rotated" \\ password 0123';
        const previousPassword = "Old-Password-0123456789";
        configure(confDir, { username: "default", password, previousPassword });
        expect(fs.readFileSync(path.join(confDir, "mspbyte-local.conf"), "utf8")).not.toContain("requirepass");
        const server = await RedisServer.start({
            conf: renderForTarget(vmConfOverrides({ port: 6379, maxmemory: "256mb", tls: false, confDir })),
        });
        servers.push(server);
        for (const p of [password, previousPassword]) {
            const c = server.client({ password: p });
            expect(await c.ping()).toBe("PONG");
            c.disconnect();
        }
        const wrong = server.client({ password: "not-a-password" });
        await expect(wrong.ping()).rejects.toThrow(/WRONGPASS/);
        wrong.disconnect();
        expect((await runSmoke(outputsFor(server, { password }))).filter((r) => r.status !== "pass")).toEqual([]);
    });

    it("TLS: the certificate files come from the secret, and every smoke check passes over TLS", async () => {
        const certs = makeCerts();
        const confDir = fs.mkdtempSync(path.join(tmp, "etc-redis-tls-"));
        const read = (f: string) => fs.readFileSync(f, "utf8");
        configure(confDir, {
            username: "default",
            password: "Vm-Tls-Password-0123456789",
            tlsCert: read(certs.certFile),
            tlsKey: read(certs.keyFile),
            tlsCa: read(certs.caFile),
        });
        const conf = renderForTarget(vmConfOverrides({ port: 6379, maxmemory: "256mb", tls: true, confDir }));
        const server = await RedisServer.start({ conf, tls: true });
        servers.push(server);
        const results = await runSmoke(outputsFor(server, { tls: true, password: "Vm-Tls-Password-0123456789" }), { caFile: certs.caFile });
        expect(results.filter((r) => r.status !== "pass")).toEqual([]);
        fs.rmSync(certs.dir, { recursive: true, force: true });
    });
});
