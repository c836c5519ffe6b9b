/**
 * The program as a function: from a validated stack config to the stack's outputs. `index.ts`
 * loads the config and exports what this returns; tests call it directly, many configs in one
 * process, under mocks.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config";
import { type ContractOutputs, contractOutputs } from "./endpoint";
import { type RedisConf, loadRedisConf } from "./redisConf";
import { type RedisTarget, type TargetDetails, buildTarget } from "./targets";

export interface RedisOptions {
    /** The target component's name (its resources' names start with it). @default "redis" */
    readonly name?: string;
    /** The parsed redis.conf every target renders from. @default the repository's redis.conf, read once */
    readonly redisConf?: RedisConf;
}

export interface RedisProgram {
    /** The connection contract, the same for every target. */
    readonly outputs: ContractOutputs;
    /** Beyond the contract: what only this target has (container, cache id, secret ARN ...). */
    readonly details: pulumi.Output<TargetDetails>;
    /** The one target component built. */
    readonly target: RedisTarget;
}

/** Builds the stack's one target from its config and returns the outputs the stack exports. */
export function createRedis(config: StackConfig, options: RedisOptions = {}): RedisProgram {
    const redisConf = options.redisConf ?? loadRedisConf();
    const target = buildTarget(options.name ?? "redis", config, { stack: config.stack, redisConf });
    const outputs = contractOutputs(config.target, target.endpoint, config.bullmq);
    return { outputs, details: target.details, target };
}
