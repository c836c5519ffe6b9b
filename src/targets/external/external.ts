import * as pulumi from "@pulumi/pulumi";
import type { RedisEndpoint } from "../../endpoint";
import { externalPersistence } from "../../persistence";
import type { RedisConf } from "../../redisConf";
import { plaintextProblem } from "../../rules";
import { EXTERNAL_DEFAULTS } from "./config";

export interface ExternalRedisArgs {
    /** The repository's redis.conf, parsed once by the program: the appendfsync the pipeline expects. */
    readonly redisConf: RedisConf;
    /** The server's password, set by its provider (never generated: this program does not run the server). */
    readonly password: pulumi.Input<string>;
    /** The server's host name or IP address alone, without a port or scheme. */
    readonly host: string;
    /** @default 6379 */
    readonly port?: number;
    /** Connect with TLS. @default true */
    readonly tls?: boolean;
    /**
     * Opt-in for a server on another host reached in plain text (the password and every job
     * cross the network readable).
     * @default false
     */
    readonly allowPlaintext?: boolean;
    /** The ACL user the pipeline connects as. @default "default" */
    readonly username?: string;
    /** Whether the provider runs an append-only file; `true` makes smoke check it. @default false */
    readonly aof?: boolean;
}

/** The args with every default applied. */
export interface ExternalSettings {
    host: string;
    port: number;
    tls: boolean;
    username: string;
    aof: boolean;
}

/** Applies the defaults (EXTERNAL_DEFAULTS) and refuses plain text to another host without the opt-in, as the stack config does. */
export function externalSettings(args: ExternalRedisArgs): ExternalSettings {
    const s = {
        host: args.host,
        port: args.port ?? EXTERNAL_DEFAULTS.port,
        tls: args.tls ?? EXTERNAL_DEFAULTS.tls,
        username: args.username ?? EXTERNAL_DEFAULTS.username,
        aof: args.aof ?? EXTERNAL_DEFAULTS.aof,
    };
    const problem = plaintextProblem({ ...s, allowPlaintext: args.allowPlaintext ?? EXTERNAL_DEFAULTS.allowPlaintext }, "args");
    if (problem) throw new Error(problem);
    return s;
}

/** The external target's `details` output. */
export interface ExternalDetails {
    service: "external";
    provisioned: false;
}

/**
 * A Redis run by someone else (Redis Cloud and the like): nothing is provisioned; the
 * connection comes from stack config and leaves as the same outputs as every other target,
 * so smoke, health and env work unchanged. No child resources, so no `transform`.
 */
export class ExternalRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<ExternalDetails>;

    constructor(name: string, args: ExternalRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        // Args checked before anything registers.
        const s = externalSettings(args);
        super("mspbyte:redis:External", name, {}, opts);
        this.endpoint = {
            host: s.host,
            port: s.port,
            tls: s.tls,
            username: s.username,
            password: pulumi.secret(args.password),
            persistence: externalPersistence(s.aof, args.redisConf),
        };
        this.details = pulumi.output<ExternalDetails>({ service: "external", provisioned: false });
        this.registerOutputs({ endpoint: this.endpoint, details: this.details });
    }
}
