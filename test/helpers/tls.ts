/** A throwaway CA and a server certificate for 127.0.0.1 and localhost, made with the real openssl. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface TestCerts {
    dir: string;
    caFile: string;
    certFile: string;
    keyFile: string;
}

export function makeCerts(): TestCerts {
    try {
        execFileSync("openssl", ["version"], { stdio: "ignore" });
    } catch {
        throw new Error("openssl not found on PATH: install it with `sudo apt-get install -y openssl`; .ci/run installs it on CI");
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-tls-"));
    const f = (name: string) => path.join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f("ca.key"),
        "-out",
        f("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=mspbyte-redis test CA",
    );
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost");
    fs.writeFileSync(f("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    openssl(
        "x509",
        "-req",
        "-in",
        f("server.csr"),
        "-CA",
        f("ca.crt"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-out",
        f("server.crt"),
        "-days",
        "2",
        "-extfile",
        f("san.ext"),
    );
    return { dir, caFile: f("ca.crt"), certFile: f("server.crt"), keyFile: f("server.key") };
}
