/**
 * Native snapshots on ElastiCache and MemoryDB through the SDK's own clients, whose HTTP handler
 * is a test double: the requests are asserted as they go on the wire (the services' query and
 * JSON protocols, serialized by the SDK), the answers are the services' response documents.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { ElastiCacheClient } from "@aws-sdk/client-elasticache";
import { MemoryDBClient } from "@aws-sdk/client-memorydb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../src/ops/backup";
import { defaultSnapshotName, nativeSnapshot, parseCacheSize } from "../../../src/ops/day2/native";
import { bullmqSettings, redisUrl } from "../../../src/contract";

interface Sent {
    target?: string;
    action?: string;
    params: Record<string, string>;
    json?: Record<string, unknown>;
}

/** An HTTP handler that records each request and answers from a script of response bodies. */
function handler(answers: { contentType: string; body: string }[], sent: Sent[]) {
    return {
        handle: async (req: { headers: Record<string, string>; body?: string | Uint8Array }) => {
            const body =
                req.body === undefined ? "" : req.body instanceof Uint8Array ? new TextDecoder().decode(req.body) : String(req.body);
            const target = req.headers["x-amz-target"];
            if (target) sent.push({ target, params: {}, json: JSON.parse(body || "{}") });
            else {
                const params = Object.fromEntries(new URLSearchParams(body));
                sent.push({ action: params.Action, params });
            }
            const a = answers.shift();
            if (!a) throw new Error("the test double has no more answers");
            return {
                response: { statusCode: 200, headers: { "content-type": a.contentType }, body: Readable.from([Buffer.from(a.body)]) },
            };
        },
    };
}

const credentials = { accessKeyId: "AKIDTESTDOUBLE", secretAccessKey: "test-double-secret" };
const XMLNS = "http://elasticache.amazonaws.com/doc/2015-02-02/";
const xml = (action: string, inner: string) => ({
    contentType: "text/xml",
    body: `<${action}Response xmlns="${XMLNS}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>test-double</RequestId></ResponseMetadata></${action}Response>`,
});
const cacheSnapshot = (status: string, size?: string) =>
    `<SnapshotName>nightly-1</SnapshotName><ReplicationGroupId>mspbyte-redis-prod</ReplicationGroupId><SnapshotStatus>${status}</SnapshotStatus>` +
    (size
        ? `<NodeSnapshots><NodeSnapshot><CacheClusterId>mspbyte-redis-prod-001</CacheClusterId><CacheSize>${size}</CacheSize></NodeSnapshot></NodeSnapshots>`
        : "");
