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
 * SHA-256 of the concatenation of the given byte strings, one-shot
 * (`crypto.hash`: no Hash object per call). Several parts are joined first;
 * they are small (domain prefixes, Merkle nodes) wherever more than one is passed.
 */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const digest = hash("sha256", parts.length === 1 ? parts[0]! : concatBytes(...parts), "buffer");
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
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

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The bytes as a string of one character per byte (U+0000..U+00FF): exact, for map keys. */
export function latin1(bytes: Uint8Array): string {
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
