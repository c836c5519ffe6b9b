/**
 * Routine-change tests that edit the root redis.conf for one run, without touching the file:
 * a test file mocks `fs` with `editableFs` (vi.mock's factory), then sets an edit per run.
 *   vi.mock("fs", async (orig) => (await import("../helpers/confEdit")).editableFs(await orig()));
 * This module imports no `fs` of its own, so the mock it serves never loads itself.
 */
import * as path from "path";

/** The root redis.conf the program reads (src/redisConf.ts's ROOT_REDIS_CONF). */
const ROOT_CONF = path.join(__dirname, "..", "..", "redis.conf");

let edit: ((text: string) => string) | undefined;

/** The edit the next reads of the root redis.conf get; undefined for the file as it is. */
export function setConfEdit(e: ((text: string) => string) | undefined): void {
    edit = e;
}

export function editableFs<T extends typeof import("fs")>(real: T): T {
    const readFileSync = ((file: any, ...rest: any[]) => {
        const out = (real.readFileSync as any)(file, ...rest);
        return edit && file === ROOT_CONF ? edit(String(out)) : out;
    }) as typeof real.readFileSync;
    return { ...real, readFileSync, default: { ...real, readFileSync } };
}
