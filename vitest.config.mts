import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // Program tests each set their own Pulumi mocks and config: one stack per file, each
        // file in its own process.
        pool: "forks",
        isolate: true,
        // Integration tests start real redis-servers and wait for fsyncs and restarts.
        testTimeout: 60_000,
        hookTimeout: 60_000,
        reporters: ["default", "./test/summaryReporter.mts"],
    },
});
