/** The rules config and the policy pack share (src/rules.ts), on tables of values people write. */
import { describe, expect, it } from "vitest";
import {
    describeGiven,
    internetCoveredBy,
    isHostNameOrAddress,
    isPinnedImage,
    isPrivateCidr,
    looksLikeKeyMaterial,
    parseCidr,
    redactMessage,
    requiresProtection,
    splitEndpoint,
    type Cidr,
} from "../../src/rules";

const cidrs = (...list: string[]): Cidr[] =>
    list.map((s) => {
        const p = parseCidr(s);
        if (!p.ok) throw new Error(`not a CIDR: ${s}`);
        return p.cidr;
    });

describe("parseCidr", () => {
    it.each([
        ["10.0.0.0/16", "10.0.0.0/16"],
        ["0::/0", "::/0"],
        ["2001:DB8:0:0::/32", "2001:db8::/32"],
        ["fd00:0:0:0:0:0:0:0/8", "fd00::/8"],
        ["192.168.1.7/32", "192.168.1.7/32"],
    ])("%s is %s", (given, canonical) => {
        const p = parseCidr(given);
        expect(p.ok && p.cidr.text).toBe(canonical);
    });
    it.each([
        ["10.1.2.3/16", "10.1.0.0/16"],
        ["10.1.2.3", "10.1.2.3/32"],
        ["2001:db8::1/32", "2001:db8::/32"],
        ["::1", "::1/128"],
    ])("%s is refused, naming %s", (given, suggestion) => {
        expect(parseCidr(given)).toEqual({ ok: false, suggestion });
    });
    it.each([
        "10.0.0.0/33",
        "256.0.0.0/8",
        "010.0.0.0/8",
        "10.0.0/8",
        "::/129",
        "1:2:3:4:5:6:7:8:9/64",
        "a::b::c/64",
        "",
        "any",
        "10.0.0.0/-1",
    ])("%j is not a CIDR", (given) => {
        expect(parseCidr(given).ok).toBe(false);
    });
});

describe("what a set of sources covers", () => {
    it.each([
        [["0.0.0.0/0"], [4]],
        [["::/0"], [6]],
        [["0.0.0.0/1", "128.0.0.0/1"], [4]],
        [["::/1"], [6]],
        [["2000::/3"], [6]],
        [["2000::/4", "3000::/4"], [6]],
        // every public IPv4 range, private ones left out: still the whole internet
        [["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"], [4]],
        [
            ["0.0.0.0/0", "::/0"],
            [4, 6],
        ],
        [["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], []],
        [["0.0.0.0/1"], []],
        [["8.8.8.0/24"], []],
        [["fc00::/7"], []],
        [["128.0.0.0/1", "0.0.0.0/2"], []],
    ] as [string[], number[]][])("%j admits the whole internet of %j", (list, families) => {
        expect(internetCoveredBy(cidrs(...list))).toEqual(families);
    });
    it.each([
        ["10.0.0.0/8", true],
        ["10.0.0.0/7", false],
        ["172.16.0.0/12", true],
        ["172.0.0.0/11", false],
        ["100.64.0.0/10", true],
        ["fd12::/16", true],
        ["2600:1f18::/40", false],
        ["192.168.0.0/15", false],
    ] as [string, boolean][])("%s private: %s", (c, expected) => expect(isPrivateCidr(cidrs(c)[0]!)).toBe(expected));
});

describe("hosts and endpoints", () => {
    it.each([
        "redis.example.com",
        "redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com",
        "localhost",
        "10.0.1.23",
        "2001:db8::10",
        "::1",
        "redis.example.com.",
    ])("%s is a host", (h) => {
        expect(isHostNameOrAddress(h)).toBe(true);
    });
    it.each([
        "redis.example.com:6379",
        "redis_1.example.com",
        "-redis.example.com",
        "999.1.1.1",
        "",
        "a..b",
        `${"x".repeat(64)}.com`,
        "redis://h",
    ])("%j is not a host", (h) => {
        expect(isHostNameOrAddress(h)).toBe(false);
    });
    it.each([
        ["redis-12345.example.com:12345", { host: "redis-12345.example.com", port: 12345 }],
        ["[::1]:6380", { host: "::1", port: 6380 }],
        ["rediss://default:pw@redis.example.com:6380/0", { host: "redis.example.com", port: 6380 }],
        ["redis://redis.example.com", { host: "redis.example.com" }],
        ["2001:db8::10", undefined],
        ["a/b", undefined],
    ])("%s splits into %j", (given, split) => expect(splitEndpoint(given)).toEqual(split));
});

describe("images and protection", () => {
    it.each([
        ["redis:7.4.11-bookworm", true],
        [`redis@sha256:${"0".repeat(64)}`, true],
        ["ghcr.io/org/redis:7.4", true],
        ["localhost:5000/redis:7", true],
        ["redis", false],
        ["redis:latest", false],
        ["redis:Latest", false],
        ["redis:", false],
        ["REDIS:7", false],
        ["redis@sha256:abc", false],
    ] as [string, boolean][])("%s pinned: %s", (image, pinned) => expect(isPinnedImage(image)).toBe(pinned));
    it("only dev runs unprotected", () => {
        expect([requiresProtection("dev"), requiresProtection("prod"), requiresProtection("staging"), requiresProtection("dev2")]).toEqual([
            false,
            true,
            true,
            true,
        ]);
    });
});

describe("secrets in messages", () => {
    it.each([
        ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----", true],
        ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ4 me@host", true],
        ["AKIAIOSFODNN7EXAMPLE", true],
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true],
        ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", true],
        [`redis@sha256:${"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`, false],
        ["redis-12345.c1.us-east-1-2.ec2.cloud.redislabs.com", false],
        ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", false],
        ["pipeline-jobs", false],
        ["10.0.0.0/16", false],
        ["subnet-0a1b2c3d4e5f60001", false],
    ] as [string, boolean][])("%j looks like key material: %s", (s, expected) => expect(looksLikeKeyMaterial(s)).toBe(expected));

    it("describes a value by kind and length where it may not be shown", () => {
        expect(describeGiven("hunter2-hunter2-hunter2", { secretKey: true })).toBe("given a secret of 23 characters");
        expect(describeGiven({ a: 1 }, { secretKey: true })).toBe("given an object (not shown: the key holds a secret)");
        expect(describeGiven("AKIAIOSFODNN7EXAMPLE", { secretKey: false })).toBe(
            "given a value that looks like key material (22 characters, not shown)",
        );
        expect(describeGiven("y".repeat(100), { secretKey: false })).toBe(`given "${"y".repeat(59)}… (102 characters)`);
        expect(describeGiven(undefined, { secretKey: false })).toBe("missing");
    });

    it("redacts key material left in any message line and keeps it short", () => {
        const line = `x: given -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7VJTUt9Us8cKjMzEfYyjiWA4R4\n-----END RSA PRIVATE KEY----- and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`;
        expect(redactMessage(line)).toBe("x: given [PEM block, not shown] and [not shown]");
        expect(redactMessage("allowed: a PEM certificate (-----BEGIN CERTIFICATE-----)")).toBe(
            "allowed: a PEM certificate (-----BEGIN CERTIFICATE-----)",
        );
        expect(redactMessage("z ".repeat(1000)).length).toBeLessThanOrEqual(600 + " (2000 characters)".length + 1);
    });
});
