import assert from "node:assert/strict";
import { test } from "node:test";
import { type ConsensusEffect, ConsensusMachine } from "../../node/consensus/index.ts";
import type { LaneQc, Proposal } from "../../node/types/index.ts";
import { commitQc, laneChain, laneQc } from "../fixtures/certs.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import { committee, cutB, persists, qc0, tc } from "./helpers.ts";

/** The leader of view (1, 0), which proposes from genesis. */
const leader = committee.leader({ index: 1, round: 0 });
/** Lane 1 holds block 0. */
const chain1 = laneChain(tc, 1, 0, 1);
const qc1: LaneQc = laneQc(tc, chain1[0]!, [0, 1]);

function leaderMachine(sets: string[] = []): ConsensusMachine {
  return new ConsensusMachine({
    committee,
    me: leader,
    signer: tc.signers[leader]!,
    config: testProtocolConfig(sets).consensus,
    recovered: { commitQcs: [], anchor: null, finalizedIndex: 0, safety: null },
  });
}

/** The proposal the effects release (the leader's own, with its prepare vote), if any. */
function proposed(effects: ConsensusEffect[]): Proposal | undefined {
  for (const p of persists(effects)) {
    for (const m of p.release) if (m.kind === "proposal") return m.msg.proposal;
  }
  return undefined;
}

/** The next number of each lane in a proposal's cut. */
const nexts = (p: Proposal | undefined) => p?.ranges.map((r) => r.next);

test("a leader waits for the certificate of a lane block it holds, then proposes both lanes in one index", () => {
  const m = leaderMachine(["consensus.proposeGatherMs=20"]);
  m.start(0);
  m.step({ kind: "laneSeen", lane: 0, number: 1 }, 1);
  m.step({ kind: "laneSeen", lane: 1, number: 0 }, 2);
  const first = m.step({ kind: "laneQc", qc: qc0 }, 5);
  assert.equal(proposed(first), undefined, "lane 1's block is held and not certified yet: wait");
  const timer = first.find((e) => e.kind === "setProposeTimer");
  assert.ok(timer?.kind === "setProposeTimer" && timer.deadlineMs === 25, "the wait is bounded by proposeGatherMs");
  const second = m.step({ kind: "laneQc", qc: qc1 }, 8);
  assert.deepEqual(nexts(proposed(second)), [2, 1, 0, 0], "both certified blocks in one proposal, at once");
  assert.deepEqual([m.counters.proposalsGathered, m.counters.proposalsGatherExpired], [1, 0]);
});

test("the leader also waits for the last lane's block once all but f lanes are certified: lanes cut on the same ticks", () => {
  const m = leaderMachine(["consensus.proposeGatherMs=20"]);
  m.start(0);
  const qc2 = laneQc(tc, laneChain(tc, 2, 0, 1)[0]!, [0, 1]);
  const qc3 = laneQc(tc, laneChain(tc, 3, 0, 1)[0]!, [0, 1]);
  for (const lane of [1, 2, 3]) m.step({ kind: "laneSeen", lane, number: 0 }, 0);
  assert.equal(proposed(m.step({ kind: "laneQc", qc: qc0 }, 1)), undefined, "one lane of four: wait");
  assert.equal(proposed(m.step({ kind: "laneQc", qc: qc1 }, 2)), undefined, "two lanes: wait");
  // Three of four lanes (n - f): lane 3's block is held and only ms behind.
  assert.equal(proposed(m.step({ kind: "laneQc", qc: qc2 }, 3)), undefined, "three lanes, the fourth in flight: wait");
  assert.deepEqual(nexts(proposed(m.step({ kind: "laneQc", qc: qc3 }, 4))), [2, 1, 1, 1], "all four in one index");
  assert.deepEqual([m.counters.proposalsGathered, m.counters.proposalsGatherExpired], [1, 0]);
});

test("with all but f lanes certified and nothing else in flight, the leader proposes at once", () => {
  const m = leaderMachine(["consensus.proposeGatherMs=20"]);
  m.start(0);
  const qc2 = laneQc(tc, laneChain(tc, 2, 0, 1)[0]!, [0, 1]);
  for (const lane of [1, 2]) m.step({ kind: "laneSeen", lane, number: 0 }, 0);
  assert.equal(proposed(m.step({ kind: "laneQc", qc: qc0 }, 1)), undefined);
  assert.equal(proposed(m.step({ kind: "laneQc", qc: qc1 }, 2)), undefined);
  // Lane 3 (a crashed validator, say) has no block here: nothing to wait for.
  assert.deepEqual(nexts(proposed(m.step({ kind: "laneQc", qc: qc2 }, 3))), [2, 1, 1, 0]);
});

