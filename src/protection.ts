import type * as pulumi from "@pulumi/pulumi";

/** How a stack wants the resources that hold the queue's data treated. */
export interface DataProtection {
    /** Refuse to delete or replace them in `pulumi up` / `pulumi destroy`. @default true outside dev */
    protect: boolean;
    /** Danger: let `pulumi destroy` delete the data itself. @default false */
    deleteData: boolean;
}

/**
 * Resource options for a resource that holds queue data (a volume, a disk, a cache, a PVC).
 * By default it is left in place when the stack is destroyed (the data outlives the stack, as
 * `docker compose down` keeps volumes); only an explicit `deleteData: true` lets it go.
 * `protect` additionally blocks any delete or replacement until it is lifted.
 */
export function dataResourceOptions(p: DataProtection, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { ...opts, protect: p.protect && !p.deleteData, retainOnDelete: !p.deleteData };
}

/**
 * Resource options for a managed cache (ElastiCache, MemoryDB) or a StatefulSet. Unlike a
 * volume, leaving the resource behind on destroy would leave a server running and billed; its
 * data's protection on delete is the final snapshot (managed) or the PVC retention policy
 * (Kubernetes). `protect` blocks the delete itself.
 */
export function serverResourceOptions(protect: boolean, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return { ...opts, protect };
}
