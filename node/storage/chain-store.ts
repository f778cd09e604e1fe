import { codecs, type GlobalBlock, payloadTxCount, TX_HASH_BYTES, txHashAt } from "../types/index.ts";
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

/**
 * The finalized chain (`chain/block/<index>`, `chain/tx/<hash>`,
 * `chain/void/<hash>`): global blocks in index order, and each executed tx
 * hash to its location. Txs of a voided lane range (finalized, never
 * executed: the lane owner equivocated) are indexed apart, in `chain/void`,
 * so an executed occurrence always wins. Within one block a tx that occurs
 * twice keeps its first location; a later block's occurrence replaces it.
 */
export class ChainStore {
  readonly #blocks: Space;
  readonly #txs: Space;
  readonly #voided: Space;
  #tip: number;

  private constructor(blocks: Space, txs: Space, voided: Space, tip: number) {
    this.#blocks = blocks;
    this.#txs = txs;
    this.#voided = voided;
    this.#tip = tip;
  }

  static async open(db: LevelDb): Promise<ChainStore> {
    const blocks = space(db, ["chain", "block"]);
    const txs = space(db, ["chain", "tx"]);
    let tip = 0;
    for await (const key of blocks.keys({ reverse: true, limit: 1 })) {
      const index = readU64Key(key);
      if (index === null) throw new StorageError("chain/block: a key is not a block index");
      tip = index;
    }
    return new ChainStore(blocks, txs, space(db, ["chain", "void"]), tip);
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
    // Staged last position first: within one batch a later put of a key
    // wins, so a tx that occurs twice in the block keeps its first position.
    let end = txCount;
    for (let b = block.blocks.length - 1; b >= 0; b--) {
      const lb = block.blocks[b]!;
      const space = voidLanes.includes(lb.header.lane) ? this.#voided : this.#txs;
      const start = end - payloadTxCount(lb.payload);
      for (let position = end - 1; position >= start; position--) {
        ws.put(space, txHashAt(txHashes, position), location(k, position));
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
    if (!Number.isSafeInteger(index) || index < 1 || index > this.#tip) return undefined;
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
    if (!Number.isSafeInteger(first) || first < 1 || to < first) return [];
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

  /** Where an executed tx is (its latest occurrence). */
  txLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    return readLocation(this.#txs, hash);
  }

  /** Where a tx of a voided lane range was finalized without being executed. */
  voidedTxLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    return readLocation(this.#voided, hash);
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
