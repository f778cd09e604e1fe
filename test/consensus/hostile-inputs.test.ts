/**
 * Issue 11 items 5 and 7: the consensus machine's per-index buffers under
 * long timeouts and one Byzantine member.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TimeoutQc } from "../../node/types/index.ts";
import { timeoutQc } from "../fixtures/certs.ts";
import { ackAll, cutA, machine, persists, phaseVote, proposalMsg, tc, timeoutVote } from "./helpers.ts";

const BYZANTINE = 3;

test("item 5: an index that saw more than 64 proposals (70 rounds of timeouts) still finalizes", () => {
  const m = machine(2);
  let entry: TimeoutQc | null = null;
  const rounds = 70;
  for (let r = 0; r < rounds; r++) {
    const view = { index: 1, round: r };
    const pm = proposalMsg(view, cutA, { timeoutQc: entry, createdAtMs: 1000 + r });
    m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10 * r);
    assert.deepEqual(m.view, view);
    if (r === rounds - 1) {
      // The last round: a quorum of prepare votes must make a PrepareQC, so a commit vote.
      const out = [0, 1, 3].flatMap((s) =>
        m.step({ kind: "message", msg: phaseVote("prepare", s, pm.proposal) }, 10 * r + 1),
      );
      const lockWrite = persists(out).find((p) => p.write.kind === "safety" && p.write.record.lock !== null);
      assert.ok(lockWrite !== undefined, `round ${r}: the PrepareQC found its proposal and the node commit-votes`);
      // ... and commit votes finalize the index.
      const commits = [0, 1, 3].flatMap((s) =>
        m.step({ kind: "message", msg: phaseVote("commit", s, pm.proposal) }, 10 * r + 2),
      );
      const cqc = persists(commits).find((p) => p.write.kind === "commitQc");
      assert.ok(cqc !== undefined, "a CommitQC formed");
      m.step({ kind: "durable", id: cqc.id }, 10 * r + 3);
      assert.equal(m.finalizedIndex, 1);
      return;
    }
    // Nobody prepares: the round times out with a TimeoutQC.
    entry = timeoutQc(tc, view, [null, null, null], null, [0, 1, 3]);
    m.step({ kind: "message", msg: { kind: "timeoutQc", msg: entry } }, 10 * r + 5);
  }
});

test("item 7: a member pre-filling the next-index buffer does not crowd out honest messages for k+1", () => {
  const m = machine(2);
  const view = { index: 1, round: 0 };
  const pm = proposalMsg(view, cutA);
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10));
  // A CommitQC for index 1 forms; it is on its way to disk (the node is still at index 1).
  const commits = [0, 1, 3].flatMap((s) => m.step({ kind: "message", msg: phaseVote("commit", s, pm.proposal) }, 20));
  const cqc = persists(commits).find((p) => p.write.kind === "commitQc");
  assert.ok(cqc !== undefined);
  // The Byzantine member floods validly signed timeout votes for index 2, rounds 0..299.
  for (let r = 0; r < 300; r++)
    m.step({ kind: "message", msg: timeoutVote(BYZANTINE, { index: 2, round: r }, null) }, 21);
  // Two honest members time out in (2, 0) meanwhile.
  for (const s of [0, 1]) m.step({ kind: "message", msg: timeoutVote(s, { index: 2, round: 0 }, null) }, 22);
  // CommitQC(1) durable: the node enters index 2 and replays the buffer.
  const out = m.step({ kind: "durable", id: cqc.id }, 30);
  assert.equal(m.view.index, 2);
  // f+1 timeout votes (the two honest ones, with the Byzantine one) make it time out in (2, 0) too.
  const timeoutWrite = persists(out).find(
    (p) =>
      p.write.kind === "safety" && p.write.record.timeout?.view.index === 2 && p.write.record.timeout.view.round === 0,
  );
  assert.ok(timeoutWrite !== undefined, "the honest votes for k+1 were kept and acted on");
  assert.ok(m.counters.bufferedNextDropped >= 284, "the flood beyond the window and per-sender bound is dropped");
});
