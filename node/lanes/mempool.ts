import { payloadBytesOf, TX_HASH_BYTES, type Tx } from "../types/index.ts";

/**
 * Why the lanes machine refused a tx: the same tx is already waiting, the
 * mempool is full (backpressure), or the tx or its id is not acceptable.
 */
export interface TxRefusal {
  code: "duplicate" | "full" | "invalid";
  reason: string;
}

/** A tx's id: its hash (txHash), lowercase hex. */
const TX_ID = new RegExp(`^[0-9a-f]{${2 * TX_HASH_BYTES}}$`);

/**
 * The own lane's pending transactions, FIFO, bounded in count and bytes.
 * A full mempool rejects: that is the backpressure a full lane window
 * propagates to clients (503 from the API).
 */
export class Mempool {
  readonly maxTxs: number;
  readonly maxBytes: number;
  #txs: { tx: Tx; id: string; addedAtMs: number }[] = [];
  #ids = new Set<string>();
  #bytes = 0;

  constructor(maxTxs: number, maxBytes: number) {
    this.maxTxs = maxTxs;
    this.maxBytes = maxBytes;
  }

  get size(): number {
    return this.#txs.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Arrival time of the oldest pending tx, or null when empty. */
  get oldestAtMs(): number | null {
    return this.#txs[0]?.addedAtMs ?? null;
  }

  /**
   * `id`: the tx's hash as lowercase hex (txHash, computed once, at
   * admission); take() hands it on as the block's tx hash, so an id of
   * another form is refused here. Returns why when the tx is refused.
   */
  add(tx: Tx, id: string, nowMs: number): TxRefusal | null {
    if (!TX_ID.test(id)) return { code: "invalid", reason: "transaction id is not a lowercase hex tx hash" };
    if (this.#ids.has(id)) return { code: "duplicate", reason: "duplicate transaction" };
    if (this.#txs.length >= this.maxTxs || this.#bytes + tx.byteLength > this.maxBytes) {
      return { code: "full", reason: "mempool full" };
    }
    this.#txs.push({ tx, id, addedAtMs: nowMs });
    this.#ids.add(id);
    this.#bytes += tx.byteLength;
    return null;
  }

  /**
   * Removes and returns the oldest txs whose sizes fit in maxBytes (at least
   * one), with their hashes (32 bytes each, in order) decoded from the ids
   * they were admitted under, so the block made of them needs no hashing.
   */
  take(maxBytes: number, maxCount: number): { txs: Tx[]; hashes: Uint8Array } {
    const taken: { tx: Tx; id: string }[] = [];
    let bytes = 0;
    while (this.#txs.length > 0 && taken.length < maxCount) {
      const head = this.#txs[0]!;
      // A tx costs its bytes and its offset in the payload.
      if (taken.length > 0 && bytes + payloadBytesOf(head.tx) > maxBytes) break;
      this.#txs.shift();
      this.#ids.delete(head.id);
      this.#bytes -= head.tx.byteLength;
      bytes += payloadBytesOf(head.tx);
      taken.push(head);
    }
    const hashes = Buffer.alloc(taken.length * TX_HASH_BYTES);
    // Every id passed TX_ID at add(): each decodes to exactly one hash.
    for (let i = 0; i < taken.length; i++) hashes.write(taken[i]!.id, i * TX_HASH_BYTES, TX_HASH_BYTES, "hex");
    return {
      txs: taken.map((t) => t.tx),
      hashes: new Uint8Array(hashes.buffer, hashes.byteOffset, hashes.byteLength),
    };
  }
}
