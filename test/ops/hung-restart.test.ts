/**
 * A hung server (SIGSTOP: the kernel still accepts connections, nothing answers) and a
 * restart under `health --watch`, on real redis-servers: errors name host, port and what was
 * tried, within the documented 10 s; watching carries on through a restart and says so.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { collectHealth } from "../../src/ops/health";
import { runSmoke } from "../../src/ops/smoke";
import { outputsFor } from "../../tools/outputs";
import { RedisServer, sleep } from "../../tools/redisServer";
import { TEST_PASSWORD, dockerConf } from "../../tools/render";
import { opsArgv } from "./npmScript";

const ROOT = path.join(__dirname, "..", "..");
const servers: RedisServer[] = [];
let stopped: number | undefined;
afterAll(async () => {
    if (stopped) process.kill(stopped, "SIGCONT");
    for (const s of servers) await s.destroy();
});

describe("a hung server", () => {
    it("smoke and health fail within 10 s, naming host, port and each protocol tried", async () => {
        const s = await RedisServer.start({ conf: dockerConf() });
        servers.push(s);
        const c = s.client({ password: TEST_PASSWORD });
        await c.connect();
        const pid = Number(/process_id:(\d+)/.exec(await c.info("server"))![1]);
        c.disconnect();
        process.kill(pid, "SIGSTOP");
        stopped = pid;
        try {
            const t = Date.now();
            const [smoke, health] = await Promise.all([
                runSmoke(outputsFor(s)).then((r) => ({ r, ms: Date.now() - t })),
                collectHealth(outputsFor(s)).then(
                    () => ({ e: undefined as Error | undefined, ms: 0 }),
                    (e: Error) => ({ e, ms: Date.now() - t }),
                ),
            ]);
            const where = `127.0.0.1:${s.port}`;
            expect(smoke.ms).toBeLessThan(10_000);
            expect(smoke.r.find((x) => x.name === "reachable")).toEqual({
                name: "reachable",
                status: "fail",
                detail: expect.stringMatching(
                    new RegExp(
                        `^no answer: ${where} over plain TCP: the connection was accepted but no reply came within 4 s \\(the server is hung or overloaded\\); also tried ${where} over TLS: `,
                    ),
                ),
            });
            expect(health.ms).toBeLessThan(10_000);
            expect(health.e?.message).toBe(
                `${where} over plain TCP: the connection was accepted but no reply came within 5 s (the server is hung or overloaded)`,
            );
        } finally {
            process.kill(pid, "SIGCONT");
            stopped = undefined;
        }
    });
});

describe("health --watch through a restart", () => {
    it("prints the failed polls with where, carries on, and says the server restarted", async () => {
        const s = await RedisServer.start({ conf: dockerConf() });
        servers.push(s);
        const file = path.join(s.dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputsFor(s)));
        const child = spawn(process.execPath, opsArgv("src/ops/health.ts", "--outputs", file, "--watch", "1"), { cwd: ROOT });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        const waitFor = async (re: RegExp) => {
            for (let i = 0; i < 400 && !re.test(out); i++) await sleep(100);
            expect(out).toMatch(re);
        };
        try {
            await waitFor(/\(every 1 s, Ctrl-C to stop\)\n/);
            await s.kill9();
            await waitFor(/poll failed: /);
            await s.restart(TEST_PASSWORD);
            await waitFor(/the server restarted/);
        } finally {
            child.kill("SIGINT");
            await new Promise((r) => child.once("exit", r));
        }
        expect(out).toMatch(
            new RegExp(
                `poll failed: 127\\.0\\.0\\.1:${s.port} over plain TCP: connection refused \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${s.port}\\): nothing listens there; trying again in 1 s \\(Ctrl-C to stop\\)\\n`,
            ),
        );
        expect(out).toMatch(
            /\(every 1 s, Ctrl-C to stop\) {2}answering again after \d+ failed polls?; the server restarted \(new run_id, up \d+s\)\n/,
        );
    });
});
