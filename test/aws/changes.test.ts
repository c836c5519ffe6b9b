/**
 * The routine changes of a stack's life, each run before and after under mocks, every
 * resource's diff classified by the provider's replace-forcing properties (awsReplace.ts) and
 * Pulumi's ordering rules (changeSafety.ts): no data-holding resource replaced unless the change
 * means it, and every replacement able to succeed (no name collision, nothing deleted while in
 * use). The verdicts are what the README's tables say each change does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { AWS_REPLACE } from "../helpers/awsReplace";
import {
    type ResourceChange,
    type Verdict,
    changeProblems,
    coexistProblems,
    diffRuns,
    leftovers,
    recreateProblems,
} from "../helpers/changeSafety";
import { editedRedisConf } from "../helpers/confEdit";
import { type StackRun, type World, registerStack, stackConfig } from "../helpers/stackUnderMocks";

const RG = "aws:elasticache/replicationGroup:ReplicationGroup::redis-cache";
const PG = "aws:elasticache/parameterGroup:ParameterGroup::redis-params";
const MDB = "aws:memorydb/cluster:Cluster::redis-cluster";
const MPG = "aws:memorydb/parameterGroup:ParameterGroup::redis-params";
const MUSER = "aws:memorydb/user:User::redis-user";
const INST = "aws:ec2/instance:Instance::redis-instance";
const ATT = "aws:ec2/volumeAttachment:VolumeAttachment::redis-data-attachment";
const VOL = "aws:ebs/volume:Volume::redis-data";
const DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy::redis-snapshots";
const SV = "aws:secretsmanager/secretVersion:SecretVersion::redis-auth-value";
const SUB = "aws:sns/topicSubscription:TopicSubscription::redis-alarms-email";
const PW = "random:index/randomPassword:RandomPassword::redis-password";
const MEMORYDB = { service: "memorydb", nodeType: "db.t4g.small", engineVersion: "7.3" };
const OWN_PASSWORD = "Own-Password-0123456789-abcdef";

interface Side {
    changes?: Record<string, unknown>;
    secrets?: Record<string, string>;
    confEdit?: (t: string) => string;
    world?: World;
    /** Run the stack file under another stack name (dev: the only stack that may be unprotected). */
    as?: string;
}
interface Case {
    change: string;
    stack: string;
    before?: Side;
    after: Side;
    expect: Record<string, Verdict>;
    dataReplacement?: string[];
    /** What the README says of a change that replaces, or is refused because it would replace, the data. */
    readme?: string;
}

/** First runs (no prior) are the same whatever the case: each is built once. Tests that edit a run use `fresh`. */
const firstRuns = new Map<string, Promise<StackRun>>();
async function run(stack: string, side: Side = {}, prior?: StackRun): Promise<StackRun> {
    if (prior || side.confEdit) return fresh(stack, side, prior);
    const key = JSON.stringify([stack, side]);
    if (!firstRuns.has(key)) firstRuns.set(key, fresh(stack, side));
    return firstRuns.get(key)!;
}

async function fresh(stack: string, side: Side = {}, prior?: StackRun): Promise<StackRun> {
    const world: World = { ...side.world, ...(side.confEdit ? { redisConf: editedRedisConf(side.confEdit) } : {}) };
    return registerStack(
        side.as ?? stack,
        { ...stackConfig(stack, side.changes), ...(side.secrets ?? {}) },
        Object.keys(side.secrets ?? {}),
        prior,
        world,
    );
}

const SLOWLOG = (t: string) => t.replace(/^slowlog-max-len .*$/m, "slowlog-max-len 512");
const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

