/**
 * Replays what the program registers for the docker target on a real engine: the Volume and
 * the Container's inputs (as the SDK's mocks received them) turned into the Engine API calls
 * the Docker provider makes for them (kreuzwerker/terraform-provider-docker v4.5.0, 5074970c,
 * internal/provider/resource_docker_container_funcs.go: create, uploads as a tar extracted at
 * `/` before start, start, wait for healthy).
 *
 * Two things are swapped, and only these: the image ID is the stand-in's (no registry here),
 * and the host port is a free one (others on this machine use 6379). The host address, the
 * command, environment, healthcheck, uploads with owner and mode, volume, restart policy, log
 * options, memory, stop signal and timeout are the registered ones.
 */
import { freePort } from "../../tools/redisServer";
import { DockerEngine, tar } from "./dockerEngine";
import { type Registered, plain, single } from "./pulumiMocks";
import { buildStandInImage } from "./standInImage";

/** A Go duration ("10s", "1m0s", "1h0m0s", "500ms") in nanoseconds, as the provider's time.ParseDuration reads it. */
export function goDurationNs(d: string): number {
    const units: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6 };
    let total = 0;
    const re = /(\d+)(ms|h|m|s)/g;
    let matched = "";
    for (let m = re.exec(d); m; m = re.exec(d)) {
        total += Number(m[1]) * units[m[2]!]!;
        matched += m[0];
    }
    if (matched !== d) throw new Error(`not a Go duration: ${d}`);
    return total;
}

export interface DockerStack {
    volume: Record<string, any>;
    container: Record<string, any>;
}

/** The registered docker resources of a program run, secrets unwrapped. */
export function dockerStack(resources: Registered[]): DockerStack {
    return {
        volume: plain(single(resources, "docker:index/volume:Volume").inputs),
        container: plain(single(resources, "docker:index/container:Container").inputs),
    };
}

export interface ReplayOptions {
    imageId: string;
    hostPort: number;
    /** Another container name (a second container beside the first). */
    name?: string;
    /** Overrides of the Engine API create body, for the cases that say so. */
    override?: (body: Record<string, any>) => void;
}

/** The Engine API create body for the registered container. */
export function createBody(c: Record<string, any>, engine: DockerEngine, o: ReplayOptions): Record<string, any> {
    const hc = c.healthcheck;
    const body: Record<string, any> = {
        Image: o.imageId,
        Cmd: c.command,
        Env: c.envs ?? [],
        Labels: Object.fromEntries((c.labels ?? []).map((l: { label: string; value: string }) => [l.label, l.value])),
        StopSignal: c.stopSignal,
        StopTimeout: c.stopTimeout,
        ExposedPorts: Object.fromEntries((c.ports ?? []).map((p: any) => [`${p.internal}/${p.protocol ?? "tcp"}`, {}])),
        Healthcheck: hc
            ? {
                  Test: hc.tests,
                  Interval: goDurationNs(hc.interval ?? "0s"),
                  Timeout: goDurationNs(hc.timeout ?? "0s"),
                  StartPeriod: goDurationNs(hc.startPeriod ?? "0s"),
                  Retries: hc.retries ?? 0,
              }
            : undefined,
        HostConfig: {
            NetworkMode: engine.network,
            Mounts: (c.volumes ?? []).map((v: any) => ({
                Type: "volume",
                Source: v.volumeName,
                Target: v.containerPath,
                ReadOnly: v.readOnly ?? false,
            })),
            PortBindings: Object.fromEntries(
                (c.ports ?? []).map((p: any) => [
                    `${p.internal}/${p.protocol ?? "tcp"}`,
                    [{ HostIp: p.ip ?? "", HostPort: String(o.hostPort) }],
                ]),
            ),
            RestartPolicy: { Name: c.restart ?? "no", MaximumRetryCount: c.maxRetryCount ?? 0 },
            LogConfig: { Type: c.logDriver ?? "json-file", Config: c.logOpts ?? {} },
            // The provider sends megabytes times 1024*1024.
            ...(c.memory ? { Memory: c.memory * 1024 * 1024 } : {}),
        },
    };
    o.override?.(body);
    return body;
}

/** The uploads as the provider writes them: one tar per file, extracted at `/`, owner and mode kept. */
export function uploadTars(c: Record<string, any>): Buffer[] {
    return (c.uploads ?? []).map((u: any) =>
        tar([
            {
                name: u.file,
                content: u.content,
                mode: parseInt(u.permissions ?? (u.executable ? "0744" : "0644"), 8),
                uid: u.owner === undefined ? 0 : Number(u.owner),
                gid: u.group === undefined ? 0 : Number(u.group),
            },
        ]),
    );
}

/** Creates the registered container, uploads its files and starts it; the volume must exist. */
export async function runRegisteredContainer(engine: DockerEngine, c: Record<string, any>, o: ReplayOptions): Promise<string> {
    const id = await engine.createContainer(o.name ?? c.name, createBody(c, engine, o));
    for (const t of uploadTars(c)) await engine.putArchive(id, t, "/");
    await engine.startContainer(id);
    return id;
}

/** Creates the registered volume (name and labels). */
export async function createRegisteredVolume(engine: DockerEngine, v: Record<string, any>): Promise<void> {
    await engine.createVolume(
        v.name,
        Object.fromEntries((v.labels ?? []).map((l: { label: string; value: string }) => [l.label, l.value])),
    );
}

/** The registered docker stack running on a private engine. */
export interface RunningStack {
    engine: DockerEngine;
    stack: DockerStack;
    /** The stand-in image built for the registered image name. */
    image: { id: string; name: string };
    hostPort: number;
    containerId: string;
}

/**
 * Starts a private engine and replays the program's registered docker stack on it: the stand-in
 * for the registered image, the volume, the container on a free host port. The engine is
 * stopped again when a step fails.
 */
export async function startRegisteredStack(resources: Registered[]): Promise<RunningStack> {
    const stack = dockerStack(resources);
    const engine = await DockerEngine.start();
    try {
        const image = await buildStandInImage(engine, single(resources, "docker:index/remoteImage:RemoteImage").inputs.name);
        const hostPort = await freePort();
        await createRegisteredVolume(engine, stack.volume);
        const containerId = await runRegisteredContainer(engine, stack.container, { imageId: image.id, hostPort });
        return { engine, stack, image, hostPort, containerId };
    } catch (e) {
        await engine.stop();
        throw e;
    }
}
