import type { Type } from "@chainsafe/ssz";
import { bytesEqual } from "./bytes.ts";

/** Raised for any input a decoder does not accept. Never a partial value. */
export class DecodeError extends Error {
  readonly codec: string;
  constructor(codec: string, reason: string) {
    super(`cannot decode ${codec}: ${reason}`);
    this.name = "DecodeError";
    this.codec = codec;
  }
}

/**
 * One message kind's encoding. `decode` accepts exactly the bytes `encode`
 * produces: it enforces a size bound first, then lets SSZ parse (which checks
 * offsets, list limits, union selectors and trailing bytes), then re-encodes
 * and compares, which rejects anything non-canonical that SSZ tolerates
 * (e.g. a u64 above 2^53 that a JS number cannot hold exactly).
 */
export class Codec<T> {
  readonly name: string;
  readonly maxBytes: number;
  readonly #type: Type<T>;

  constructor(name: string, type: Type<T>, maxBytes: number) {
    this.name = name;
    this.#type = type;
    this.maxBytes = maxBytes;
  }

  encode(value: T): Uint8Array {
    return this.#type.serialize(value);
  }

  decode(bytes: Uint8Array): T {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError(this.name, "input is not bytes");
    if (bytes.byteLength > this.maxBytes) {
      throw new DecodeError(this.name, `${bytes.byteLength} bytes exceeds the limit of ${this.maxBytes}`);
    }
    let value: T;
    try {
      value = this.#type.deserialize(bytes);
    } catch (err) {
      throw new DecodeError(this.name, (err as Error).message);
    }
    // A fixed-size value (uints, byte vectors) has one encoding per value: the
    // u64 bound is enforced by the type itself, so there is nothing to compare.
    if (this.#type.fixedSize !== null) return value;
    let again: Uint8Array;
    try {
      again = this.#type.serialize(value);
    } catch (err) {
      throw new DecodeError(this.name, `value does not re-encode: ${(err as Error).message}`);
    }
    if (!bytesEqual(again, bytes)) throw new DecodeError(this.name, "non-canonical encoding");
    return value;
  }

  /** Deep equality by encoding. */
  equals(a: T, b: T): boolean {
    return bytesEqual(this.encode(a), this.encode(b));
  }
}
