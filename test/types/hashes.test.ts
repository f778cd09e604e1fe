import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  blockHash,
  bytesEqual,
  codecs,
  encodePayload,
  headerHash,
  type LaneBlockHeader,
  type Proposal,
  payloadHash,
  proposalHash,
  proposalQcVoteBody,
  toHex,
  txHash,
} from "../../node/types/index.ts";
import { laneBlockHeader, proposal, tx, txList } from "./arbitraries.ts";

/** A value of the same shape that differs from `old` (bytes: one bit; numbers: by one, in range). */
function changed(old: unknown, max: number): unknown {
  if (old instanceof Uint8Array) {
    const copy = old.slice();
    copy[0]! ^= 1;
    return copy;
  }
  const n = old as number;
  return n === max ? n - 1 : n + 1;
}

const HEADER_MAX: Record<keyof LaneBlockHeader, number> = {
  lane: 0xffff,
  number: Number.MAX_SAFE_INTEGER,
  parent: 0,
  payloadHash: 0,
  txCount: 0xffff_ffff,
  createdAtMs: Number.MAX_SAFE_INTEGER,
};

test("headerHash is deterministic and changes with every field", () => {
  fc.assert(
    fc.property(laneBlockHeader(), (h) => {
      const hash = headerHash(h);
      assert.equal(hash.byteLength, 32);
      assert.ok(bytesEqual(headerHash(structuredClone(h)), hash));
      for (const field of Object.keys(HEADER_MAX) as (keyof LaneBlockHeader)[]) {
        const other = { ...h, [field]: changed(h[field], HEADER_MAX[field]) };
        assert.ok(!bytesEqual(headerHash(other), hash), `changing ${field} must change the hash`);
      }
    }),
    { numRuns: 100 },
  );
});

test("proposalHash is deterministic and changes with every field", () => {
  fc.assert(
    fc.property(proposal(), (p) => {
      const hash = proposalHash(p);
      assert.ok(bytesEqual(proposalHash(structuredClone(p)), hash));
      const variants: Proposal[] = [
        { ...p, view: { ...p.view, index: changed(p.view.index, Number.MAX_SAFE_INTEGER) as number } },
        { ...p, view: { ...p.view, round: changed(p.view.round, 0xffff_ffff) as number } },
        { ...p, createdAtMs: changed(p.createdAtMs, Number.MAX_SAFE_INTEGER) as number },
        { ...p, ranges: [...p.ranges, { lane: 0, first: 0, next: 0, lastHash: new Uint8Array(32) }] },
      ];
      if (p.ranges.length > 0) {
        const r = p.ranges[0]!;
        variants.push({ ...p, ranges: p.ranges.slice(1) });
        for (const [field, max] of [
          ["lane", 0xffff],
          ["first", Number.MAX_SAFE_INTEGER],
          ["next", Number.MAX_SAFE_INTEGER],
          ["lastHash", 0],
        ] as const) {
          variants.push({ ...p, ranges: [{ ...r, [field]: changed(r[field], max) }, ...p.ranges.slice(1)] });
        }
      }
      for (const v of variants) assert.ok(!bytesEqual(proposalHash(v), hash));
      // What phase votes sign is the view plus this hash.
      const body = proposalQcVoteBody({ proposal: p, signers: undefined as never, signatures: [] });
      assert.deepEqual(body, { view: p.view, proposalHash: hash });
    }),
    { numRuns: 100 },
  );
});

test("payloadHash is deterministic and distinguishes lists, including re-split bytes", () => {
  fc.assert(
    fc.property(txList(), txList(), (a, b) => {
      const hashOf = (txs: Uint8Array[]) => payloadHash(encodePayload(txs));
      assert.ok(bytesEqual(hashOf(a), hashOf(a.map((t) => t.slice()))));
      const same = a.length === b.length && a.every((t, i) => bytesEqual(t, b[i]!));
      assert.equal(bytesEqual(hashOf(a), hashOf(b)), same);
      // The payload is the canonical tx list encoding: hashing it is hashing what SSZ encodes.
      assert.deepEqual(encodePayload(a), codecs.txList.encode(a));
    }),
    { numRuns: 200 },
  );
  const hashOf = (txs: Uint8Array[]) => payloadHash(encodePayload(txs));
  const ab = new Uint8Array([1, 2, 3, 4]);
  const split = [ab.subarray(0, 2), ab.subarray(2)];
  assert.ok(!bytesEqual(hashOf([ab]), hashOf(split)));
  assert.ok(!bytesEqual(hashOf([]), hashOf([new Uint8Array(0)])));
  assert.ok(!bytesEqual(hashOf([ab, ab]), hashOf([ab])));
});

test("txHash is sha256 of the tx bytes: deterministic, distinct for distinct txs", () => {
  const seen = new Map<string, string>();
  fc.assert(
    fc.property(tx(), (t) => {
      const h = toHex(txHash(t));
      assert.equal(h, toHex(txHash(t.slice())));
      const prior = seen.get(h);
      if (prior !== undefined) assert.equal(prior, toHex(t));
      seen.set(h, toHex(t));
    }),
    { numRuns: 300 },
  );
  // Known answer: sha256("abc").
  assert.equal(
    toHex(txHash(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

test("blockHash ignores only the round: a cut re-proposed in a later round has the same block hash", () => {
  fc.assert(
    fc.property(proposal(), fc.integer({ min: 1, max: 1000 }), (p, round) => {
      const r0 = { ...p, view: { index: p.view.index, round: 0 } };
      const later = { ...p, view: { index: p.view.index, round } };
      assert.ok(bytesEqual(blockHash(r0), proposalHash(r0)));
      assert.ok(bytesEqual(blockHash(later), blockHash(r0)));
      assert.ok(!bytesEqual(proposalHash(later), proposalHash(r0)));
      const otherIndex = { ...r0, view: { index: r0.view.index === 0 ? 1 : r0.view.index - 1, round: 0 } };
      assert.ok(!bytesEqual(blockHash(otherIndex), blockHash(r0)));
      const otherTime = { ...later, createdAtMs: later.createdAtMs === 0 ? 1 : later.createdAtMs - 1 };
      assert.ok(!bytesEqual(blockHash(otherTime), blockHash(later)));
    }),
    { numRuns: 50 },
  );
});
