/**
 * The vm stack's user data on a full QEMU VM (software emulation): what a container cannot
 * show. First boot (sysctl and transparent huge pages set for real, the data volume on an NVMe
 * controller, mounted and recorded in fstab), a second boot (systemd mounts it from fstab, no
 * format, same data), and a boot with the volume detached (Redis does not start).
 * `npm run boot-vm` (a release check: several minutes; see README).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeUserData } from "../../src/targets/vm/cloudInit";
import { SBIN_PATH } from "../../tools/requireTool";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
    AWS_IP,
    type BootCerts,
    CACHE_ROOT,
    MIRROR,
    MIRROR_IP,
    PRIVATE_IP,
    REDIS_PORT,
    cleanup,
    inNamespace,
    makeBootCerts,
    motoSetup,
    netns,
    requireBootTools,
    rootfs,
    run,
    serveInstanceSide,
    startProcess,
    waitFor,
} from "./machine";
import { type RenderedVm, renderVmStack } from "./render";
import { buildSsmAgentStandIn } from "./ssm-agent-stand-in";
import { spawnSync } from "node:child_process";
import { stringify } from "yaml";

const HERE = __dirname;
const GATEWAY = "10.0.1.1";
const SEED_PORT = 8080;
const DISK_WAIT_SECONDS = 60;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-boot-vm-"));
let vm: RenderedVm;
let certs: BootCerts;
let awsHosts: string[];
let image: { kernel: string; initrd: string; root: string };

/** The VM's disk image (kernel, initramfs, root), built once from the boot tests' root filesystem. */
function vmImage(root: string): { kernel: string; initrd: string; root: string } {
    const script = fs.readFileSync(path.join(HERE, "vm-image.sh"), "utf8");
    const key = crypto.createHash("sha256").update(root).update(script).update(String(DISK_WAIT_SECONDS)).digest("hex").slice(0, 16);
    const dir = path.join(CACHE_ROOT, `vm-${key}`);
    fs.mkdirSync(dir, { recursive: true });
    const build = `test -e ${dir}/done || { bash ${path.join(HERE, "vm-image.sh")} ${root} ${dir} ${MIRROR} ${DISK_WAIT_SECONDS} > ${dir}/build.log 2>&1 && touch ${dir}/done; }`;
    const r = spawnSync("flock", [path.join(CACHE_ROOT, ".lock"), "sh", "-c", build], {
        encoding: "utf8",
        env: { ...process.env, PATH: SBIN_PATH },
    });
    if (r.status !== 0) throw new Error(`building the VM image failed; see ${dir}/build.log\n${r.stderr}`);
    return { kernel: path.join(dir, "vmlinuz"), initrd: path.join(dir, "initrd.img"), root: path.join(dir, "root.img") };
}

