/**
 * Outputs files written by hand: every problem listed at once, and no fragment of the password
 * or URL in any message, whatever the file holds.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { checkOutputsFile, jsonFault, readOutputsFile } from "../../src/ops/outputs";
import { scrub } from "../../src/ops/cli";
import { readStackFile } from "../../src/ops/day2/stack";
import { outputsFor } from "../../tools/outputs";
import { opsArgv } from "./npmScript";

const ROOT = path.join(__dirname, "..", "..");
const SECRET = "Zq8Vx3Kw9Jr2Tm5Ly7Hb";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-outputs-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const good = () => outputsFor({ port: 6379 }, { password: SECRET, url: `redis://default:${SECRET}@127.0.0.1:6379` });
const goodText = () => JSON.stringify(good(), null, 2);
let n = 0;
const write = (text: string) => {
    const f = path.join(dir, `outputs-${n++}.json`);
    fs.writeFileSync(f, text);
    return f;
};
/** Every 4-character piece of the secret: none may appear in a message. */
const fragments = Array.from({ length: SECRET.length - 3 }, (_, i) => SECRET.slice(i, i + 4));
const expectNoFragment = (text: string) => {
    for (const f of fragments) expect(text, `message holds "${f}"`).not.toContain(f);
};
const run = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, opsArgv("src/ops/smoke.ts", ...args), { cwd: ROOT, timeout: 55_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
    });

describe("a malformed outputs file never shows the password", () => {
    it.each([
        {
            case: "unquoted password",
            edit: (t: string) => t.replace(`"${SECRET}"`, SECRET),
            error: "a value or name without double quotes at line 7, column 15",
        },
        {
            case: "single-quoted password",
            edit: (t: string) => t.replace(`"${SECRET}"`, `'${SECRET}'`),
            error: "a single quote where JSON wants a double-quoted string at line 7, column 15",
        },
        {
            case: "file cut inside the password",
            edit: (t: string) => t.slice(0, t.indexOf(SECRET) + 6),
            error: "a string that never ends at line 7, column 22",
        },
        {
            case: "line break inside the password",
            edit: (t: string) => t.replace(SECRET, `${SECRET.slice(0, 9)}\n${SECRET.slice(9)}`),
            error: "a control character (a line break?) inside a string at line 7, column 25",
        },
        {
            case: "trailing comma after the password",
            edit: (t: string) => t.replace(`"${SECRET}",`, `"${SECRET}",,`),
            error: "an unexpected character at line 7, column 38",
        },
        {
            case: "missing comma after the password",
            edit: (t: string) => t.replace(`"${SECRET}",`, `"${SECRET}"`),
            error: "a missing comma or closing brace at line 8, column 3",
        },
    ])("$case: where and what, never which text", ({ edit, error }) => {
        const f = write(edit(goodText()));
        let message = "";
        try {
            readOutputsFile(f);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).toBe(`${f} is not valid JSON: ${error} (the text is not shown: it may hold the password)`);
        expectNoFragment(message);
        expect(checkOutputsFile(f)).toEqual([message]);
        // The day-2 tools read the same file with its details through the same parser.
        expect(() => readStackFile(f)).toThrow(message);
    });

    it.each([
        { case: "password a number", edit: { password: 8_390_212_771 }, problem: "output password must be a string" },
        {
            case: "url an object",
            edit: { url: { href: `redis://default:${SECRET}@127.0.0.1:6379` } },
            problem: "output url must be a string",
        },
        {
            case: "url with a colon-less authority",
            edit: { url: `redis://${SECRET}` },
            problem: "output url names another host than output host 127.0.0.1",
        },
        {
            case: "url cut at the password",
            edit: { url: `redis://default:${SECRET.slice(0, 10)}` },
            problem: "output url is not a URL; expected redis://default:<password>@127.0.0.1:6379",
        },
        {
            case: "url password not encoded",
            edit: { url: `redis://default:${SECRET}/x@127.0.0.1:6379` },
            problem: "output url is not a URL; expected redis://default:<password>@127.0.0.1:6379",
        },
        {
            case: "password masked",
            edit: { password: "[secret]", url: "[secret]" },
            problem: "the password is masked as [secret]; export the outputs with --show-secrets",
        },
    ])("$case: named, never shown", ({ edit, problem }) => {
        const problems = checkOutputsFile(write(JSON.stringify({ ...good(), ...edit })));
        expect(problems).toContain(problem);
        for (const p of problems) expectNoFragment(p);
    });

    it("the last guard: a registered secret is replaced in any text", () => {
        readOutputsFile(write(goodText()));
        expect(scrub(`connect failed for redis://default:${SECRET}@127.0.0.1:6379 with ${SECRET}`)).toBe(
            "connect failed for <secret> with <secret>",
        );
    });
});

