/**
 * Which of LevelDB's files the database actually uses: the live set of its
 * current version, read from the MANIFEST that CURRENT names.
 *
 * Why: a compaction that is interrupted (the process stops or is killed
 * while LevelDB merges tables) leaves its output table half written. That
 * file is in no version; LevelDB deletes it at the next open
 * (DeleteObsoleteFiles) and never reads it. Checking it as if it held data
 * would stop a healthy node with "bad table magic number" and the resync
 * remedy. The same holds for logs older than the version's log number:
 * their records are already in tables.
 *
 * MANIFEST: a log file (the record format of leveldb-files.ts) whose records
 * are VersionEdits, each a sequence of varint-tagged fields (LevelDB 1.20,
 * db/version_edit.cc). The live tables are those added and not deleted
 * since the manifest began (a new manifest starts with a full snapshot).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readLogRecords } from "./leveldb-files.ts";

const TAG_COMPARATOR = 1;
const TAG_LOG_NUMBER = 2;
const TAG_NEXT_FILE_NUMBER = 3;
const TAG_LAST_SEQUENCE = 4;
const TAG_COMPACT_POINTER = 5;
const TAG_DELETED_FILE = 6;
const TAG_NEW_FILE = 7;
const TAG_PREV_LOG_NUMBER = 9;

export interface LiveFiles {
  /** The manifest they were read from. */
  manifest: string;
  /** File numbers of the tables in the current version. */
  tables: Set<number>;
  /** Logs numbered below this hold nothing that is not in a table. */
  minLogNumber: number;
}

/**
 * The live files of the database in `dir`, or null when they cannot be read
 * with certainty (no CURRENT, a missing or damaged manifest, an unknown
 * field): the caller then checks every file, as if all were live.
 */
export function readLiveFiles(dir: string): LiveFiles | null {
  let manifest: string;
  let data: Uint8Array;
  try {
    manifest = readFileSync(join(dir, "CURRENT"), "latin1").trim();
    if (!/^MANIFEST-\d+$/.test(manifest)) return null;
    data = new Uint8Array(readFileSync(join(dir, manifest)));
  } catch {
    return null;
  }
  const records = readLogRecords(data);
  if (records === null || records.length === 0) return null;
  const tables = new Set<number>();
  let logNumber = 0;
  let prevLogNumber = 0;
  for (const record of records) {
    const edit = parseVersionEdit(record);
    if (edit === null) return null;
    for (const n of edit.deleted) tables.delete(n);
    for (const n of edit.added) tables.add(n);
    if (edit.logNumber !== undefined) logNumber = edit.logNumber;
    if (edit.prevLogNumber !== undefined) prevLogNumber = edit.prevLogNumber;
  }
  const minLogNumber = prevLogNumber > 0 ? Math.min(logNumber, prevLogNumber) : logNumber;
  return { manifest, tables, minLogNumber };
}

/** The number of a LevelDB file name (`000123.ldb` -> 123). */
export function fileNumber(name: string): number {
  return Number.parseInt(name, 10);
}

interface VersionEdit {
  added: number[];
  deleted: number[];
  logNumber?: number;
  prevLogNumber?: number;
}

/** One VersionEdit record; null on anything that does not parse to its end. */
function parseVersionEdit(bytes: Uint8Array): VersionEdit | null {
  const r = new Reader(bytes);
  const edit: VersionEdit = { added: [], deleted: [] };
  while (!r.done) {
    const tag = r.varint();
    if (tag === null) return null;
    switch (tag) {
      case TAG_COMPARATOR:
        if (r.slice() === null) return null;
        break;
      case TAG_LOG_NUMBER: {
        const n = r.varint();
        if (n === null) return null;
        edit.logNumber = n;
        break;
      }
      case TAG_PREV_LOG_NUMBER: {
        const n = r.varint();
        if (n === null) return null;
        edit.prevLogNumber = n;
        break;
      }
      case TAG_NEXT_FILE_NUMBER:
      case TAG_LAST_SEQUENCE:
        if (r.varint() === null) return null;
        break;
      case TAG_COMPACT_POINTER:
        if (r.varint() === null || r.slice() === null) return null;
        break;
      case TAG_DELETED_FILE: {
        const level = r.varint();
        const n = r.varint();
        if (level === null || n === null) return null;
        edit.deleted.push(n);
        break;
      }
      case TAG_NEW_FILE: {
        const level = r.varint();
        const n = r.varint();
        const size = r.varint();
        if (level === null || n === null || size === null || r.slice() === null || r.slice() === null) return null;
        edit.added.push(n);
        break;
      }
      default:
        return null;
    }
  }
  return edit;
}

class Reader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get done(): boolean {
    return this.#pos >= this.#bytes.length;
  }

  /** A varint of up to 64 bits; null past the end or above 2^53. */
  varint(): number | null {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10 && this.#pos < this.#bytes.length; i++) {
      const b = this.#bytes[this.#pos++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return Number.isSafeInteger(value) ? value : null;
      scale *= 128;
    }
    return null;
  }

  /** A varint-length-prefixed byte string. */
  slice(): Uint8Array | null {
    const n = this.varint();
    if (n === null || this.#pos + n > this.#bytes.length) return null;
    const out = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}
