/**
 * The ops commands as `npm run NAME` starts them: the command line of the package.json script
 * that runs the file, with this process's Node (type stripping, no tsx), from the repository
 * root. A test that spawns a command this way proves the npm script itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.join(__dirname, "..", "..");

const SCRIPTS = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** The npm script that runs `file` (`src/ops/smoke.ts`): its name and its words after `node`. */
export function npmScript(file: string): { name: string; nodeArgs: string[] } {
    const found = Object.entries(SCRIPTS).filter(([, line]) => line.split(/\s+/).includes(file));
    if (found.length !== 1) throw new Error(`${found.length} package.json scripts run ${file}`);
    const [name, line] = found[0]!;
    const [program, ...nodeArgs] = line.trim().split(/\s+/);
    if (program !== "node") throw new Error(`npm run ${name} starts ${program}, not node: ${line}`);
    return { name, nodeArgs };
}

/** Arguments for `process.execPath` that run `file` as its npm script does, then `args`. */
export function opsArgv(file: string, ...args: string[]): string[] {
    return [...npmScript(file).nodeArgs, ...args];
}
