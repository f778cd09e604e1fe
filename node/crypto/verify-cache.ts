/**
 * Entries a node keeps. A vote reappears inside a certificate within a
 * second or two of its own arrival. At 3,000 tx/s on 4 validators a node
 * verifies about 220 signatures a second, so 16,384 entries hold over a
 * minute of them; the count per index grows about with the square of the
 * committee, so at 16 validators it would be seconds, still more than a
 * vote takes to reappear. A miss only costs a verification. Each entry (a
 * 172-character key and its map slot) takes about 300 bytes of the old
 * generation: 65,536, the earlier size, were about 20 MiB once full, most
 * of the old generation's growth under load.
 */
export const VERIFY_CACHE_ENTRIES = 16_384;

/**
 * A bounded LRU of signatures already verified, keyed by signer public key,
 * signed digest and signature. A vote checked once on arrival is then free
 * when it reappears inside a certificate.
 */
export class VerifyCache {
  readonly capacity: number;
  #entries = new Map<string, true>();
  hits = 0;
  misses = 0;

  constructor(capacity = VERIFY_CACHE_ENTRIES) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error("verify cache capacity must be a positive integer");
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  static key(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): string {
    return Buffer.concat([publicKey, digest, signature]).toString("base64");
  }

  has(key: string): boolean {
    if (!this.#entries.has(key)) {
      this.misses++;
      return false;
    }
    // Refresh recency: Map keeps insertion order, so re-insert at the end.
    this.#entries.delete(key);
    this.#entries.set(key, true);
    this.hits++;
    return true;
  }

  add(key: string): void {
    if (this.#entries.has(key)) this.#entries.delete(key);
    else if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, true);
  }
}