test("a held lane block that is never certified delays the proposal by proposeGatherMs, no more", () => {
  const m = leaderMachine(["consensus.proposeGatherMs=20"]);
  m.start(0);
  m.step({ kind: "laneSeen", lane: 1, number: 0 }, 0);
  const first = m.step({ kind: "laneQc", qc: qc0 }, 5);
  assert.equal(proposed(first), undefined);
  const timer = first.find((e) => e.kind === "setProposeTimer");
  assert.ok(timer?.kind === "setProposeTimer");
  assert.equal(proposed(m.step({ kind: "proposeTimer", key: "stale" }, 20)), undefined, "another wait's timer");
  // Fired: the deadline passed, even if the clock reads a millisecond short.
  const fired = m.step({ kind: "proposeTimer", key: timer.key }, 24);
  assert.deepEqual(nexts(proposed(fired)), [2, 0, 0, 0], "lane 0 alone, after the wait");
  assert.deepEqual([m.counters.proposalsGathered, m.counters.proposalsGatherExpired], [0, 1]);
});

test("with every held block certified the leader proposes at once; proposeGatherMs = 0 never waits", () => {
  const m = leaderMachine(["consensus.proposeGatherMs=20"]);
  m.start(0);
  m.step({ kind: "laneSeen", lane: 0, number: 1 }, 0);
  const out = m.step({ kind: "laneQc", qc: qc0 }, 5);
  assert.deepEqual(nexts(proposed(out)), [2, 0, 0, 0]);
  assert.equal(out.filter((e) => e.kind === "setProposeTimer").length, 0);
  assert.deepEqual([m.counters.proposals, m.counters.proposalsGathered, m.counters.proposalsGatherExpired], [1, 0, 0]);

  const eager = leaderMachine(["consensus.proposeGatherMs=0"]);
  eager.start(0);
  eager.step({ kind: "laneSeen", lane: 1, number: 0 }, 0);
  assert.deepEqual(nexts(proposed(eager.step({ kind: "laneQc", qc: qc0 }, 5))), [2, 0, 0, 0]);
});

test("the leader waits for the highest held block a proposal could include, not for one beyond its reach", () => {
  const reach = committee.params.maxBlocksPerLane;
  const m = leaderMachine(["consensus.proposeGatherMs=20"]);
  m.start(0);
  // Lane 1 holds blocks up to reach + 5; a proposal may include 0..reach-1.
  m.step({ kind: "laneSeen", lane: 1, number: reach + 5 }, 0);
  m.step({ kind: "laneSeen", lane: 1, number: 3 }, 0); // a lower report does not lower what is held
  assert.equal(proposed(m.step({ kind: "laneQc", qc: qc0 }, 5)), undefined, "block reach-1 of lane 1 is not certified");
  const chain = laneChain(tc, 1, 0, reach);
  const atReach = m.step({ kind: "laneQc", qc: laneQc(tc, chain[reach - 1]!, [0, 1]) }, 8);
  assert.deepEqual(nexts(proposed(atReach)), [2, reach, 0, 0], "certified as far as a proposal reaches: propose");
});

test("each index starts its own wait, with its own timer key", () => {
  const leader2 = committee.leader({ index: 2, round: 0 });
  const m = new ConsensusMachine({
    committee,
    me: leader2,
    signer: tc.signers[leader2]!,
    config: testProtocolConfig(["consensus.proposeGatherMs=20"]).consensus,
    recovered: { commitQcs: [], anchor: null, finalizedIndex: 0, safety: null },
  });
  m.start(0);
  // Index 1 finalizes lane 0's block 0 (from another leader); the machine moves to index 2.
  const cqc = commitQc(tc, { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: cutB });
  const w = persists(m.step({ kind: "message", msg: { kind: "commitQc", msg: cqc } }, 10)).find(
    (p) => p.write.kind === "commitQc",
  );
  assert.ok(w !== undefined);
  m.step({ kind: "durable", id: w.id }, 11);
  assert.deepEqual(m.view, { index: 2, round: 0 });
  m.step({ kind: "laneSeen", lane: 1, number: 0 }, 12);
  const out = m.step({ kind: "laneQc", qc: qc0 }, 30);
  assert.equal(proposed(out), undefined);
  const timer = out.find((e) => e.kind === "setProposeTimer");
  assert.ok(timer?.kind === "setProposeTimer" && timer.key.startsWith("2/0") && timer.deadlineMs === 50);
  assert.deepEqual(nexts(proposed(m.step({ kind: "proposeTimer", key: timer.key }, 50))), [2, 0, 0, 0]);
});
