/**
 * The `external` block of a stack file: its schema and the defaults the schema applies. Imports
 * only zod and the rule modules, so the config check loads without the Pulumi SDK.
 */
import { z } from "zod";
import { bool, port, strict } from "../../config/zod";
import { isHostNameOrAddress, plaintextProblem, splitEndpoint } from "../../rules";

/** Every default the `external` block applies; the component applies the same ones to its args. */
export const EXTERNAL_DEFAULTS = {
    port: 6379,
    tls: true,
    allowPlaintext: false,
    username: "default",
    aof: false,
} as const;

const HOST_ALLOWED = "the server's host name or IP address alone, without a port or scheme (the port goes in external.port)";

export const externalSchema = strict(
    {
        /** The host alone; a console's `host:port` or `redis://` URL is refused with the host and port to set. */
        host: z.string({ error: HOST_ALLOWED }).superRefine((v, ctx) => {
            if (isHostNameOrAddress(v)) return;
            const split = splitEndpoint(v);
            const meant =
                split && isHostNameOrAddress(split.host)
                    ? `; here host ${split.host}${split.port !== undefined ? ` and external.port ${split.port}` : ""}`
                    : "";
            ctx.addIssue({ code: "custom", input: v, message: HOST_ALLOWED + meant });
        }),
        port: port().default(EXTERNAL_DEFAULTS.port),
        tls: bool().default(EXTERNAL_DEFAULTS.tls),
        /** Opt-in for a server reached in plain text. */
        allowPlaintext: bool().default(EXTERNAL_DEFAULTS.allowPlaintext),
        username: z
            .string({ error: "an ACL user name" })
            .regex(/^[^\s]{1,128}$/)
            .default(EXTERNAL_DEFAULTS.username),
        /** Whether the provider runs an append-only file; `true` makes smoke check it. */
        aof: bool().default(EXTERNAL_DEFAULTS.aof),
    },
    { missing: "an object with at least host, for target external" },
).superRefine((x, ctx) => {
    // rules.ts: the component's rule too.
    const problem = plaintextProblem(x, "config");
    if (problem) ctx.addIssue({ code: "custom", path: ["tls"], input: x.tls, message: problem });
});

export type ExternalConfig = z.output<typeof externalSchema>;
