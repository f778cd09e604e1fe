import assert from "node:assert/strict";
import { test } from "node:test";
import { viewTimeoutMs } from "../../node/consensus/index.ts";
import { proposalHash } from "../../node/types/index.ts";
import { commitQc, prepareQc, timeoutQc } from "../fixtures/certs.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import {
  ackAll,
  broadcasts,
  cutA,
  cutB,
  machine,
  persists,
  proposalMsg,
  qc0,
  qcB,
  tc,
  timeoutVote,
} from "./helpers.ts";

const locked = { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: cutA };
const lockQc = prepareQc(tc, locked);
const tc10 = timeoutQc(tc, { index: 1, round: 0 }, [0, null, 0], lockQc, [0, 1, 3]);

test("a leader that ignores the reproposal rule gets no votes", () => {
  const m = machine(3);
  // Round 1's leader is validator 2; it proposes another cut despite the lock in the TimeoutQC.
  const bad = proposalMsg({ index: 1, round: 1 }, cutB, { laneQcs: [qcB], timeoutQc: tc10 });
  const out = m.step({ kind: "message", msg: { kind: "proposal", msg: bad } }, 10);
  assert.equal(persists(out).length, 0);
  assert.equal(broadcasts(out, "prepare").length, 0);
  const ev = out.find((e) => e.kind === "event" && e.level === "warn" && e.msg === "proposal rejected");
  assert.ok(ev?.kind === "event" && /reproposal rule/.test(String(ev.data?.reason)));
  assert.deepEqual(m.view, { index: 1, round: 1 }, "the TimeoutQC it carried still moved the round");
});

test("a leader that follows the reproposal rule gets the vote", () => {
  const m = machine(3);
  const good = proposalMsg({ index: 1, round: 1 }, cutA, {
    laneQcs: [],
    timeoutQc: tc10,
    createdAtMs: locked.createdAtMs,
  });
  const out = m.step({ kind: "message", msg: { kind: "proposal", msg: good } }, 10);
  assert.equal(broadcasts(ackAll(m, out), "prepare").length, 1);
});

test("a TimeoutQC moves the round and carries the highest PrepareQC", () => {
  const m = machine(3);
  // Enter round 1 through a TimeoutQC without locks.
  m.step(
    {
      kind: "message",
      msg: { kind: "timeoutQc", msg: timeoutQc(tc, { index: 1, round: 0 }, [null, null, null], null, [0, 1, 2]) },
    },
    5,
  );
  assert.deepEqual(m.view, { index: 1, round: 1 });
  const lock0 = prepareQc(tc, { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: cutB });
  const lock1 = prepareQc(tc, { view: { index: 1, round: 1 }, createdAtMs: 1000, ranges: cutA });
  const v11 = { index: 1, round: 1 };
  const out = [
    m.step({ kind: "message", msg: timeoutVote(0, v11, lock0) }, 10),
    m.step({ kind: "message", msg: timeoutVote(1, v11, lock1) }, 11),
    m.step({ kind: "message", msg: timeoutVote(2, v11, null) }, 12),
  ].flat();
  assert.deepEqual(m.view, { index: 1, round: 2 });
  const tcs = broadcasts(out, "timeoutQc");
  assert.equal(tcs.length, 1);
  const formed = tcs[0]!;
  assert.ok(formed.kind === "timeoutQc");
  assert.deepEqual(formed.msg.view, v11);
  assert.deepEqual(formed.msg.lockRounds, [0, 1, null]);
  assert.ok(formed.msg.highQc !== null);
  assert.deepEqual(proposalHash(formed.msg.highQc.proposal), proposalHash(lock1.proposal));
});

test("f+1 timeout votes at or above the current round make the node time out too", () => {
  const m = machine(3);
  const v = { index: 1, round: 0 };
  const one = m.step({ kind: "message", msg: timeoutVote(0, v, null) }, 10);
  assert.equal(persists(one).length, 0, "f timeout votes are not enough");
  const two = m.step({ kind: "message", msg: timeoutVote(1, { index: 1, round: 3 }, null) }, 11);
  const w = persists(two)[0]?.write;
  assert.ok(w?.kind === "safety" && w.record.timeout !== null);
  // The f+1-th highest timeout round is 0 (signers at rounds 0 and 3): it joins round 0.
  assert.deepEqual(w.record.timeout.view, v);
  assert.equal(broadcasts(two, "timeout").length, 0, "the timeout vote waits for its record");
  assert.equal(broadcasts(ackAll(m, two), "timeout").length, 1);
});

test("f+1 timeout votes at a later round move the node there", () => {
  const m = machine(3);
  m.step({ kind: "message", msg: timeoutVote(0, { index: 1, round: 4 }, null) }, 10);
  const out = m.step({ kind: "message", msg: timeoutVote(1, { index: 1, round: 5 }, null) }, 11);
  assert.deepEqual(m.view, { index: 1, round: 4 });
  const w = persists(out)[0]?.write;
  assert.ok(w?.kind === "safety" && w.record.timeout !== null);
  assert.deepEqual(w.record.timeout.view, { index: 1, round: 4 });
});

test("the view timeout doubles on consecutive timeouts up to its cap", () => {
  const c = testProtocolConfig([
    "consensus.viewTimeoutMs=100",
    "consensus.maxViewTimeoutMs=500",
    "consensus.viewTimeoutGrowth=2",
  ]).consensus;
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((n) => viewTimeoutMs(c, n)),
    [100, 200, 400, 500, 500],
  );
});

test("an idle chain has no view timer; a certified lane block starts it", () => {
  const m = machine(1);
  assert.equal(m.start(0).filter((e) => e.kind === "setTimer").length, 0);
  const out = m.step({ kind: "laneQc", qc: qcB }, 5);
  assert.equal(out.filter((e) => e.kind === "setTimer").length, 1);
});

test("after finalizing, certified blocks beyond the new tips keep the view timer running", () => {
  const m = machine(2);
  m.step({ kind: "laneQc", qc: qc0 }, 0); // lane 0 block 1 certified
  const cqc = commitQc(tc, { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: cutB }); // finalizes only block 0
  const out = m.step({ kind: "message", msg: { kind: "commitQc", msg: cqc } }, 10);
  const w = persists(out).find((p) => p.write.kind === "commitQc");
  assert.ok(w !== undefined);
  const after = m.step({ kind: "durable", id: w.id }, 20);
  assert.deepEqual(m.view, { index: 2, round: 0 });
  const timer = after.find((e) => e.kind === "setTimer");
  assert.ok(timer?.kind === "setTimer" && timer.viewKey === "2/0", "the leader of 2/0 may be down: time it out");
});
