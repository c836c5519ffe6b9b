/**
 * backup over TLS (the server's certificate checked against the stack's CA), and restore and
 * queue counts on a cluster-mode stack (MemoryDB, ElastiCache cluster mode): a real
 * three-master Redis Cluster on loopback, joined by `redis-cli --cluster create`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupToFile } from "../../../src/ops/backup";
import { RestoreRefused, restoreFile } from "../../../src/ops/restore";
import { main as queueMain } from "../../../src/ops/queue";
import { connectCluster } from "../../../src/ops/connection";
import { applyOverrides, parseRedisConf, renderRedisConf } from "../../../src/redisConf";
import { outputsFor } from "../../../tools/outputs";
import { RedisServer } from "../../../tools/redisServer";
import { clusterOutputs, startCluster } from "../../helpers/cluster";
import { TEST_PASSWORD, dockerConf } from "../../../tools/render";
import { type TestCerts, makeCerts } from "../../helpers/tls";

const servers: RedisServer[] = [];
const nodes: RedisServer[] = [];
let certs: TestCerts;
let dir: string;
let tlsServer: RedisServer;
const outputsOfCluster = () => clusterOutputs(nodes);

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-day2-cluster-"));
    certs = makeCerts();
    const tlsConf = renderRedisConf(
        applyOverrides(parseRedisConf(dockerConf()), { tls: { certFile: certs.certFile, keyFile: certs.keyFile, caFile: certs.caFile } }),
    );
    tlsServer = await RedisServer.start({ conf: tlsConf, tls: true });
    servers.push(tlsServer);

    await startCluster(nodes);
}, 60_000);

afterAll(async () => {
    await Promise.all([...servers, ...nodes].map((s) => s.destroy()));
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("over TLS", () => {
    it("backs up a TLS server, its certificate checked against the CA; without the CA the handshake fails", async () => {
        const c = tlsServer.client({ password: TEST_PASSWORD, tls: { ca: fs.readFileSync(certs.caFile) } });
        await c.connect();
        await c.set("over-tls", "yes");
        c.disconnect();
        const file = path.join(dir, "tls.rdb");
        const r = await backupToFile(outputsFor(tlsServer, { tls: true }), file, { caFile: certs.caFile });
        expect(r.crc64).toBe("ok");
        expect(r.header.keys).toBe(1);
        await expect(backupToFile(outputsFor(tlsServer, { tls: true }), path.join(dir, "untrusted.rdb"))).rejects.toThrow(
            /self[- ]signed certificate|unable to verify|unable to get local issuer/,
        );
        expect(fs.existsSync(path.join(dir, "untrusted.rdb.partial"))).toBe(false);
    });
});

describe("a cluster-mode stack", () => {
    it("restore sends each key to its master; queue counts go through a cluster client; a second restore is refused", async () => {
        // The source: a standalone server holding a hash-tagged queue and keys spread over slots.
        const source = await RedisServer.start({ conf: dockerConf() });
        servers.push(source);
        const q = new Queue("pipeline-jobs", {
            prefix: "{pipeline}",
            connection: { host: "127.0.0.1", port: source.port, password: TEST_PASSWORD },
        });
        await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: "work", data: { i } })));
        await q.add("later", {}, { delay: 3_600_000 });
        await q.close();
        const c = source.client({ password: TEST_PASSWORD });
        await c.connect();
        for (let i = 0; i < 30; i++) await c.set(`plain:${i}`, String(i));
        c.disconnect();
        const file = path.join(dir, "to-cluster.rdb");
        await backupToFile(outputsFor(source), file);

        const r = await restoreFile(outputsOfCluster(), file);
        expect(r.problems).toEqual([]);
        expect(r.actual).toEqual([
            expect.objectContaining({ name: "pipeline-jobs", counts: expect.objectContaining({ wait: 50, delayed: 1 }) }),
        ]);
        const cluster = await connectCluster(outputsOfCluster());
        try {
            const perMaster = await Promise.all(cluster.nodes("master").map((n) => n.dbsize()));
            expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
            expect(perMaster.reduce((a, b) => a + b, 0)).toBe(r.keysAfter);
            expect(await cluster.get("plain:17")).toBe("17");
        } finally {
            cluster.disconnect();
        }

        let out = "";
        expect(await queueMain(["counts", "--outputs", writeJson("cluster.json", outputsOfCluster())], (s) => (out += s))).toBe(0);
        expect(out).toMatch(/^pipeline-jobs +50 +0 +0 +0 +1 +0 +0$/m);

        await expect(restoreFile(outputsOfCluster(), file)).rejects.toBeInstanceOf(RestoreRefused);
    });
});

function writeJson(name: string, o: unknown): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(o));
    return f;
}