beforeAll(async () => {
    requireBootTools();
    for (const tool of ["qemu-system-x86_64", "qemu-img"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
            throw new Error(`${tool} not found: install it with \`sudo apt-get install -y qemu-system-x86 qemu-utils\``);
    }
    vm = await renderVmStack();
    awsHosts = [`secretsmanager.${vm.region}.amazonaws.com`, `s3.${vm.region}.amazonaws.com`, `monitoring.${vm.region}.amazonaws.com`];
    certs = makeBootCerts(tmp, awsHosts);
    const t = Date.now();
    image = vmImage(rootfs(vm.packages));
    console.log(`VM image ready in ${((Date.now() - t) / 1000).toFixed(0)}s`);
}, 1_800_000);

afterAll(() => {
    const errors = cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(errors).toEqual([]);
}, 300_000);

/** One QEMU VM in its own network namespace: a tap device to it, the instance's surroundings on the namespace. */
class QemuVm {
    readonly ns = `mspbyte-vm-${process.pid}`;
    readonly dir = fs.mkdtempSync(path.join(tmp, "vm-"));
    private readonly disk = path.join(this.dir, "root.qcow2");
    private readonly volume = path.join(this.dir, "data-volume.img");
    private readonly qmp = path.join(this.dir, "qmp.sock");
    private qemu?: ReturnType<typeof startProcess>;
    boots = 0;

    constructor(readonly userData: string) {
        netns(this.ns);
        run("ip", ["-n", this.ns, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
        run("ip", ["-n", this.ns, "addr", "add", `${GATEWAY}/24`, "dev", "tap0"]);
        run("ip", ["-n", this.ns, "link", "set", "tap0", "up"]);
        // The instance's own address lives in the VM, not on the namespace.
        run("ip", ["-n", this.ns, "addr", "del", `${PRIVATE_IP}/32`, "dev", "lo"]);
        serveInstanceSide(this.ns, this.dir, certs);
        const seed = path.join(this.dir, "seed");
        fs.mkdirSync(seed);
        fs.writeFileSync(path.join(seed, "meta-data"), "instance-id: i-0b00757e57vm\nlocal-hostname: ip-10-0-1-23\n");
        // The test environment's vendor data (as a cloud supplies beside the user data): AWS's
        // names and Debian's mirror at the namespace's addresses, and the test CA trusted.
        const hosts = `${AWS_IP} ${awsHosts.join(" ")}\n${MIRROR_IP} ${new URL(MIRROR).hostname}`;
        fs.writeFileSync(
            path.join(seed, "vendor-data"),
            `#cloud-config\n${stringify({
                bootcmd: [
                    [
                        "sh",
                        "-c",
                        `grep -q mspbyte-boot-test /etc/hosts || printf '# mspbyte-boot-test\\n${hosts.replace(/\n/g, "\\n")}\\n' >> /etc/hosts`,
                    ],
                ],
                ca_certs: { trusted: [fs.readFileSync(certs.ca, "utf8")] },
            })}`,
        );
        startProcess(
            "seed-server",
            "ip",
            ["netns", "exec", this.ns, "python3", "-m", "http.server", "--bind", GATEWAY, "--directory", seed, String(SEED_PORT)],
            path.join(this.dir, "seed-server.log"),
        );
        this.setUserData(userData);
        run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image.root, "-F", "raw", this.disk]);
        run("qemu-img", ["create", "-q", "-f", "raw", this.volume, "1G"]);
    }

    setUserData(userData: string): void {
        // As EC2 serves it: the gzipped bytes the program sends in userDataBase64.
        const bytes = Buffer.from(encodeUserData(userData), "base64");
        fs.writeFileSync(path.join(this.dir, "user-data"), bytes);
        fs.writeFileSync(path.join(this.dir, "seed", "user-data"), bytes);
    }

    /** Boots and waits for the test image's boot report on the serial console; returns it. */
    async boot(withVolume: boolean): Promise<{ report: string; seconds: number }> {
        this.boots++;
        const consoleLog = path.join(this.dir, `console-${this.boots}.log`);
        const t = Date.now();
        this.qemu = startProcess(
            `qemu-${this.boots}`,
            "ip",
            [
                "netns",
                "exec",
                this.ns,
                "qemu-system-x86_64",
                "-machine",
                "q35",
                "-accel",
                "tcg",
                "-m",
                "2048",
                "-smp",
                "2",
                "-display",
                "none",
                "-monitor",
                "none",
                "-kernel",
                image.kernel,
                "-initrd",
                image.initrd,
                "-append",
                `root=/dev/vda rw console=ttyS0 ds=nocloud-net;s=http://${GATEWAY}:${SEED_PORT}/`,
                "-drive",
                `file=${this.disk},if=virtio,format=qcow2`,
                ...(withVolume
                    ? [
                          "-drive",
                          `file=${this.volume},if=none,id=vol,format=raw`,
                          "-device",
                          `nvme,drive=vol,serial=${vm.volumeId.replace(/-/g, "")}`,
                      ]
                    : []),
                "-netdev",
                "tap,id=n0,ifname=tap0,script=no,downscript=no",
                "-device",
                "virtio-net-pci,netdev=n0",
                "-serial",
                `file:${consoleLog}`,
                "-qmp",
                `unix:${this.qmp},server=on,wait=off`,
            ],
            path.join(this.dir, `qemu-${this.boots}.log`),
            120_000,
        );
        const report = await waitFor(
            "the boot report",
            () => {
                if (this.qemu!.exitCode !== null)
                    throw new Error(`qemu exited: ${fs.readFileSync(path.join(this.dir, `qemu-${this.boots}.log`), "utf8")}`);
                const text = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, "utf8") : "";
                const m = /BOOT-REPORT-BEGIN\r?\n([\s\S]*?)BOOT-REPORT-END/.exec(text);
                return m ? m[1]!.replace(/\r/g, "") : undefined;
            },
            1_500_000,
            2000,
        );
        return { report, seconds: Math.round((Date.now() - t) / 1000) };
    }

    /** ACPI power button, then waits for QEMU to exit (systemd shuts down: Redis saves, the disk unmounts). */
    async stop(): Promise<void> {
        const q = this.qemu;
        if (!q || q.exitCode !== null) return;
        run("socat", ["-", `UNIX-CONNECT:${this.qmp}`], {
            input: '{"execute":"qmp_capabilities"}\n{"execute":"system_powerdown"}\n',
            allowFail: true,
        });
        await waitFor("the VM to power off", () => q.exitCode !== null || q.signalCode !== null || undefined, 300_000, 1000);
    }

    redisCli(args: string[], password?: string) {
        return inNamespace(
            this.ns,
            ["redis-cli", "--tls", "--cacert", certs.ca, "-h", PRIVATE_IP, "-p", String(REDIS_PORT), ...args],
            password ? { REDISCLI_AUTH: password } : {},
        );
    }
}

