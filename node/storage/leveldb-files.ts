/**
 * Reads LevelDB's own files (format of LevelDB 1.20, which classic-level 3
 * bundles) to check them before and beside LevelDB: classic-level exposes
 * neither `paranoid_checks` nor `verify_checksums`, so LevelDB silently
 * drops a log record whose checksum fails ("(ignoring error) ... dropping N
 * bytes") and reads table blocks unchecked. These functions check every
 * record and block checksum and say where the damage is.
 *
 * Log file: 32 KiB blocks of records {masked crc32c u32le, length u16le,
 * type u8, data}. Table file: data blocks, meta blocks, an index block, a
 * 48-byte footer; every block is followed by {compression type u8, masked
 * crc32c u32le of contents ++ type}.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { crc32c, unmaskCrc } from "./crc32c.ts";

const LOG_BLOCK_BYTES = 32 * 1024;
const LOG_HEADER_BYTES = 7;
const LOG_FULL = 1;
const LOG_FIRST = 2;
const LOG_LAST = 4;

const FOOTER_BYTES = 48;
const TABLE_MAGIC_LO = 0x8b80fb57;
const TABLE_MAGIC_HI = 0xdb477524;
const BLOCK_TRAILER_BYTES = 5;
const NO_COMPRESSION = 0;
const SNAPPY = 1;

export interface DbFiles {
  current: boolean;
  manifests: string[];
  logs: string[];
  tables: string[];
}

/** LevelDB's files in `dir` (none when it does not exist). */
export function listDbFiles(dir: string): DbFiles {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const sorted = (re: RegExp) => names.filter((n) => re.test(n)).sort();
  return {
    current: names.includes("CURRENT"),
    manifests: sorted(/^MANIFEST-\d+$/),
    logs: sorted(/^\d+\.log$/),
    tables: sorted(/^\d+\.(ldb|sst)$/),
  };
}

/** True when `dir` holds any file of a LevelDB database that was written to. */
export function heldDatabase(files: DbFiles): boolean {
  return files.current || files.manifests.length > 0 || files.logs.length > 0 || files.tables.length > 0;
}

export interface FileDamage {
  file: string;
  /** Byte offset of the damaged record or block. */
  offset: number;
  /** Bytes LevelDB would skip or cannot read. */
  bytes: number;
  reason: string;
  /** Key range of a damaged table block, from the index ("" when unknown). */
  keyRange: string;
}

/** One physical record of a log-format file, or the bytes of one that did not check. */
interface LogFragment {
  at: number;
  /** End of the record; for a fragment with a problem, the end of its block (where the walk resumes). */
  end: number;
  type: number;
  body: Uint8Array;
  problem: string | null;
}

/**
 * The physical records of a log-format file (a log or a MANIFEST), in order,
 * walked as LevelDB's reader walks them: block trailers and preallocated
 * zeros skipped, a record cut short at the very end of the file dropped (a
 * write the process died in; writes are synced, so it was never
 * acknowledged), and after a record that does not check, on to the next block.
 */
function* logFragments(data: Uint8Array): Generator<LogFragment> {
  let pos = 0;
  while (pos < data.length) {
    const blockEnd = Math.min(data.length, (Math.floor(pos / LOG_BLOCK_BYTES) + 1) * LOG_BLOCK_BYTES);
    if (blockEnd - pos < LOG_HEADER_BYTES) {
      pos = blockEnd; // trailer of a block: zero padding
      continue;
    }
    const length = data[pos + 4]! | (data[pos + 5]! << 8);
    const type = data[pos + 6]!;
    const end = pos + LOG_HEADER_BYTES + length;
    if (type === 0 && length === 0) {
      pos = blockEnd; // preallocated zeros: the rest of the block is skipped
      continue;
    }
    let problem: string | null = null;
    if (end > blockEnd) {
      if (blockEnd === data.length) return; // cut short by a crash at the end of the file
      problem = `bad record length ${length}`;
    } else if (type < LOG_FULL || type > LOG_LAST) problem = `unknown record type ${type}`;
    else {
      const expected = unmaskCrc(readU32(data, pos));
      const actual = crc32c(data.subarray(pos + LOG_HEADER_BYTES, end), crc32c(data.subarray(pos + 6, pos + 7)));
      if (actual !== expected) problem = "checksum mismatch";
    }
    if (problem !== null) {
      yield { at: pos, end: blockEnd, type, body: data.subarray(0, 0), problem };
      pos = blockEnd;
      continue;
    }
    yield { at: pos, end, type, body: data.subarray(pos + LOG_HEADER_BYTES, end), problem: null };
    pos = end;
  }
}

