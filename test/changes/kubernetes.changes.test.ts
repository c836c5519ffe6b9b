/**
 * Routine changes to the kubernetes stack (Pulumi.kubernetes.yaml), before and after under
 * mocks: every property change classified with pulumi-kubernetes' replace rules (see
 * test/helpers/containerReplace.ts), with the provider configured as the stack file says, and
 * what happens to the pod and the data said for each.
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOT_REDIS_CONF } from "../../src/redisConf";
import { changeProblems, diffRuns, verdicts } from "../helpers/changeSafety";
import { editedRedisConf } from "../helpers/confEdit";
import { kubernetesTable, prepareRuns } from "../helpers/containerReplace";
import { stackFileConfig } from "../helpers/pulumiMocks";
import { type StackRun, registerStack, stackConfig } from "../helpers/stackUnderMocks";

const file = stackFileConfig("kubernetes");
const table = kubernetesTable({
    enableSecretMutable: file["kubernetes:enableSecretMutable"] === "true",
    enableConfigMapMutable: file["kubernetes:enableConfigMapMutable"] === "true",
});
const PASSWORD = "Kubernetes-Password-One-0123456789";

async function run(
    changes: Record<string, unknown> = {},
    opts: { password?: string; edit?: (t: string) => string } = {},
): Promise<StackRun> {
    const world = opts.edit ? { redisConf: editedRedisConf(opts.edit) } : {};
    return registerStack(
        "kubernetes",
        { ...stackConfig("kubernetes", changes), password: opts.password ?? PASSWORD },
        ["password"],
        undefined,
        world,
    );
}

const checksum = (r: StackRun) =>
    r.resources.find((x) => x.type === "kubernetes:apps/v1:StatefulSet")!.inputs.spec.template.metadata.annotations[
        "mspbyte.io/config-hash"
    ];
const templateOf = (r: StackRun) =>
    JSON.stringify(r.resources.find((x) => x.type === "kubernetes:apps/v1:StatefulSet")!.inputs.spec.template);

const CASES: {
    change: string;
    changes?: Record<string, unknown>;
    password?: string;
    edit?: (t: string) => string;
    expected: Record<string, string>;
    rolls: boolean;
}[] = [
    {
        change: "image bump",
        changes: { kubernetes: { image: "redis:7.4.12-bookworm" } },
        expected: { "redis-statefulset": "in place" },
        rolls: true,
    },
    {
        change: "password change",
        password: "Kubernetes-Password-Two-0123456789",
        expected: { "redis-auth": "in place", "redis-statefulset": "in place" },
        rolls: true,
    },
    {
        change: "redis.conf edit",
        edit: (t) => t.replace("slowlog-max-len 256", "slowlog-max-len 512"),
        expected: { "redis-config": "in place", "redis-statefulset": "in place" },
        rolls: true,
    },
    {
        change: "memory limit",
        changes: { kubernetes: { memoryLimit: "2Gi" } },
        expected: { "redis-config": "in place", "redis-statefulset": "in place" },
        rolls: true,
    },
    { change: "storage size", changes: { kubernetes: { storageSize: "20Gi" } }, expected: { "redis-data-size": "in place" }, rolls: false },
    {
        change: "exporter off",
        changes: { kubernetes: { metrics: false } },
        expected: { "redis-service": "in place", "redis-statefulset": "in place", "redis-network-policy": "in place" },
        rolls: true,
    },
];

describe("routine changes to the kubernetes stack", () => {
    it.each(CASES)("$change: $expected; the data's PVC and Namespace stay", async ({ changes, password, edit, expected, rolls }) => {
        const [before, after] = prepareRuns(await run(), await run(changes, { password, edit }));
        const diff = diffRuns(before, after, table);
        expect(verdicts(diff)).toEqual(expected);
        expect(changeProblems(before, after, table)).toEqual([]);
        // The pod restarts exactly when the template changes; storage grows under the running pod.
        expect(templateOf(before) !== templateOf(after)).toBe(rolls);
    });

    it("a password or redis.conf change rolls the pod through the checksum, which holds neither", async () => {
        const before = await run();
        const pw = await run({}, { password: "Kubernetes-Password-Two-0123456789" });
        const conf = await run({}, { edit: (t) => t.replace("slowlog-max-len 256", "slowlog-max-len 512") });
        expect(checksum(pw)).not.toBe(checksum(before));
        expect(checksum(conf)).not.toBe(checksum(before));
        expect(checksum(await run())).toBe(checksum(before));
        for (const r of [before, pw])
            expect(JSON.stringify(r.resources.find((x) => x.type === "kubernetes:apps/v1:StatefulSet")!.inputs)).not.toContain(
                "Kubernetes-Password",
            );
    });

    it("exporter back on is the same in-place update the other way", async () => {
        const [off, on] = prepareRuns(await run({ kubernetes: { metrics: false } }), await run());
        expect(verdicts(diffRuns(off, on, table))).toEqual({
            "redis-service": "in place",
            "redis-statefulset": "in place",
            "redis-network-policy": "in place",
        });
    });

    it("a namespace change is refused: every object would move, the protected StatefulSet with them", async () => {
        const [before, after] = prepareRuns(await run(), await run({ kubernetes: { namespace: "mspbyte-redis-2" } }));
        const diff = diffRuns(before, after, table);
        expect(diff.find((c) => c.name === "redis-statefulset")!.verdict).toBe("refused (protected)");
        expect(diff.find((c) => c.name === "redis-namespace")!.forcedBy).toEqual(["metadata.name"]);
    });

    it("the Namespace is never deleted by the program: kept on destroy, on a rename and on createNamespace: false", async () => {
        const r = await run();
        const ns = r.resources.find((x) => x.type === "kubernetes:core/v1:Namespace")!;
        expect(ns.opts.retainOnDelete).toBe(true);
        const without = await run({ kubernetes: { createNamespace: false } });
        expect(without.resources.some((x) => x.type === "kubernetes:core/v1:Namespace")).toBe(false);
    });

    it("a storage size change never reaches the claim template (it would replace the set)", async () => {
        const before = await run();
        const after = await run({ kubernetes: { storageSize: "20Gi" } });
        const set = after.resources.find((x) => x.type === "kubernetes:apps/v1:StatefulSet")!;
        expect(set.opts.ignoreChanges).toEqual(["spec.volumeClaimTemplates"]);
        // Without the ignore, pulumi-kubernetes would replace the set: the rule the table encodes.
        const raw = diffRuns(
            before,
            { ...after, resources: after.resources.map((x) => (x === set ? { ...x, opts: { ...x.opts, ignoreChanges: [] } } : x)) },
            table,
        );
        expect(raw.find((c) => c.name === "redis-statefulset")!.forcedBy).toEqual(["spec.volumeClaimTemplates"]);
    });

    it("the provider is told to update ConfigMaps and Secrets in place; without it they are deleted and re-created", async () => {
        expect(file["kubernetes:enableSecretMutable"]).toBe("true");
        expect(file["kubernetes:enableConfigMapMutable"]).toBe("true");
        const [before, after] = prepareRuns(await run(), await run({}, { password: "Kubernetes-Password-Two-0123456789" }));
        const immutable = kubernetesTable({ enableSecretMutable: false, enableConfigMapMutable: false });
        expect(diffRuns(before, after, immutable).find((c) => c.name === "redis-auth")!.verdict).toBe("replace (delete first)");
    });

    it("the tables cite their source", () => {
        for (const [type, rule] of Object.entries(table))
            expect(rule.source, type).toMatch(/pulumi-kubernetes 94977969|terraform-provider-random|kreuzwerker/);
        expect(fs.existsSync(ROOT_REDIS_CONF)).toBe(true);
    });
});
