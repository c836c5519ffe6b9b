/** Real command-line tools the tests drive; a missing one fails the test with how to install it. */
import { execFileSync } from "node:child_process";

const INSTALL: Record<string, string> = {
    "cloud-init": "sudo apt-get install -y cloud-init",
    shellcheck: "sudo apt-get install -y shellcheck",
    jq: "sudo apt-get install -y jq",
    "mkfs.ext4": "sudo apt-get install -y e2fsprogs",
    debugfs: "sudo apt-get install -y e2fsprogs",
    blkid: "sudo apt-get install -y util-linux",
    unshare: "sudo apt-get install -y util-linux",
    nsenter: "sudo apt-get install -y util-linux",
    umount: "sudo apt-get install -y util-linux",
    openssl: "sudo apt-get install -y openssl",
};

/** The PATH with /usr/sbin and /sbin added, where Debian keeps ip, losetup, blkid, dockerd ... for non-root users. */
export const SBIN_PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

export function requireTool(name: string): void {
    try {
        execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore", env: { PATH: SBIN_PATH } });
    } catch {
        throw new Error(
            `${name} not found on PATH: install it with \`${INSTALL[name] ?? `the package that provides ${name}`}\`; .ci/run installs it on CI`,
        );
    }
}