/**
 * Every record of a log file with its checksum. Anything that does not check
 * (other than a record cut short at the very end, see logFragments) is damage
 * LevelDB would silently drop.
 */
export function verifyLogFile(path: string): FileDamage[] {
  const out: FileDamage[] = [];
  // After damage, the rest of a record that spanned blocks is lost with it
  // (LevelDB drops those fragments too: "missing start of fragmented record").
  let orphaned = false;
  for (const f of logFragments(readWhole(path))) {
    if (f.problem !== null) {
      out.push(damage(path, f.at, f.end - f.at, f.problem));
      orphaned = true;
    } else if (f.type === LOG_FULL || f.type === LOG_FIRST) orphaned = false;
    else if (orphaned) {
      out.push(damage(path, f.at, f.end - f.at, "the rest of a record whose start was damaged"));
      if (f.type === LOG_LAST) orphaned = false;
    }
  }
  return mergeAdjacent(out);
}

/**
 * The records of a log-format file (a log or a MANIFEST), fragments joined;
 * null when any record does not check or a fragment is out of order.
 */
export function readLogRecords(data: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let parts: Uint8Array[] | null = null;
  for (const f of logFragments(data)) {
    if (f.problem !== null) return null;
    if (f.type === LOG_FULL || f.type === LOG_FIRST) {
      if (parts !== null) return null;
      if (f.type === LOG_FULL) out.push(f.body);
      else parts = [f.body];
    } else {
      if (parts === null) return null;
      parts.push(f.body);
      if (f.type === LOG_LAST) {
        out.push(Buffer.concat(parts));
        parts = null;
      }
    }
  }
  return out;
}

/**
 * Every block of a table file with its checksum: the footer, the index
 * block, and each data block the index names. `describeKey` turns a user key
 * into a readable key name for the damaged block's range.
 */
export function verifyTableFile(path: string, describeKey: (key: Uint8Array) => string): FileDamage[] {
  const data = readWhole(path);
  if (data.length < FOOTER_BYTES) return [damage(path, 0, data.length, "file too short for a table footer")];
  const footerAt = data.length - FOOTER_BYTES;
  if (readU32(data, data.length - 8) !== TABLE_MAGIC_LO || readU32(data, data.length - 4) !== TABLE_MAGIC_HI) {
    return [damage(path, footerAt, FOOTER_BYTES, "bad table magic number (not a table, or truncated)")];
  }
  const cursor = { pos: footerAt };
  const meta = readHandle(data, cursor);
  const index = readHandle(data, cursor);
  if (meta === null || index === null) return [damage(path, footerAt, FOOTER_BYTES, "bad block handle in footer")];
  const indexBlock = readBlock(data, index);
  if (typeof indexBlock === "string") {
    return [damage(path, index.offset, index.size, `index block: ${indexBlock}; the whole table is unreadable`)];
  }
  const entries = parseBlock(indexBlock);
  if (entries === null) return [damage(path, index.offset, index.size, "index block does not parse")];
  const out: FileDamage[] = [];
  let prevKey: Uint8Array | null = null;
  for (const e of entries) {
    const c = { pos: 0 };
    const h = readHandle(e.value, c);
    const upper = userKey(e.key);
    const range = `${prevKey === null ? "(table start)" : `after ${describeKey(prevKey)}`} .. up to ${describeKey(upper)}`;
    prevKey = upper;
    if (h === null) {
      out.push({ ...damage(path, index.offset, index.size, "bad block handle in index"), keyRange: range });
      continue;
    }
    const problem = checkBlock(data, h);
    if (problem !== null) out.push({ ...damage(path, h.offset, h.size, problem), keyRange: range });
  }
  const metaProblem = checkBlock(data, meta);
  if (metaProblem !== null) out.push(damage(path, meta.offset, meta.size, `meta block: ${metaProblem}`));
  return out;
}

