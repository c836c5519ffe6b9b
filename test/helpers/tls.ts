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
    const ca = makeCa(dir, "mspbyte-redis test CA");
    const server = signServer(dir, "server", "localhost", "IP:127.0.0.1,DNS:localhost");
    return { dir, caFile: ca, certFile: server.cert, keyFile: server.key };
}

const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

/** A CA of two days' validity in DIR (ca.crt, ca.key); returns the certificate's path. */
export function makeCa(dir: string, commonName: string): string {
    const f = (name: string) => path.join(dir, name);
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
        `/CN=${commonName}`,
    );
    return f("ca.crt");
}

/** A server certificate NAME.crt (key NAME.key) in DIR, signed by DIR's CA, for the subjectAltName SAN. */
export function signServer(dir: string, name: string, commonName: string, san: string): { cert: string; key: string } {
    const f = (file: string) => path.join(dir, file);
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${commonName}`);
    fs.writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    const signed = [
        "-CA",
        f("ca.crt"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-out",
        f(`${name}.crt`),
        "-days",
        "2",
        "-extfile",
        f(`${name}.ext`),
    ];
    openssl("x509", "-req", "-in", f(`${name}.csr`), ...signed);
    return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
}
