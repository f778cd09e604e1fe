import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesEqual } from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

const committees = Array.from({ length: 13 }, (_, n) => (n === 0 ? undefined : testCommittee(n).committee));

test("leader of (k, r) is (k + r) mod n, exactly, for every u64 index a number holds", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.maxSafeNat(),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      (n, index, round) => {
        const committee = committees[n]!;
        const expected = Number((BigInt(index) + BigInt(round)) % BigInt(n));
        assert.equal(committee.leader({ index, round }), expected);
      },
    ),
    { numRuns: 300 },
  );
});

test("the leader rotates across rounds: n consecutive rounds give every member one turn", () => {
  for (const n of [1, 4, 7]) {
    const { committee } = testCommittee(n);
    for (const index of [0, 1, 1000, Number.MAX_SAFE_INTEGER - 3]) {
      const leaders = Array.from({ length: n }, (_, round) => committee.leader({ index, round }));
      assert.deepEqual(
        [...leaders].sort((a, b) => a - b),
        Array.from({ length: n }, (_, i) => i),
      );
      for (let round = 0; round < n; round++) {
        assert.equal(committee.leader({ index, round: round + 1 }), (leaders[round]! + 1) % n);
      }
    }
  }
});

test("indexOfPublicKey and indexOfPeerId find members and only members", () => {
  const { committee, keys } = testCommittee(5);
  keys.forEach((k, i) => {
    assert.equal(committee.indexOfPublicKey(k.publicKey), i);
    assert.equal(committee.indexOfPublicKey(Uint8Array.from(k.publicKey)), i);
    assert.equal(committee.indexOfPeerId(`peer-${i}`), i);
    assert.ok(bytesEqual(committee.publicKey(i)!, k.publicKey));
  });
  const outsider = testCommittee(1, { salt: 50 }).keys[0]!;
  assert.equal(committee.indexOfPublicKey(outsider.publicKey), undefined);
  assert.equal(committee.indexOfPublicKey(keys[0]!.publicKey.subarray(0, 31)), undefined);
  assert.equal(committee.indexOfPublicKey(new Uint8Array(0)), undefined);
  assert.equal(committee.indexOfPeerId("peer-5"), undefined);
  assert.equal(committee.indexOfPeerId(""), undefined);
});

test("weightOf counts each distinct member once and non-members as nothing", () => {
  const { committee } = testCommittee([1, 2, 3, 4]);
  assert.equal(committee.weightOf([]), 0);
  assert.equal(committee.weightOf([3]), 4);
  assert.equal(committee.weightOf([0, 0, 0]), 1);
  assert.equal(committee.weightOf([1, 3, 1, 3]), 6);
  assert.equal(committee.weightOf(new Set([0, 1, 2, 3])), 10);
  assert.equal(committee.weightOf([4, -1, 1.5, 2]), 3);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 20 }), (signers) => {
      const distinct = [...new Set(signers)];
      assert.equal(
        committee.weightOf(signers),
        distinct.reduce((w, s) => w + s + 1, 0),
      );
    }),
  );
});

test("member lookups are undefined or zero outside the committee", () => {
  const { committee } = testCommittee([2, 5]);
  assert.equal(committee.member(1)!.weight, 5);
  assert.equal(committee.member(1)!.name, "v1");
  for (const bad of [2, -1, 0.5, Number.NaN]) {
    assert.equal(committee.member(bad), undefined);
    assert.equal(committee.publicKey(bad), undefined);
    assert.equal(committee.weight(bad), 0);
    assert.equal(committee.isMember(bad), false);
  }
  assert.equal(committee.isMember(0), true);
});
