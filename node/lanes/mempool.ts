import { payloadBytesOf, type Tx } from "../types/index.ts";

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

  /** `id`: the tx's hex hash (computed once, at admission). Returns a reason when the tx is refused. */
  add(tx: Tx, id: string, nowMs: number): string | null {
    if (this.#ids.has(id)) return "duplicate transaction";
    if (this.#txs.length >= this.maxTxs || this.#bytes + tx.byteLength > this.maxBytes) return "mempool full";
    this.#txs.push({ tx, id, addedAtMs: nowMs });
    this.#ids.add(id);
    this.#bytes += tx.byteLength;
    return null;
  }

  /** Removes and returns the oldest txs whose sizes fit in maxBytes (at least one). */
  take(maxBytes: number, maxCount: number): Tx[] {
    const out: Tx[] = [];
    let bytes = 0;
    while (this.#txs.length > 0 && out.length < maxCount) {
      const head = this.#txs[0]!;
      // A tx costs its bytes and its offset in the payload.
      if (out.length > 0 && bytes + payloadBytesOf(head.tx) > maxBytes) break;
      this.#txs.shift();
      this.#ids.delete(head.id);
      this.#bytes -= head.tx.byteLength;
      bytes += payloadBytesOf(head.tx);
      out.push(head.tx);
    }
    return out;
  }
}
