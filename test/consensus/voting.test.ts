import assert from "node:assert/strict";
import { test } from "node:test";
import { codecs, proposalHash } from "../../node/types/index.ts";
import { prepareQc } from "../fixtures/certs.ts";
import { ackAll, broadcasts, cutA, machine, persists, phaseVote, proposalMsg, tc } from "./helpers.ts";

const view = { index: 1, round: 0 };

test("the prepare vote is held until its safety record is durable", () => {
  const m = machine(2);
  const pm = proposalMsg(view, cutA);
  const out = m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10);
  const writes = persists(out);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.write.kind, "safety");
  const record = (writes[0]!.write as { record: { prepare: { proposalHash: Uint8Array } | null } }).record;
  assert.deepEqual(record.prepare?.proposalHash, proposalHash(pm.proposal));
  assert.equal(broadcasts(out, "prepare").length, 0, "no prepare vote before the record is durable");
  const released = ackAll(m, out);
  const votes = broadcasts(released, "prepare");
  assert.equal(votes.length, 1);
  assert.equal(votes[0]!.kind === "prepare" && votes[0]!.msg.signer, 2);
});

test("the commit vote is held until the lock is durable, and the lock is in that record", () => {
  const m = machine(2);
  const pm = proposalMsg(view, cutA);
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10));
  const out = [0, 1, 3].flatMap((s) => m.step({ kind: "message", msg: phaseVote("prepare", s, pm.proposal) }, 20));
  const writes = persists(out);
  assert.equal(writes.length, 1);
  const w = writes[0]!.write;
  assert.ok(w.kind === "safety" && w.record.lock !== null && w.record.commit !== null);
  assert.deepEqual(proposalHash(w.record.lock.proposal), proposalHash(pm.proposal));
  assert.equal(broadcasts(out, "commit").length, 0, "no commit vote before the lock is durable");
  assert.equal(m.lock?.proposal.view.round, 0);
  const released = ackAll(m, out);
  assert.equal(broadcasts(released, "commit").length, 1);
});

test("a CommitQC from Q commit votes is persisted before the node moves on, then finalizes", () => {
  const m = machine(2);
  const pm = proposalMsg(view, cutA);
  ackAll(m, m.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10));
  const out = [0, 1, 3].flatMap((s) => m.step({ kind: "message", msg: phaseVote("commit", s, pm.proposal) }, 20));
  const w = persists(out).find((p) => p.write.kind === "commitQc");
  assert.ok(w !== undefined);
  assert.equal(m.finalizedIndex, 0, "not final before the CommitQC is durable");
  const after = m.step({ kind: "durable", id: w.id }, 30);
  assert.ok(after.some((e) => e.kind === "finalized"));
  assert.equal(m.finalizedIndex, 1);
  assert.deepEqual(m.view, { index: 2, round: 0 });
});

test("no second vote in a view after restart; the identical vote may be re-sent", () => {
  const pm = proposalMsg(view, cutA);
  const first = machine(2);
  const out = first.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10);
  const w = persists(out)[0]!.write;
  assert.ok(w.kind === "safety");
  const record = w.record;
  const sent = broadcasts(ackAll(first, out), "prepare")[0]!;

  // Restart from the durable record.
  const again = machine(2, record);
  const resent = broadcasts(again.start(100), "prepare");
  assert.equal(resent.length, 1, "the identical vote is re-sent on start");
  assert.deepEqual(codecs.phaseVote.encode(resent[0]!.msg as never), codecs.phaseVote.encode(sent.msg as never));

  // A different proposal for the same view (a leader that restarted too).
  const other = proposalMsg(view, cutA, { createdAtMs: 2000 });
  const out2 = again.step({ kind: "message", msg: { kind: "proposal", msg: other } }, 110);
  assert.equal(persists(out2).length, 0);
  assert.equal(broadcasts(out2, "prepare").length, 0, "never a second, different vote in the view");

  // The same proposal again: only the identical vote, no new record.
  const again2 = machine(2, record);
  const out3 = again2.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 120);
  assert.equal(persists(out3).length, 0);
  const votes = broadcasts(out3, "prepare");
  assert.equal(votes.length, 1);
  assert.deepEqual(codecs.phaseVote.encode(votes[0]!.msg as never), codecs.phaseVote.encode(sent.msg as never));
});

test("the lock survives restart and is carried by the restarted node's timeout votes", () => {
  const high = prepareQc(tc, { view: { index: 1, round: 1 }, createdAtMs: 1000, ranges: cutA });
  const record = {
    prepare: null,
    commit: { view: high.proposal.view, proposalHash: proposalHash(high.proposal) },
    timeout: null,
    lock: high,
  };
  const m = machine(0, record);
  assert.deepEqual(m.lock?.proposal.view, { index: 1, round: 1 });
  assert.deepEqual(m.view, { index: 1, round: 1 }, "resumes in the round of its record");
  const timer = m.start(0).find((e) => e.kind === "setTimer");
  assert.ok(timer?.kind === "setTimer" && timer.viewKey === "1/1", "the view timer runs after a restart");
  const out = m.step({ kind: "timer", viewKey: "1/1" }, timer.deadlineMs);
  const rec = persists(out)[0]!.write;
  assert.ok(rec.kind === "safety" && rec.record.lock !== null);
  assert.deepEqual(rec.record.lock.proposal.view, { index: 1, round: 1 }, "the lock stays in every later record");
  const tv = broadcasts(ackAll(m, out), "timeout")[0]!;
  assert.ok(tv.kind === "timeout");
  assert.equal(tv.msg.body.lockRound, 1);
  assert.deepEqual(tv.msg.lock?.proposal.view, { index: 1, round: 1 });
});
