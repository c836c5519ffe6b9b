/**
 * The kubernetes stack's (Pulumi.kubernetes.yaml) redis container replayed on a real Docker
 * Engine with the pod's constraints, on the STAND-IN for the official redis image: uid/gid 999
 * with fsGroup 999 as a supplementary group, read-only root, every capability dropped, no new
 * privileges, the ConfigMap and the Secret's auth.conf as read-only files with the modes and
 * group the kubelet gives them, /tmp a small tmpfs, the data directory as fsGroup leaves a PVC
 * (root:999, 2775), the memory limit. Its probe commands run inside it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseQuantity } from "../../src/memory";
import { DockerEngine } from "../helpers/dockerEngine";
import { plain, runProgram, setupStack, single } from "../helpers/pulumiMocks";
import { buildStandInImage } from "../helpers/standInImage";

let engine: DockerEngine;
let image: { id: string; name: string };
let dir: string;
let pod: any;
let redis: any;
let password: string;
let podId: string;
const started = Date.now();

/** Files as the kubelet projects a ConfigMap or Secret volume: root-owned, group fsGroup, the volume's mode. */
function projectVolume(name: string, files: Record<string, string>, mode: number, fsGroup: number): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    for (const [f, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(d, f), content);
        fs.chownSync(path.join(d, f), 0, fsGroup);
        fs.chmodSync(path.join(d, f), mode);
    }
    return d;
}

/** A data directory as fsGroup leaves a fresh PVC: root:fsGroup, setgid, group-writable. */
function pvcDir(name: string, fsGroup: number): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    fs.chownSync(d, 0, fsGroup);
    fs.chmodSync(d, 0o2775);
    return d;
}

async function runPod(name: string, entrypoint: string[], args: string[] | undefined, dataDir: string, env: string[]): Promise<string> {
    const sc = { ...pod.securityContext, ...redis.securityContext };
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    const mountSource: Record<string, string> = {
        data: dataDir,
        config: projectVolume(`${name}-config`, configMapData, volumes.config.configMap.defaultMode ?? 0o644, pod.securityContext.fsGroup),
        auth: projectVolume(
            `${name}-auth`,
            Object.fromEntries(volumes.auth.secret.items.map((i: any) => [i.path, secretData[i.key]])),
            volumes.auth.secret.defaultMode,
            pod.securityContext.fsGroup,
        ),
    };
    const binds = redis.volumeMounts
        .filter((m: any) => mountSource[m.name])
        .map((m: any) => `${mountSource[m.name]}:${m.mountPath}${m.readOnly ? ":ro" : ""}`);
    const tmp = redis.volumeMounts.find((m: any) => m.name === "tmp");
    const id = await engine.createContainer(name, {
        Image: image.id,
        Entrypoint: entrypoint,
        Cmd: args ?? null,
        User: `${sc.runAsUser}:${sc.runAsGroup}`,
        Env: env,
        WorkingDir: "/data",
        HostConfig: {
            NetworkMode: engine.network,
            Binds: binds,
            Tmpfs: { [tmp.mountPath]: `size=${volumes.tmp.emptyDir.sizeLimit.replace("Mi", "m")}` },
            ReadonlyRootfs: sc.readOnlyRootFilesystem,
            CapDrop: sc.capabilities.drop,
            SecurityOpt: sc.allowPrivilegeEscalation === false ? ["no-new-privileges"] : [],
            GroupAdd: [String(pod.securityContext.fsGroup)],
            Memory: parseQuantity(redis.resources.limits.memory),
        },
    });
    await engine.startContainer(id);
    return id;
}

let configMapData: Record<string, string>;
let secretData: Record<string, string>;

async function probe(id: string, command: string[], env?: string[]) {
    return engine.exec(id, command, env ? { env } : {});
}

async function waitReady(id: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        const r = await probe(id, redis.startupProbe.exec.command);
        if (r.exitCode === 0) return;
        const state = (await engine.inspect(id)).State;
        if (!state.Running) throw new Error(`the pod's redis container stopped: exit ${state.ExitCode}\n${await engine.logs(id)}`);
        if (Date.now() > deadline) throw new Error(`not ready in 30 s: ${r.output}\n${await engine.logs(id)}`);
        await new Promise((res) => setTimeout(res, 500));
    }
}

async function writeAndSave(id: string): Promise<void> {
    const w = await probe(id, ["sh", "-c", "redis-cli -p 6379 set mode-check 1 && redis-cli -p 6379 bgsave"]);
    expect(w.output).toContain("OK");
    for (let i = 0; i < 50 && (await probe(id, ["sh", "-c", "test -f /data/dump.rdb"])).exitCode !== 0; i++)
        await new Promise((r) => setTimeout(r, 200));
}

function dataFileModes(dataDir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.push(`${(fs.statSync(p).mode & 0o777).toString(8)} ${path.relative(dataDir, p)}`);
        }
    };
    walk(dataDir);
    return out.sort();
}

