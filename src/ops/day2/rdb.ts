/**
 * What the day-2 tools read of an RDB file without loading it: the header (magic, format
 * version, the aux fields the server wrote), the key count of the first database (its RESIZEDB
 * hint), and the CRC64 trailer that every redis-server since RDB 5 writes over the whole file.
 * The data itself is read by a real redis-server (see scratch.ts), never by this module.
 */
import * as fs from "node:fs";
import { createHash } from "node:crypto";

/** RDB opcodes, as src/rdb.h of redis/redis and valkey-io/valkey number them. */
const OP = { FUNCTION2: 0xf5, MODULE_AUX: 0xf7, AUX: 0xfa, RESIZEDB: 0xfb, SELECTDB: 0xfe, EOF: 0xff } as const;

/** The first RDB version with a CRC64 trailer (Redis 2.6). */
export const FIRST_CHECKSUMMED_VERSION = 5;

/**
 * The newest RDB version each server line reads (and writes in DUMP payloads). Valkey's from
 * its src/rdb.h RDB_VERSION_MAP (valkey-io/valkey@01756301ec98fdf8c31936552d2d123ff0f362f5:
 * 11 since 7.2, 80 since 9.0, 81 since 9.2; "RDB 11 is the last open-source Redis RDB version,
 * used by Valkey 7.x and 8.x"). Redis's from RDB_VERSION in src/rdb.h of each release: 6 in 2.6
 * and 2.8, 7 in 3.x, 8 in 4.0, 9 in 5.0 to 6.2, 10 in 7.0, 11 in 7.2, 12 from 7.4. ElastiCache's
 * Redis OSS 7.1 is its build of 7.0 (RDB 10). Newer releases than the table knows read at least
 * its last row.
 */
const REDIS_RDB: [minVersion: [number, number], rdb: number][] = [
    [[2, 6], 6],
    [[3, 0], 7],
    [[4, 0], 8],
    [[5, 0], 9],
    [[7, 0], 10],
    [[7, 2], 11],
    [[7, 4], 12],
];
const VALKEY_RDB: [minVersion: [number, number], rdb: number][] = [
    [[7, 2], 11],
    [[9, 0], 80],
    [[9, 2], 81],
];

/** The newest RDB version a server reads, from its INFO server section. */
export function serverRdbVersion(info: Record<string, string>): { rdb: number; server: string } {
    const valkey = info.valkey_version !== undefined || info.server_name === "valkey";
    const version = info.valkey_version ?? info.redis_version ?? "0.0.0";
    const [major = 0, minor = 0] = version.split(".").map(Number);
    const table = valkey ? VALKEY_RDB : REDIS_RDB;
    let rdb = 0;
    for (const [[ma, mi], v] of table) if (major > ma || (major === ma && minor >= mi)) rdb = v;
    return { rdb, server: `${valkey ? "Valkey" : "Redis"} ${version}` };
}

/** Whether a server that reads up to `serverRdb` loads a file of `fileRdb`. */
export function readsRdb(serverRdb: number, fileRdb: number): boolean {
    // Valkey 9 numbers its formats from 80 and treats 12 to 79 as foreign (Redis 7.4+).
    if (serverRdb >= 80 && fileRdb >= 12 && fileRdb <= 79) return false;
    return fileRdb <= serverRdb;
}

// ---- CRC64 (Jones polynomial, reflected, as src/crc64.c), slicing by 8 over 32-bit halves ----
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5; // 0xad93d23594c935a9 reflected = 0x95ac9329ac4bc9b5
// Int32Array: V8 keeps XORs of int32 values in registers; Uint32 reads above 2^31 become doubles.
const T_HI: Int32Array[] = [];
const T_LO: Int32Array[] = [];
(function tables() {
    const hi0 = new Int32Array(256);
    const lo0 = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
        let hi = 0;
        let lo = n;
        for (let k = 0; k < 8; k++) {
            const carry = lo & 1;
            lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
            hi = hi >>> 1;
            if (carry) {
                hi = (hi ^ POLY_HI) >>> 0;
                lo = (lo ^ POLY_LO) >>> 0;
            }
        }
        hi0[n] = hi;
        lo0[n] = lo;
    }
    T_HI.push(hi0);
    T_LO.push(lo0);
    for (let t = 1; t < 8; t++) {
        const hi = new Int32Array(256);
        const lo = new Int32Array(256);
        for (let n = 0; n < 256; n++) {
            const ph = T_HI[t - 1]![n]!;
            const pl = T_LO[t - 1]![n]!;
            const i = pl & 0xff;
            hi[n] = hi0[i]! ^ (ph >>> 8);
            lo[n] = lo0[i]! ^ ((pl >>> 8) | (ph << 24));
        }
        T_HI.push(hi);
        T_LO.push(lo);
    }
})();

export class Crc64 {
    private hi = 0;
    private lo = 0;

