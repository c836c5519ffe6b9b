/**
 * AWS's rules on what the stack config decides (src/awsRules.ts), as tables, and the same rules
 * reached through the stack config: a value AWS would refuse at `pulumi up` is refused first,
 * with the key, what was given and what is allowed.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../../src/config";
import {
    authTokenProblem,
    cacheNameProblem,
    maintenanceWindowProblem,
    multiAzSubnetsProblem,
    nitroProblem,
    snapshotWindowProblem,
    windowsOverlap,
} from "../../src/awsRules";
import { checkValue } from "../helpers/awsModels";
import { stackConfig } from "../helpers/stackUnderMocks";

describe("ElastiCache AUTH tokens: only ! & # $ ^ < > - as specials", () => {
    it.each([
        ["Abcdefgh-12345678", true],
        ["Abc!def&ghi#jkl$mno^p<q>r", true],
        ["Abcdefgh%12345678", false],
        ["Abcdefgh*12345678", false],
        ["Abcdefgh 12345678", false],
        ["Abcdefgh@12345678", false],
        ["Abcdefgh/12345678", false],
        ['Abcdefgh"12345678', false],
    ])("%s -> %s, and the API model's documented rule agrees", (token, ok) => {
        expect(authTokenProblem(token) === undefined).toBe(ok);
        expect(checkValue("elasticache:CreateReplicationGroup.AuthToken", token) === undefined).toBe(ok);
    });
});

describe("cache names", () => {
    it.each([
        ["mspbyte-redis-prod", "elasticache", true],
        ["mspbyte-redis-Prod", "elasticache", false],
        ["mspbyte-redis-prod_eu", "elasticache", false],
        ["mspbyte-redis-prod.eu", "elasticache", false],
        ["mspbyte-redis--prod", "elasticache", false],
        ["mspbyte-redis-prod-", "elasticache", false],
        ["a".repeat(40), "elasticache", true],
        ["a".repeat(41), "elasticache", false],
        ["a".repeat(36), "memorydb", true],
        ["a".repeat(37), "memorydb", false],
    ] as const)("%s (%s) -> %s, as the API model's documented rule", (name, service, ok) => {
        expect(cacheNameProblem(name, service) === undefined).toBe(ok);
        if (service === "elasticache")
            expect(checkValue("elasticache:CreateReplicationGroup.ReplicationGroupId", name) === undefined).toBe(ok);
    });
});

describe("snapshot and maintenance windows", () => {
    it.each([
        ["03:00-04:00", "sun:05:00-sun:06:00", false],
        ["05:30-06:30", "sun:05:00-sun:06:00", true],
        ["23:30-00:30", "mon:00:00-mon:01:00", true],
        ["23:30-00:30", "sat:23:00-sun:00:15", true],
        ["22:00-23:00", "sat:23:00-sun:00:15", false],
        ["04:00-05:00", "sun:05:00-sun:06:00", false],
    ])("snapshot %s, maintenance %s: overlap %s", (snapshot, maintenance, overlap) => {
        expect(windowsOverlap(snapshot, maintenance)).toBe(overlap);
    });

    it.each([
        ["03:00-04:00", undefined],
        ["03:00-03:30", "a window of at least 60 minutes, such as 03:00-04:00"],
        ["25:00-26:00", "a UTC window hh:mm-hh:mm with hours 00-23 and minutes 00-59, such as 03:00-04:00"],
    ])("snapshot window %s", (w, problem) => expect(snapshotWindowProblem(w)).toBe(problem));

    it.each([
        ["sun:05:00-sun:06:00", undefined],
        ["sat:23:30-sun:00:30", undefined],
        ["sun:05:00-sun:05:30", 'a window of at least 60 minutes ("The minimum maintenance window is a 60 minute period")'],
        [
            "sunday:05:00-sunday:06:00",
            "a UTC window ddd:hh:mm-ddd:hh:mm with ddd one of sun mon tue wed thu fri sat, such as sun:05:00-sun:06:00",
        ],
    ])("maintenance window %s", (w, problem) => expect(maintenanceWindowProblem(w)).toBe(problem));
});

describe("VM instance types: Nitro only (the data disk is found as an NVMe device named by its volume id)", () => {
    it.each([
        ["t4g.small", true],
        ["t3.small", true],
        ["m7g.large", true],
        ["i3en.large", true],
        ["t2.small", false],
        ["m4.large", false],
        ["i3.large", false],
        ["i3.metal", true],
        ["c4.xlarge", false],
    ])("%s -> %s", (type, ok) => {
        expect(nitroProblem(type) === undefined).toBe(ok);
    });
});

describe("Multi-AZ needs subnets in two zones", () => {
    it.each([
        [true, ["subnet-1"], false],
        [true, ["subnet-1", "subnet-2"], true],
        [false, ["subnet-1"], true],
    ] as const)("multiAz %s with %j -> %s", (multiAz, subnets, ok) => {
        expect(multiAzSubnetsProblem(multiAz, [...subnets]) === undefined).toBe(ok);
    });
});

describe("through the stack config: refused before anything is created", () => {
    const errorOf = (raw: Record<string, unknown>, stack: string, secrets: string[] = []) => {
        try {
            parseStackConfig(raw, stack, new Set(secrets));
            return "";
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            return e.problems.join("\n");
        }
    };
    const prod = (ec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
        ...stackConfig("prod", { elasticache: ec }),
        ...extra,
    });
    const vm = (v: Record<string, unknown>) => stackConfig("vm", { vm: v });

    it.each([
        {
            case: "a password with % (not an AUTH token character)",
            raw: prod({}, { password: "Has%a-percent-sign-00" }),
            secrets: ["password"],
            error: "mspbyte-redis:password: given a secret of 21 characters; allowed: an AUTH token of letters, digits and only these specials: ! & # $ ^ < > - (ElastiCache's rule); leave it unset to have one generated",
        },
        {
            case: "overlapping windows",
            raw: prod({ snapshotWindow: "05:00-06:00" }),
            error: 'mspbyte-redis:elasticache.snapshotWindow: given "05:00-06:00"; allowed: a window that does not overlap elasticache.maintenanceWindow (sun:05:00-sun:06:00); AWS refuses overlapping windows',
        },
        {
            case: "Multi-AZ (one replica) on one subnet",
            raw: prod({ subnetIds: ["subnet-0a1b2c3d4e5f60001"] }),
            error: 'mspbyte-redis:elasticache.subnetIds: given ["subnet-0a1b2c3d4e5f60001"]; allowed: at least two subnets in different availability zones when Multi-AZ is on (it is on whenever elasticache.replicas is 1 or more, unless elasticache.multiAz is false)',
        },
        {
            case: "a cache name with --",
            raw: prod({ name: "queue--prod" }),
            error: "mspbyte-redis:elasticache.name: given \"queue--prod\"; allowed: 1 to 40 lowercase letters, digits and hyphens, starting with a letter, without -- or a trailing - (ElastiCache's rule for the cache's name)",
        },
        {
            case: "a MemoryDB name too long for its ACL",
            raw: prod({ service: "memorydb", nodeType: "db.t4g.small", name: "mspbyte-redis-production-eu-central-1" }),
            error: `mspbyte-redis:elasticache.name: given "mspbyte-redis-production-eu-central-1"; allowed: 1 to 36 lowercase letters, digits and hyphens, starting with a letter, without -- or a trailing - (MemoryDB's rule for the cache's name)`,
        },
        {
            case: "a Xen instance type for the VM",
            raw: vm({ instanceType: "t2.small" }),
            error: 'mspbyte-redis:vm.instanceType: given "t2.small"; allowed: an instance type built on the Nitro System, such as t4g.small, t3.small or m7g.large; t2 runs on Xen, where the data volume is not an NVMe device named by its volume id and the boot script cannot find it',
        },
    ])("$case", ({ raw, secrets, error }) => {
        expect(errorOf(raw, "prod", secrets)).toContain(error);
    });

    it.each([
        [
            "Prod",
            'mspbyte-redis:elasticache.name: missing, and the stack name "Prod" gives "mspbyte-redis-Prod"; allowed: 1 to 40 lowercase letters, digits and hyphens, starting with a letter, without -- or a trailing - (ElastiCache\'s rule for the cache\'s name); set elasticache.name, or use a shorter lowercase stack name',
        ],
        ["prod_eu", 'the stack name "prod_eu" gives "mspbyte-redis-prod_eu"'],
        ["prod.eu", 'the stack name "prod.eu" gives "mspbyte-redis-prod.eu"'],
        ["a-stack-name-of-twenty-seven", 'the stack name "a-stack-name-of-twenty-seven" gives'],
    ])("stack %s: the derived cache name is checked", (stack, error) => {
        expect(errorOf(prod({}), stack)).toContain(error);
        expect(errorOf(prod({ name: "queue-prod" }), stack)).toBe("");
    });

    it("a derived VM server name the snapshot policy cannot take is refused; a plain one passes", () => {
        expect(errorOf(vm({}), "vm.eu")).toContain(
            'the stack name "vm.eu" gives the server name "mspbyte-redis-vm.eu"; allowed: letters, digits, _ and - only',
        );
        expect(errorOf(vm({}), "vm")).toBe("");
        expect(errorOf(vm({ amiId: "ami-0123456789abcdef0" }), "vm")).toBe("");
    });
});
