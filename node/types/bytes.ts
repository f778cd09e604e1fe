import { isUtf8 as nodeIsUtf8 } from "node:buffer";
import { createHash, hash } from "node:crypto";

/**
 * Whether `bytes` are well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing past U+10FFFF, no cut sequence): the rule of a fatal TextDecoder,
 * checked in place instead of decoding into a string that is thrown away.
 * The kv app's set-or-opaque decision rests on it, so it must never change.
 * (Unlike the decoder it throws on a detached buffer; nothing in the node
 * transfers buffers.)
 */
export function isUtf8(bytes: Uint8Array): boolean {
  return nodeIsUtf8(bytes);
}

/**
 * Typed arrays of up to this many bytes live inside V8's heap (its
 * `typed_array_max_size_in_heap`): creating and collecting one costs no
 * native allocation, while a Buffer always has an off-heap backing store,
 * and reading `.buffer` of an in-heap array moves it off the heap. For the
 * 32-byte hashes made per tx and per message, that allocation was more
 * than half the cost of a hash (node 24, 512-byte inputs: 1.3-1.5 µs
 * through a Buffer, 0.6 µs without).
 */
const IN_HEAP_BYTES = 64;

/** Whether `bytes` may be an in-heap array (whose `.buffer` would move it off the heap). */
function maybeInHeap(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength <= IN_HEAP_BYTES;
}

/**
 * SHA-256 of the concatenation of the given byte strings, one-shot
 * (`crypto.hash`: no Hash object per call). Several parts are joined first;
 * they are small (domain prefixes, Merkle nodes) wherever more than one is passed.
 * The digest comes back as a latin1 string (one character per byte, exact)
 * and is copied into an in-heap array: no Buffer per hash.
 */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32);
  sha256Into(out, 0, parts.length === 1 ? parts[0]! : concatBytes(...parts));
  return out;
}

/** Writes SHA-256 of `bytes` into `out` at `at` (32 bytes): a hash list filled without a buffer per hash. */
export function sha256Into(out: Uint8Array, at: number, bytes: Uint8Array): void {
  // Indexed writes past the end would be dropped without a word.
  if (!(at >= 0 && at + 32 <= out.byteLength)) throw new RangeError(`no room for a hash at ${at} of ${out.byteLength}`);
  // Node's "binary" encoding is latin1: one character per byte.
  const digest = hash("sha256", bytes, "binary");
  for (let i = 0; i < 32; i++) out[at + i] = digest.charCodeAt(i);
}

/** SHA-256 of `bytes` as lowercase hex, straight from the hash: a tx's id at admission. */
export function sha256Hex(bytes: Uint8Array): string {
  return hash("sha256", bytes, "hex");
}

/** An incremental SHA-256 (one per block, fed tx by tx: nothing is kept per tx to hash at the end). */
export interface Sha256Stream {
  update(bytes: Uint8Array): Sha256Stream;
  digest(): Uint8Array;
}

export function sha256Stream(): Sha256Stream {
  const h = createHash("sha256");
  const stream: Sha256Stream = {
    update(bytes) {
      h.update(bytes);
      return stream;
    },
    digest() {
      const d = h.digest();
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    },
  };
  return stream;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function toHex(bytes: Uint8Array): string {
  if (maybeInHeap(bytes)) {
    let hex = "";
    for (let i = 0; i < bytes.byteLength; i++) hex += HEX_BYTE[bytes[i]!];
    return hex;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The bytes as a string of one character per byte (U+0000..U+00FF): exact, for map keys. */
export function latin1(bytes: Uint8Array): string {
  if (maybeInHeap(bytes)) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Parses lowercase or uppercase hex; throws with the reason on bad input. */
export function fromHex(hex: string, expectedBytes?: number): Uint8Array {
  const s = hex.startsWith("0x") ? hex.slice(2) : hex;
  const lower = s.toLowerCase();
  if (!HEX.test(lower)) throw new Error(`not a hex string: ${JSON.stringify(hex.slice(0, 80))}`);
  if (expectedBytes !== undefined && lower.length !== expectedBytes * 2) {
    throw new Error(`expected ${expectedBytes} bytes of hex, got ${lower.length / 2}`);
  }
  return new Uint8Array(Buffer.from(lower, "hex"));
}

/** Byte-wise equality; long inputs (a decoded block's re-encoding) are compared natively. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  if (a.byteLength > 64) {
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

export const ZERO_HASH: Uint8Array = new Uint8Array(32);
