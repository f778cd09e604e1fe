import { isUtf8, latin1, type Sha256Stream, sha256Stream, type Tx } from "../types/index.ts";

/** What a tx did: set a key (its raw bytes, without the "kv/" prefix) or nothing (opaque). */
export type TxResult = { kind: "set"; key: Uint8Array } | { kind: "opaque" };

/** Writes one block's execution makes to the app state. */
export interface AppWrites {
  puts: [key: Uint8Array, value: Uint8Array][];
  dels: Uint8Array[];
}

/**
 * The application interface (DESIGN section 7). Execution drives one block
 * at a time: begin, apply each tx in the finalized order, then read the hash
 * and the writes, which are persisted with the executed index in one batch.
 * An app must be deterministic: its hash depends only on the previous hash,
 * the index and the txs.
 */
export interface App {
  beginBlock(index: number, prevAppHash: Uint8Array): void;
  apply(tx: Tx): TxResult;
  /** appHash after the txs applied since beginBlock. */
  hash(): Uint8Array;
  /** The block's state writes (puts and deletes), handed over once. */
  takeWrites(): AppWrites;
}

const SEPARATOR = 0x3d; // "="
const APP_HASH_TAG = new TextEncoder().encode("kv-app");
const KV_PREFIX = new TextEncoder().encode("kv/");
/** Storage's bound on an app key (node/storage MAX_APP_KEY_BYTES); longer keys are opaque txs. */
export const MAX_KV_KEY_BYTES = 4096 - KV_PREFIX.length;

/**
 * The built-in key-value app: a tx `key=value` (UTF-8, non-empty key) sets a
 * key (stored under "kv/" + key); any other bytes are recorded as opaque. appHash(k) =
 * sha256("kv-app" || appHash(k-1) || u64be(k) || for each tx: u32be(len) || tx),
 * so it commits to the previous hash, k and every tx in order.
 */
export class KvApp implements App {
  /** The block's app hash, fed tx by tx (nothing kept per tx for it). */
  #hash: Sha256Stream | null = null;
  readonly #len = new Uint8Array(4);
  readonly #lenView = new DataView(this.#len.buffer);
  #puts = new Map<string, [Uint8Array, Uint8Array]>();

  beginBlock(index: number, prevAppHash: Uint8Array): void {
    const k = new Uint8Array(8);
    new DataView(k.buffer).setBigUint64(0, BigInt(index));
    this.#hash = sha256Stream().update(APP_HASH_TAG).update(prevAppHash).update(k);
    this.#puts.clear();
  }

  apply(tx: Tx): TxResult {
    if (this.#hash === null) throw new Error("KvApp.apply before beginBlock");
    // update() copies what it is given: one 4-byte buffer serves every tx.
    this.#lenView.setUint32(0, tx.byteLength);
    this.#hash.update(this.#len).update(tx);
    const eq = tx.indexOf(SEPARATOR);
    if (eq <= 0 || eq > MAX_KV_KEY_BYTES) return { kind: "opaque" };
    // Views of the tx, each made once: checked, copied into the store key,
    // kept as the value (this runs for every tx on every node).
    const key = tx.subarray(0, eq);
    const value = tx.subarray(eq + 1);
    if (!isUtf8(key) || !isUtf8(value)) return { kind: "opaque" };
    const storeKey = new Uint8Array(KV_PREFIX.length + eq);
    storeKey.set(KV_PREFIX);
    storeKey.set(key, KV_PREFIX.length);
    // Keyed by the exact key bytes, never by a decoded string: a decode can
    // map two byte strings to one (a leading BOM is dropped). latin1 maps
    // each byte to one character, so it is exact, at half the size of hex.
    // Last write of a key in a block wins.
    this.#puts.set(latin1(key), [storeKey, value]);
    return { kind: "set", key };
  }

  hash(): Uint8Array {
    if (this.#hash === null) throw new Error("KvApp.hash before beginBlock");
    const digest = this.#hash.digest();
    this.#hash = null;
    return digest;
  }

  takeWrites(): AppWrites {
    const puts = [...this.#puts.values()];
    this.#puts.clear();
    return { puts, dels: [] };
  }
}