const line = (report: string, key: string) => new RegExp(`^${key}: (.*)$`, "m").exec(report)?.[1]?.trim();

it("boots the vm stack's user data on a VM: first boot, second boot, volume detached", async () => {
    const ssmDeb = buildSsmAgentStandIn(tmp);
    const placeholder = new QemuVm("");
    const read = (f: string) => fs.readFileSync(f, "utf8");
    const secretFile = path.join(placeholder.dir, "secret.json");
    fs.writeFileSync(
        secretFile,
        JSON.stringify({ ...vm.secret, tlsCert: read(certs.redis.cert), tlsKey: read(certs.redis.key), tlsCa: read(certs.ca) }),
        { mode: 0o600 },
    );
    const arn = await motoSetup(placeholder.ns, certs.ca, "secret", vm.secretName, secretFile);
    const arch = /MSPBYTE_DEB_ARCH=(\S+)/.exec(vm.userData)![1];
    await motoSetup(placeholder.ns, certs.ca, "object", `amazon-ssm-${vm.region}`, `latest/debian_${arch}/amazon-ssm-agent.deb`, ssmDeb);
    const m = placeholder;
    m.setUserData(vm.userData.split(vm.mockSecretArn).join(arn));
    try {
        const first = await m.boot(true);
        console.log(`----- QEMU first boot (${first.seconds}s to the report) -----\n${first.report}`);
        expect(line(first.report, "system")).toBe("running");
        expect(line(first.report, "failed")).toBe("");
        expect(line(first.report, "cloud-init status")).toBe("done");
        expect(line(first.report, "redis-server")).toBe("active");
        expect(line(first.report, "mount")).toBe("/dev/nvme0n1 ext4");
        expect(line(first.report, "sysctl")).toBe("1 1024");
        expect(line(first.report, "thp")).toBe("always madvise [never] always defer defer+madvise madvise [never]");
        expect(first.report).toMatch(/is blank: formatting it/);
        const pong = await m.redisCli(["PING"], vm.secret.password);
        expect(pong.stdout.trim()).toBe("PONG");
        expect((await m.redisCli(["SET", "vm:marker", "first-boot"], vm.secret.password)).stdout.trim()).toBe("OK");
        await m.stop();

        const second = await m.boot(true);
        console.log(`----- QEMU second boot (${second.seconds}s to the report) -----\n${second.report}`);
        expect(line(second.report, "system")).toBe("running");
        expect(line(second.report, "failed")).toBe("");
        expect(line(second.report, "redis-server")).toBe("active");
        expect(line(second.report, "mounted-by")).toBe("active");
        expect(second.report).toMatch(/already holds a filesystem: leaving its data as it is/);
        expect(second.report).not.toMatch(/formatting/);
        expect(line(second.report, "fstab")).toBe(line(first.report, "fstab"));
        expect(line(second.report, "sysctl")).toBe("1 1024");
        expect((await m.redisCli(["GET", "vm:marker"], vm.secret.password)).stdout.trim()).toBe("first-boot");
        await m.stop();

        const third = await m.boot(false);
        console.log(`----- QEMU boot with the volume detached (${third.seconds}s to the report) -----\n${third.report}`);
        expect(line(third.report, "system")).toBe("degraded");
        expect(line(third.report, "redis-server")).toBe("inactive");
        expect(line(third.report, "failed")).toMatch(/mspbyte-data-disk\.service/);
        expect(third.report).toMatch(new RegExp(`within ${DISK_WAIT_SECONDS}s: Redis stays stopped`));
        expect((await m.redisCli(["PING"], vm.secret.password)).stdout).not.toMatch(/PONG/);
        await m.stop();
    } finally {
        await m.stop();
    }
}, 3_600_000);
