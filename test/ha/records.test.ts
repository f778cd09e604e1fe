import assert from "node:assert/strict";
import { test } from "node:test";
import {
  highestPerSlot,
  mergeSafety,
  recordsOf,
  type SignRecord,
  type SignState,
  SignStateConflict,
  safetyChanged,
  safetyRecords,
} from "../../node/ha/index.ts";
import { headerHash, proposalHash, type SafetyRecord, toHex } from "../../node/types/index.ts";
import { laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4);
const h = (n: number) => new Uint8Array(32).fill(n);
const stateOf = (...rs: SignRecord[]): SignState => new Map(rs.map((r) => [r.slot, r]));

test("records of a write: safety slots, own lane with its block, other lanes, app; nothing for the rest", () => {
  const [b0] = laneChain(tc, 1, 0, 1);
  const own = recordsOf({ kind: "laneBlock", block: b0! }, 1);
  assert.equal(own.length, 1);
  assert.equal(own[0]!.slot, "own");
  assert.equal(own[0]!.tag, toHex(headerHash(b0!.header)));
  assert.ok(own[0]!.data && own[0]!.data.byteLength > 0);
  const other = recordsOf({ kind: "laneBlock", block: b0! }, 2);
  assert.deepEqual(other, [{ slot: "lane/1", a: 0, b: 0, tag: toHex(headerHash(b0!.header)) }]);
  assert.deepEqual(recordsOf({ kind: "appState", index: 4, appHash: h(3), puts: [], dels: [] }, 0), [
    { slot: "app", a: 4, b: 0, tag: toHex(h(3)) },
  ]);
  assert.deepEqual(recordsOf({ kind: "pruneLane", lane: 0, before: 3 }, 0), []);
});

test("mergeSafety raises every slot to the sign state, never lowers, and restores the lock's PrepareQC", () => {
  const p = proposal({ index: 3, round: 1 }, []);
  const lock = prepareQc(tc, p);
  const local: SafetyRecord = {
    prepare: { view: { index: 2, round: 0 }, proposalHash: h(1) },
    commit: { view: { index: 5, round: 0 }, proposalHash: h(9) },
    timeout: null,
    lock: null,
  };
  const remote = safetyRecords({
    prepare: { view: { index: 3, round: 1 }, proposalHash: proposalHash(p) },
    commit: { view: { index: 2, round: 0 }, proposalHash: h(7) },
    timeout: { view: { index: 3, round: 0 }, lockRound: null },
    lock,
  });
  const merged = mergeSafety(local, stateOf(...remote));
  assert.deepEqual(merged.prepare!.view, { index: 3, round: 1 });
  assert.deepEqual(merged.commit, local.commit, "a lower remote commit does not lower the local one");
  assert.deepEqual(merged.timeout, { view: { index: 3, round: 0 }, lockRound: null });
  assert.equal(toHex(proposalHash(merged.lock!.proposal)), toHex(proposalHash(p)));
  assert.ok(safetyChanged(local, merged));
  assert.ok(!safetyChanged(merged, merged));
});

test("mergeSafety refuses two different votes at one view", () => {
  const local: SafetyRecord = {
    prepare: { view: { index: 2, round: 0 }, proposalHash: h(1) },
    commit: null,
    timeout: null,
    lock: null,
  };
  const remote = stateOf({ slot: "prepare", a: 2, b: 0, tag: toHex(h(2)) });
  assert.throws(() => mergeSafety(local, remote), SignStateConflict);
});

test("highestPerSlot: the highest position wins; at one position the record more servers hold; a tie is a conflict", () => {
  const r = (tag: string, a = 5): SignRecord => ({ slot: "prepare", a, b: 0, tag });
  assert.equal(highestPerSlot([stateOf(r("x", 4)), stateOf(r("y", 5))]).get("prepare")!.tag, "y");
  assert.equal(highestPerSlot([stateOf(r("x")), stateOf(r("y")), stateOf(r("y"))]).get("prepare")!.tag, "y");
  assert.throws(() => highestPerSlot([stateOf(r("x")), stateOf(r("y"))]), SignStateConflict);
});