const json = (o: unknown) => ({ contentType: "application/x-amz-json-1.1", body: JSON.stringify(o) });

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-native-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("native snapshots", () => {
    it("ElastiCache: CreateSnapshot of the replication group, DescribeSnapshots until available", async () => {
        const sent: Sent[] = [];
        const client = new ElastiCacheClient({
            region: "eu-west-1",
            credentials,
            requestHandler: handler(
                [
                    xml("CreateSnapshot", `<Snapshot>${cacheSnapshot("creating")}</Snapshot>`),
                    xml("DescribeSnapshots", `<Snapshots><Snapshot>${cacheSnapshot("creating")}</Snapshot></Snapshots>`),
                    xml("DescribeSnapshots", `<Snapshots><Snapshot>${cacheSnapshot("available", "2.5 MB")}</Snapshot></Snapshots>`),
                ],
                sent,
            ) as never,
        });
        const statuses: string[] = [];
        const r = await nativeSnapshot({ service: "elasticache", replicationGroupId: "mspbyte-redis-prod" }, "nightly-1", {
            elasticache: client,
            pollMs: 1,
            onStatus: (s) => statuses.push(s),
        });
        expect(sent).toEqual([
            {
                action: "CreateSnapshot",
                params: {
                    Action: "CreateSnapshot",
                    Version: "2015-02-02",
                    ReplicationGroupId: "mspbyte-redis-prod",
                    SnapshotName: "nightly-1",
                },
            },
            {
                action: "DescribeSnapshots",
                params: { Action: "DescribeSnapshots", Version: "2015-02-02", SnapshotName: "nightly-1", ShowNodeGroupConfig: "true" },
            },
            {
                action: "DescribeSnapshots",
                params: { Action: "DescribeSnapshots", Version: "2015-02-02", SnapshotName: "nightly-1", ShowNodeGroupConfig: "true" },
            },
        ]);
        expect(statuses).toEqual(["creating", "available"]);
        expect(r).toMatchObject({
            service: "elasticache",
            source: "mspbyte-redis-prod",
            name: "nightly-1",
            status: "available",
            sizeBytes: 2_500_000,
        });
    });

    it("MemoryDB: CreateSnapshot of the cluster, DescribeSnapshots until available", async () => {
        const sent: Sent[] = [];
        const client = new MemoryDBClient({
            region: "eu-west-1",
            credentials,
            requestHandler: handler(
                [
                    json({ Snapshot: { Name: "nightly-1", Status: "creating" } }),
                    json({ Snapshots: [{ Name: "nightly-1", Status: "available" }] }),
                ],
                sent,
            ) as never,
        });
        const r = await nativeSnapshot({ service: "memorydb", clusterName: "mspbyte-redis-prod" }, "nightly-1", {
            memorydb: client,
            pollMs: 1,
        });
        expect(sent).toEqual([
            { target: "AmazonMemoryDB.CreateSnapshot", params: {}, json: { ClusterName: "mspbyte-redis-prod", SnapshotName: "nightly-1" } },
            { target: "AmazonMemoryDB.DescribeSnapshots", params: {}, json: { SnapshotName: "nightly-1" } },
        ]);
        expect(r).toMatchObject({ service: "memorydb", status: "available" });
    });

    it("a failed snapshot is an error naming it", async () => {
        const client = new MemoryDBClient({
            region: "eu-west-1",
            credentials,
            requestHandler: handler(
                [
                    json({ Snapshot: { Name: "nightly-1", Status: "creating" } }),
                    json({ Snapshots: [{ Name: "nightly-1", Status: "failed" }] }),
                ],
                [],
            ) as never,
        });
        await expect(
            nativeSnapshot({ service: "memorydb", clusterName: "c1" }, "nightly-1", { memorydb: client, pollMs: 1 }),
        ).rejects.toThrow("memorydb snapshot nightly-1 of c1 is failed");
    });

    it("`backup --outputs` of an ElastiCache stack takes the native snapshot and says so; the region from the secret's ARN", async () => {
        const base = {
            target: "elasticache" as const,
            host: "master.prod.abc123.euw1.cache.amazonaws.com",
            port: 6379,
            tls: true,
            username: "default",
            password: "Managed-Token-0123456789abcdef",
        };
        const f = path.join(dir, "prod.json");
        fs.writeFileSync(
            f,
            JSON.stringify({
                ...base,
                url: redisUrl(base),
                bullmq: bullmqSettings("bull", "pipeline-jobs"),
                persistence: {
                    mode: "snapshots+replicas",
                    aof: false,
                    rdbSavePoints: [],
                    maxmemory: "provider-managed",
                    maxmemoryPolicy: "noeviction",
                    snapshotRetentionDays: 7,
                    replicas: 1,
                    unsupported: [],
                },
                details: {
                    service: "elasticache",
                    replicationGroupId: "mspbyte-redis-prod",
                    authSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mspbyte-redis-prod-auth",
                },
            }),
        );
        const sent: Sent[] = [];
        const client = new ElastiCacheClient({
            region: "eu-west-1",
            credentials,
            requestHandler: handler([xml("CreateSnapshot", `<Snapshot>${cacheSnapshot("available")}</Snapshot>`)], sent) as never,
        });
        const out: string[] = [];
        const spy = vi.spyOn(process.stdout, "write").mockImplementation((s) => {
            out.push(String(s));
            return true;
        });
        const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
        try {
            expect(await main(["--outputs", f, "--snapshot-name", "nightly-1"], { elasticache: client, pollMs: 1 })).toBe(0);
        } finally {
            spy.mockRestore();
            err.mockRestore();
        }
        expect(out.join("")).toBe(
            `backup: ${f} is on ElastiCache, which refuses replication commands: taking native snapshot nightly-1 of mspbyte-redis-prod in eu-west-1 through the AWS API\n` +
                "snapshot nightly-1 of mspbyte-redis-prod is available after 0 s; it stays in AWS: restore it with elasticache.restoreFromSnapshot (see README), or export it to S3 for restore --in\n",
        );
        expect(sent.map((s) => s.params.SnapshotName)).toEqual(["nightly-1"]);
        expect(out.join("")).not.toContain(base.password);
    });

    it.each([
        { given: "2.5 MB", bytes: 2_500_000 },
        { given: "1 GB", bytes: 1_000_000_000 },
        { given: "", bytes: undefined },
    ])("reads CacheSize $given", ({ given, bytes }) => {
        expect(parseCacheSize(given)).toBe(bytes);
    });

    it("names snapshots by source and UTC time, within the services' rule", () => {
        expect(defaultSnapshotName("mspbyte-redis-prod", new Date("2026-11-28T13:05:09.123Z"))).toBe(
            "mspbyte-redis-prod-backup-20261128-130509",
        );
    });
});