const CASES: Case[] = [
    {
        change: "engine minor upgrade (Valkey 8.0 -> 8.1)",
        stack: "prod",
        after: { changes: { elasticache: { engineVersion: "8.1" } } },
        expect: { [RG]: "in place", [PG]: "unchanged" },
    },
    {
        change: "engine major upgrade (Valkey 7.2 -> 8.0)",
        stack: "prod",
        before: { changes: { elasticache: { engineVersion: "7.2" } } },
        after: { changes: { elasticache: { engineVersion: "8.0" } } },
        expect: { [RG]: "in place", [PG]: "replace" },
    },
    {
        change: "engine switch (Redis OSS 7.1 -> Valkey 8.0)",
        stack: "prod",
        before: { changes: { elasticache: { engine: "redis", engineVersion: "7.1" } } },
        after: { changes: { elasticache: { engine: "valkey", engineVersion: "8.0" } } },
        expect: { [RG]: "in place", [PG]: "replace" },
    },
    {
        change: "engine switch back (Valkey 8.0 -> Redis OSS 7.1)",
        stack: "prod",
        after: { changes: { elasticache: { engine: "redis", engineVersion: "7.1" } } },
        expect: { [RG]: "refused (protected)" },
        readme: "| engine switch Valkey → Redis OSS, `port`, `kmsKeyArn`, `name`, `restoreFromSnapshot` on prod | refused: these replace the cache, and prod is protected",
    },
    {
        change: "node type (cache.t4g.small -> cache.m7g.large)",
        stack: "prod",
        after: { changes: { elasticache: { nodeType: "cache.m7g.large" } } },
        expect: { [RG]: "in place" },
    },
    {
        change: "replicas 1 -> 2",
        stack: "prod",
        after: { changes: { elasticache: { replicas: 2 } } },
        expect: { [RG]: "in place", "aws:cloudwatch/metricAlarm:MetricAlarm::redis-003-memory": "create" },
    },
    {
        change: "password: generated -> the stack's own",
        stack: "prod",
        after: { secrets: { password: OWN_PASSWORD } },
        expect: { [RG]: "in place", [PW]: "delete", [SV]: "replace" },
    },
    {
        change: "redis.conf edit (slowlog-max-len)",
        stack: "prod",
        after: { confEdit: SLOWLOG },
        expect: { [PG]: "in place", [RG]: "unchanged" },
    },
    {
        change: "snapshot retention 7 -> 14 days",
        stack: "prod",
        after: { changes: { elasticache: { snapshotRetentionDays: 14 } } },
        expect: { [RG]: "in place" },
    },
    {
        change: "alarm email added",
        stack: "prod",
        after: { changes: { elasticache: { alarmEmail: "oncall@example.com" } } },
        expect: { [SUB]: "create", [RG]: "unchanged" },
    },
    {
        change: "restore in place from a snapshot (protected)",
        stack: "prod",
        after: { changes: { elasticache: { restoreFromSnapshot: "mspbyte-redis-prod-2026-11-27" } } },
        expect: { [RG]: "refused (protected)" },
        readme: "Prod itself is protected, so a restore in place there is\nrefused",
    },
    {
        change: "restore in place from a snapshot (an unprotected stack: dev on ElastiCache)",
        stack: "prod",
        before: { as: "dev" },
        after: { as: "dev", changes: { elasticache: { restoreFromSnapshot: "mspbyte-redis-prod-2026-11-27" } } },
        expect: { [RG]: "replace (delete first)", [PG]: "unchanged" },
        dataReplacement: [RG],
        readme: "on an unprotected stack (dev on ElastiCache) it deletes the cache first (taking its\nfinal snapshot) and creates it from the snapshot under the same id",
    },
    {
        change: "MemoryDB engine switch (Redis OSS 7.1 -> Valkey 7.3)",
        stack: "prod",
        before: { changes: { elasticache: { ...MEMORYDB, engine: "redis", engineVersion: "7.1" } } },
        after: { changes: { elasticache: MEMORYDB } },
        expect: { [MDB]: "in place", [MPG]: "replace" },
    },
    {
        change: "MemoryDB node type (db.t4g.small -> db.r7g.large)",
        stack: "prod",
        before: { changes: { elasticache: MEMORYDB } },
        after: { changes: { elasticache: { ...MEMORYDB, nodeType: "db.r7g.large" } } },
        expect: { [MDB]: "in place" },
    },
    {
        change: "MemoryDB password: generated -> the stack's own",
        stack: "prod",
        before: { changes: { elasticache: MEMORYDB } },
        after: { changes: { elasticache: MEMORYDB }, secrets: { password: OWN_PASSWORD } },
        expect: { [MUSER]: "in place", [MDB]: "unchanged" },
    },
    {
        change: "vm instance type, same architecture (t4g.small -> t4g.medium)",
        stack: "vm",
        after: { changes: { vm: { instanceType: "t4g.medium" } } },
        expect: { [INST]: "in place", [ATT]: "unchanged", [VOL]: "unchanged" },
    },
    {
        change: "vm instance type, other architecture (t4g.small -> t3.small)",
        stack: "vm",
        after: { changes: { vm: { instanceType: "t3.small" } } },
        expect: { [INST]: "replace", [ATT]: "replace (delete first)", [VOL]: "unchanged" },
    },
    {
        change: "vm TLS on",
        stack: "vm",
        before: { changes: { vm: { tls: false } } },
        after: { changes: { vm: { tls: true } } },
        expect: { [INST]: "in place", [ATT]: "unchanged", [VOL]: "unchanged" },
    },
    {
        change: "vm redis.conf edit (slowlog-max-len)",
        stack: "vm",
        after: { confEdit: SLOWLOG },
        expect: { [INST]: "in place", [ATT]: "unchanged", [VOL]: "unchanged" },
    },
    {
        change: "vm password: generated -> the stack's own",
        stack: "vm",
        after: { secrets: { password: OWN_PASSWORD } },
        expect: { [SV]: "replace", [INST]: "in place", [ATT]: "unchanged", [VOL]: "unchanged" },
    },
    {
        change: "vm data volume 20 -> 40 GiB",
        stack: "vm",
        after: { changes: { vm: { dataVolumeGiB: 40 } } },
        expect: { [VOL]: "in place", [INST]: "unchanged", [ATT]: "unchanged" },
    },
    {
        change: "vm snapshot retention 7 -> 14 days",
        stack: "vm",
        after: { changes: { vm: { snapshotRetentionDays: 14 } } },
        expect: { [DLM]: "in place", [INST]: "unchanged" },
    },
    {
        change: "vm: a new Debian 12 AMI is published",
        stack: "vm",
        after: { world: { amiRelease: "20261215" } },
        expect: { [INST]: "replace", [ATT]: "replace (delete first)", [VOL]: "unchanged" },
    },
    {
        change: "vm: a new Debian AMI, with vm.amiId pinned",
        stack: "vm",
        before: { changes: { vm: { amiId: "ami-0123456789abcdef0" } } },
        after: { changes: { vm: { amiId: "ami-0123456789abcdef0" } }, world: { amiRelease: "20261215" } },
        expect: { [INST]: "unchanged" },
    },
];

