import { defineConfig } from "vitest/config";

// `npm run boot-vm`: the full QEMU boot of the vm stack's user data (several minutes, software
// emulation), kept out of `npm test`.
export default defineConfig({
    root: new URL("../..", import.meta.url).pathname,
    test: {
        include: ["test/boot/qemu.boot.ts"],
        pool: "forks",
        testTimeout: 3_600_000,
        hookTimeout: 1_800_000,
    },
});
