/**
 * A STAND-IN for the official `redis` image, built here without any registry: Debian's own
 * redis-server and redis-cli (the ones the integration tests use) with the shared libraries
 * they load, a shell and the few tools the probes and the entrypoint call, imported into the
 * test engine as `mspbyte-standin/redis-official-standin:<tag>-standin`.
 *
 * What it keeps from the official image (docker-library/redis, 7.4/debian/Dockerfile and
 * docker-entrypoint.sh, read at redis/docker-library-redis e5650da9): the `redis` user and group
 * 999:999, `/data` owned by them as WORKDIR and VOLUME, port 6379, and an entrypoint that makes
 * the same decisions: arguments that start with `-` or end in `.conf` go to redis-server; as
 * root it hands /data to redis and drops to uid 999 (setpriv here, gosu there); umask 0022
 * becomes 0077, so the AOF and RDB files are 0600. What differs: the server is Debian's
 * (7.0.x), not 7.4.x, and the base is a handful of host files, not debian:bookworm-slim.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { type DockerEngine, type TarEntry, tar } from "./dockerEngine";
import { INSTALL_HINT } from "../../tools/redisServer";

export const STANDIN_REPO = "mspbyte-standin/redis-official-standin";

/** The stand-in's entrypoint, written for these tests: the official image's decisions. */
export const ENTRYPOINT = `#!/bin/sh
# Stand-in for the official redis image's entrypoint (same decisions, written for the tests).
set -e
case "$1" in
    -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \\! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=999 --regid=999 --clear-groups "$0" "$@"
fi
if [ "$(umask)" = 0022 ]; then
    umask 0077
fi
exec "$@"
`;

const TOOLS = ["redis-server", "redis-cli", "dash", "grep", "find", "chown", "id", "ls", "cat", "stat", "setpriv", "sleep", "env"];

function which(tool: string): string {
    try {
        return execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim();
    } catch {
        if (tool.startsWith("redis")) throw new Error(INSTALL_HINT);
        throw new Error(`${tool} not found on PATH; the stand-in image copies it from this machine`);
    }
}

/** Where a host file lives once /bin, /lib and /lib64 are resolved (Debian 12 merges them into /usr). */
function canonical(file: string): string {
    return path.join(fs.realpathSync(path.dirname(file)), path.basename(file));
}

function sharedLibraries(binary: string): string[] {
    const out = execFileSync("ldd", [binary], { encoding: "utf8" });
    const libs: string[] = [];
    for (const line of out.split("\n")) {
        const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
        if (m) libs.push(m[1]!);
    }
    return libs;
}

/** The root filesystem as a tar, owners and modes as the official image has them. */
export function standInRootfs(): Buffer {
    const files = new Map<string, { source: string; mode: number }>();
    for (const tool of TOOLS) {
        const host = which(tool);
        files.set(`/usr/bin/${tool}`, { source: host, mode: 0o755 });
        for (const lib of sharedLibraries(host)) files.set(canonical(lib), { source: lib, mode: 0o755 });
    }
    const dirs = new Set<string>();
    for (const f of files.keys()) {
        for (let d = path.dirname(f); d !== "/"; d = path.dirname(d)) dirs.add(d);
    }
    const entries: TarEntry[] = [
        ...[...dirs].sort().map((d): TarEntry => ({ name: `${d.slice(1)}/`, type: "dir", mode: 0o755 })),
        { name: "etc/", type: "dir", mode: 0o755 },
        { name: "etc/passwd", mode: 0o644, content: "root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/home/redis:/usr/sbin/nologin\n" },
        { name: "etc/group", mode: 0o644, content: "root:x:0:\nredis:x:999:\n" },
        { name: "tmp/", type: "dir", mode: 0o1777 },
        { name: "data/", type: "dir", mode: 0o755, uid: 999, gid: 999 },
        { name: "usr/local/", type: "dir", mode: 0o755 },
        { name: "usr/local/bin/", type: "dir", mode: 0o755 },
        { name: "usr/local/bin/docker-entrypoint.sh", mode: 0o755, content: ENTRYPOINT },
        { name: "usr/bin/sh", type: "symlink", mode: 0o777, linkTarget: "dash" },
        { name: "bin", type: "symlink", mode: 0o777, linkTarget: "usr/bin" },
        { name: "sbin", type: "symlink", mode: 0o777, linkTarget: "usr/bin" },
        { name: "lib", type: "symlink", mode: 0o777, linkTarget: "usr/lib" },
        ...(dirs.has("/usr/lib64") ? [{ name: "lib64", type: "symlink", mode: 0o777, linkTarget: "usr/lib64" } as TarEntry] : []),
        ...[...files.entries()]
            .sort()
            .map(([name, f]): TarEntry => ({ name: name.slice(1), mode: f.mode, content: fs.readFileSync(f.source) })),
    ];
    return tar(entries);
}

/**
 * Imports the stand-in into the engine under a name that says what it is, tagged after the
 * official tag it stands in for. Returns the image ID (what the provider's RemoteImage yields).
 */
export async function buildStandInImage(engine: DockerEngine, officialTag: string): Promise<{ id: string; name: string }> {
    const tag = `${officialTag.replace(/^.*:/, "")}-standin`;
    const id = await engine.importImage(standInRootfs(), STANDIN_REPO, tag, [
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "WORKDIR /data",
        "VOLUME /data",
        "EXPOSE 6379",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["redis-server"]',
    ]);
    return { id, name: `${STANDIN_REPO}:${tag}` };
}
