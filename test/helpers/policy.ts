/** Runs the policy pack over what a stack registers under mocks, as the analyzer would see it. */
import { expect } from "vitest";
import { policies } from "../../policy/policies";
import { PROJECT, Registered, isSecretInput } from "./pulumiMocks";

/** Secrets unwrapped, as the policy engine hands properties to policies. */
function plain(value: unknown): unknown {
    if (isSecretInput(value)) return plain((value as { value: unknown }).value);
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    return value;
}

/**
 * Every policy but data protection (resource options are not visible under mocks; that policy
 * and the protection helper are tested directly) finds nothing in the stack's resources.
 */
export function expectPolicyClean(resources: Registered[], stack: string): void {
    const found: string[] = [];
    for (const r of resources) {
        for (const p of policies.filter((x) => x.name !== "redis-data-protected")) {
            const args = { type: r.type, props: plain(r.inputs) as Record<string, unknown>, urn: `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`, name: r.name, opts: { protect: true } };
            void (p.validateResource as unknown as (a: unknown, report: (m?: string) => void) => void)(args, (m) => found.push(`${p.name} ${r.name}: ${m}`));
        }
    }
    expect(found).toEqual([]);
}
