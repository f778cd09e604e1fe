import assert from "node:assert/strict";
import { test } from "node:test";
import {
  verifyAppQc,
  verifyCommitQc,
  verifyLaneBlock,
  verifyLaneQc,
  verifyPrepareQc,
  verifyTimeoutQc,
} from "../../node/committee/index.ts";
import { VerifyCache } from "../../node/crypto/index.ts";
import { encodePayload, ZERO_HASH } from "../../node/types/index.ts";
import { appQc, commitQc, laneBlock, laneQc, prepareQc, proposal, timeoutQc } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4);
const c = tc.committee;
const p = proposal({ index: 1, round: 0 }, [{ lane: 0, first: 0, next: 1, lastHash: ZERO_HASH }]);

test("CommitQC and PrepareQC verify under their own domain only", () => {
  assert.deepEqual(verifyCommitQc(c, commitQc(tc, p)), { ok: true });
  assert.deepEqual(verifyPrepareQc(c, prepareQc(tc, p)), { ok: true });
  const wrong = verifyCommitQc(c, prepareQc(tc, p));
  assert.equal(wrong.ok, false);
  assert.match((wrong as { reason: string }).reason, /invalid commit signature/);
});

test("a CommitQC below quorum or for another proposal is refused", () => {
  const short = verifyCommitQc(c, commitQc(tc, p, [0, 1]));
  assert.equal(short.ok, false);
  assert.match((short as { reason: string }).reason, /below the threshold 3/);
  const qc = commitQc(tc, p);
  const other = { ...qc, proposal: { ...qc.proposal, createdAtMs: 5 } };
  assert.equal(verifyCommitQc(c, other).ok, false);
});

test("AppQC and LaneQC verify; cache makes repeats free", () => {
  const cache = new VerifyCache(100);
  assert.deepEqual(verifyAppQc(c, appQc(tc, 3, new Uint8Array(32).fill(7)), cache), { ok: true });
  const b = laneBlock(tc, 2, 0, ZERO_HASH);
  const lqc = laneQc(tc, b, [1, 3]);
  assert.deepEqual(verifyLaneQc(c, lqc, cache), { ok: true });
  const misses = cache.misses;
  assert.deepEqual(verifyLaneQc(c, lqc, cache), { ok: true });
  assert.equal(cache.misses, misses);
  assert.equal(verifyLaneQc(c, laneQc(tc, b, [1])).ok, false);
});

test("lane block: owner signature, payload hash and tx count", () => {
  const b = laneBlock(tc, 1, 0, ZERO_HASH);
  assert.deepEqual(verifyLaneBlock(c, b), { ok: true });
  assert.equal(verifyLaneBlock(c, { ...b, header: { ...b.header, lane: 2 } }).ok, false);
  const tampered = verifyLaneBlock(c, { ...b, payload: encodePayload([new Uint8Array([1])]) });
  assert.match((tampered as { reason: string }).reason, /payload hash/);
  const count = verifyLaneBlock(c, { ...b, header: { ...b.header, txCount: 2 } });
  assert.match((count as { reason: string }).reason, /header says 2 txs/);
  assert.equal(verifyLaneBlock(c, { ...b, header: { ...b.header, lane: 9 } }).ok, false);
});

test("TimeoutQC: lock rounds per signer, highQc rules", () => {
  const view = { index: 1, round: 2 };
  assert.deepEqual(verifyTimeoutQc(c, timeoutQc(tc, view, [null, null, null], null, [0, 1, 2])), { ok: true });
  const lockP = proposal({ index: 1, round: 1 }, p.ranges);
  const high = prepareQc(tc, lockP);
  assert.deepEqual(verifyTimeoutQc(c, timeoutQc(tc, view, [null, 1, 0], high, [0, 1, 2])), { ok: true });
  // highQc missing, present without locks, at the wrong round, or not below the round
  assert.equal(verifyTimeoutQc(c, timeoutQc(tc, view, [null, 1, 0], null, [0, 1, 2])).ok, false);
  assert.equal(verifyTimeoutQc(c, timeoutQc(tc, view, [null, null, null], high, [0, 1, 2])).ok, false);
  assert.equal(verifyTimeoutQc(c, timeoutQc(tc, view, [0, 0, 0], high, [0, 1, 2])).ok, false);
  // a node that locked in round 1 and timed out in round 1 reports lock round 1
  const atRound = timeoutQc(tc, { index: 1, round: 1 }, [1, 1, 1], high, [0, 1, 2]);
  assert.deepEqual(verifyTimeoutQc(c, atRound), { ok: true });
  const aboveRound = timeoutQc(tc, { index: 1, round: 0 }, [1, 1, 1], high, [0, 1, 2]);
  assert.match((verifyTimeoutQc(c, aboveRound) as { reason: string }).reason, /above the timed-out round/);
  // a lock round that a signer did not sign
  const qc = timeoutQc(tc, view, [null, 1, 0], high, [0, 1, 2]);
  assert.equal(verifyTimeoutQc(c, { ...qc, lockRounds: [1, 1, 0] }).ok, false);
  assert.equal(verifyTimeoutQc(c, timeoutQc(tc, view, [null, null], null, [0, 1])).ok, false);
});
