/**
 * Cleanup on every exit of a drill: each server, mount and folder registers how to remove
 * itself while it exists; Ctrl-C, SIGTERM, a closed output pipe or an uncaught error run what
 * is registered (newest first) before the process exits. Normal paths remove their own
 * resources in `finally` and unregister.
 */
type Task = () => Promise<void> | void;

const tasks: { name: string; run: Task }[] = [];

/** Registers a cleanup; call the returned function once the resource is gone. */
export function onAbort(name: string, run: Task): () => void {
    const entry = { name, run };
    tasks.push(entry);
    return () => {
        const i = tasks.indexOf(entry);
        if (i >= 0) tasks.splice(i, 1);
    };
}

/** Runs every registered cleanup, newest first, each bounded in time; never throws. */
export async function runCleanups(log: (line: string) => void = () => undefined): Promise<void> {
    while (tasks.length) {
        const t = tasks.pop()!;
        try {
            await Promise.race([
                Promise.resolve().then(t.run),
                new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 15 s")), 15_000).unref()),
            ]);
        } catch (e) {
            log(`cleanup of ${t.name} failed: ${(e as Error).message}`);
        }
    }
}

let exiting = false;

export interface ExitMessages {
    /** Before each line, such as `bench: `. @default none */
    prefix?: string;
    /** What the cleanup does, said when it starts. */
    what?: () => string;
    /** The command's name in `NAME failed: ...`. @default drill */
    name?: string;
}

function stderr(line: string): void {
    try {
        process.stderr.write(`${line}\n`);
    } catch {
        /* stderr closed too */
    }
}

let messages: Required<ExitMessages> = { prefix: "", what: () => "stopping servers, unmounting, removing folders", name: "drill" };

/** Cleans up once, says why on stderr (stdout may be the closed pipe), then exits with code. */
export function leave(code: number, why: string): void {
    if (exiting) return;
    exiting = true;
    stderr(`${messages.prefix}${why}: ${messages.what()}`);
    void runCleanups(stderr).finally(() => process.exit(code));
}

/**
 * SIGINT, SIGTERM, SIGHUP, EPIPE on stdout and uncaught errors: clean up, then exit with
 * 130 / 143 / 129 / 1 / 1.
 */
export function installExitHandlers(m: ExitMessages = {}): void {
    messages = { ...messages, ...m };
    process.on("SIGINT", () => leave(130, "interrupted"));
    process.on("SIGTERM", () => leave(143, "terminated"));
    process.on("SIGHUP", () => leave(129, "hung up"));
    process.stdout.on("error", (e: NodeJS.ErrnoException) => leave(1, e.code === "EPIPE" ? "output closed" : `output error ${e.code}`));
    process.on("uncaughtException", (e) => leave(1, `${messages.name} failed: ${e.stack ?? e.message}`));
    process.on("unhandledRejection", (e) => leave(1, `${messages.name} failed: ${(e as Error)?.stack ?? String(e)}`));
}

export function isExiting(): boolean {
    return exiting;
}
