import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConsensusEffect, ConsensusMachine } from "../../node/consensus/index.ts";
import { headerHash, type Proposal, ZERO_HASH } from "../../node/types/index.ts";
import { commitQc, prepareQc, timeoutQc } from "../fixtures/certs.ts";
import {
  ackAll,
  chain0,
  committee,
  cutA,
  cutB,
  machine,
  persists,
  phaseVote,
  proposalMsg,
  qc0,
  qcB,
  tc,
} from "./helpers.ts";

/** Q commit votes for `p` at `atMs`, then the CommitQC made durable at `durableAtMs`: the finalized effect. */
function finalize(m: ConsensusMachine, p: Proposal, atMs: number, durableAtMs: number, signers = [0, 1, 3]) {
  const out = signers.flatMap((s) => m.step({ kind: "message", msg: phaseVote("commit", s, p) }, atMs));
  const w = persists(out).find((e) => e.write.kind === "commitQc");
  assert.ok(w !== undefined, "the CommitQC is written");
  return finalizedIn(m.step({ kind: "durable", id: w.id }, durableAtMs));
}

function finalizedIn(out: ConsensusEffect[]) {
  const f = out.find((e) => e.kind === "finalized");
  assert.ok(f?.kind === "finalized", "index final");
  return f;
}

test("an index decided live in round 0 reports its consensus time: proposal accepted to CommitQC durable", () => {
  const m = machine(2);
  const pm = proposalMsg({ index: 1, round: 0 }, cutB, { laneQcs: [qcB] });
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 1_000), 1_005);
  assert.equal(finalize(m, pm.proposal, 1_030, 1_042).consensusMs, 42);

  // The next index starts afresh: its own proposal (lane 0 one block further), its own time.
  const ranges = committee.members.map((_, lane) =>
    lane === 0
      ? { lane, first: 1, next: 2, lastHash: headerHash(chain0[1]!.header) }
      : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
  );
  const next = {
    ...proposalMsg({ index: 2, round: 0 }, ranges, { laneQcs: [qc0] }),
    prevCommitQc: commitQc(tc, pm.proposal),
  };
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: next } }, 5_000), 5_001);
  assert.equal(finalize(m, next.proposal, 5_010, 5_017).consensusMs, 17);
});

test("an index this node never saw proposed (a CommitQC from a peer) reports no time", () => {
  const m = machine(2);
  const p = { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: cutA };
  const out = m.step({ kind: "message", msg: { kind: "commitQc", msg: commitQc(tc, p) } }, 50);
  const w = persists(out).find((e) => e.write.kind === "commitQc");
  assert.ok(w !== undefined);
  const f = finalizedIn(m.step({ kind: "durable", id: w.id }, 60));
  assert.equal(f.consensusMs, undefined);
});

test("an index decided after a round change reports no time, even if its round-0 proposal was seen", () => {
  const m = machine(3);
  const r0 = proposalMsg({ index: 1, round: 0 }, cutA);
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: r0 } }, 100), 101);
  const lock = prepareQc(tc, r0.proposal);
  // Round 0 times out; round 1 re-proposes the locked cut and decides it.
  const tc10 = timeoutQc(tc, { index: 1, round: 0 }, [0, 0, 0], lock, [0, 1, 2]);
  const r1 = proposalMsg({ index: 1, round: 1 }, cutA, { laneQcs: [], timeoutQc: tc10, createdAtMs: 1000 });
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: r1 } }, 5_000), 5_001);
  assert.deepEqual(m.view, { index: 1, round: 1 });
  assert.equal(finalize(m, r1.proposal, 5_010, 5_020).consensusMs, undefined);
});

test("round-0 votes that complete a CommitQC after the round changed report no time either", () => {
  const m = machine(3);
  const r0 = proposalMsg({ index: 1, round: 0 }, cutA);
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: r0 } }, 100), 101);
  // Round 0 times out before its commit votes arrive (no locks anywhere).
  m.step(
    {
      kind: "message",
      msg: { kind: "timeoutQc", msg: timeoutQc(tc, { index: 1, round: 0 }, [null, null, null], null, [0, 1, 2]) },
    },
    1_100,
  );
  assert.deepEqual(m.view, { index: 1, round: 1 });
  // The vote books keep round 0, so its late commit votes still make its CommitQC: final, but not timed.
  const f = finalize(m, r0.proposal, 1_200, 1_210, [0, 1, 2]);
  assert.equal(f.qc.proposal.view.round, 0);
  assert.equal(f.consensusMs, undefined);
});
