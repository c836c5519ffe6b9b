import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Length of generated passwords: well inside every target's limits (ElastiCache: 16 to 128). */
export const GENERATED_PASSWORD_LENGTH = 32;

/**
 * The server password: the stack's secret when set, otherwise one generated once and kept in
 * the stack's state, so it stays the same across updates. Letters and digits only: valid as an
 * ElastiCache AUTH token and safe unquoted in a URL, a shell and redis.conf.
 */
export function serverPassword(name: string, configured: string | undefined, parent?: pulumi.Resource): pulumi.Output<string> {
    if (configured !== undefined) return pulumi.secret(configured);
    const generated = new random.RandomPassword(
        `${name}-password`,
        {
            length: GENERATED_PASSWORD_LENGTH,
            special: false,
            minUpper: 2,
            minLower: 2,
            minNumeric: 2,
        },
        parent ? { parent } : {},
    );
    return pulumi.secret(generated.result);
}
