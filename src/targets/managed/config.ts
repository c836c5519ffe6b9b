/**
 * The `elasticache` block of a stack file, which configures ElastiCache and (with `service:
 * memorydb`) MemoryDB: its schema and the defaults the schema applies. Imports only zod and the
 * rule modules, so the config check loads without the Pulumi SDK.
 */
import { z } from "zod";
import {
    AUTH_TOKEN_FORBIDDEN,
    cacheNameProblem,
    maintenanceWindowProblem,
    multiAzOf,
    multiAzSubnetsProblem,
    snapshotWindowProblem,
    windowsOverlap,
} from "../../awsRules";
import { bool, cidrList, emailAddress, kmsKeyArn, port, securityGroupIds, strict, vpcId } from "../../config/zod";
import { unreachableProblem } from "../../rules";

/** ElastiCache AUTH tokens: letters, digits and only ! & # $ ^ < > - (awsRules.ts); anything else is forbidden. */
export { AUTH_TOKEN_FORBIDDEN };
/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
export const MAX_REPLICAS = 5;

/** Every default the `elasticache` block applies; the components apply the same ones to their args. */
export const MANAGED_DEFAULTS = {
    service: "elasticache",
    engine: "valkey",
    replicas: 1,
    allowedCidrs: [],
    allowPublicCidrs: false,
    allowedSecurityGroupIds: [],
    port: 6379,
    snapshotRetentionDays: 7,
    snapshotWindow: "03:00-04:00",
    maintenanceWindow: "sun:05:00-sun:06:00",
    autoMinorVersionUpgrade: true,
    clusterMode: false,
    serverless: false,
    maxConnectionsAlarm: 1000,
    logRetentionDays: 30,
    authTokenUpdateStrategy: "ROTATE",
} as const;

