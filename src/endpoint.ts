/**
 * The contract's Pulumi side: what every target component hands the program, and the outputs
 * the stack exports, built from it. The plain-value contract (and its schema) is `contract.ts`,
 * which the ops tools load without the Pulumi SDK.
 */
import * as pulumi from "@pulumi/pulumi";
import { type BullmqSettings, type Persistence, type TargetName, bullmqSettings, redisUrl } from "./contract";

/** The contract as Pulumi outputs, with the password and the URL secret. */
export interface ContractOutputs {
    target: pulumi.Output<TargetName>;
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    tls: pulumi.Output<boolean>;
    username: pulumi.Output<string>;
    password: pulumi.Output<string>;
    url: pulumi.Output<string>;
    bullmq: pulumi.Output<BullmqSettings>;
    persistence: pulumi.Output<Persistence>;
}

/** What every target component hands the program; the program never branches on the target. */
export interface RedisEndpoint {
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    tls: boolean;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
    persistence: pulumi.Input<Persistence>;
    /** BullMQ needs a hash-tagged prefix on a cluster; targets that shard set it. */
    bullmqPrefix?: string;
}

export function contractOutputs(target: TargetName, endpoint: RedisEndpoint, bullmq: { prefix: string; queue: string }): ContractOutputs {
    const password = pulumi.secret(endpoint.password);
    const url = pulumi.secret(
        pulumi
            .all([endpoint.host, endpoint.port, endpoint.username, password])
            .apply(([host, port, username, pw]) => redisUrl({ tls: endpoint.tls, username, password: pw, host, port })),
    );
    return {
        target: pulumi.output(target),
        host: pulumi.output(endpoint.host),
        port: pulumi.output(endpoint.port),
        tls: pulumi.output(endpoint.tls),
        username: pulumi.output(endpoint.username),
        password,
        url,
        bullmq: pulumi.output(bullmqSettings(endpoint.bullmqPrefix ?? bullmq.prefix, bullmq.queue)),
        persistence: pulumi.output(endpoint.persistence),
    };
}