const verdictsOf = (changes: ResourceChange[], keys: string[]) =>
    Object.fromEntries(keys.map((k) => [k, changes.find((c) => c.key === k)?.verdict ?? "absent"]));

describe("routine changes: verdicts, and every replacement can succeed", () => {
    it.each(CASES)("$stack: $change", async (c) => {
        const before = await run(c.stack, c.before);
        const after = await run(c.stack, c.after ?? {}, before);
        const changes = diffRuns(before, after, AWS_REPLACE);
        expect(verdictsOf(changes, Object.keys(c.expect))).toEqual(c.expect);
        expect(changeProblems(before, after, AWS_REPLACE, { dataReplacementExpected: c.dataReplacement })).toEqual([]);
        const touchesData = changes.some(
            (x) => AWS_REPLACE[x.type]?.holdsData && (x.verdict.startsWith("replace") || x.verdict === "refused (protected)"),
        );
        if (touchesData)
            expect(README, "the README must say what this change does to the data").toContain(c.readme ?? "(no README line given)");
        // Nothing holding data is replaced or deleted in any of these but the restore.
        for (const ch of changes.filter((x) => AWS_REPLACE[x.type]?.holdsData)) {
            if (!(c.dataReplacement ?? []).includes(ch.key))
                expect(["unchanged", "in place", "refused (protected)"], `${ch.key}: ${ch.verdict}`).toContain(ch.verdict);
        }
    });

    it("a VM's in-place changes reach it through new user data (the provider stops, updates and starts it)", async () => {
        for (const after of [
            { changes: { vm: { tls: false } } },
            { secrets: { password: OWN_PASSWORD } },
            { changes: { vm: { instanceType: "t4g.medium" } } },
        ] as Side[]) {
            const before = await run("vm");
            const changes = diffRuns(before, await run("vm", after, before), AWS_REPLACE);
            expect(changes.find((c) => c.key === INST)!.changed, JSON.stringify(after)).toContain("userDataBase64");
        }
    });

    it("a VM on the other architecture boots that architecture's AMI", async () => {
        const r = await run("vm", { changes: { vm: { instanceType: "t3.small" } } });
        const ami = r.resources.find((x) => x.type === "aws:ec2/instance:Instance")!.inputs.ami;
        expect(ami).toMatch(/x86_64/);
        expect(r.resources.find((x) => x.type === "aws:ec2/instance:Instance")!.opts.ignoreChanges).toEqual([]);
    });

    it("the instance waits for the grants its boot needs (the secret, Session Manager)", async () => {
        const r = await run("vm");
        expect(r.resources.find((x) => x.type === "aws:ec2/instance:Instance")!.opts.dependsOn.sort()).toEqual([
            "redis-read-secret",
            "redis-ssm",
        ]);
    });

    it("a restore in place leaves its final snapshot under a name the new cache will not use again", async () => {
        const before = await run("prod", { as: "dev" });
        const after = await run(
            "prod",
            { as: "dev", changes: { elasticache: { restoreFromSnapshot: "mspbyte-redis-prod-2026-11-27" } } },
            before,
        );
        const oldFinal = before.resources.find((x) => x.type.includes("replicationGroup"))!.inputs.finalSnapshotIdentifier;
        const newFinal = after.resources.find((x) => x.type.includes("replicationGroup"))!.inputs.finalSnapshotIdentifier;
        expect(newFinal).not.toBe(oldFinal);
    });
});

