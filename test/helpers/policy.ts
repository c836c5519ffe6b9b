/** Runs the policy pack over what a stack registers under mocks, as the analyzer would see it. */
import { expect } from "vitest";
import { policies, stackPolicies } from "../../policy/policies";
import { PROJECT, plain } from "./pulumiMocks";
import type { ProgramResource } from "./stackUnderMocks";

/**
 * What the policy pack reports on a stack's resources, as the analyzer would hand them over:
 * each resource policy with the resource's properties and its options (protect, captured under
 * mocks by a stack transformation), then the stack policies over all of them.
 */
export function policyViolations(resources: ProgramResource[], stack: string): string[] {
    const found: string[] = [];
    const checked = resources.map((r) => ({
        type: r.type,
        name: r.name,
        props: plain(r.inputs) as Record<string, any>,
        urn: `urn:pulumi:${stack}::${PROJECT}::${r.type}::${r.name}`,
        opts: { protect: r.opts.protect, deleteBeforeReplace: r.opts.deleteBeforeReplace, ignoreChanges: r.opts.ignoreChanges },
    }));
    for (const r of checked) {
        for (const p of policies) {
            void (p.validateResource as unknown as (a: unknown, report: (m?: string) => void) => void)(r, (m) =>
                found.push(`${p.name} ${r.name}: ${m}`),
            );
        }
    }
    for (const p of stackPolicies) {
        void (p.validateStack as unknown as (a: unknown, report: (m?: string) => void) => void)({ resources: checked }, (m) =>
            found.push(`${p.name}: ${m}`),
        );
    }
    return found;
}

/** Every policy of the pack, data protection on the resources' own options included, finds nothing. */
export function expectPolicyClean(resources: ProgramResource[], stack: string): void {
    expect(policyViolations(resources, stack)).toEqual([]);
}