    update(b: Uint8Array): this {
        let hi = this.hi;
        let lo = this.lo;
        let i = 0;
        const n = b.length;
        const [h0, h1, h2, h3, h4, h5, h6, h7] = T_HI as [
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
        ];
        const [l0, l1, l2, l3, l4, l5, l6, l7] = T_LO as [
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
            Int32Array,
        ];
        for (; i + 8 <= n; i += 8) {
            const a = lo ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24));
            const c = hi ^ (b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24));
            const x0 = a & 0xff,
                x1 = (a >>> 8) & 0xff,
                x2 = (a >>> 16) & 0xff,
                x3 = a >>> 24;
            const x4 = c & 0xff,
                x5 = (c >>> 8) & 0xff,
                x6 = (c >>> 16) & 0xff,
                x7 = c >>> 24;
            lo = l7[x0]! ^ l6[x1]! ^ l5[x2]! ^ l4[x3]! ^ l3[x4]! ^ l2[x5]! ^ l1[x6]! ^ l0[x7]!;
            hi = h7[x0]! ^ h6[x1]! ^ h5[x2]! ^ h4[x3]! ^ h3[x4]! ^ h2[x5]! ^ h1[x6]! ^ h0[x7]!;
        }
        for (; i < n; i++) {
            const x = (lo ^ b[i]!) & 0xff;
            lo = l0[x]! ^ ((lo >>> 8) | (hi << 24));
            hi = h0[x]! ^ (hi >>> 8);
        }
        this.hi = hi | 0;
        this.lo = lo | 0;
        return this;
    }

    /** The value as the file's trailer holds it: 8 bytes, little-endian. */
    digest(): Buffer {
        const out = Buffer.alloc(8);
        out.writeUInt32LE(this.lo >>> 0, 0);
        out.writeUInt32LE(this.hi >>> 0, 4);
        return out;
    }

    hex(): string {
        return (this.hi >>> 0).toString(16).padStart(8, "0") + (this.lo >>> 0).toString(16).padStart(8, "0");
    }
}

// ---- header ----

export interface RdbHeader {
    magic: "REDIS" | "VALKEY";
    version: number;
    /** AUX fields: redis-ver, redis-bits, ctime, used-mem, repl-id, aof-base ... */
    aux: Record<string, string>;
    /** Keys in the first database the file holds (its RESIZEDB hint); 0 for an empty file; null when not found in the header. */
    keys: number | null;
    /** The database those keys are in. */
    db: number | null;
}

export class RdbError extends Error {}

class Reader {
    pos = 0;
    private readonly b: Buffer;

    constructor(b: Buffer) {
        this.b = b;
    }

    need(n: number): void {
        if (this.pos + n > this.b.length) throw new RangeError("short");
    }

    byte(): number {
        this.need(1);
        return this.b[this.pos++]!;
    }

    /** A length, or an encoding marker (`enc`) for specially encoded strings. */
    length(): { len: number; enc?: number } {
        const first = this.byte();
        switch (first >> 6) {
            case 0:
                return { len: first & 0x3f };
            case 1:
                return { len: ((first & 0x3f) << 8) | this.byte() };
            case 3:
                return { len: 0, enc: first & 0x3f };
        }
        if (first === 0x80) {
            this.need(4);
            const v = this.b.readUInt32BE(this.pos);
            this.pos += 4;
            return { len: v };
        }
        if (first === 0x81) {
            this.need(8);
            const v = Number(this.b.readBigUInt64BE(this.pos));
            this.pos += 8;
            return { len: v };
        }
        throw new RdbError(`unknown length encoding 0x${first.toString(16)} at offset ${this.pos - 1}`);
    }

    bytes(n: number): Buffer {
        this.need(n);
        const out = this.b.subarray(this.pos, this.pos + n);
        this.pos += n;
        return out;
    }

    string(): string {
        const { len, enc } = this.length();
        if (enc === undefined) return this.bytes(len).toString("latin1");
        if (enc === 0) return String(this.bytes(1).readInt8(0));
        if (enc === 1) return String(this.bytes(2).readInt16LE(0));
        if (enc === 2) return String(this.bytes(4).readInt32LE(0));
        if (enc === 3) {
            const clen = this.length().len;
            const ulen = this.length().len;
            return lzfDecompress(this.bytes(clen), ulen).toString("latin1");
        }
        throw new RdbError(`unknown string encoding ${enc} at offset ${this.pos - 1}`);
    }
}

/** LZF as src/lzf_d.c decodes it: literal runs and back references. */
function lzfDecompress(input: Buffer, outLen: number): Buffer {
    const out = Buffer.alloc(outLen);
    let ip = 0;
    let op = 0;
    while (ip < input.length) {
        const ctrl = input[ip++]!;
        if (ctrl < 32) {
            const n = ctrl + 1;
            if (op + n > outLen || ip + n > input.length) throw new RdbError("damaged LZF string in the header");
            input.copy(out, op, ip, ip + n);
            ip += n;
            op += n;
        } else {
            let len = ctrl >> 5;
            if (len === 7) len += input[ip++]!;
            let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
            len += 2;
            if (ref < 0 || op + len > outLen) throw new RdbError("damaged LZF string in the header");
            while (len--) out[op++] = out[ref++]!;
        }
    }
    return out;
}