describe("destroy and re-create with the same stack name; a second stack in the same account", () => {
    const variants: [string, Side][] = [
        ["prod", {}],
        ["prod", { changes: { elasticache: MEMORYDB } }],
        ["vm", {}],
    ];

    it.each(variants)("%s %j: re-created after a destroy, nothing collides with what the first left", async (stack, side) => {
        const first = await fresh(stack, side);
        const second = await fresh(stack, side);
        expect(recreateProblems(first, second, AWS_REPLACE)).toEqual([]);
        // What the first left: the managed caches' final snapshots (the VM's kept volume has no name to collide on).
        expect([...leftovers(first, AWS_REPLACE).keys()].filter((k) => k.includes("snapshot"))).toHaveLength(stack === "vm" ? 0 : 1);
    });

    it.each(variants)("%s %j: a second stack (staging) beside it claims no name it holds", async (stack, side) => {
        const first = await fresh(stack, side);
        // The same stack file under another stack name, as `pulumi stack init staging` with a copy of it.
        const other = await registerStack("staging", stackConfig(stack, side.changes));
        expect(coexistProblems(first, other, AWS_REPLACE)).toEqual([]);
    });
});

describe("the rules catch what they guard against (each fed the mistake it exists for)", () => {
    const pin = (r: StackRun, type: string, patch: (i: Record<string, any>) => void) => {
        for (const x of r.resources.filter((y) => y.type === type)) patch(x.inputs);
        return r;
    };

    it("a parameter group with a fixed name, replaced by a family change, collides with itself", async () => {
        const before = pin(
            await fresh("prod", { changes: { elasticache: { engineVersion: "7.2" } } }),
            "aws:elasticache/parameterGroup:ParameterGroup",
            (i) => {
                i.name = "mspbyte-redis-prod-params";
            },
        );
        const after = pin(await fresh("prod", {}, before), "aws:elasticache/parameterGroup:ParameterGroup", (i) => {
            i.name = "mspbyte-redis-prod-params";
        });
        expect(changeProblems(before, after, AWS_REPLACE)).toEqual([
            expect.stringMatching(
                /redis-params: replaced create-first while the old one still holds elasticache parameter group mspbyte-redis-prod-params/,
            ),
        ]);
    });

    it("a volume attachment replaced create-first fails on the attached volume (VolumeInUse)", async () => {
        const before = await fresh("vm");
        const after = await fresh("vm", { changes: { vm: { instanceType: "t3.small" } } }, before);
        after.resources.find((x) => x.type === "aws:ec2/volumeAttachment:VolumeAttachment")!.opts.deleteBeforeReplace = false;
        expect(changeProblems(before, after, AWS_REPLACE)).toEqual([
            expect.stringMatching(
                /redis-data-attachment: replaced create-first while the old one still holds attachment of vm-redis-data-id/,
            ),
        ]);
    });

    it("a data volume replaced (a new KMS key) is reported", async () => {
        const before = await fresh("vm", { as: "dev" });
        const after = await fresh(
            "vm",
            { as: "dev", changes: { vm: { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/0000-1111" } } },
            before,
        );
        expect(changeProblems(before, after, AWS_REPLACE)).toContainEqual(
            expect.stringMatching(/redis-data: holds the queue's data and is replaced \(kmsKeyId\)/),
        );
    });

    it("a parameter group deleted first while its cache uses it is reported", async () => {
        const before = await fresh("prod", { changes: { elasticache: { engineVersion: "7.2" } } });
        const after = await fresh("prod", {}, before);
        after.resources.find((x) => x.type === "aws:elasticache/parameterGroup:ParameterGroup")!.opts.deleteBeforeReplace = true;
        expect(changeProblems(before, after, AWS_REPLACE)).toEqual([
            expect.stringMatching(/redis-params: deleted first while .*redis-cache still uses it/),
        ]);
    });

    it("a fixed final snapshot name fails the second delete; a fixed secret name the re-create", async () => {
        const fixed = (r: StackRun) => {
            pin(r, "aws:elasticache/replicationGroup:ReplicationGroup", (i) => {
                i.finalSnapshotIdentifier = "mspbyte-redis-prod-final";
            });
            return pin(r, "aws:secretsmanager/secret:Secret", (i) => {
                i.name = "mspbyte-redis/mspbyte-redis-prod/auth";
                delete i.namePrefix;
            });
        };
        const problems = recreateProblems(fixed(await fresh("prod")), fixed(await fresh("prod")), AWS_REPLACE);
        expect(problems).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/secret mspbyte-redis\/mspbyte-redis-prod\/auth is still taken/),
                expect.stringMatching(/elasticache snapshot mspbyte-redis-prod-final, already taken/),
            ]),
        );
    });

    it("a constant MemoryDB user name collides between two stacks", async () => {
        const constant = (r: StackRun) =>
            pin(r, "aws:memorydb/user:User", (i) => {
                i.userName = "mspbyte-pipeline";
            });
        const a = constant(await fresh("prod", { changes: { elasticache: MEMORYDB } }));
        const b = constant(await registerStack("staging", stackConfig("prod", { elasticache: MEMORYDB })));
        expect(coexistProblems(a, b, AWS_REPLACE)).toEqual([expect.stringMatching(/memorydb user mspbyte-pipeline: claimed by prod/)]);
    });

    it("every provider resource type the stacks register has a rule with its source", async () => {
        const types = new Set<string>();
        for (const [stack, side] of [
            ["prod", {}],
            ["prod", { changes: { elasticache: { ...MEMORYDB, alarmEmail: "a@example.com" } } }],
            ["vm", {}],
        ] as [string, Side][]) {
            for (const r of (await fresh(stack, side)).resources) if (!r.type.startsWith("mspbyte:")) types.add(r.type);
        }
        expect([...types].filter((t) => !AWS_REPLACE[t])).toEqual([]);
        for (const t of types) expect(AWS_REPLACE[t]!.source).toMatch(/terraform-provider-(aws|random|tls) internal\//);
    });
});
