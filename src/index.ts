/**
 * mspbyte-redis: the Redis behind the MSPByte job pipeline, on the target this stack names.
 * Reads and validates the stack config (nothing is created when it is wrong), builds the one
 * target, and exports the same connection outputs for every target.
 */
import { loadConfig } from "./config";
import { createRedis } from "./program";

const redis = createRedis(loadConfig());
const outputs = redis.outputs;

export const target = outputs.target;
export const host = outputs.host;
export const port = outputs.port;
export const tls = outputs.tls;
export const username = outputs.username;
export const password = outputs.password;
export const url = outputs.url;
export const bullmq = outputs.bullmq;
export const persistence = outputs.persistence;
/** Beyond the contract: what only this target has (container, cache id, secret ARN ...). */
export const details = redis.details;
