/**
 * Change safety, provider-neutral: two runs of a stack under mocks (before and after a change;
 * see stackUnderMocks.ts) are diffed resource by resource, each property change classified as
 * in place or replacing by a table of the properties that force a replacement (taken from the
 * provider's own source, cited beside each table), and Pulumi's rules applied:
 *
 * - a replaced resource is created before the old one is deleted, unless `deleteBeforeReplace`;
 *   so a replacement that keeps its unique name (or holds something only one may hold, such as
 *   a volume's attachment) fails unless it deletes first;
 * - a resource deleted first while another, not replaced, still uses it fails (a parameter
 *   group still in use by its cache);
 * - a `protect`ed resource is never replaced or deleted: Pulumi refuses the update;
 * - a replaced resource's id is new, so every property that holds it changes too.
 *
 * The same tables say what a destroy leaves behind (retained resources, final snapshots,
 * names reserved after delete), for the destroy-and-re-create and second-stack checks.
 */
import type { StackResource, StackRun } from "./stackUnderMocks";

export interface ReplaceRule {
    /** Input properties (top-level, or dotted paths) whose change replaces the resource. */
    forceNew: string[];
    /** Replacements the provider decides in code (CustomizeDiff): the reason, or undefined. */
    forceNewIf?: (before: Record<string, any>, after: Record<string, any>) => string | undefined;
    /** What must be unique in the account while the resource exists (its physical name). */
    uniqueKey?: (inputs: Record<string, any>) => string | undefined;
    /** Names its delete leaves taken (a final snapshot, a name reserved for a recovery window). */
    leavesBehind?: (inputs: Record<string, any>) => string[];
    /** It holds the queue's data: replacing it loses the data unless restored. */
    holdsData?: boolean;
    /** Deleting it fails while another resource still uses it. */
    refusesDeleteWhileUsed?: boolean;
    /** The value other resources hold to use it, besides its id (a group's name). */
    referencedAs?: (inputs: Record<string, any>) => string | undefined;
    /** Where the rule comes from (file and commit of the provider's source). */
    source: string;
}

export type ReplaceTable = Record<string, ReplaceRule>;

export type Verdict = "unchanged" | "in place" | "replace" | "replace (delete first)" | "refused (protected)" | "create" | "delete";

export interface ResourceChange {
    key: string;
    type: string;
    name: string;
    verdict: Verdict;
    /** Properties that differ. */
    changed: string[];
    /** Of those, the ones (or the rule) that force the replacement. */
    forcedBy: string[];
}

const keyOf = (r: StackResource) => `${r.type}::${r.name}`;
const get = (o: Record<string, any>, path: string): unknown => path.split(".").reduce<any>((v, k) => (v == null ? undefined : v[k]), o);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function ruleFor(table: ReplaceTable, type: string): ReplaceRule | undefined {
    if (!type.includes(":index/") && !type.includes("/")) return undefined;
    return table[type];
}

/** Resources the table must know: every provider resource (component resources have no provider). */
function isProviderResource(r: StackResource): boolean {
    return /^[a-z0-9-]+:[a-zA-Z0-9]+\/[a-zA-Z0-9]+:[A-Za-z0-9]+$/.test(r.type) && !r.type.startsWith("mspbyte:");
}

/**
 * Per-resource verdicts for the change from `before` to `after`. Throws when a provider
 * resource's type is not in the table: a table that does not know a type cannot classify it.
 */
export function diffRuns(before: StackRun, after: StackRun, table: ReplaceTable): ResourceChange[] {
    const b = new Map(before.resources.filter(isProviderResource).map((r) => [keyOf(r), r]));
    const a = new Map(after.resources.filter(isProviderResource).map((r) => [keyOf(r), r]));
    for (const r of [...b.values(), ...a.values()]) {
        if (!ruleFor(table, r.type)) throw new Error(`no replace rule for ${r.type}: add it to the table, from the provider's source`);
    }
    const changes = new Map<string, ResourceChange>();
    const replaced = new Set<string>();
    // A replaced resource gets a new id: properties holding the old one change, to a fixpoint.
    for (let round = 0; round < 10; round++) {
        let grew = false;
        for (const [key, old] of b) {
            const now = a.get(key);
            if (!now) continue;
            const rule = ruleFor(table, old.type)!;
            const props = new Set([...Object.keys(old.inputs), ...Object.keys(now.inputs)]);
            const changed = [...props].filter(
                (p) =>
                    !same(old.inputs[p], now.inputs[p]) ||
                    [...replaced].some((rk) => JSON.stringify(old.inputs[p] ?? "").includes(`${b.get(rk)!.name}-id`)),
            );
            const ignored = new Set(now.opts.ignoreChanges);
            const effective = changed.filter((p) => !ignored.has(p));
            const forceNew = [...rule.forceNew, ...now.opts.replaceOnChanges];
            const forcedBy = forceNew.filter((f) => {
                const top = f.split(".")[0]!;
                return (
                    effective.includes(top) &&
                    (f === top ||
                        !same(get(old.inputs, f), get(now.inputs, f)) ||
                        [...replaced].some((rk) => JSON.stringify(get(old.inputs, f) ?? "").includes(`${b.get(rk)!.name}-id`)))
                );
            });
            const custom = rule.forceNewIf?.(old.inputs, now.inputs);
            if (custom) forcedBy.push(custom);
            const isReplace = forcedBy.length > 0;
            const verdict: Verdict = !isReplace
                ? effective.length
                    ? "in place"
                    : "unchanged"
                : old.opts.protect
                  ? "refused (protected)"
                  : now.opts.deleteBeforeReplace
                    ? "replace (delete first)"
                    : "replace";
            if (isReplace && !replaced.has(key)) {
                replaced.add(key);
                grew = true;
            }
            changes.set(key, { key, type: old.type, name: old.name, verdict, changed: effective, forcedBy });
        }
        if (!grew) break;
    }
    for (const [key, r] of a)
        if (!b.has(key)) changes.set(key, { key, type: r.type, name: r.name, verdict: "create", changed: [], forcedBy: [] });
    for (const [key, r] of b)
        if (!a.has(key))
            changes.set(key, {
                key,
                type: r.type,
                name: r.name,
                verdict: r.opts.protect ? "refused (protected)" : "delete",
                changed: [],
                forcedBy: [],
            });
    return [...changes.values()];
}

