/**
 * The length-prefix guard (node/net/length-prefix-guard.ts): decoders yield
 * the same frames as without it, however the bytes are cut into reads, and
 * their length decoder is never asked to read a prefix from an empty buffer
 * (where it would construct a RangeError with a stack trace).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import fc from "fast-check";
import { guardDecoder, installLengthPrefixGuard } from "../../node/net/length-prefix-guard.ts";

/** noise's framing: a 2-byte big-endian length, then the frame. */
function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + body.byteLength);
  new DataView(out.buffer).setUint16(0, body.byteLength);
  out.set(body, 2);
  return out;
}

function recordingDecoder(calls: number[]) {
  return (data: { byteLength: number; subarray?: unknown; get?: (i: number) => number }) => {
    calls.push(data.byteLength);
    if (data.byteLength < 2) throw new RangeError("Could not decode int16BE");
    const at = (i: number) => (data as { get(i: number): number }).get(i);
    return (at(0) << 8) | at(1);
  };
}

test("frames come out whole and in order however the reads cut them; an empty buffer never reaches the length decoder", () => {
  installLengthPrefixGuard();
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 40 }),
      (bodies, cuts) => {
        const calls: number[] = [];
        const decoder = new LengthPrefixedDecoder({
          lengthDecoder: recordingDecoder(calls) as never,
          encodingLength: () => 2,
        });
        const wire = Buffer.concat(bodies.map(frame));
        const out: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < wire.byteLength; i++) {
          const end = Math.min(wire.byteLength, at + cuts[i % cuts.length]!);
          for (const f of decoder.decode(wire.subarray(at, end))) out.push(f.subarray());
          at = end;
        }
        assert.deepEqual(
          out.map((b) => Buffer.from(b).toString("hex")),
          bodies.map((b) => Buffer.from(b).toString("hex")),
        );
        assert.ok(!calls.includes(0), "the length decoder never saw an empty buffer");
      },
    ),
    { numRuns: 200 },
  );
});

test("the guard still leaves a partial prefix to the real decoder, and wraps an instance only once", () => {
  const calls: number[] = [];
  const fields = { lengthDecoder: recordingDecoder(calls) as (d: { byteLength: number }) => number };
  assert.equal(guardDecoder(fields), true);
  const wrapped = fields.lengthDecoder;
  assert.equal(guardDecoder(fields), true);
  assert.equal(fields.lengthDecoder, wrapped, "not wrapped twice");
  assert.throws(() => wrapped({ byteLength: 0 }), RangeError);
  assert.deepEqual(calls, [], "an empty buffer is answered by the guard");
  assert.throws(() => wrapped({ byteLength: 1, get: () => 0 } as never), RangeError);
  assert.deepEqual(calls, [1], "one byte of two goes to the real decoder");
});

test("noise decodes with the very class the guard patches (no copy of @libp2p/utils of its own)", () => {
  const entry = fileURLToPath(import.meta.resolve("@chainsafe/libp2p-noise"));
  const root = entry.slice(
    0,
    entry.lastIndexOf(`${join("@chainsafe", "libp2p-noise")}`) + "@chainsafe/libp2p-noise".length,
  );
  assert.ok(existsSync(join(root, "package.json")), `noise's package at ${root}`);
  assert.equal(existsSync(join(root, "node_modules", "@libp2p", "utils")), false, "a nested copy would go unguarded");
});

test("upstream still keeps the length decoder where the guard looks (a changed shape would leave noise unguarded)", () => {
  const decoder = new LengthPrefixedDecoder({ lengthDecoder: () => 0 });
  assert.equal(typeof (decoder as unknown as { lengthDecoder?: unknown }).lengthDecoder, "function");
  assert.equal(guardDecoder({}), false, "an instance without one is reported, not wrapped");
});
