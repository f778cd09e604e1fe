/**
 * The contract every decoder must keep on arbitrary input: it either throws a
 * DecodeError, or it returns a value whose encoding is exactly the input
 * (so a decoder never accepts non-canonical bytes, and never returns a value
 * built from a part of its input).
 */
import assert from "node:assert/strict";
import { bytesEqual, DecodeError } from "../../node/types/index.ts";

export interface AnyCodec {
  readonly name: string;
  readonly maxBytes: number;
  encode(value: never): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

export type DecodeOutcome = "rejected" | "accepted";

export function checkDecodeContract(codec: AnyCodec, input: Uint8Array): DecodeOutcome {
  let value: unknown;
  try {
    value = codec.decode(input);
  } catch (err) {
    assert.ok(err instanceof DecodeError, `${codec.name} threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.equal(err.codec, codec.name);
    return "rejected";
  }
  const again = codec.encode(value as never);
  assert.ok(bytesEqual(again, input), `${codec.name} accepted ${input.byteLength} bytes that re-encode differently`);
  return "accepted";
}

/** Asserts the decoder rejects the input with a DecodeError whose message matches. */
export function assertRejects(codec: AnyCodec, input: Uint8Array, reason?: RegExp): void {
  assert.throws(
    () => codec.decode(input),
    (err: unknown) => {
      assert.ok(err instanceof DecodeError, `expected DecodeError, got ${(err as Error)?.name}`);
      if (reason) assert.match(err.message, reason);
      return true;
    },
  );
}
