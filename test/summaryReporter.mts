/**
 * Ends every run with one plain line, `N passed, N failed` (and `, N skipped`), that any CI
 * log reader can count, whatever the console reporter above it prints.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
    onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
        let passed = 0;
        let failed = 0;
        let skipped = 0;
        for (const module of testModules) {
            for (const test of module.children.allTests()) {
                const state = test.result().state;
                if (state === "passed") passed++;
                else if (state === "failed") failed++;
                else skipped++;
            }
            // A file that failed to load has no tests to count; count it as a failure.
            if (module.state() === "failed" && [...module.children.allTests()].length === 0) failed++;
        }
        process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
    }
}
