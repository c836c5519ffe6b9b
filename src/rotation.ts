/**
 * Password rotation in two phases, through the stack's config and `pulumi up`:
 *
 * - phase one: `password` is the new password and `previousPassword` the old one; the server
 *   accepts both, so clients move to the new one at their own pace;
 * - phase two: `previousPassword` is removed; the server accepts the new password only.
 *
 * What each target does with it (README, Password rotation):
 *
 * | target | phase one | phase two |
 * |---|---|---|
 * | docker, kubernetes | `user default on >new >old ~* &* +@all` instead of `requirepass` (a Redis ACL user takes several passwords); the container is replaced / the pod rolls | `requirepass new` again |
 * | elasticache | `authToken` new, `authTokenUpdateStrategy` ROTATE: AWS keeps the current token valid beside it, live | `elasticache.authTokenUpdateStrategy: SET` (kept after the first rotation): the new token alone, live |
 * | memorydb | the user's `passwords` [new, old] (MemoryDB users take up to two), live | [new] |
 * | vm | the boot secret carries `previousPassword`; the instance restarts to read it | the secret without it |
 * | external | refused by config: the provider rotates its own passwords | |
 */
import * as pulumi from "@pulumi/pulumi";
import { quoteArg } from "./redisConf";

/** The user every self-run target serves (the contract's `username`). */
export const DEFAULT_USER = "default";

/**
 * The default user's rule for phase one, as one redis.conf line: on, every password given,
 * every key, channel and command (what `requirepass` gives it). Each `>password` is quoted as
 * redis-server reads it back (quoteArg), whatever characters it holds.
 */
export function aclUserLine(passwords: readonly string[]): string {
    return `user ${aclUserRule(passwords)}`;
}

/** The same line without its `user` directive: the value of redis.conf's `user`. */
export function aclUserRule(passwords: readonly string[]): string {
    if (passwords.length === 0) throw new Error("aclUserRule: at least one password");
    return [DEFAULT_USER, "on", ...passwords.map((p) => quoteArg(`>${p}`)), "~*", "&*", "+@all"].join(" ");
}

/** The passwords a server accepts in this phase: the new one first, then the old one in phase one. */
export function acceptedPasswords(password: string, previous?: string): string[] {
    return previous === undefined ? [password] : [password, previous];
}

/** `previousPassword` as the program carries it: a secret, or nothing outside phase one. */
export function previousPasswordInput(configured: string | undefined): pulumi.Output<string> | undefined {
    return configured === undefined ? undefined : pulumi.secret(configured);
}

/**
 * ElastiCache's AUTH token strategy for the phase (ModifyReplicationGroup's
 * AuthTokenUpdateStrategy): ROTATE in phase one, whatever `elasticache.authTokenUpdateStrategy`
 * says otherwise. AWS's model (botocore elasticache 2015-02-02, ModifyReplicationGroupMessage)
 * documents SET as "allowed only after ROTATE": a cache that never rotated keeps ROTATE (the
 * default, what every stack sent before), and the first rotation's phase two sets SET in config,
 * where it stays. terraform-provider-aws 001b6364c1a3b3045e152f655440a6d47eb44a70,
 * internal/service/elasticache/replication_group.go: neither `auth_token` nor
 * `auth_token_update_strategy` is ForceNew; resourceReplicationGroupUpdate sends
 * ModifyReplicationGroup{AuthToken, AuthTokenUpdateStrategy, ApplyImmediately: true} whenever
 * either changes (HasChanges("auth_token", "auth_token_update_strategy")), and Create sends the
 * token alone. So phase one (new token, ROTATE) adds the token beside the current one, phase two
 * (same token, SET) is a change of the strategy alone and leaves the new token the only one,
 * both in place.
 */
export function authTokenUpdateStrategy(inPhaseOne: boolean, configured: "ROTATE" | "SET"): "ROTATE" | "SET" {
    return inPhaseOne ? "ROTATE" : configured;
}
