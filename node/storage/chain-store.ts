import { bytesEqual, codecs, type GlobalBlock, payloadTxCount, TX_HASH_BYTES, txHashAt } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { readU64, readU64Key, u64Key, writeU64 } from "./keys.ts";
import { type LevelDb, plain, SCAN, type Space, space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

/** Where a finalized tx is: global block index and its position in that block's tx order. */
export interface TxLocation {
  index: number;
  position: number;
}

const LOCATION_BYTES = 12;
/** A `chain/txk` value: the tx's position in its block. */
const POSITION_BYTES = 4;

/** Bytes of a tx hash that a lookup key starts with. */
export const TX_KEY_PREFIX_BYTES = 8;
/** A `chain/txk` key: the hash prefix, then the block index. */
const LOOKUP_KEY_BYTES = TX_KEY_PREFIX_BYTES + 8;
/** Lookup keys one query follows at most (same 8-byte hash prefix, newest first). */
const MAX_LOOKUP_CANDIDATES = 64;

/**
 * The finalized chain, stored per block:
 * - `chain/block/<index>`: the global block as its encoded bytes;
 * - `chain/txs/<index>`: its tx hashes in order, 32 bytes each (one value
 *   per block, the list execution computed once): what GET /blocks, the
 *   event stream, the integrity checks and retention read instead of
 *   hashing again;
 * - `chain/txk/<8-byte hash prefix><index>`: position, one small key per
 *   executed tx so GET /txs/:hash is one short range read: the candidates
 *   with that prefix, newest index first, each confirmed against the block's
 *   list (a prefix shared by two txs costs one more read, never a wrong
 *   answer). The latest block that holds a tx wins; within one block, its
 *   first position;
 * - `chain/void/<hash>`: location of a tx of a voided lane range (finalized,
 *   never executed: the lane owner equivocated), apart, so an executed
 *   occurrence always wins.
 * All of a block's records go into the block's one write batch.
 */
export class ChainStore {
  readonly #blocks: Space;
  readonly #lists: Space;
  readonly #keys: Space;
  readonly #voided: Space;
  readonly #meta: Space;
  #tip: number;
  #first: number;

  private constructor(db: LevelDb, blocks: Space, meta: Space, tip: number, first: number) {
    this.#blocks = blocks;
    this.#lists = space(db, ["chain", "txs"]);
    this.#keys = space(db, ["chain", "txk"]);
    this.#voided = space(db, ["chain", "void"]);
    this.#meta = meta;
    this.#tip = tip;
    this.#first = first;
  }

  static async open(db: LevelDb): Promise<ChainStore> {
    const blocks = space(db, ["chain", "block"]);
    let tip = 0;
    for await (const key of blocks.keys({ reverse: true, limit: 1 })) {
      const index = readU64Key(key);
      if (index === null) throw new StorageError("chain/block: a key is not a block index");
      tip = index;
    }
    const meta = space(db, ["meta"]);
    const raw = await meta.get(FIRST_KEY);
    let first = 1;
    if (raw !== undefined) {
      if (raw.byteLength !== 8) throw new StorageError("meta/chain-first: not an 8-byte index");
      first = readU64(plain(raw), 0);
    }
    return new ChainStore(db, blocks, meta, tip, first);
  }

  /**
   * The retention start: the lowest global block kept (1 until something
   * was pruned). Blocks first..tip are held; the integrity checks and the
   * sync server start here.
   */
  get first(): number {
    return this.#first;
  }

  /** The hash lists of blocks first..before-1 as stored, for a prune of them (in order; a missing list is empty). */
  async hashListsBefore(before: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    if (before <= this.#first) return out;
    for await (const [key, value] of this.#lists.iterator({ gte: u64Key(this.#first), lt: u64Key(before) })) {
      const index = readU64Key(key);
      while (index !== null && this.#first + out.length < index) out.push(new Uint8Array(0));
      out.push(plain(value));
    }
    while (this.#first + out.length < before) out.push(new Uint8Array(0));
    return out;
  }

  /**
   * Stages the pruning of blocks first..before-1 with their tx index
   * (`txHashLists`: their stored hash lists, in order, from hashListsBefore),
   * and moves the retention start to `before`, in one batch. The tip is
   * never pruned. Voided-range records (`chain/void`, rare) are kept.
   */
  prune(ws: WriteSet, before: number, txHashLists: readonly Uint8Array[]): void {
    const first = this.#first;
    if (!Number.isSafeInteger(before) || before <= first || before > this.#tip) {
      throw new StorageError(
        `chain: refused: pruning below ${before} (blocks ${first}..${this.#tip} held, the tip is kept)`,
      );
    }
    if (txHashLists.length !== before - first) {
      throw new StorageError(`chain: refused: ${txHashLists.length} hash lists to prune ${first}..${before - 1}`);
    }
    for (let k = first; k < before; k++) {
      const list = txHashLists[k - first]!;
      ws.del(this.#blocks, u64Key(k));
      ws.del(this.#lists, u64Key(k));
      for (let i = 0; i < list.byteLength / TX_HASH_BYTES; i++) ws.del(this.#keys, lookupKey(txHashAt(list, i), k));
    }
    ws.put(this.#meta, FIRST_KEY, u64Key(before));
    this.#first = before;
    ws.onUndo(() => {
      this.#first = first;
    });
  }

  /** Highest global block stored (0 = none). */
  get tip(): number {
    return this.#tip;
  }

  /** Stages block k with its tx hashes in order (32 bytes each, computed once by execution). */
  put(ws: WriteSet, block: GlobalBlock, voidLanes: readonly number[], txHashes: Uint8Array): void {
    const k = block.index;
    if (k !== this.#tip + 1) throw new StorageError(`chain/block: refused: block ${k}, expected ${this.#tip + 1}`);
    if (block.commitQc.proposal.view.index !== k) {
      throw new StorageError(
        `chain/block: refused: block ${k} carries CommitQC(${block.commitQc.proposal.view.index})`,
      );
    }
    const expectedBlocks = block.commitQc.proposal.ranges.reduce((n, r) => n + (r.next - r.first), 0);
    if (expectedBlocks !== block.blocks.length) {
      throw new StorageError(
        `chain/block: refused: block ${k} has ${block.blocks.length} lane blocks, its CommitQC ${expectedBlocks}`,
      );
    }
    const size = block.commitQc.proposal.ranges.length;
    for (const lane of voidLanes) {
      if (!Number.isInteger(lane) || lane < 0 || lane >= size) {
        throw new StorageError(`chain/block: refused: block ${k} voids lane ${lane}, not one of its ${size} lanes`);
      }
    }
    let txCount = 0;
    for (const lb of block.blocks) txCount += payloadTxCount(lb.payload);
    if (txHashes.byteLength !== txCount * TX_HASH_BYTES) {
      throw new StorageError(
        `chain/block: refused: block ${k} has ${txCount} txs, its hash list ${txHashes.byteLength / TX_HASH_BYTES}`,
      );
    }
    ws.put(this.#blocks, u64Key(k), codecs.globalBlock.encode(block));
    ws.put(this.#lists, u64Key(k), txHashes);
    // The block's lookup keys and positions are cut from one buffer each:
    // two allocations per block instead of four objects per tx. Nothing
    // writes to them after they are staged, so a database that keeps the
    // views it is given (the simulator's memory-level) is as safe as one
    // that copies them.
    const lookup = new BlockLookupKeys(k, txHashes);
    // Staged last position first: within one batch a later put of a key
    // wins, so a tx that occurs twice in the block keeps its first position.
    let end = txCount;
    for (let b = block.blocks.length - 1; b >= 0; b--) {
      const lb = block.blocks[b]!;
      const voided = voidLanes.includes(lb.header.lane);
      const start = end - payloadTxCount(lb.payload);
      for (let position = end - 1; position >= start; position--) {
        if (voided) ws.put(this.#voided, txHashAt(txHashes, position), location(k, position));
        else ws.put(this.#keys, lookup.key(position), lookup.position(position));
      }
      end = start;
    }
    const before = this.#tip;
    this.#tip = k;
    ws.onUndo(() => {
      this.#tip = before;
    });
  }

  async block(index: number): Promise<GlobalBlock | undefined> {
    if (!Number.isSafeInteger(index) || index < this.#first || index > this.#tip) return undefined;
    const raw = await this.#blocks.get(u64Key(index));
    return raw === undefined ? undefined : codecs.globalBlock.decode(plain(raw));
  }

  /**
   * Global blocks first..last as stored (encoded), contiguous from `first`:
   * one iterator, so a sync server reads a range in one pass and sends the
   * bytes without decoding and encoding them again. Reading stops once
   * `maxBytes` are collected (the block that crosses the bound is included,
   * so a response always makes progress).
   */
  async encodedRange(first: number, last: number, maxBytes = Number.POSITIVE_INFINITY): Promise<Uint8Array[]> {
    const to = Math.min(last, this.#tip);
    if (!Number.isSafeInteger(first) || first < this.#first || to < first) return [];
    const out: Uint8Array[] = [];
    let bytes = 0;
    for await (const [key, value] of this.#blocks.iterator({ gte: u64Key(first), lte: u64Key(to) })) {
      if (readU64Key(key) !== first + out.length || bytes >= maxBytes) break;
      const block = plain(value);
      out.push(block);
      bytes += block.byteLength;
    }
    return out;
  }

  /** Indexes of the stored blocks in order (keys only; null for a key that is not an index). */
  async *indexes(): AsyncGenerator<number | null> {
    for await (const key of this.#blocks.keys(SCAN)) yield readU64Key(key);
  }

  /** Stored blocks from index `from` on, raw, in order (the scrub's and recovery's deep check). */
  async *rawBlocks(from: number, to: number): AsyncGenerator<{ index: number | null; bytes: Uint8Array }> {
    const range = { ...SCAN, gte: u64Key(Math.max(0, from)), lte: u64Key(Math.max(0, to)) };
    for await (const [key, bytes] of this.#blocks.iterator(range))
      yield { index: readU64Key(key), bytes: plain(bytes) };
  }

  /** The tx hashes of stored block `index` in order (32 bytes each), or undefined if it holds none. */
  async txHashes(index: number): Promise<Uint8Array | undefined> {
    if (!Number.isSafeInteger(index) || index < this.#first) return undefined;
    const raw = await this.#lists.get(u64Key(index));
    return raw === undefined ? undefined : plain(raw);
  }

  /** Where an executed tx is (its latest occurrence). */
  async txLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    if (hash.byteLength !== TX_HASH_BYTES) return undefined;
    const prefix = hash.subarray(0, TX_KEY_PREFIX_BYTES);
    const range = { gte: lookupKey(prefix, 0), lte: lookupKey(prefix, Number.MAX_SAFE_INTEGER), reverse: true };
    for await (const [key, value] of this.#keys.iterator({ ...range, limit: MAX_LOOKUP_CANDIDATES })) {
      const index = readU64(key, TX_KEY_PREFIX_BYTES);
      if (value.byteLength !== POSITION_BYTES) continue;
      const position = new DataView(value.buffer, value.byteOffset).getUint32(0);
      const list = await this.txHashes(index);
      if (list !== undefined && (position + 1) * TX_HASH_BYTES <= list.byteLength) {
        if (bytesEqual(txHashAt(list, position), hash)) return { index, position };
      }
    }
    return undefined;
  }

  /**
   * The positions the lookup keys of block `index` hold for the given
   * positions of its hash list (undefined where a key is missing): the
   * integrity checks' view of the tx index.
   *
   * `by`: "points" reads all keys in one batch of point reads, the cheapest
   * (the start-up check, once). "seeks" seeks one iterator to each key in
   * key order, about three times the CPU per key, for a reader that keeps
   * coming back (the scrub): LevelDB charges a point read that looks in more
   * than one table to the first of them, and compacts a table once it has
   * been charged about one read per 16 KiB of its size ("seek compaction").
   * The scrub's point reads, spread over the whole index by hash, made
   * LevelDB rewrite tables for them, even at 8 keys per block (measured:
   * node/runtime/scrub.ts). An iterator's reads are only sampled, about once
   * per MiB it reads, and it reads one entry per seek here.
   */
  async lookupPositions(
    index: number,
    list: Uint8Array,
    positions: number[],
    by: "points" | "seeks" = "points",
  ): Promise<(number | undefined)[]> {
    if (positions.length === 0) return [];
    const keys = positions.map((p) => lookupKey(txHashAt(list, p), index));
    const values = by === "points" ? await this.#keys.getMany(keys) : await this.#seekEach(keys);
    return values.map((v) =>
      v === undefined || v.byteLength !== POSITION_BYTES
        ? undefined
        : new DataView(v.buffer, v.byteOffset).getUint32(0),
    );
  }

  /** The values of `keys` (undefined where absent), in their order, by one iterator seeking to each in key order. */
  async #seekEach(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array(keys.length).fill(undefined);
    const order = keys.map((_, i) => i).sort((a, b) => Buffer.compare(keys[a]!, keys[b]!));
    const it = this.#keys.iterator(SCAN);
    try {
      for (const i of order) {
        it.seek(keys[i]!);
        const [entry] = await it.nextv(1);
        if (entry !== undefined && bytesEqual(entry[0], keys[i]!)) out[i] = entry[1];
      }
    } finally {
      await it.close();
    }
    return out;
  }

  /** Where a tx of a voided lane range was finalized without being executed. */
  voidedTxLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    return readLocation(this.#voided, hash);
  }
}

/** `meta/chain-first`: the retention start. */
const FIRST_KEY = new TextEncoder().encode("chain-first");

/** `chain/txk` key: the first 8 bytes of the hash, then the block index. */
function lookupKey(hash: Uint8Array, index: number): Uint8Array {
  const key = new Uint8Array(LOOKUP_KEY_BYTES);
  key.set(hash.subarray(0, TX_KEY_PREFIX_BYTES));
  writeU64(key, TX_KEY_PREFIX_BYTES, index);
  return key;
}

/** The `chain/txk` keys and their position values of one block, as views of two buffers. */
class BlockLookupKeys {
  readonly #keys: Uint8Array;
  readonly #positions: Uint8Array;

  constructor(index: number, txHashes: Uint8Array) {
    const count = txHashes.byteLength / TX_HASH_BYTES;
    this.#keys = new Uint8Array(count * LOOKUP_KEY_BYTES);
    this.#positions = new Uint8Array(count * POSITION_BYTES);
    const indexBytes = u64Key(index);
    const positions = new DataView(this.#positions.buffer);
    const keys = this.#keys;
    for (let p = 0; p < count; p++) {
      // Byte loops: a subarray per tx would be one more object each.
      const at = p * LOOKUP_KEY_BYTES;
      const from = p * TX_HASH_BYTES;
      for (let i = 0; i < TX_KEY_PREFIX_BYTES; i++) keys[at + i] = txHashes[from + i]!;
      for (let i = 0; i < 8; i++) keys[at + TX_KEY_PREFIX_BYTES + i] = indexBytes[i]!;
      positions.setUint32(p * POSITION_BYTES, p);
    }
  }

  /** lookupKey(hash of tx `p`, index). */
  key(p: number): Uint8Array {
    return this.#keys.subarray(p * LOOKUP_KEY_BYTES, (p + 1) * LOOKUP_KEY_BYTES);
  }

  /** Position `p` as the u32 value of its key. */
  position(p: number): Uint8Array {
    return this.#positions.subarray(p * POSITION_BYTES, (p + 1) * POSITION_BYTES);
  }
}

function location(index: number, position: number): Uint8Array {
  const loc = new Uint8Array(LOCATION_BYTES);
  writeU64(loc, 0, index);
  new DataView(loc.buffer).setUint32(8, position);
  return loc;
}

async function readLocation(txs: Space, hash: Uint8Array): Promise<TxLocation | undefined> {
  if (hash.byteLength !== 32) return undefined;
  const raw = await txs.get(hash);
  if (raw === undefined || raw.byteLength !== LOCATION_BYTES) return undefined;
  return { index: readU64(raw, 0), position: new DataView(raw.buffer, raw.byteOffset).getUint32(8) };
}
