import { StorageError } from "./errors.ts";
import { readU64, readU64Key, u64Key, utf8, writeU64 } from "./keys.ts";
import { plain, type Space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

/** How a WAL turns its entries into bytes and back. */
export interface EntryCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** What is on disk outside the contiguous run first..next-1. */
export interface WalDamage {
  /** Indexes of entries held outside the contiguous run (after a hole, or below first). */
  stray: number[];
  /** Keys that are not 8-byte indexes at all. */
  badKeys: number;
  /** Entries the cursor says exist but are missing: from..to-1. */
  missing: { from: number; to: number } | null;
}

export interface WalReplay<T> {
  first: number;
  next: number;
  entries: { index: number; value: T }[];
  damage: WalDamage;
}

const CURSOR_BYTES = 16;

/**
 * A write-ahead log of entries keyed by a dense index: append only at
 * `next`, drop a prefix, or drop everything and move on. `first` and `next`
 * never move backwards. The cursor record is written whenever entries are
 * deleted, so an emptied WAL still knows where it stands after a restart.
 *
 * Mutations validate, update the in-memory cursors and stage their LevelDB
 * operations into a WriteSet; the group-commit writer makes them durable.
 */
export class IndexedWal<T> {
  readonly name: string;
  readonly #entries: Space;
  readonly #meta: Space;
  readonly #cursorKey: Uint8Array;
  readonly #codec: EntryCodec<T>;
  #first: number;
  #next: number;
  #damage: WalDamage;

  private constructor(
    name: string,
    entries: Space,
    meta: Space,
    codec: EntryCodec<T>,
    first: number,
    next: number,
    damage: WalDamage,
  ) {
    this.name = name;
    this.#entries = entries;
    this.#meta = meta;
    this.#cursorKey = utf8(`cursor/${name}`);
    this.#codec = codec;
    this.#first = first;
    this.#next = next;
    this.#damage = damage;
  }

  /**
   * Loads the cursors from the cursor record and the keys on disk (values are
   * not read). `base` is the index of the first entry of a fresh WAL.
   */
  static async open<T>(name: string, entries: Space, meta: Space, codec: EntryCodec<T>, base: number) {
    const raw = await meta.get(utf8(`cursor/${name}`));
    let first = base;
    let cursorNext = base;
    if (raw !== undefined) {
      if (raw.byteLength !== CURSOR_BYTES) throw new StorageError(`meta/cursor/${name} is corrupt`);
      first = readU64(raw, 0);
      cursorNext = readU64(raw, 8);
    }
    const damage: WalDamage = { stray: [], badKeys: 0, missing: null };
    let expected = first;
    let afterHole = false;
    for await (const key of entries.keys()) {
      const index = readU64Key(key);
      if (index === null) damage.badKeys++;
      else if (index < first) damage.stray.push(index);
      else if (index === expected && !afterHole) expected++;
      else {
        afterHole = true;
        damage.stray.push(index);
      }
    }
    // The cursor record says entries up to cursorNext-1 were written; fewer is a loss.
    if (expected < cursorNext) damage.missing = { from: expected, to: cursorNext };
    return new IndexedWal<T>(name, entries, meta, codec, first, Math.max(expected, cursorNext), damage);
  }

  get first(): number {
    return this.#first;
  }

  get next(): number {
    return this.#next;
  }

  get damaged(): boolean {
    const d = this.#damage;
    return d.stray.length > 0 || d.badKeys > 0 || d.missing !== null;
  }

  get damage(): WalDamage {
    return this.#damage;
  }

  /** Appends entry `index`; only `next` is accepted (no gap, no overwrite). */
  append(ws: WriteSet, index: number, value: T): void {
    this.#refuseIfDamaged();
    if (!Number.isSafeInteger(index) || index < 0) throw new StorageError(`${this.name}: invalid index ${index}`);
    if (index < this.#next) {
      throw new StorageError(`${this.name}: entry ${index} is already written (next is ${this.#next}); no overwrite`);
    }
    if (index > this.#next) {
      throw new StorageError(`${this.name}: append at ${index} would leave a gap (next is ${this.#next})`);
    }
    ws.put(this.#entries, u64Key(index), this.#codec.encode(value));
    this.#next = index + 1;
    ws.onUndo(() => {
      this.#next = index;
    });
  }

  /**
   * Drops entries below `index`. At or below `first` it changes nothing;
   * beyond `next` it is refused (use truncateAll to skip ahead).
   */
  truncateBefore(ws: WriteSet, index: number): void {
    this.#refuseIfDamaged();
    if (!Number.isSafeInteger(index) || index < 0) throw new StorageError(`${this.name}: invalid index ${index}`);
    if (index <= this.#first) return;
    if (index > this.#next) {
      throw new StorageError(`${this.name}: cannot truncate before ${index}, beyond next ${this.#next}`);
    }
    this.#dropRun(ws, this.#first, index);
    this.#setCursors(ws, index, this.#next);
  }

  /** Drops every entry and moves to `newNext`, which may not be below `next`. */
  truncateAll(ws: WriteSet, newNext: number): void {
    this.#refuseIfDamaged();
    if (!Number.isSafeInteger(newNext) || newNext < this.#next) {
      throw new StorageError(`${this.name}: next may not move backwards from ${this.#next} to ${newNext}`);
    }
    this.#dropRun(ws, this.#first, this.#next);
    this.#setCursors(ws, newNext, newNext);
  }

  /** Reads the contiguous run first..next-1 and reports anything outside it. */
  async replay(): Promise<WalReplay<T>> {
    const entries: { index: number; value: T }[] = [];
    for await (const [key, bytes] of this.#entries.iterator({ gte: u64Key(this.#first), lt: u64Key(this.#next) })) {
      const index = readU64Key(key);
      if (index === null) continue;
      entries.push({ index, value: this.#decode(index, bytes) });
    }
    return { first: this.#first, next: this.#next, entries, damage: this.#damage };
  }

  /** Entry `index`, or undefined when it is not held. */
  async get(index: number): Promise<T | undefined> {
    if (!Number.isSafeInteger(index) || index < this.#first || index >= this.#next) return undefined;
    const bytes = await this.#entries.get(u64Key(index));
    return bytes === undefined ? undefined : this.#decode(index, bytes);
  }

  /** Entries from..to-1 that are held, at most `limit` of them. */
  async range(from: number, to: number, limit: number): Promise<T[]> {
    const lo = Math.max(from, this.#first);
    const hi = Math.min(to, this.#next, lo + Math.max(0, limit));
    const out: T[] = [];
    if (!(lo < hi)) return out;
    for await (const [key, bytes] of this.#entries.iterator({ gte: u64Key(lo), lt: u64Key(hi) })) {
      out.push(this.#decode(readU64Key(key) ?? -1, bytes));
    }
    return out;
  }

  #decode(index: number, bytes: Uint8Array): T {
    try {
      return this.#codec.decode(plain(bytes));
    } catch (err) {
      throw new StorageError(`${this.name}/${index}: ${(err as Error).message}`);
    }
  }

  #refuseIfDamaged(): void {
    if (this.damaged) throw new StorageError(`${this.name}: the WAL is damaged on disk; recovery must reject it`);
  }

  #dropRun(ws: WriteSet, from: number, to: number): void {
    for (let i = from; i < to; i++) ws.del(this.#entries, u64Key(i));
  }

  #setCursors(ws: WriteSet, first: number, next: number): void {
    const before = { first: this.#first, next: this.#next };
    const raw = new Uint8Array(CURSOR_BYTES);
    writeU64(raw, 0, first);
    writeU64(raw, 8, next);
    ws.put(this.#meta, this.#cursorKey, raw);
    this.#first = first;
    this.#next = next;
    ws.onUndo(() => {
      this.#first = before.first;
      this.#next = before.next;
    });
  }
}
