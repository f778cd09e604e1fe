/**
 * Key layout (DESIGN section 8). Every sublevel holds byte keys; numbers are
 * fixed-width big-endian so LevelDB's byte order is numeric order.
 *
 *   lane/<lane 5 digits>/<number u64>   lane block WAL, one sublevel per lane
 *   cqc/<index u64>                     CommitQC WAL
 *   meta/safety                         consensus safety record
 *   meta/anchor                         pruning anchor
 *   meta/cursor/<wal name>              WAL cursors {first, next}, written on truncation
 *   chain/block/<index u64>             finalized global blocks
 *   chain/txs/<index u64>               the block's tx hashes in order, 32 bytes each
 *   chain/txk/<hash[0..8]><index u64>   -> position u32 (lookup of an executed tx by hash)
 *   meta/chain-first                    retention start: the lowest global block kept (u64)
 *   chain/void/<tx hash>                -> index u64 ++ position u32 (txs of voided lane ranges)
 *   app/state                           executed index u64 ++ app hash (32 bytes)
 *   app/hash/<index u64>                the app hash after that index (pruned with chain/block)
 *   app/kv/<key bytes>                  app state
 *   meta/attestation                    attestation record {n, hash} (last batch voted)
 *   batch/<n u64>                       closed batches, gap-free from 0
 *   bqc/<n u64>                         BatchQC WAL, gap-free from 0
 *   evidence/<kind>/<member 5 digits>/<slot>   equivocation proofs (JSON), a few per kind and member
 */

export const U64_BYTES = 8;

/**
 * u64 big-endian as two u32 halves: numbers here stay below 2^53, and this
 * avoids a BigInt per call (these run once per tx on the write path).
 */
const TWO_POW_32 = 2 ** 32;
/** The high half of a safe integer is below 2^21. */
const MAX_SAFE_HIGH = 2 ** 21;

function setU64(view: DataView, offset: number, n: number): void {
  view.setUint32(offset, Math.floor(n / TWO_POW_32));
  view.setUint32(offset + 4, n >>> 0);
}

/** The u64 at `offset`, or null when it is 2^53 or above. */
function getU64(view: DataView, offset: number): number | null {
  const high = view.getUint32(offset);
  if (high >= MAX_SAFE_HIGH) return null;
  return high * TWO_POW_32 + view.getUint32(offset + 4);
}

/** Fixed-width big-endian key for a WAL index. */
export function u64Key(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a WAL index: ${n}`);
  const out = new Uint8Array(U64_BYTES);
  setU64(new DataView(out.buffer), 0, n);
  return out;
}

/** Reads a u64 key; returns null for anything that is not one (a stray key). */
export function readU64Key(key: Uint8Array): number | null {
  if (key.byteLength !== U64_BYTES) return null;
  return getU64(new DataView(key.buffer, key.byteOffset, key.byteLength), 0);
}

export function readU64(bytes: Uint8Array, offset: number): number {
  const n = getU64(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset);
  if (n === null) throw new RangeError(`the u64 at byte ${offset} is 2^53 or above`);
  return n;
}

export function writeU64(bytes: Uint8Array, offset: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a u64 below 2^53: ${n}`);
  setU64(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset, n);
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Sublevel name of lane `lane`: zero-padded so lanes list in order. */
export function laneSpaceName(lane: number): string {
  return String(lane).padStart(5, "0");
}

/** Human-readable name of a key range, for errors that tell the operator where. */
export function rangeName(space: string, from: number, to?: number): string {
  return to === undefined || to === from ? `${space}/${from}` : `${space}/${from}..${space}/${to}`;
}

/**
 * A database key as an operator reads it: sublevel names joined by "/" (the
 * sublevel prefix is "!name!" per level), then an 8-byte index as a number,
 * other bytes as hex. E.g. `chain/block/34758`, `meta/safety`.
 */
export function describeDbKey(key: Uint8Array): string {
  const names: string[] = [];
  let pos = 0;
  while (pos < key.length && key[pos] === 0x21) {
    const end = key.indexOf(0x21, pos + 1);
    if (end < 0) break;
    names.push(Buffer.from(key.subarray(pos + 1, end)).toString("latin1"));
    pos = end + 1;
  }
  const rest = key.subarray(pos);
  let tail = "";
  if (rest.length === U64_BYTES) tail = String(readU64Key(rest) ?? Buffer.from(rest).toString("hex"));
  else if (rest.length > 0 && rest.every((b) => b >= 0x20 && b < 0x7f)) tail = Buffer.from(rest).toString("latin1");
  else if (rest.length > 0) tail = Buffer.from(rest).toString("hex");
  return [...names, ...(tail === "" ? [] : [tail])].join("/") || "(empty key)";
}