beforeAll(async () => {
    const resources = await setupStack("kubernetes");
    await runProgram(resources, () => import("../../src/index"));
    const set = plain(single(resources, "kubernetes:apps/v1:StatefulSet").inputs);
    pod = set.spec.template.spec;
    redis = pod.containers.find((c: any) => c.name === "redis");
    configMapData = plain(single(resources, "kubernetes:core/v1:ConfigMap").inputs).data;
    secretData = plain(single(resources, "kubernetes:core/v1:Secret").inputs).stringData;
    password = secretData.password!;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-pod-"));
    engine = await DockerEngine.start();
    image = await buildStandInImage(engine, redis.image);
    podId = await runPod("mspbyte-redis-0", redis.command, redis.args, pvcDir("pvc", pod.securityContext.fsGroup), [
        `REDISCLI_AUTH=${password}`,
    ]);
}, 120_000);

afterAll(async () => {
    await engine?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    console.log(`[engine] kubernetes-pod.engine.test.ts wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 60_000);

describe("the kubernetes pod's redis container under the pod's constraints (stand-in image)", () => {
    it("passes its startup and readiness probe, then its liveness probe", async () => {
        await waitReady(podId);
        expect((await probe(podId, redis.readinessProbe.exec.command)).exitCode).toBe(0);
        expect((await probe(podId, redis.livenessProbe.exec.command)).exitCode).toBe(0);
    }, 45_000);

    it("is not ready with a wrong password in REDISCLI_AUTH", async () => {
        const r = await probe(podId, redis.readinessProbe.exec.command, ["REDISCLI_AUTH=Not-The-Password-0123456789"]);
        expect(r.exitCode).not.toBe(0);
    });

    it("runs as uid 999 with no capabilities, on a read-only root", async () => {
        expect((await probe(podId, ["stat", "-c", "%u:%g", "/proc/1"])).output.trim()).toBe("999:999");
        const status = (await probe(podId, ["cat", "/proc/1/status"])).output;
        expect(status).toMatch(/^CapEff:\s+0+$/m);
        expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
        const write = await probe(podId, ["sh", "-c", "echo x > /usr/local/x"]);
        expect(write.exitCode).not.toBe(0);
        expect(write.output).toMatch(/Read-only file system/);
    });

    it("reads the ConfigMap's redis.conf and the Secret's auth.conf (root:999, 0440) it includes", async () => {
        const ls = await probe(podId, ["sh", "-c", "stat -c '%n %u:%g %a' /etc/redis/redis.conf /etc/redis-secret/auth.conf"]);
        expect(ls.output.trim().split("\n")).toEqual(["/etc/redis/redis.conf 0:999 644", "/etc/redis-secret/auth.conf 0:999 440"]);
        const conf = await probe(podId, ["sh", "-c", "redis-cli -p 6379 config get maxmemory-policy"]);
        expect(conf.output).toContain("noeviction");
    });

    it("writes its AOF and RDB as 0600 (the command's umask)", async () => {
        await writeAndSave(podId);
        const modes = dataFileModes(path.join(dir, "pvc"));
        expect(modes.some((m) => m.endsWith("dump.rdb"))).toBe(true);
        expect(modes.some((m) => /appendonlydir\/.*\.aof$/.test(m))).toBe(true);
        for (const m of modes) expect(m, m).toMatch(/^600 /);
    }, 30_000);

    it("keeps the data across a pod restart on the same volume (a rollout)", async () => {
        await probe(podId, ["sh", "-c", "redis-cli -p 6379 rpush bull:pipeline-jobs:wait a b c"]);
        await engine.stopContainer(podId, 120);
        await engine.removeContainer(podId);
        podId = await runPod("mspbyte-redis-0-rolled", redis.command, redis.args, path.join(dir, "pvc"), [`REDISCLI_AUTH=${password}`]);
        await waitReady(podId);
        expect(
            (await probe(podId, ["sh", "-c", "redis-cli -p 6379 lrange bull:pipeline-jobs:wait 0 -1"])).output.trim().split("\n"),
        ).toEqual(["a", "b", "c"]);
    }, 60_000);

    it("what the earlier command (redis-server straight, the entrypoint bypassed) left: 0644 data files", async () => {
        const id = await runPod(
            "mspbyte-redis-old-command",
            ["redis-server", "/etc/redis/redis.conf"],
            undefined,
            pvcDir("pvc-old", pod.securityContext.fsGroup),
            [`REDISCLI_AUTH=${password}`],
        );
        await waitReady(id);
        await writeAndSave(id);
        const modes = dataFileModes(path.join(dir, "pvc-old"));
        expect(modes.find((m) => m.endsWith("dump.rdb"))).toMatch(/^644 /);
        await engine.removeContainer(id);
    }, 45_000);
});
