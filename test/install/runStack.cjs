/**
 * Runs the program (package.json's main, src/index.ts) of one real stack file the way Pulumi's
 * Node.js language host does (@pulumi/pulumi cmd/run/run.js): TypeScript and ts-node as
 * `tsutils.typeScriptRequireStrings()` finds them (the project's own, else the SDK's vendored
 * ones), the project's tsconfig.json with ts-node's type check, the same compiler options; then
 * the program under the SDK's mocks. Plain JavaScript: it runs in a production install, where
 * nothing but `dependencies` exists.
 *
 * Usage: node runStack.cjs STACK   (in the install's root). Prints one JSON line: the resource
 * types registered and the output names exported; exits 1 with the error otherwise.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const stack = process.argv[2];
const root = process.cwd();

function fail(e) {
    process.stderr.write(`${e?.stack ? e.stack : String(e)}\n`);
    process.exit(1);
}
process.on("unhandledRejection", fail);

(async () => {
    const tsutils = require(require.resolve("@pulumi/pulumi/tsutils", { paths: [root] }));
    const semver = require(require.resolve("semver", { paths: [path.dirname(require.resolve("@pulumi/pulumi", { paths: [root] }))] }));
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
    const ts = require(typescriptRequire);
    const tsVersion = semver.parse(ts.version);
    const useNodeNext = tsVersion && tsVersion.compare(new semver.SemVer("4.7.0")) >= 0;
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly: compilerOptions.noCheck,
        project: "tsconfig.json",
        skipProject: !fs.existsSync("tsconfig.json"),
        compilerOptions: {
            target: "ES2020",
            module: useNodeNext ? "nodenext" : "commonjs",
            moduleResolution: useNodeNext ? "nodenext" : "node",
            sourceMap: "true",
            ...compilerOptions,
        },
    });

    const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [root] }));
    const YAML = require(require.resolve("yaml", { paths: [root] }));
    const project = YAML.parse(fs.readFileSync("Pulumi.yaml", "utf8"));
    const doc = YAML.parse(fs.readFileSync(`Pulumi.${stack}.yaml`, "utf8"));
    const config = {};
    const secretKeys = [];
    for (const [key, value] of Object.entries(doc.config || {})) {
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    // Stacks whose file holds no password (external needs one) get a secret, as `pulumi config set --secret` gives.
    if (config[`${project.name}:target`] === "external" && config[`${project.name}:password`] === undefined) {
        config[`${project.name}:password`] = "Install0Check0Password0Abcdefgh";
        secretKeys.push(`${project.name}:password`);
    }
    pulumi.runtime.setAllConfig(config, secretKeys);
    const types = new Set();
    await pulumi.runtime.setMocks(
        {
            newResource(a) {
                types.add(a.type);
                return {
                    id: `${a.name}-id`,
                    // What the providers compute and the program reads: a generated password and
                    // suffix, an endpoint per kind of server, an ARN.
                    state: {
                        ...a.inputs,
                        result: "Install0Check0Password0Abcdefgh",
                        hex: "a1b2c3d4",
                        arn: `arn:aws:mock:us-east-1:123456789012:${a.name}`,
                        primaryEndpointAddress: "primary.example.internal",
                        readerEndpointAddress: "reader.example.internal",
                        configurationEndpointAddress: "cluster.example.internal",
                        clusterEndpoints: [{ address: "cluster.example.internal", port: a.inputs.port ?? 6379 }],
                        privateDns: "ip-10-0-1-23.ec2.internal",
                        privateIp: "10.0.1.23",
                    },
                };
            },
            call(a) {
                const i = a.inputs;
                switch (a.token) {
                    case "aws:ec2/getInstanceType:getInstanceType":
                        return { instanceType: i.instanceType, memorySize: 2048, supportedArchitectures: ["arm64"], hypervisor: "nitro" };
                    case "aws:ec2/getAmi:getAmi":
                        return { id: "ami-0123456789abcdef0", architecture: "arm64" };
                    case "aws:ec2/getSubnet:getSubnet":
                        return { id: i.id, availabilityZone: "us-east-1a", vpcId: "vpc-0123456789abcdef0" };
                    case "aws:index/getRegion:getRegion":
                        return { region: "us-east-1", name: "us-east-1", id: "us-east-1" };
                    default:
                        throw new Error(`unexpected provider call ${a.token}`);
                }
            },
        },
        project.name,
        stack,
        false,
    );
    const main = project.main || JSON.parse(fs.readFileSync("package.json", "utf8")).main;
    const program = require(path.join(root, main));
    const outputs = Object.keys(program).sort();
    // Let every registration settle.
    for (const name of outputs) {
        const o = program[name];
        if (pulumi.Output.isInstance(o)) await new Promise((resolve) => o.apply((v) => resolve(v)));
    }
    process.stdout.write(`${JSON.stringify({ stack, typescript: ts.version, types: [...types].sort(), outputs })}\n`);
})().catch(fail);
