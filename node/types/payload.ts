/**
 * A lane block's payload: its transactions exactly as the lane owner signed
 * them, in the canonical SSZ encoding of a list of byte strings (a table of
 * u32 little-endian offsets, one per tx, then the txs back to back). The
 * payload travels, is hashed (`payloadHash = sha256(payload)`), is stored and
 * is served as these bytes; nothing decodes it into objects and encodes it
 * again. It is checked by walking its offsets (`checkPayload`), and a tx is
 * read as a view into it (`payloadTxs`, `forEachTx`).
 */
import { MAX_TX_BYTES, MAX_TXS_PER_BLOCK } from "./limits.ts";

const OFFSET_BYTES = 4;

function u32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/**
 * Checks the offset table of a canonical SSZ list of variable-size items:
 * the first offset is 4 × count (no gap after the table), offsets never
 * decrease and stay within the bytes, each item at most `maxItemBytes`, at
 * most `maxCount` items. Returns the item count, or the reason it is not
 * canonical. An empty input is the empty list.
 */
export function checkOffsets(bytes: Uint8Array, maxCount: number, maxItemBytes: number): number | string {
  const len = bytes.byteLength;
  if (len === 0) return 0;
  if (len < OFFSET_BYTES) return `${len} bytes: shorter than one offset`;
  const first = u32At(bytes, 0);
  if (first % OFFSET_BYTES !== 0 || first === 0) return `first offset ${first} is not a positive multiple of 4`;
  const count = first / OFFSET_BYTES;
  if (count > maxCount) return `${count} items exceeds the limit of ${maxCount}`;
  if (first > len) return `first offset ${first} is beyond the ${len} bytes`;
  let prev = first;
  for (let i = 1; i <= count; i++) {
    const next = i === count ? len : u32At(bytes, i * OFFSET_BYTES);
    if (next < prev || next > len) return `offset ${i} (${next}) is out of order or beyond the ${len} bytes`;
    if (next - prev > maxItemBytes) return `item ${i - 1} of ${next - prev} bytes exceeds the limit of ${maxItemBytes}`;
    prev = next;
  }
  return count;
}

/** `checkOffsets` with the tx limits: the tx count, or why the payload is malformed. */
export function checkPayload(payload: Uint8Array): number | string {
  return checkOffsets(payload, MAX_TXS_PER_BLOCK, MAX_TX_BYTES);
}

/** Number of txs of a well-formed payload (read from its first offset). */
export function payloadTxCount(payload: Uint8Array): number {
  return payload.byteLength === 0 ? 0 : u32At(payload, 0) / OFFSET_BYTES;
}

/** Calls `fn` with a view of each tx of a well-formed payload, in order (no copies). */
export function forEachTx(payload: Uint8Array, fn: (tx: Uint8Array, i: number) => void): void {
  const count = payloadTxCount(payload);
  for (let i = 0; i < count; i++) {
    const start = u32At(payload, i * OFFSET_BYTES);
    const end = i + 1 === count ? payload.byteLength : u32At(payload, (i + 1) * OFFSET_BYTES);
    fn(payload.subarray(start, end), i);
  }
}

/** The txs of a well-formed payload as views into it. */
export function payloadTxs(payload: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  forEachTx(payload, (tx) => out.push(tx));
  return out;
}

/** The payload of `txs`: their canonical encoding, built once by the lane owner. */
export function encodePayload(txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length === 0) return new Uint8Array(0);
  let bytes = txs.length * OFFSET_BYTES;
  for (const tx of txs) bytes += tx.byteLength;
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  let at = txs.length * OFFSET_BYTES;
  for (let i = 0; i < txs.length; i++) {
    view.setUint32(i * OFFSET_BYTES, at, true);
    out.set(txs[i]!, at);
    at += txs[i]!.byteLength;
  }
  return out;
}

/** Bytes a tx adds to a payload: itself and its offset. */
export function payloadBytesOf(tx: Uint8Array): number {
  return tx.byteLength + OFFSET_BYTES;
}
