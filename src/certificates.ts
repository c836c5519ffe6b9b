import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { type Transform, transformed } from "./transform";

/** How long the generated CA and server certificate last; the server's renews a month early on an update. */
export const CA_VALIDITY_HOURS = 10 * 365 * 24;
export const CERT_VALIDITY_HOURS = 2 * 365 * 24;
export const CERT_EARLY_RENEWAL_HOURS = 30 * 24;

/** A server's TLS material as PEM text: generated here, or given by the stack as secrets. */
export interface ServerCertificates {
    certPem: pulumi.Output<string>;
    /** Always secret. */
    keyPem: pulumi.Output<string>;
    caPem: pulumi.Output<string>;
}

/** Certificate, key and CA the stack provides (`tlsCertificate`, `tlsKey`, `tlsCa`). */
export interface ProvidedCertificates {
    certPem: string;
    keyPem: string;
    caPem: string;
}

/** Transforms of the generated certificate's children (none is created for the stack's own). */
export interface CertificateTransforms {
    readonly caKey?: Transform<tls.PrivateKeyArgs>;
    readonly ca?: Transform<tls.SelfSignedCertArgs>;
    readonly key?: Transform<tls.PrivateKeyArgs>;
    readonly request?: Transform<tls.CertRequestArgs>;
    readonly cert?: Transform<tls.LocallySignedCertArgs>;
}

/**
 * The server's certificate: the stack's own when it provides one, otherwise a private CA and a
 * server certificate signed by it, generated and kept (secret) in the stack's state. Clients
 * verify the server with the CA, which the stack exports in `details`.
 */
export function serverCertificates(
    name: string,
    dnsNames: pulumi.Input<string>[],
    parent: pulumi.Resource,
    ipAddresses: string[] = [],
    provided?: ProvidedCertificates,
    transform: CertificateTransforms = {},
): ServerCertificates {
    if (provided) {
        return { certPem: pulumi.output(provided.certPem), keyPem: pulumi.secret(provided.keyPem), caPem: pulumi.output(provided.caPem) };
    }
    const opts = { parent };
    const caKey = new tls.PrivateKey(`${name}-ca-key`, transformed({ algorithm: "ECDSA", ecdsaCurve: "P256" }, transform.caKey), opts);
    const caCert = new tls.SelfSignedCert(
        `${name}-ca`,
        transformed(
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                validityPeriodHours: CA_VALIDITY_HOURS,
                allowedUses: ["cert_signing", "crl_signing"],
                subject: { commonName: "mspbyte-redis CA" },
            },
            transform.ca,
        ),
        opts,
    );
    const key = new tls.PrivateKey(`${name}-tls-key`, transformed({ algorithm: "ECDSA", ecdsaCurve: "P256" }, transform.key), opts);
    const request = new tls.CertRequest(
        `${name}-tls-request`,
        transformed(
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: "mspbyte-redis" },
                dnsNames: [...dnsNames, "localhost"],
                ipAddresses: ["127.0.0.1", ...ipAddresses],
            },
            transform.request,
        ),
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${name}-tls`,
        transformed(
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: caCert.certPem,
                validityPeriodHours: CERT_VALIDITY_HOURS,
                earlyRenewalHours: CERT_EARLY_RENEWAL_HOURS,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            transform.cert,
        ),
        opts,
    );
    return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem), caPem: caCert.certPem };
}
