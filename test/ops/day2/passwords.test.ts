/**
 * `passwords` on a real redis-server through the two phases of a rotation as Redis ACLs allow
 * them (a user holds several passwords): the new one added beside the old, then the old one
 * removed; a worker connected throughout completes every job.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { Queue, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/ops/passwords";
import { outputsFor } from "../../../tools/outputs";
import { RedisServer, sleep } from "../../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../../tools/render";
import { opsArgv } from "../npmScript";

const ROOT = path.join(__dirname, "..", "..", "..");
const NEW_PASSWORD = "Rotated-Password-After-0123456789";
let server: RedisServer;
let dir: string;
let outputsFile: string;

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
    const write = process.stdout.write.bind(process.stdout);
    let out = "";
    process.stdout.write = ((s: string) => {
        out += s;
        return true;
    }) as typeof process.stdout.write;
    try {
        return { code: await fn(), out };
    } finally {
        process.stdout.write = write;
    }
}

/** An admin connection made with the first password: it stays authenticated through the rotation. */
let admin: (...cmd: string[]) => Promise<unknown>;
let adminClient: { disconnect(): void } | undefined;

beforeAll(async () => {
    server = await RedisServer.start({ conf: dockerConf() });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-passwords-"));
    outputsFile = path.join(dir, "outputs.json");
    fs.writeFileSync(outputsFile, JSON.stringify(outputsFor(server)));
    const c = server.client({ password: TEST_PASSWORD });
    await c.connect();
    adminClient = c;
    admin = (...cmd) => c.call(cmd[0]!, ...cmd.slice(1));
});

afterAll(async () => {
    adminClient?.disconnect();
    await server?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
});

describe("passwords", () => {
    it("follows a two-phase rotation while a worker connected throughout completes every job", async () => {
        const env = { OLD_PW: TEST_PASSWORD, NEW_PW: NEW_PASSWORD };
        const worker = new Worker("pipeline-jobs", async () => "ok", {
            connection: { host: "127.0.0.1", port: server.port, password: TEST_PASSWORD },
        });
        worker.on("error", () => undefined);
        const completed = new Set<string>();
        worker.on("completed", (job) => completed.add(job.id!));
        const add = async (password: string, n: number) => {
            const q = new Queue("pipeline-jobs", { connection: { host: "127.0.0.1", port: server.port, password } });
            const jobs = await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: "work", data: { i } })));
            await q.close();
            return jobs.map((j) => j.id!);
        };
        try {
            const ids = await add(TEST_PASSWORD, 20);
            let r = await capture(() => main(["--outputs", outputsFile, "--accept", "OLD_PW", "--refuse", "NEW_PW"], env));
            expect(r.code).toBe(0);

            // Phase 1: the new password beside the old.
            await admin("ACL", "SETUSER", "default", `>${NEW_PASSWORD}`);
            r = await capture(() => main(["--outputs", outputsFile, "--accept", "OLD_PW", "--accept", "NEW_PW"], env));
            expect(r.out).toBe(
                [
                    `passwords: docker at 127.0.0.1:${server.port}, user default`,
                    "accepted  stack output password",
                    "accepted  env OLD_PW (expected accepted)",
                    "accepted  env NEW_PW (expected accepted)",
                    "3 candidates: 3 accepted, 0 refused",
                    "",
                ].join("\n"),
            );
            expect(r.code).toBe(0);
            ids.push(...(await add(NEW_PASSWORD, 20)));

            // Phase 2: the old one removed. Connections made with it stay; new ones are refused.
            await admin("ACL", "SETUSER", "default", `<${TEST_PASSWORD}`);
            r = await capture(() => main(["--outputs", outputsFile, "--accept", "NEW_PW", "--refuse", "OLD_PW"], env));
            expect(r.out).toContain("refused   stack output password\n");
            expect(r.out).toContain("refused   env OLD_PW (expected refused)\n");
            expect(r.code).toBe(0);
            r = await capture(() => main(["--outputs", outputsFile, "--accept", "OLD_PW"], env));
            expect(r.out).toContain("refused   env OLD_PW (expected accepted: FAIL)\n");
            expect(r.out).toContain("2 candidates: 0 accepted, 2 refused; 1 not as expected\n");
            expect(r.code).toBe(1);
            ids.push(...(await add(NEW_PASSWORD, 20)));

            for (let t = 0; t < 200 && ids.some((id) => !completed.has(id)); t++) await sleep(50);
            expect(ids.filter((id) => !completed.has(id))).toEqual([]);
            for (const out of [r.out]) expect(out).not.toContain(NEW_PASSWORD);
        } finally {
            await worker.close();
        }
    });

    it("reads candidates from stdin, one a line, named by line", async () => {
        const r = await capture(() => main(["--outputs", outputsFile, "--stdin"], {}, `wrong-one\n${NEW_PASSWORD}\n`));
        expect(r.out).toContain("refused   stdin line 1\n");
        expect(r.out).toContain("accepted  stdin line 2\n");
        expect(r.out).not.toContain(NEW_PASSWORD);
        expect(r.out).not.toContain("wrong-one");
    });

    it("an unset variable is a usage error; a server with no password fails", async () => {
        await expect(main(["--outputs", outputsFile, "--accept", "NOT_SET"], {})).rejects.toThrow(
            /^environment variable NOT_SET is not set \(or empty\)$/,
        );
        const open = await RedisServer.start({ conf: dockerConf(), args: ["--requirepass", ""] });
        try {
            const f = path.join(dir, "open.json");
            fs.writeFileSync(f, JSON.stringify(outputsFor(open)));
            const r = await capture(() => main(["--outputs", f], {}));
            expect(r.out).toContain("FAIL the server asks for no password: it accepts any client");
            expect(r.code).toBe(1);
        } finally {
            await open.destroy();
        }
    });

    it("through npm's entry point: candidates from the environment, exit 0, no password printed", async () => {
        const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
            execFile(
                process.execPath,
                opsArgv("src/ops/passwords.ts", "--outputs", outputsFile, "--accept", "NEW_PW"),
                {
                    cwd: ROOT,
                    timeout: 30_000,
                    env: { ...process.env, NEW_PW: NEW_PASSWORD },
                },
                (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
            );
        });
        expect(r.stdout).toContain("accepted  env NEW_PW (expected accepted)");
        expect(r.code).toBe(0);
        expect(r.stdout + r.stderr).not.toContain(NEW_PASSWORD);
    });
});
