import { sha256, sha256Hex, sha256Into, toHex } from "./bytes.ts";
import { forEachTx, payloadTxCount } from "./payload.ts";
import type { LaneBlock, Tx } from "./schema.ts";

/** Bytes of one tx hash (sha256). */
export const TX_HASH_BYTES = 32;

/** Transaction hash: sha256 of the tx bytes. */
export function txHash(tx: Tx): Uint8Array {
  return sha256(tx);
}

/** A tx's id as clients see it: `toHex(txHash(tx))`, made in one step. */
export function txHashHex(tx: Tx): string {
  return sha256Hex(tx);
}

/**
 * Hash lists of payloads whose txs were hashed before the payload existed:
 * a node's own lane blocks, made of txs it hashed at admission. Keyed by the
 * payload object, so an entry goes when nothing references the payload any
 * more (the lane window, execution's pending writes and pruning bound that;
 * 32 bytes per tx, less than the hex id the mempool held); a payload read
 * back from disk or decoded from the network has none and is hashed.
 */
const knownLists = new WeakMap<Uint8Array, Uint8Array>();

/**
 * Records `hashes` (32 bytes per tx, in order) as the tx hashes of
 * `payload`. The caller vouches that they are txHash of its txs. A list of
 * the wrong length (a bug upstream) is not recorded: the payload is then
 * hashed, which is always right.
 */
export function rememberTxHashes(payload: Uint8Array, hashes: Uint8Array): void {
  if (hashes.byteLength === payloadTxCount(payload) * TX_HASH_BYTES) knownLists.set(payload, hashes);
}

/** The recorded hash list of `payload`, if its txs were hashed before it was made. */
export function knownTxHashes(payload: Uint8Array): Uint8Array | undefined {
  return knownLists.get(payload);
}

/**
 * The hashes of the txs of `blocks`, in block and tx order, as one buffer of
 * 32 bytes per tx. A finalized block's txs are hashed once, by execution
 * (an own lane block's at admission instead), and this list is what the
 * chain's tx index, the pending map and the API share.
 */
export function txHashList(blocks: readonly Pick<LaneBlock, "payload">[]): Uint8Array {
  let count = 0;
  for (const b of blocks) count += payloadTxCount(b.payload);
  const out = new Uint8Array(count * TX_HASH_BYTES);
  let at = 0;
  const put = (tx: Uint8Array) => {
    sha256Into(out, at, tx);
    at += TX_HASH_BYTES;
  };
  for (const b of blocks) {
    const known = knownLists.get(b.payload);
    if (known === undefined) forEachTx(b.payload, put);
    else {
      out.set(known, at);
      at += known.byteLength;
    }
  }
  return out;
}

/** How many hashes a list holds. */
export function txHashCount(list: Uint8Array): number {
  return list.byteLength / TX_HASH_BYTES;
}

/** Hash `i` of a list (a view, not a copy). */
export function txHashAt(list: Uint8Array, i: number): Uint8Array {
  return list.subarray(i * TX_HASH_BYTES, (i + 1) * TX_HASH_BYTES);
}

/** The list as lowercase hex strings, one per tx (one hex conversion for the whole list). */
export function txHashListHex(list: Uint8Array): string[] {
  const hex = toHex(list);
  const out = new Array<string>(txHashCount(list));
  for (let i = 0; i < out.length; i++) out[i] = hex.slice(i * 2 * TX_HASH_BYTES, (i + 1) * 2 * TX_HASH_BYTES);
  return out;
}