describe("--outputs FILE --check", () => {
    it("lists every problem at once, exit 2; a good file passes, exit 0", async () => {
        const { bullmq, ...rest } = good();
        const bad = write(
            JSON.stringify({
                ...rest,
                target: "lambda",
                port: 70000,
                tls: "no",
                url: `http://default:${SECRET}@127.0.0.1:6379`,
                persistence: { ...rest.persistence, maxmemoryPolicy: "allkeys-lru" },
            }),
        );
        void bullmq;
        const [r, ok, cut] = await Promise.all([
            run("--outputs", bad, "--check"),
            run("--outputs", write(goodText()), "--check"),
            run("--outputs", write(goodText().replace(`"${SECRET}"`, `'${SECRET}'`)), "--check"),
        ]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe(
            [
                `${bad}: 7 problems`,
                "  missing output bullmq (is it an mspbyte-redis stack?)",
                `  output target is not as the contract says (Invalid option: expected one of "docker"|"vm"|"elasticache"|"kubernetes"|"external")`,
                "  output port is not as the contract says (Too big: expected number to be <=65535)",
                "  output tls is not as the contract says (Invalid input: expected boolean, received string)",
                `  output persistence.maxmemoryPolicy is not as the contract says (Invalid input: expected "noeviction")`,
                "  output url does not start with redis:// or rediss://",
                "  output url names another port than output port 70000",
                "",
            ].join("\n"),
        );
        expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/: every output as the contract says\n$/) });
        expect(cut.code).toBe(2);
        expect(cut.stdout).toMatch(/is not valid JSON: a single quote where JSON wants a double-quoted string at line 7, column 15/);
        for (const x of [r, ok, cut]) expectNoFragment(x.stdout + x.stderr);
    });

    it("the same file used for smoke fails with the same list, exit 2", async () => {
        const f = write(JSON.stringify({ ...good(), port: 0, username: "", url: "redis://:PW@127.0.0.1:0".replace("PW", SECRET) }));
        const r = await run("--outputs", f);
        expect(r).toMatchObject({ code: 2, stdout: "" });
        expect(r.stderr).toBe(
            `error: ${f}: 2 problems:\n  output port is not as the contract says (Too small: expected number to be >=1)\n  output username is not as the contract says (Too small: expected string to have >=1 characters)\n`,
        );
    });
});

describe("jsonFault", () => {
    it.each([
        { text: '{"a": 1}', offset: 8, what: "a fault" },
        { text: '{"a": 1} x', offset: 9, what: "more text after the JSON value" },
        { text: '{"a": tru}', offset: 6, what: "a value or name without double quotes" },
        { text: '{"a" 1}', offset: 5, what: "a missing colon after a name" },
        { text: '["a\\q"]', offset: 3, what: "a bad escape in a string" },
        { text: "", offset: 0, what: "unexpected end of the file" },
    ])("$text", ({ text, offset, what }) => {
        expect(jsonFault(text)).toEqual({ offset, what });
    });
});
