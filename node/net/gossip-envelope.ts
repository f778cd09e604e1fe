import { sha256, toHex } from "../types/index.ts";

/**
 * The gossip envelope: a message's canonical bytes followed by a 4-byte
 * big-endian publish generation, which no signature covers.
 *
 * Why: gossipsub's message id is the content hash, and gossipsub silently
 * drops a publish whose id it has seen in the last two minutes (its seen
 * cache), even when that first publish reached no peer. The protocol repairs
 * lost votes by re-sending the identical signed bytes (Ed25519 is
 * deterministic): lane-vote retransmission, consensus timeout re-sends, the
 * re-sends after a restart. Without the generation those re-sends would be
 * no-ops on the real network exactly when they matter (a partition, a
 * restart before peers reconnect). The first publish of some content has
 * generation 0, so two nodes publishing the same certificate still share one
 * id; each re-publish by this node gets the next generation and a new id.
 * Receivers strip the generation before validating; a duplicate vote is
 * harmless to the machines.
 */
export const GENERATION_BYTES = 4;

/** How many distinct contents the re-publish counter remembers. */
const MAX_REMEMBERED = 4096;

export function sealGossip(payload: Uint8Array, generation: number): Uint8Array {
  const out = new Uint8Array(payload.byteLength + GENERATION_BYTES);
  out.set(payload, 0);
  new DataView(out.buffer, out.byteOffset + payload.byteLength, GENERATION_BYTES).setUint32(0, generation >>> 0);
  return out;
}

/** The payload inside an envelope, or null when the frame is too short to be one. */
export function openGossip(data: Uint8Array): Uint8Array | null {
  if (data.byteLength < GENERATION_BYTES) return null;
  return data.subarray(0, data.byteLength - GENERATION_BYTES);
}

/**
 * Generation numbers per content, bounded: the least recently published
 * content is forgotten first. Every re-publish moves its content to the
 * front, so content that is still being re-sent (a vote repaired each
 * retransmission period, a timeout vote each view timer) stays known; only
 * content this node has not published for MAX_REMEMBERED publishes is
 * forgotten, and it starts again at 0. Under load that horizon can be
 * shorter than gossipsub's two-minute seen cache (a loaded node publishes
 * tens of messages a second), and such a content's next publish could then
 * reuse an id that is still seen and be dropped. The repairs re-send every
 * few seconds at most (lanes.retransmitMs, the view timer up to
 * consensus.maxViewTimeoutMs), far inside the horizon, so what they repair
 * is never forgotten.
 */
export class PublishGenerations {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = MAX_REMEMBERED) {
    this.#max = max;
  }

  /** The generation for this publish of `payload` on `topic`: 0 the first time, then 1, 2, ... */
  next(topic: string, payload: Uint8Array): number {
    const key = toHex(sha256(new TextEncoder().encode(topic), payload));
    const prev = this.#seen.get(key);
    const gen = prev === undefined ? 0 : (prev + 1) >>> 0;
    // Re-insert so the map's order is least recently published first.
    this.#seen.delete(key);
    this.#seen.set(key, gen);
    if (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return gen;
  }

  get size(): number {
    return this.#seen.size;
  }
}
