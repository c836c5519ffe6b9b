/**
 * The `vm` block of a stack file: its schema and the defaults the schema applies. Imports only
 * zod and the rule modules, so the config check loads without the Pulumi SDK.
 */
import { z } from "zod";
import { nitroProblem } from "../../awsRules";
import { bool, cidrList, emailAddress, kmsKeyArn, port, securityGroupIds, strict, vpcId } from "../../config/zod";
import { unreachableProblem } from "../../rules";

/** Every default the `vm` block applies; the component applies the same ones to its args. */
export const VM_DEFAULTS = {
    instanceType: "t4g.small",
    allowedCidrs: [],
    allowPublicCidrs: false,
    allowedSecurityGroupIds: [],
    port: 6379,
    dataVolumeGiB: 20,
    rootVolumeGiB: 8,
    snapshotRetentionDays: 7,
    tls: false,
} as const;

export const vmSchema = strict(
    {
        /** Danger: changing it replaces the instance; the data volume stays and is re-attached. */
        instanceType: z
            .string({ error: "an EC2 instance type, such as t4g.small" })
            .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/)
            .default(VM_DEFAULTS.instanceType),
        vpcId: vpcId(),
        /** A private subnet; the data volume is created in its availability zone. */
        subnetId: z.string({ error: "a subnet id, such as subnet-0123456789abcdef0" }).regex(/^subnet-[0-9a-f]+$/),
        allowedCidrs: cidrList("allowedCidrs").default(() => [...VM_DEFAULTS.allowedCidrs]),
        /** Opt-in for allowedCidrs outside the private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). */
        allowPublicCidrs: bool().default(VM_DEFAULTS.allowPublicCidrs),
        allowedSecurityGroupIds: securityGroupIds().default(() => [...VM_DEFAULTS.allowedSecurityGroupIds]),
        port: port().default(VM_DEFAULTS.port),
        /** Size of the encrypted data volume. Growing it is online; shrinking is refused by EBS. */
        dataVolumeGiB: z.number({ error: "an integer from 1 to 16384 (GiB)" }).int().min(1).max(16384).default(VM_DEFAULTS.dataVolumeGiB),
        rootVolumeGiB: z.number({ error: "an integer from 8 to 1024 (GiB)" }).int().min(8).max(1024).default(VM_DEFAULTS.rootVolumeGiB),
        kmsKeyArn: kmsKeyArn().optional(),
        snapshotRetentionDays: z
            .number({ error: "an integer from 1 to 1000 (daily snapshots kept)" })
            .int()
            .min(1)
            .max(1000)
            .default(VM_DEFAULTS.snapshotRetentionDays),
        /** TLS with a certificate generated for this server (its CA is in the `details` output). */
        tls: bool().default(VM_DEFAULTS.tls),
        /** Pins a Debian 12 AMI (from Debian's account) instead of the latest. Danger: changing it replaces the instance (the data volume stays). */
        amiId: z
            .string({ error: "an AMI id, such as ami-0123456789abcdef0" })
            .regex(/^ami-[0-9a-f]{8,17}$/)
            .optional(),
        /** Subscribed to the topic the serving alarm notifies. */
        alarmEmail: emailAddress().optional(),
    },
    { missing: "an object with at least vpcId, subnetId and allowedCidrs or allowedSecurityGroupIds, for target vm" },
).superRefine((v, ctx) => {
    const nitro = nitroProblem(v.instanceType);
    if (nitro) ctx.addIssue({ code: "custom", path: ["instanceType"], input: v.instanceType, message: nitro });
    const unreachable = unreachableProblem("vm", v);
    if (unreachable) ctx.addIssue({ code: "custom", path: ["allowedCidrs"], input: v.allowedCidrs, message: unreachable });
});

export type VmConfig = z.output<typeof vmSchema>;
