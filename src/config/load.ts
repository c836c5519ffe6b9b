/**
 * The one reader of Pulumi's config: this stack's keys in the mspbyte-redis namespace, which of
 * them are secrets, handed to parseStackConfig.
 */
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "./errors";
import { parseStackConfig, type StackConfig } from "./parse";

/** Reads this stack's config through the Pulumi SDK and validates it. */
export function loadConfig(): StackConfig {
    const prefix = `${NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        const name = key.slice(prefix.length);
        raw[name] = value;
        if (isConfigSecret(key)) secretKeys.add(name);
    }
    return parseStackConfig(raw, pulumi.getStack(), secretKeys);
}

/**
 * Whether a config key was set as a secret. The SDK keeps this behind an internal function;
 * it reads the list of secret keys the Pulumi CLI hands the program.
 */
export function isConfigSecret(key: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    return runtimeConfig.isConfigSecret?.(key) ?? false;
}
