import * as pulumi from "@pulumi/pulumi";
import { ExternalConfig } from "../../config";
import { Persistence } from "../../contract";
import { RedisEndpoint } from "../../endpoint";
import { loadRedisConf, persistenceOf } from "../../redisConf";

/**
 * A Redis run by someone else (Redis Cloud and the like): nothing is provisioned; the
 * connection comes from stack config and leaves as the same outputs as every other target,
 * so smoke, health and env work unchanged.
 */
export class ExternalRedis extends pulumi.ComponentResource {
    readonly endpoint: RedisEndpoint;
    readonly details: pulumi.Output<object>;

    constructor(name: string, args: { config: ExternalConfig; password: pulumi.Input<string> }, opts?: pulumi.ComponentResourceOptions) {
        super("mspbyte:redis:External", name, {}, opts);
        const c = args.config;
        this.endpoint = {
            host: c.host,
            port: c.port,
            tls: c.tls,
            username: c.username,
            password: args.password,
            persistence: externalPersistence(c),
        };
        this.details = pulumi.output({ service: "external", provisioned: false });
        this.registerOutputs({ details: this.details });
    }
}

export function externalPersistence(c: ExternalConfig): Persistence {
    const root = persistenceOf(loadRedisConf());
    return {
        mode: "provider-managed",
        aof: c.aof,
        ...(c.aof ? { appendfsync: root.appendfsync } : {}),
        rdbSavePoints: [],
        maxmemory: "set by the provider's plan",
        maxmemoryPolicy: "noeviction",
        unsupported: [{
            directive: "*",
            reason: "the provider runs the server; this program sets none of redis.conf on it",
            insteadUse: "the provider's settings: choose the noeviction policy and append-only persistence in its console; smoke checks both",
        }],
    };
}
