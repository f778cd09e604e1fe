import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesEqual, codecs, consensusMessageCodec } from "../../node/types/index.ts";
import { arbitraries, type CodecName, consensusMessage } from "./arbitraries.ts";

const names = Object.keys(codecs) as CodecName[];

test("every codec has an arbitrary and every arbitrary a codec", () => {
  assert.deepEqual(Object.keys(arbitraries).sort(), [...names].sort());
});

for (const name of names) {
  test(`${codecs[name].name} round-trips exactly`, () => {
    const codec = codecs[name] as unknown as { encode(v: unknown): Uint8Array; decode(b: Uint8Array): unknown };
    fc.assert(
      fc.property(arbitraries[name]() as fc.Arbitrary<unknown>, (value) => {
        const encoded = codec.encode(value);
        const decoded = codec.decode(encoded);
        assert.deepStrictEqual(decoded, value);
        assert.ok(bytesEqual(codec.encode(decoded), encoded));
        // Encoding is a pure function of the value.
        assert.ok(bytesEqual(codec.encode(value), encoded));
      }),
      { numRuns: 60 },
    );
  });
}

test("ConsensusMessage round-trips exactly for every kind", () => {
  const kindsSeen = new Set<string>();
  fc.assert(
    fc.property(consensusMessage(), (message) => {
      kindsSeen.add(message.kind);
      const encoded = consensusMessageCodec.encode(message);
      const decoded = consensusMessageCodec.decode(encoded);
      assert.deepStrictEqual(decoded, message);
      assert.ok(bytesEqual(consensusMessageCodec.encode(decoded), encoded));
    }),
    { numRuns: 150 },
  );
  assert.deepEqual([...kindsSeen].sort(), ["commit", "commitQc", "prepare", "proposal", "timeout", "timeoutQc"]);
});

test("prepare and commit votes share a body type but not a wire encoding", () => {
  fc.assert(
    fc.property(arbitraries.phaseVote(), (vote) => {
      const prepare = consensusMessageCodec.encode({ kind: "prepare", msg: vote });
      const commit = consensusMessageCodec.encode({ kind: "commit", msg: vote });
      assert.equal(prepare[0], 1);
      assert.equal(commit[0], 2);
      assert.ok(bytesEqual(prepare.subarray(1), commit.subarray(1)));
      assert.equal(consensusMessageCodec.decode(commit).kind, "commit");
    }),
    { numRuns: 20 },
  );
});

test("decoding copies: the value does not alias the input buffer", () => {
  const encoded = codecs.laneVote.encode({
    body: { lane: 3, number: 9, headerHash: new Uint8Array(32).fill(7) },
    signer: 1,
    signature: new Uint8Array(64).fill(5),
  });
  const decoded = codecs.laneVote.decode(encoded);
  encoded.fill(0);
  assert.equal(decoded.body.headerHash[0], 7);
  assert.equal(decoded.signature[0], 5);
});

test("decoders accept a Buffer and a subarray at a non-zero offset", () => {
  const value = { index: 123_456_789_012, round: 7 };
  const encoded = codecs.view.encode(value);
  const padded = new Uint8Array(encoded.byteLength + 5);
  padded.set(encoded, 3);
  assert.deepStrictEqual(codecs.view.decode(padded.subarray(3, 3 + encoded.byteLength)), value);
  assert.deepStrictEqual(codecs.view.decode(Buffer.from(encoded)), value);
});
