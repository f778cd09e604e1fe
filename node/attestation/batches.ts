import { type Batch, leafHash, merkleRoot } from "../types/index.ts";

/** One executed global block, as batching needs it. */
export interface ExecutedBlock {
  index: number;
  /** The global block's hash (the proposal hash its CommitQC names). */
  blockHash: Uint8Array;
  /** The agreed proposal time of the index. */
  createdAtMs: number;
  /** App hash after executing the index (durable). */
  appHash: Uint8Array;
}

/** A batch that just closed, with the block hashes its Merkle root covers (kept for inclusion proofs). */
export interface ClosedBatch {
  batch: Batch;
  blockHashes: Uint8Array[];
}

/** Genesis params that decide batch boundaries. */
export interface BatchParams {
  batchMaxIndexes: number;
  batchMaxMs: number;
}

/**
 * Cuts the finalized chain into batches from the chain alone, so every
 * honest node cuts it the same way: batch 0 starts at index 1; a batch
 * closes at the index that makes it batchMaxIndexes long, or at the first
 * index whose agreed proposal time is batchMaxMs or more past the batch's
 * first index's (that index included). An idle chain leaves its last batch
 * open until the next index.
 */
export class BatchBuilder {
  readonly #params: BatchParams;
  #number: number;
  #nextIndex: number;
  #first: ExecutedBlock | null = null;
  #leaves: Uint8Array[] = [];
  #hashes: Uint8Array[] = [];

  /** `last`: the last closed batch (null before batch 0 closed). */
  constructor(params: BatchParams, last: Batch | null) {
    this.#params = params;
    this.#number = last === null ? 0 : last.number + 1;
    this.#nextIndex = last === null ? 1 : last.lastIndex + 1;
  }

  /** Number of the batch being filled. */
  get openNumber(): number {
    return this.#number;
  }

  /** The next executed index this builder takes. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /** Adds the next executed index; returns the batch it closes, if any. */
  add(block: ExecutedBlock): ClosedBatch | null {
    if (block.index !== this.#nextIndex) {
      throw new Error(`batching: index ${block.index} out of order (expected ${this.#nextIndex})`);
    }
    this.#nextIndex++;
    if (this.#first === null) this.#first = block;
    this.#leaves.push(leafHash(block.index, block.blockHash));
    this.#hashes.push(block.blockHash);
    const first = this.#first;
    const full = this.#leaves.length >= this.#params.batchMaxIndexes;
    const old = block.createdAtMs - first.createdAtMs >= this.#params.batchMaxMs;
    if (!full && !old) return null;
    const batch: Batch = {
      number: this.#number,
      firstIndex: first.index,
      lastIndex: block.index,
      firstCreatedAtMs: first.createdAtMs,
      lastBlockHash: block.blockHash,
      appHash: block.appHash,
      blocksRoot: merkleRoot(this.#leaves),
    };
    const blockHashes = this.#hashes;
    this.#number++;
    this.#first = null;
    this.#leaves = [];
    this.#hashes = [];
    return { batch, blockHashes };
  }
}

/** The leaves of a batch from its block hashes (global indexes firstIndex..). */
export function batchLeaves(firstIndex: number, blockHashes: readonly Uint8Array[]): Uint8Array[] {
  return blockHashes.map((h, i) => leafHash(firstIndex + i, h));
}