/** Reads the header from the first bytes of a file (64 KiB is plenty for what servers write there). */
export function parseRdbHeader(b: Buffer): RdbHeader {
    let magic: RdbHeader["magic"];
    let version: number;
    const head = b.subarray(0, 9).toString("latin1");
    if (/^REDIS\d{4}$/.test(head)) [magic, version] = ["REDIS", Number(head.slice(5))];
    else if (/^VALKEY\d{3}$/.test(head)) [magic, version] = ["VALKEY", Number(head.slice(6))];
    else throw new RdbError("not an RDB file (it does not start with REDIS or VALKEY and a version)");
    const r = new Reader(b);
    r.pos = 9;
    const aux: Record<string, string> = {};
    let keys: number | null = null;
    let db: number | null = null;
    try {
        for (;;) {
            const op = r.byte();
            if (op === OP.AUX) {
                const k = r.string();
                aux[k] = r.string();
            } else if (op === OP.FUNCTION2) {
                r.string();
            } else if (op === OP.SELECTDB) {
                db = r.length().len;
                if (r.byte() === OP.RESIZEDB) keys = r.length().len;
                break;
            } else if (op === OP.EOF) {
                keys = 0;
                break;
            } else {
                // A module's aux data or a key: the header is over and no hint came before it.
                break;
            }
        }
    } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        // The header goes on past what was read: what was found stands.
    }
    return { magic, version, aux, keys, db };
}

export function formatRdbName(h: Pick<RdbHeader, "magic" | "version">): string {
    return `RDB ${h.version}${h.magic === "VALKEY" ? " (Valkey format)" : ""}`;
}

// ---- whole-file check ----

export interface RdbCheck {
    header: RdbHeader;
    size: number;
    sha256: string;
    /** "ok"; "disabled" when the writer had rdbchecksum no (all-zero trailer); "none" before RDB 5. */
    crc64: "ok" | "disabled" | "none";
}

/**
 * Reads the whole file once: header, size, SHA-256, and the CRC64 trailer checked against the
 * bytes before it. Throws RdbError naming what is wrong (truncated, damaged, not an RDB).
 */
export async function checkRdbFile(file: string, onProgress?: (bytes: number, total: number) => void): Promise<RdbCheck> {
    const size = fs.statSync(file).size;
    if (size < 9 + 1) throw new RdbError(`${file} is ${size} bytes: too short for an RDB file (truncated?)`);
    const fd = fs.openSync(file, "r");
    try {
        const headBuf = Buffer.alloc(Math.min(size, 64 * 1024));
        fs.readSync(fd, headBuf, 0, headBuf.length, 0);
        const header = parseRdbHeader(headBuf);
        const checksummed = header.version >= FIRST_CHECKSUMMED_VERSION;
        const bodyLen = checksummed ? size - 8 : size;
        const crc = new Crc64();
        const sha = createHash("sha256");
        const chunk = Buffer.alloc(4 * 1024 * 1024);
        let pos = 0;
        while (pos < size) {
            const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
            if (n <= 0) break;
            const part = chunk.subarray(0, n);
            sha.update(part);
            if (pos < bodyLen) crc.update(part.subarray(0, Math.min(n, bodyLen - pos)));
            pos += n;
            onProgress?.(pos, size);
        }
        const tail = Buffer.alloc(Math.min(size, 9));
        fs.readSync(fd, tail, 0, tail.length, size - tail.length);
        // The EOF opcode sits right before the 8 checksum bytes (or last, before RDB 5).
        const eofAt = checksummed ? tail.length - 9 : tail.length - 1;
        if (eofAt < 0 || tail[eofAt] !== OP.EOF) {
            throw new RdbError(`${file} does not end with the RDB end-of-file mark: it is truncated or damaged`);
        }
        let status: RdbCheck["crc64"] = "none";
        if (checksummed) {
            const stored = tail.subarray(tail.length - 8);
            if (stored.equals(Buffer.alloc(8))) status = "disabled";
            else if (!stored.equals(crc.digest())) {
                throw new RdbError(
                    `${file} fails its CRC64 check (trailer ${Buffer.from(stored).reverse().toString("hex")}, content ${crc.hex()}): it is damaged or truncated`,
                );
            } else status = "ok";
        }
        return { header, size, sha256: sha.digest("hex"), crc64: status };
    } finally {
        fs.closeSync(fd);
    }
}

/** `sha256sum` format, so `sha256sum -c FILE.sha256` checks the file too. */
export function sha256Line(hex: string, basename: string): string {
    return `${hex}  ${basename}\n`;
}

export function parseSha256File(text: string): string | null {
    const m = /^([0-9a-f]{64})\s/.exec(`${text.trim()} `);
    return m ? m[1]! : null;
}
