import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConsensusMessage } from "../../node/types/index.ts";
import { commitQc, timeoutQc } from "../fixtures/certs.ts";
import { ackAll, cutA, machine, persists, phaseVote, proposalMsg, tc, timeoutVote } from "./helpers.ts";

const view = { index: 1, round: 0 };

test("a prepare vote for the view's PrepareQC is redundant once that certificate formed; one for another proposal never is", () => {
  const m = machine(2);
  const pm = proposalMsg(view, cutA);
  const other = proposalMsg(view, cutA, { createdAtMs: 2000 });
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10));
  const late = phaseVote("prepare", 3, pm.proposal);
  assert.equal(m.isRedundant(late), false, "before the PrepareQC every vote counts");
  ackAll(
    m,
    [0, 1, 2].flatMap((s) => m.step({ kind: "message", msg: phaseVote("prepare", s, pm.proposal) }, 20)),
  );
  assert.ok(m.lock !== null, "the PrepareQC formed (the own vote, fed back as the outbox does, and two others)");
  assert.equal(m.isRedundant(late), true);
  // A vote for another proposal in the view may be an equivocation: always checked.
  assert.equal(m.isRedundant(phaseVote("prepare", 3, other.proposal)), false);
  // Commit votes of the current index still count toward its CommitQC.
  assert.equal(m.isRedundant(phaseVote("commit", 3, pm.proposal)), false);
});

test("once a CommitQC forms, every message of its index is redundant, also after a restart; the next index's are news", () => {
  const m = machine(2);
  const pm = proposalMsg(view, cutA);
  const other = proposalMsg(view, cutA, { createdAtMs: 2000 });
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10));
  const announced: ConsensusMessage = { kind: "commitQc", msg: commitQc(tc, pm.proposal) };
  assert.equal(m.isRedundant(announced), false, "not final yet: the certificate is news");
  const out = [0, 1, 2].flatMap((s) => m.step({ kind: "message", msg: phaseVote("commit", s, pm.proposal) }, 20));
  // Formed here, not yet durable: the index is as good as final for what arrives now.
  assert.equal(m.finalizedIndex, 0);
  assert.equal(m.isRedundant(phaseVote("commit", 3, pm.proposal)), true);
  assert.equal(m.isRedundant(phaseVote("commit", 3, other.proposal)), true, "a vote for another proposal too");
  assert.equal(m.isRedundant(announced), true);
  const w = persists(out).find((p) => p.write.kind === "commitQc");
  assert.ok(w !== undefined);
  m.step({ kind: "durable", id: w.id }, 30);
  assert.equal(m.finalizedIndex, 1);
  // The machine drops whatever else arrives for a final index, whoever signed it and for
  // whatever proposal or round (ProtocolNode still checks what conflicts with a kept statement).
  const oldIndex: ConsensusMessage[] = [
    phaseVote("prepare", 3, pm.proposal),
    phaseVote("commit", 3, pm.proposal),
    phaseVote("prepare", 3, other.proposal),
    phaseVote("commit", 3, other.proposal),
    { kind: "proposal", msg: other },
    { kind: "proposal", msg: proposalMsg({ index: 1, round: 1 }, cutA) },
    timeoutVote(3, view, null),
    { kind: "timeoutQc", msg: timeoutQc(tc, view, [null, null, null, null], null) },
    announced,
  ];
  for (const msg of oldIndex) assert.equal(m.isRedundant(msg), true, msg.kind);
  // The next index's messages are news, a proposal and a timeout vote never redundant.
  const next = proposalMsg({ index: 2, round: 0 }, cutA);
  assert.equal(m.isRedundant(phaseVote("prepare", 3, next.proposal)), false);
  assert.equal(m.isRedundant({ kind: "proposal", msg: next }), false);
  assert.equal(m.isRedundant({ kind: "commitQc", msg: commitQc(tc, next.proposal) }), false);

  // A restarted node knows its last CommitQC's proposal from the recovered state.
  const restarted = machine(2, null, [commitQc(tc, pm.proposal)]);
  assert.equal(restarted.finalizedIndex, 1);
  for (const msg of oldIndex) assert.equal(restarted.isRedundant(msg), true, `${msg.kind} after a restart`);
  assert.equal(restarted.isRedundant(phaseVote("prepare", 3, next.proposal)), false);
  assert.equal(restarted.isRedundant(timeoutVote(3, { index: 2, round: 0 }, null)), false);
});