export const elasticacheSchema = strict(
    {
        /** `memorydb`: a MemoryDB cluster (multi-AZ transaction log) instead of ElastiCache. */
        service: z.enum(["elasticache", "memorydb"], { error: "elasticache | memorydb" }).default(MANAGED_DEFAULTS.service),
        engine: z.enum(["valkey", "redis"], { error: "valkey | redis" }).default(MANAGED_DEFAULTS.engine),
        engineVersion: z
            .string({ error: "a major.minor version, such as 8.0 (valkey) or 7.1 (redis)" })
            .regex(/^\d+\.\d+$/)
            .optional(),
        nodeType: z
            .string({ error: "a node type, such as cache.t4g.small (ElastiCache) or db.t4g.small (MemoryDB)" })
            .regex(/^(cache|db)\.[a-z0-9]+\.[a-z0-9]+$/)
            .optional(),
        replicas: z
            .number({ error: `an integer from 0 to ${MAX_REPLICAS}` })
            .int()
            .min(0)
            .max(MAX_REPLICAS)
            .default(MANAGED_DEFAULTS.replicas),
        multiAz: bool().optional(),
        vpcId: vpcId(),
        subnetIds: z
            .array(z.string().regex(/^subnet-[0-9a-f]+$/), { error: 'a list of subnet ids, such as ["subnet-0123", "subnet-4567"]' })
            .min(1),
        allowedCidrs: cidrList("allowedCidrs").default(() => [...MANAGED_DEFAULTS.allowedCidrs]),
        /** Opt-in for allowedCidrs outside the private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). */
        allowPublicCidrs: bool().default(MANAGED_DEFAULTS.allowPublicCidrs),
        allowedSecurityGroupIds: securityGroupIds().default(() => [...MANAGED_DEFAULTS.allowedSecurityGroupIds]),
        port: port().default(MANAGED_DEFAULTS.port),
        kmsKeyArn: kmsKeyArn().optional(),
        snapshotRetentionDays: z
            .number({ error: "an integer from 1 to 35 (snapshots stand in for the AOF ElastiCache cannot run)" })
            .int()
            .min(1)
            .max(35)
            .default(MANAGED_DEFAULTS.snapshotRetentionDays),
        snapshotWindow: z
            .string({ error: "a UTC window hh:mm-hh:mm, such as 03:00-04:00" })
            .regex(/^\d\d:\d\d-\d\d:\d\d$/)
            .default(MANAGED_DEFAULTS.snapshotWindow),
        maintenanceWindow: z
            .string({ error: "a UTC window ddd:hh:mm-ddd:hh:mm, such as sun:05:00-sun:06:00" })
            .regex(/^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/)
            .default(MANAGED_DEFAULTS.maintenanceWindow),
        autoMinorVersionUpgrade: bool().default(MANAGED_DEFAULTS.autoMinorVersionUpgrade),
        /** Opt-in: sharded cluster mode; BullMQ's prefix then carries a hash tag. */
        clusterMode: bool().default(MANAGED_DEFAULTS.clusterMode),
        shards: z.number({ error: "an integer from 1 to 500" }).int().min(1).max(500).optional(),
        serverless: bool().default(MANAGED_DEFAULTS.serverless),
        alarmEmail: emailAddress().optional(),
        maxConnectionsAlarm: z
            .number({ error: "an integer from 1 to 65000" })
            .int()
            .min(1)
            .max(65000)
            .default(MANAGED_DEFAULTS.maxConnectionsAlarm),
        logRetentionDays: z
            .number({ error: `one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}` })
            .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d))
            .default(MANAGED_DEFAULTS.logRetentionDays),
        /** Seed a new cache from this snapshot. Danger: setting or changing it on a live stack replaces the cache. */
        restoreFromSnapshot: z
            .string({ error: "a snapshot name, as `aws elasticache describe-snapshots` lists it" })
            .regex(/^[A-Za-z][\w-]{0,254}$/)
            .optional(),
        /**
         * ElastiCache's AUTH token strategy outside phase one of a rotation (phase one is always
         * ROTATE). AWS takes SET only after a ROTATE (botocore's ModifyReplicationGroup model), so it
         * stays ROTATE until the first rotation's phase two sets SET (README, Password rotation).
         */
        authTokenUpdateStrategy: z.enum(["ROTATE", "SET"], { error: "ROTATE | SET" }).default(MANAGED_DEFAULTS.authTokenUpdateStrategy),
        /** Danger: changing it replaces the cache and its data. @default mspbyte-redis-<stack> */
        name: z
            .string({ error: "1 to 40 lowercase letters, digits and hyphens, starting with a letter" })
            .regex(/^[a-z][a-z0-9-]{0,39}$/)
            .optional(),
    },
    { missing: "an object with at least vpcId, subnetIds and allowedCidrs or allowedSecurityGroupIds, for target elasticache" },
).superRefine((e, ctx) => {
    const issue = (path: string, input: unknown, message: string) => ctx.addIssue({ code: "custom", path: [path], input, message });
    if (e.serverless) {
        issue(
            "serverless",
            true,
            "false; ElastiCache Serverless fixes maxmemory-policy at volatile-lru, which evicts jobs, and the policy cannot be changed",
        );
    }
    if (e.multiAz === true && e.replicas === 0) {
        issue(
            "multiAz",
            true,
            "false with replicas: 0; Multi-AZ fails over to a replica in another zone, so it needs elasticache.replicas of 1 or more",
        );
    }
    if (e.shards !== undefined && !e.clusterMode) {
        issue("shards", e.shards, "unset unless elasticache.clusterMode is true");
    }
    const unreachable = unreachableProblem("elasticache", e);
    if (unreachable) issue("allowedCidrs", e.allowedCidrs, unreachable);
    if (e.authTokenUpdateStrategy === "SET" && e.service === "memorydb") {
        issue(
            "authTokenUpdateStrategy",
            e.authTokenUpdateStrategy,
            "ROTATE or unset for service memorydb; a MemoryDB user takes both passwords in phase one and the new one alone once previousPassword is removed",
        );
    }
    if (e.nodeType && e.service === "memorydb" && !e.nodeType.startsWith("db."))
        issue("nodeType", e.nodeType, "a MemoryDB node type (db.*), such as db.t4g.small");
    if (e.nodeType && e.service === "elasticache" && !e.nodeType.startsWith("cache."))
        issue("nodeType", e.nodeType, "an ElastiCache node type (cache.*), such as cache.t4g.small");
    // AWS's own rules (awsRules.ts), refused here rather than half-way through `pulumi up`.
    const nameProblem = e.name === undefined ? undefined : cacheNameProblem(e.name, e.service);
    if (nameProblem) issue("name", e.name, nameProblem);
    const snapshotProblem = snapshotWindowProblem(e.snapshotWindow);
    if (snapshotProblem) issue("snapshotWindow", e.snapshotWindow, snapshotProblem);
    const maintenanceProblem = maintenanceWindowProblem(e.maintenanceWindow);
    if (maintenanceProblem) issue("maintenanceWindow", e.maintenanceWindow, maintenanceProblem);
    if (!snapshotProblem && !maintenanceProblem && windowsOverlap(e.snapshotWindow, e.maintenanceWindow)) {
        issue(
            "snapshotWindow",
            e.snapshotWindow,
            `a window that does not overlap elasticache.maintenanceWindow (${e.maintenanceWindow}); AWS refuses overlapping windows`,
        );
    }
    const subnetsProblem = e.service === "elasticache" ? multiAzSubnetsProblem(multiAzOf(e.multiAz, e.replicas), e.subnetIds) : undefined;
    if (subnetsProblem) issue("subnetIds", e.subnetIds, subnetsProblem);
});

export type ElasticacheConfig = z.output<typeof elasticacheSchema>;
