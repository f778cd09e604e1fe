import { StorageError } from "./errors.ts";
import { readU64, readU64Key, u64Key, utf8, writeU64 } from "./keys.ts";
import { type LevelDb, plain, SCAN, type Space, space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

const STATE_KEY = utf8("state");
const STATE_BYTES = 8 + 32;
/** Longest app key; the built-in kv app's keys are far shorter. */
export const MAX_APP_KEY_BYTES = 4096;
/**
 * App hashes one prune may delete beyond the blocks it prunes: what drains
 * the app hashes a node kept below its retention start before retention
 * covered them (it pruned blocks only), a bounded slice per prune instead
 * of one huge batch.
 */
export const APP_HASH_DRAIN_PER_PRUNE = 4096;

export interface AppStateWrite {
  index: number;
  appHash: Uint8Array;
  puts: [key: Uint8Array, value: Uint8Array][];
  dels: Uint8Array[];
}

/**
 * App state (`app/kv/<key>`) with the executed index and app hash
 * (`app/state`), and the app hash after each executed index
 * (`app/hash/<index>`, for the API and peers comparing hashes). One executed
 * block's changes and its index and hash go into the same batch, so after a
 * crash they agree. The hashes are pruned with the chain store's blocks
 * (storage.retainIndexes), in the same batch: they hold `hashFirst..executed`.
 */
export class AppStore {
  readonly #root: Space;
  readonly #kv: Space;
  readonly #hashes: Space;
  #executedIndex: number;
  #appHash: Uint8Array;
  #hashFirst: number;

  private constructor(
    root: Space,
    kv: Space,
    hashes: Space,
    executedIndex: number,
    appHash: Uint8Array,
    hashFirst: number,
  ) {
    this.#root = root;
    this.#kv = kv;
    this.#hashes = hashes;
    this.#executedIndex = executedIndex;
    this.#appHash = appHash;
    this.#hashFirst = hashFirst;
  }

  static async open(db: LevelDb): Promise<AppStore> {
    const root = space(db, ["app"]);
    const raw = await root.get(STATE_KEY);
    let executed = 0;
    let hash: Uint8Array = new Uint8Array(32);
    if (raw !== undefined) {
      if (raw.byteLength !== STATE_BYTES) throw new StorageError("app/state is corrupt");
      executed = readU64(raw, 0);
      hash = plain(raw.slice(8));
    }
    const hashes = space(db, ["app", "hash"]);
    // The lowest stored app hash: 1 unless retention pruned below it. A key
    // that is not an index is left for the integrity check to name.
    let hashFirst = executed + 1;
    for await (const key of hashes.keys({ ...SCAN, limit: 1 })) hashFirst = readU64Key(key) ?? 1;
    // Never 0: a stray app/hash/0 is left for the integrity check to name.
    hashFirst = Math.max(1, Math.min(hashFirst, executed + 1));
    return new AppStore(root, space(db, ["app", "kv"]), hashes, executed, hash, hashFirst);
  }

  /** Lowest index with a stored app hash (executed + 1 when none is stored). */
  get hashFirst(): number {
    return this.#hashFirst;
  }

  /**
   * Stages the deletion of the app hashes below `before`, at most `maxCount`
   * of them, oldest first. Storage calls it with the chain's prune, which
   * never passes the executed index.
   */
  pruneHashes(ws: WriteSet, before: number, maxCount: number): void {
    const first = this.#hashFirst;
    const to = Math.min(before, first + maxCount, this.#executedIndex + 1);
    if (to <= first) return;
    for (let k = first; k < to; k++) ws.del(this.#hashes, u64Key(k));
    this.#hashFirst = to;
    ws.onUndo(() => {
      this.#hashFirst = first;
    });
  }

  get executedIndex(): number {
    return this.#executedIndex;
  }

  get appHash(): Uint8Array {
    return this.#appHash;
  }

  apply(ws: WriteSet, w: AppStateWrite): void {
    if (w.index !== this.#executedIndex + 1) {
      throw new StorageError(`app/state: refused: executed index ${w.index}, expected ${this.#executedIndex + 1}`);
    }
    if (w.appHash.byteLength !== 32) throw new StorageError("app/state: refused: app hash is not 32 bytes");
    for (const key of [...w.puts.map(([k]) => k), ...w.dels]) {
      if (key.byteLength < 1 || key.byteLength > MAX_APP_KEY_BYTES) {
        throw new StorageError(`app/kv: refused: key of ${key.byteLength} bytes (1..${MAX_APP_KEY_BYTES})`);
      }
    }
    for (const [key, value] of w.puts) ws.put(this.#kv, key, value);
    for (const key of w.dels) ws.del(this.#kv, key);
    const state = new Uint8Array(STATE_BYTES);
    writeU64(state, 0, w.index);
    state.set(w.appHash, 8);
    ws.put(this.#root, STATE_KEY, state);
    ws.put(this.#hashes, u64Key(w.index), w.appHash);
    const before = { index: this.#executedIndex, hash: this.#appHash };
    this.#executedIndex = w.index;
    this.#appHash = w.appHash;
    ws.onUndo(() => {
      this.#executedIndex = before.index;
      this.#appHash = before.hash;
    });
  }

  /** The app hash after executing `index`, if it was executed here. */
  async hashAt(index: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(index) || index < this.#hashFirst || index > this.#executedIndex) return undefined;
    const value = await this.#hashes.get(u64Key(index));
    return value === undefined ? undefined : plain(value);
  }

  /** Indexes that have a stored app hash, in order (keys only; null for a key that is not an index). */
  async *hashIndexes(): AsyncGenerator<number | null> {
    for await (const key of this.#hashes.keys(SCAN)) yield readU64Key(key);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (key.byteLength < 1 || key.byteLength > MAX_APP_KEY_BYTES) return undefined;
    const value = await this.#kv.get(key);
    return value === undefined ? undefined : plain(value);
  }
}
