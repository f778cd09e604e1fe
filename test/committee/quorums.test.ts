import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { quorums } from "../../node/committee/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

const EXPECTED: [w: number, f: number, q: number, a: number][] = [
  [1, 0, 1, 1],
  [4, 1, 3, 2],
  [7, 2, 5, 3],
  [10, 3, 7, 4],
];

test("f, Q and A for W = 1, 4, 7, 10 (one unit of weight each)", () => {
  for (const [w, f, quorum, availabilityQuorum] of EXPECTED) {
    assert.deepEqual(quorums(w), { f, quorum, availabilityQuorum }, `W=${w}`);
    const { committee } = testCommittee(w);
    assert.equal(committee.size, w);
    assert.equal(committee.totalWeight, w);
    assert.deepEqual(
      [committee.f, committee.quorum, committee.availabilityQuorum],
      [f, quorum, availabilityQuorum],
      `committee of ${w}`,
    );
  }
});

test("a weighted committee's thresholds come from its total weight, not its size", () => {
  const { committee } = testCommittee([1, 2, 3, 4]);
  assert.equal(committee.size, 4);
  assert.equal(committee.totalWeight, 10);
  assert.deepEqual([committee.f, committee.quorum, committee.availabilityQuorum], [3, 7, 4]);
});

test("for every W: W >= 3f + 1, f is the largest such, quorums intersect in f + 1", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000_000 }), (w) => {
      const { f, quorum, availabilityQuorum } = quorums(w);
      assert.ok(w >= 3 * f + 1);
      assert.ok(w < 3 * (f + 1) + 1, "f is maximal");
      assert.equal(quorum, w - f);
      assert.equal(availabilityQuorum, f + 1);
      // Two quorums overlap in weight 2Q - W >= f + 1: at least one honest member.
      assert.ok(2 * quorum - w >= f + 1);
      // The honest weight alone reaches a quorum (liveness).
      assert.ok(w - f >= quorum);
    }),
    { numRuns: 500 },
  );
});

test("quorums rejects a total weight that is not a positive integer", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => quorums(bad), /total weight must be a positive integer/);
  }
});
