import { LengthPrefixedDecoder } from "@libp2p/utils";

/**
 * Noise frames arrive through `LengthPrefixedDecoder` (@libp2p/utils 7.4),
 * which learns that its buffer holds no further frame by calling its length
 * decoder and catching the RangeError it throws. A read usually ends on a
 * frame boundary, so nearly every read of every connection ended in a
 * freshly constructed RangeError, and constructing one captures a stack
 * trace: 1.5% of a loaded node's CPU (perf, 4,000 tx/s), 2.4% at 500 tx/s.
 *
 * The guard wraps each decoder's length decoder once, on its first
 * `decode` call, so that an empty buffer throws one shared RangeError,
 * made here, instead: the decoder treats it exactly as before ("wait for
 * more bytes"), with no stack to capture. A partial prefix (one byte of
 * noise's two) still reaches the real decoder. Drop this file once
 * upstream checks for an empty buffer before decoding a length.
 */

type LengthDecoder = (data: { byteLength: number }) => number;

/** What the guard reads and replaces on a decoder instance (a private field upstream). */
interface DecoderFields {
  lengthDecoder?: LengthDecoder;
}

const NO_PREFIX_YET = new RangeError("no bytes of a length prefix yet");
const guarded = new WeakSet<object>();
const INSTALLED = Symbol.for("validator.lengthPrefixGuard");

/** Wraps `fields.lengthDecoder` once; false if the instance has none (upstream changed shape). */
export function guardDecoder(fields: DecoderFields): boolean {
  if (guarded.has(fields)) return true;
  const inner = fields.lengthDecoder;
  if (typeof inner !== "function") return false;
  fields.lengthDecoder = (data) => {
    if (data.byteLength === 0) throw NO_PREFIX_YET;
    return inner(data);
  };
  guarded.add(fields);
  return true;
}

/** Installs the guard on every LengthPrefixedDecoder (idempotent; the host calls it before libp2p starts). */
export function installLengthPrefixGuard(): void {
  const proto = LengthPrefixedDecoder.prototype as unknown as Record<symbol, unknown> & {
    decode(this: DecoderFields, buf: unknown): Generator<unknown>;
  };
  if (proto[INSTALLED] === true) return;
  const decode = proto.decode;
  proto.decode = function (this: DecoderFields, buf: unknown) {
    guardDecoder(this);
    return decode.call(this, buf);
  };
  proto[INSTALLED] = true;
}
