import assert from "node:assert/strict";
import { test } from "node:test";
import { SafetyGate } from "../../node/consensus/index.ts";
import { proposalHash } from "../../node/types/index.ts";
import { prepareQc } from "../fixtures/certs.ts";
import { cutA, tc } from "./helpers.ts";

const p = (round: number) => ({ view: { index: 1, round }, createdAtMs: 1000, ranges: cutA });
const h = (round: number) => proposalHash(p(round));

test("the gate allows re-sending a vote only once its record is durable, in write order", () => {
  const g = new SafetyGate(null);
  const v = { view: { index: 1, round: 0 }, proposalHash: h(0) };
  assert.equal(g.prepare(v.view, v.proposalHash), "new");
  g.write(1, { prepare: v });
  assert.equal(g.prepare(v.view, v.proposalHash), "pending", "identical vote waits for the write");
  assert.equal(g.prepare(v.view, h(1)), "barred", "a different vote in the view is barred at once");
  g.durableAck(1);
  assert.equal(g.prepare(v.view, v.proposalHash), "resend");
  assert.equal(g.prepare({ index: 1, round: 1 }, h(1)), "new");
});

test("a timeout vote bars prepare and commit votes in its view", () => {
  const g = new SafetyGate(null);
  g.write(1, { timeout: { view: { index: 1, round: 0 }, lockRound: null } });
  assert.equal(g.prepare({ index: 1, round: 0 }, h(0)), "barred");
  assert.equal(g.commit({ index: 1, round: 0 }, h(0)), "barred");
  assert.equal(g.timeout({ index: 1, round: 0 }, 0), "barred", "a different timeout vote in the view");
});

test("the lock never regresses", () => {
  const high = prepareQc(tc, p(2));
  const low = prepareQc(tc, p(1));
  const g = new SafetyGate({ prepare: null, commit: null, timeout: null, lock: high });
  const w = g.write(1, { commit: { view: { index: 1, round: 3 }, proposalHash: h(1) }, lock: low });
  assert.ok(w.kind === "safety");
  assert.deepEqual(w.record.lock?.proposal.view, { index: 1, round: 2 });
  assert.deepEqual(g.lock?.proposal.view, { index: 1, round: 2 });
});

test("after a restart every recorded view is barred except the identical vote", () => {
  const v = { view: { index: 1, round: 1 }, proposalHash: h(1) };
  const g = new SafetyGate({ prepare: v, commit: null, timeout: null, lock: null });
  assert.equal(g.prepare(v.view, v.proposalHash), "resend");
  assert.equal(g.prepare(v.view, h(0)), "barred");
  assert.equal(g.prepare({ index: 1, round: 0 }, h(0)), "barred", "lower views are barred too");
});