/** Checks the table files of `dir` (all, or those not in `skip`); returns the damage and the bytes read. */
export function verifyTables(
  dir: string,
  describeKey: (key: Uint8Array) => string,
  names: string[] = listDbFiles(dir).tables,
): FileDamage[] {
  const out: FileDamage[] = [];
  for (const name of names) {
    try {
      out.push(...verifyTableFile(join(dir, name), describeKey));
    } catch (err) {
      // Compaction deletes tables it merged; a vanished file is not damage.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  return out;
}

export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// ---- parts ----

interface Handle {
  offset: number;
  size: number;
}

function damage(file: string, offset: number, bytes: number, reason: string): FileDamage {
  return { file, offset, bytes, reason, keyRange: "" };
}

/** Damage reports of consecutive log blocks become one (one overwrite spans several). */
function mergeAdjacent(list: FileDamage[]): FileDamage[] {
  const out: FileDamage[] = [];
  for (const d of list) {
    const last = out.at(-1);
    if (last !== undefined && last.offset + last.bytes === d.offset) {
      last.bytes += d.bytes;
      if (!last.reason.includes(d.reason)) last.reason += `, ${d.reason}`;
    } else out.push({ ...d });
  }
  return out;
}

function readWhole(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function readVarint(b: Uint8Array, c: { pos: number }): number | null {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10 && c.pos < b.length; i++) {
    const byte = b[c.pos++]!;
    result += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return Number.isSafeInteger(result) ? result : null;
    mul *= 128;
  }
  return null;
}

function readHandle(b: Uint8Array, c: { pos: number }): Handle | null {
  const offset = readVarint(b, c);
  const size = readVarint(b, c);
  return offset === null || size === null ? null : { offset, size };
}

/** Why a block (contents and trailer) does not check, or null: its checksum and its compression type. */
function checkBlock(data: Uint8Array, h: Handle): string | null {
  if (h.offset + h.size + BLOCK_TRAILER_BYTES > data.length) return "block extends past the end of the file";
  const type = data[h.offset + h.size]!;
  const expected = unmaskCrc(readU32(data, h.offset + h.size + 1));
  // The checksum covers the stored contents and the type byte.
  const actual = crc32c(
    data.subarray(h.offset + h.size, h.offset + h.size + 1),
    crc32c(data.subarray(h.offset, h.offset + h.size)),
  );
  if (actual !== expected) return "block checksum mismatch";
  if (type !== NO_COMPRESSION && type !== SNAPPY) return `bad block type ${type}`;
  return null;
}

/** The block's contents (decompressed), or why it cannot be read. */
function readBlock(data: Uint8Array, h: Handle): Uint8Array | string {
  const problem = checkBlock(data, h);
  if (problem !== null) return problem;
  const contents = data.subarray(h.offset, h.offset + h.size);
  if (data[h.offset + h.size] === NO_COMPRESSION) return contents;
  return snappyDecompress(contents) ?? "snappy data does not decompress";
}

/** Entries of a block: shared-prefix keys and values, then restart offsets and their count. */
function parseBlock(block: Uint8Array): { key: Uint8Array; value: Uint8Array }[] | null {
  if (block.length < 4) return null;
  const restarts = readU32(block, block.length - 4);
  const limit = block.length - 4 - restarts * 4;
  if (limit < 0) return null;
  const out: { key: Uint8Array; value: Uint8Array }[] = [];
  let key = new Uint8Array(0);
  const c = { pos: 0 };
  while (c.pos < limit) {
    const shared = readVarint(block, c);
    const unshared = readVarint(block, c);
    const valueLen = readVarint(block, c);
    if (shared === null || unshared === null || valueLen === null || shared > key.length) return null;
    if (c.pos + unshared + valueLen > limit) return null;
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(block.subarray(c.pos, c.pos + unshared), shared);
    key = next;
    c.pos += unshared;
    out.push({ key, value: block.subarray(c.pos, c.pos + valueLen) });
    c.pos += valueLen;
  }
  return out;
}

/** An internal key is the user key followed by 8 bytes of sequence number and type. */
function userKey(internal: Uint8Array): Uint8Array {
  return internal.length >= 8 ? internal.subarray(0, internal.length - 8) : internal;
}

/**
 * Snappy raw-format decompression (only index and meta blocks need it here:
 * data blocks are checked by checksum alone). Returns null on malformed input.
 */
function snappyDecompress(src: Uint8Array): Uint8Array | null {
  const c = { pos: 0 };
  const total = readVarint(src, c);
  if (total === null || total > 64 * 1024 * 1024) return null;
  const out = new Uint8Array(total);
  let o = 0;
  while (c.pos < src.length) {
    const tag = src[c.pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (c.pos + extra > src.length) return null;
        len = 0;
        for (let i = 0; i < extra; i++) len |= src[c.pos + i]! << (8 * i);
        c.pos += extra;
      }
      len += 1;
      if (c.pos + len > src.length || o + len > total) return null;
      out.set(src.subarray(c.pos, c.pos + len), o);
      c.pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (c.pos >= src.length) return null;
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[c.pos++]!;
    } else if (kind === 2) {
      if (c.pos + 2 > src.length) return null;
      len = (tag >>> 2) + 1;
      offset = src[c.pos]! | (src[c.pos + 1]! << 8);
      c.pos += 2;
    } else {
      if (c.pos + 4 > src.length) return null;
      len = (tag >>> 2) + 1;
      offset = readU32(src, c.pos);
      c.pos += 4;
    }
    if (offset === 0 || offset > o || o + len > total) return null;
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  return o === total ? out : null;
}
