import assert from "node:assert/strict";
import { test } from "node:test";
import { KvApp } from "../../node/execution/index.ts";
import { type NodeEffect, type NodeInput, ProtocolNode } from "../../node/protocol/index.ts";
import type { ConsensusMessage } from "../../node/types/index.ts";
import { cutA, phaseVote, proposalMsg, tc, timeoutVote } from "../consensus/helpers.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import { emptyRecovered } from "../fixtures/recovered.ts";

/** Validator 2 of 4 with nothing on disk; every write it asks for is acknowledged at once. */
function validator() {
  const node = new ProtocolNode({
    committee: tc.committee,
    me: 2,
    signer: tc.signers[2]!,
    config: testProtocolConfig(),
    recovered: emptyRecovered(4),
    app: new KvApp(),
  });
  const evidence: NodeEffect[] = [];
  const feed = (first: NodeInput) => {
    const queue = [first];
    for (let i = 0; i < 100 && queue.length > 0; i++) {
      for (const e of node.step(queue.shift()!, 10)) {
        if (e.kind === "persist") queue.push({ kind: "durable", id: e.id });
        if (e.kind === "evidence") evidence.push(e);
      }
    }
  };
  node.start(0);
  return { node, feed, evidence };
}

const view = { index: 1, round: 0 };
const consensus = (msg: ConsensusMessage): NodeInput => ({ kind: "consensus", msg, verified: true });

/**
 * Validator 2 on index 1 where validator 3 first voted for another proposal
 * of the view (checked and kept: an equivocation in the making), then the
 * leader's proposal and prepare votes of 0 and 1 formed the PrepareQC.
 */
function preparedWithConflictFrom3() {
  const v = validator();
  const pm = proposalMsg(view, cutA);
  const other = proposalMsg(view, cutA, { createdAtMs: 2000 });
  v.feed(consensus(phaseVote("prepare", 3, other.proposal)));
  v.feed(consensus({ kind: "proposal", msg: pm }));
  for (const s of [0, 1]) v.feed(consensus(phaseVote("prepare", s, pm.proposal)));
  assert.ok(v.node.consensus.lock !== null, "the PrepareQC formed: own vote (released by the outbox) and two others");
  return { ...v, pm, other };
}

test("a vote the consensus machine calls redundant is still checked when its signer said something else in that slot", () => {
  const { node, feed, evidence, pm } = preparedWithConflictFrom3();

  // Validator 0's vote again: nothing new, dropped unchecked.
  assert.equal(node.consensus.isRedundant(phaseVote("prepare", 0, pm.proposal)), true);
  assert.equal(node.isRedundantConsensus(phaseVote("prepare", 0, pm.proposal)), true);
  // Validator 3's vote for the certified proposal would count for nothing, but it pairs with the
  // different vote kept from 3: it is checked, and reported as an equivocation.
  const second = phaseVote("prepare", 3, pm.proposal);
  assert.equal(node.consensus.isRedundant(second), true);
  assert.equal(node.isRedundantConsensus(second), false);
  assert.equal(evidence.length, 0);
  feed(consensus(second));
  assert.equal(evidence.length, 1);
});

test("after an index is final, its messages are dropped unchecked unless they pair with a statement kept from its signer", () => {
  const { node, feed, evidence, pm, other } = preparedWithConflictFrom3();
  for (const s of [0, 1]) feed(consensus(phaseVote("commit", s, pm.proposal)));
  assert.equal(node.consensus.finalizedIndex, 1, "own votes and two others made the CommitQC, now durable");

  // What arrives for index 1 now tells the node nothing, whatever it is for...
  for (const msg of [phaseVote("commit", 3, other.proposal), timeoutVote(0, view, null)]) {
    assert.equal(node.isRedundantConsensus(msg), true, msg.kind);
  }
  // ...unless it differs from what its signer said in that slot before (0 committed to pm).
  assert.equal(node.isRedundantConsensus(phaseVote("commit", 0, other.proposal)), false);
  // The leader's second proposal for the final view pairs with the one it kept: checked.
  assert.equal(node.isRedundantConsensus({ kind: "proposal", msg: other }), false);
  // A proposal of the view's next round says nothing kept here: dropped.
  assert.equal(node.isRedundantConsensus({ kind: "proposal", msg: proposalMsg({ index: 1, round: 1 }, cutA) }), true);
  // Validator 3's vote for the final proposal pairs with its kept vote for the other one.
  const second = phaseVote("prepare", 3, pm.proposal);
  assert.equal(node.consensus.isRedundant(second), true);
  assert.equal(node.isRedundantConsensus(second), false);
  feed(consensus(second));
  assert.equal(evidence.length, 1);
});
