/**
 * Hostile input to every decoder: random bytes, truncations, extensions and
 * bit or byte flips of valid encodings. Each must give a DecodeError or a
 * value that re-encodes to exactly the input (see decode-contract.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { codecs, consensusMessageCodec } from "../../node/types/index.ts";
import { arbitraries, type CodecName, consensusMessage } from "./arbitraries.ts";
import { type AnyCodec, checkDecodeContract } from "./decode-contract.ts";

interface Target {
  codec: AnyCodec;
  /** Valid encodings of this codec. */
  encodings: fc.Arbitrary<Uint8Array>;
  /** Every field has a fixed width: no strict prefix or extension can be valid. */
  fixedSize: boolean;
  /** A bare byte list: every byte string within the limit is a valid value. */
  anyBytes: boolean;
}

const FIXED_SIZE = new Set<CodecName>([
  "view",
  "laneBlockHeader",
  "laneVoteBody",
  "laneVote",
  "phaseVoteBody",
  "phaseVote",
  "appVoteBody",
  "appVote",
  "batchVoteBody",
  "batchVote",
  "batchVoteMessage",
  "batch",
  "attestationRecord",
  "haAnnouncementBody",
  "haAnnouncement",
]);

const targets: Target[] = [
  ...(Object.keys(codecs) as CodecName[]).map((name) => {
    const codec = codecs[name] as unknown as AnyCodec & { encode(v: unknown): Uint8Array };
    return {
      codec,
      encodings: (arbitraries[name]() as fc.Arbitrary<unknown>).map((v) => codec.encode(v)),
      fixedSize: FIXED_SIZE.has(name),
      anyBytes: name === "tx",
    };
  }),
  {
    codec: consensusMessageCodec as AnyCodec,
    encodings: consensusMessage().map((m) => consensusMessageCodec.encode(m)),
    fixedSize: false,
    anyBytes: false,
  },
];

const RUNS = 40;
/** A decoder that loops forever fails its test instead of stalling the suite. */
const NO_HANG = { timeout: 30_000 };
/** Prefix lengths tried per encoding; short encodings try every prefix. */
const MAX_PREFIXES = 48;

test("fixed-size codecs are the ones listed as such", () => {
  for (const t of targets) {
    // A fixed seed and enough samples: 20 random encodings of a variable-size
    // type could all have one length by chance (it failed so once).
    const lengths = new Set(fc.sample(t.encodings, { numRuns: 200, seed: 1 }).map((b) => b.byteLength));
    assert.equal(lengths.size === 1, t.fixedSize, t.codec.name);
  }
});

for (const { codec, encodings, fixedSize, anyBytes } of targets) {
  /** What to expect of truncations and extensions, over a whole run. */
  const assertSomeRejected = (rejected: number, tried: number) => {
    if (anyBytes) assert.equal(rejected, 0, `${codec.name} is a byte list: it accepts any bytes`);
    else assert.ok(rejected > 0, `${codec.name} accepted all ${tried} mangled encodings`);
  };

  test(`${codec.name}: random bytes give a DecodeError or a canonical value`, NO_HANG, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => {
        checkDecodeContract(codec, input);
      }),
      { numRuns: 150 },
    );
    // Lengths a fixed-size type would accept, filled with random bytes.
    fc.assert(
      fc.property(encodings, fc.infiniteStream(fc.integer({ min: 0, max: 255 })), (valid, stream) => {
        const input = Uint8Array.from(valid, () => stream.next().value as number);
        checkDecodeContract(codec, input);
      }),
      { numRuns: RUNS },
    );
  });

  test(`${codec.name}: truncated encodings are rejected${fixedSize ? "" : " unless canonical"}`, NO_HANG, () => {
    let rejected = 0;
    let tried = 0;
    fc.assert(
      fc.property(
        encodings,
        fc.array(fc.nat(), { minLength: MAX_PREFIXES, maxLength: MAX_PREFIXES }),
        (valid, picks) => {
          const lengths =
            valid.byteLength <= MAX_PREFIXES
              ? Array.from({ length: valid.byteLength }, (_, i) => i)
              : [0, valid.byteLength - 1, ...picks.map((p) => p % valid.byteLength)];
          for (const length of lengths) {
            const outcome = checkDecodeContract(codec, valid.slice(0, length));
            if (fixedSize) assert.equal(outcome, "rejected", `prefix of ${length}/${valid.byteLength} bytes`);
            if (outcome === "rejected") rejected++;
            tried++;
          }
        },
      ),
      { numRuns: RUNS },
    );
    assertSomeRejected(rejected, tried);
  });

  test(`${codec.name}: extended encodings are rejected${fixedSize ? "" : " unless canonical"}`, NO_HANG, () => {
    let rejected = 0;
    let tried = 0;
    fc.assert(
      fc.property(encodings, fc.uint8Array({ minLength: 1, maxLength: 40 }), (valid, extra) => {
        const input = new Uint8Array(valid.byteLength + extra.byteLength);
        input.set(valid);
        input.set(extra, valid.byteLength);
        const outcome = checkDecodeContract(codec, input);
        if (fixedSize) assert.equal(outcome, "rejected");
        if (outcome === "rejected") rejected++;
        tried++;
      }),
      { numRuns: RUNS * 2 },
    );
    assertSomeRejected(rejected, tried);
  });

  test(`${codec.name}: bit and byte flips give a DecodeError or a canonical value`, NO_HANG, () => {
    fc.assert(
      fc.property(
        encodings.filter((b) => b.byteLength > 0),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 1, max: 255 }),
        (valid, at, bit, xor) => {
          const i = at % valid.byteLength;
          const bitFlip = valid.slice();
          bitFlip[i]! ^= 1 << bit;
          checkDecodeContract(codec, bitFlip);
          const byteFlip = valid.slice();
          byteFlip[i]! ^= xor;
          checkDecodeContract(codec, byteFlip);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
}
