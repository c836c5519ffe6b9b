/**
 * A stand-in for the Amazon SSM agent package (the user data installs it from AWS's S3 bucket,
 * which the boot tests serve from moto): a real .deb, built here with dpkg-deb, whose service
 * only sleeps. Named as a stand-in in its version and description.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export function buildSsmAgentStandIn(dir: string): string {
    const root = path.join(dir, "ssm-agent-stand-in");
    fs.mkdirSync(path.join(root, "DEBIAN"), { recursive: true });
    fs.mkdirSync(path.join(root, "lib/systemd/system"), { recursive: true });
    fs.writeFileSync(
        path.join(root, "DEBIAN/control"),
        [
            "Package: amazon-ssm-agent",
            "Version: 0.0.0-stand-in",
            "Architecture: all",
            "Maintainer: mspbyte-redis boot tests <boot-tests@invalid>",
            "Description: stand-in for the Amazon SSM agent (boot tests only)",
            " Installs a service that only sleeps, where the real package would run the agent.",
            "",
        ].join("\n"),
    );
    fs.writeFileSync(
        path.join(root, "lib/systemd/system/amazon-ssm-agent.service"),
        [
            "[Unit]",
            "Description=stand-in for the Amazon SSM agent (boot tests only)",
            "[Service]",
            "ExecStart=/bin/sleep infinity",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ].join("\n"),
    );
    const deb = path.join(dir, "amazon-ssm-agent-stand-in.deb");
    execFileSync("dpkg-deb", ["--root-owner-group", "--build", root, deb], { stdio: "ignore" });
    return deb;
}
