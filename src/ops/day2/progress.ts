/**
 * Progress on stderr while a long step runs: one line redrawn in place on a terminal, a line
 * every few seconds otherwise (CI logs), and always a last line at 100%.
 */
import { humanBytes } from "../cli.ts";

export { humanBytes };

export class Progress {
    private last = 0;
    private readonly started = Date.now();
    private done = false;
    private readonly label: string;
    private readonly unit: "bytes" | "keys";
    private readonly out: NodeJS.WriteStream;
    private readonly everyMs: number;

    constructor(label: string, unit: "bytes" | "keys", out: NodeJS.WriteStream = process.stderr, everyMs = out.isTTY ? 200 : 5000) {
        this.label = label;
        this.unit = unit;
        this.out = out;
        this.everyMs = everyMs;
    }

    private text(n: number, total: number): string {
        const amount =
            this.unit === "bytes"
                ? `${humanBytes(n)}${total ? ` of ${humanBytes(total)}` : ""}`
                : `${n}${total ? ` of ${total}` : ""} keys`;
        const pct = total ? ` (${Math.floor((n / total) * 100)}%)` : "";
        const secs = (Date.now() - this.started) / 1000;
        const rate = this.unit === "bytes" && secs > 0 ? `, ${(n / 1e6 / secs).toFixed(1)} MB/s` : "";
        return `${this.label}: ${amount}${pct}${rate}`;
    }

    update(n: number, total: number): void {
        if (this.done) return;
        const now = Date.now();
        const finished = total > 0 && n >= total;
        if (!finished && now - this.last < this.everyMs) return;
        this.last = now;
        if (this.out.isTTY) this.out.write(`\r\x1b[K${this.text(n, total)}${finished ? "\n" : ""}`);
        else this.out.write(`${this.text(n, total)}\n`);
        if (finished) this.done = true;
    }
}