/** Verdicts by resource name, only the resources that change. */
export function verdicts(changes: ResourceChange[]): Record<string, Verdict> {
    return Object.fromEntries(changes.filter((c) => c.verdict !== "unchanged").map((c) => [c.name, c.verdict]));
}

export interface SafetyOptions {
    /** Data-holding resources the change is meant to replace (a restore in place). */
    dataReplacementExpected?: string[];
}

/**
 * What would make `pulumi up` of this change fail, or lose data it does not mean to: a
 * replacement that collides with its own old name or holding, a delete-first of something
 * still in use, a data-holding resource replaced unasked.
 */
export function changeProblems(before: StackRun, after: StackRun, table: ReplaceTable, opts: SafetyOptions = {}): string[] {
    const changes = diffRuns(before, after, table);
    const byKey = new Map(changes.map((c) => [c.key, c]));
    const oldOf = new Map(before.resources.map((r) => [keyOf(r), r]));
    const newOf = new Map(after.resources.map((r) => [keyOf(r), r]));
    const problems: string[] = [];
    if (changes.some((c) => c.verdict === "refused (protected)")) return problems; // nothing is done: the update stops at the protected resource
    for (const c of changes) {
        const rule = table[c.type];
        if (!rule || !c.verdict.startsWith("replace")) continue;
        const old = oldOf.get(c.key)!,
            now = newOf.get(c.key)!;
        if (rule.holdsData && !(opts.dataReplacementExpected ?? []).includes(c.key)) {
            problems.push(`${c.key}: holds the queue's data and is replaced (${c.forcedBy.join(", ")})`);
        }
        const oldKey = rule.uniqueKey?.(old.inputs),
            newKey = rule.uniqueKey?.(now.inputs);
        if (c.verdict === "replace" && oldKey !== undefined && oldKey === newKey) {
            problems.push(
                `${c.key}: replaced create-first while the old one still holds ${oldKey} (needs deleteBeforeReplace or a new name)`,
            );
        }
        if (c.verdict === "replace (delete first)" && rule.refusesDeleteWhileUsed) {
            const idToken = `${old.name}-id`;
            const ref = rule.referencedAs?.(old.inputs);
            for (const user of before.resources) {
                if (user === old) continue;
                const held = JSON.stringify(user.inputs);
                const uses = held.includes(idToken) || (ref !== undefined && held.includes(JSON.stringify(ref)));
                const userChange = byKey.get(keyOf(user));
                if (uses && userChange && !userChange.verdict.startsWith("replace")) {
                    problems.push(`${c.key}: deleted first while ${userChange.key} still uses it`);
                }
            }
        }
    }
    return problems;
}

/** What a destroy of `run` leaves in the account: retained resources' names and names taken by deletes. */
export function leftovers(run: StackRun, table: ReplaceTable): Map<string, string> {
    const left = new Map<string, string>();
    for (const r of run.resources.filter(isProviderResource)) {
        const rule = table[r.type]!;
        const k = rule.uniqueKey?.(r.inputs);
        if (r.opts.retainOnDelete && k) left.set(k, `${keyOf(r)} (kept on destroy)`);
        for (const n of rule.leavesBehind?.(r.inputs) ?? []) left.set(n, `${keyOf(r)} (left by its delete)`);
    }
    return left;
}

/** Names that would collide if `second` were created in the account `first` was destroyed from. */
export function recreateProblems(first: StackRun, second: StackRun, table: ReplaceTable): string[] {
    const left = leftovers(first, table);
    const problems: string[] = [];
    for (const r of second.resources.filter(isProviderResource)) {
        const rule = table[r.type]!;
        const k = rule.uniqueKey?.(r.inputs);
        if (k && left.has(k)) problems.push(`${keyOf(r)}: ${k} is still taken by ${left.get(k)}`);
        for (const n of rule.leavesBehind?.(r.inputs) ?? []) {
            if (left.has(n)) problems.push(`${keyOf(r)}: its delete would need ${n}, already taken by ${left.get(n)}`);
        }
    }
    return problems;
}

/** Names two stacks living in one account and region would both claim. */
export function coexistProblems(a: StackRun, b: StackRun, table: ReplaceTable): string[] {
    const claims = (run: StackRun) => {
        const m = new Map<string, string>();
        for (const r of run.resources.filter(isProviderResource)) {
            const rule = table[r.type]!;
            const k = rule.uniqueKey?.(r.inputs);
            if (k) m.set(k, keyOf(r));
            for (const n of rule.leavesBehind?.(r.inputs) ?? []) m.set(n, `${keyOf(r)} (on delete)`);
        }
        return m;
    };
    const ca = claims(a),
        cb = claims(b);
    return [...ca.keys()].filter((k) => cb.has(k)).map((k) => `${k}: claimed by ${a.stack} ${ca.get(k)} and ${b.stack} ${cb.get(k)}`);
}
