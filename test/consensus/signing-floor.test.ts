/**
 * The signing floor (issue 15): the safety gate bars every vote at or below
 * the floor it is given, "hold" bars every vote, and the floor arrives as a
 * plain input (the machines stay pure).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SafetyGate } from "../../node/consensus/index.ts";
import { proposalHash } from "../../node/types/index.ts";
import { ackAll, broadcasts, cutA, machine, persists, proposalMsg } from "./helpers.ts";

const h = proposalHash({ view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: cutA });

test("hold bars every vote; a view floor bars views at or below it only", () => {
  const g = new SafetyGate(null, "hold");
  assert.equal(g.prepare({ index: 9, round: 9 }, h), "barred");
  assert.equal(g.commit({ index: 9, round: 9 }, h), "barred");
  assert.equal(g.timeout({ index: 9, round: 9 }, null), "barred");
  g.setSigningFloor({ index: 5, round: 0 });
  assert.equal(g.prepare({ index: 4, round: 7 }, h), "barred");
  assert.equal(g.prepare({ index: 5, round: 0 }, h), "barred", "the floor view itself is barred");
  assert.equal(g.commit({ index: 5, round: 0 }, h), "barred");
  assert.equal(g.timeout({ index: 5, round: 0 }, null), "barred");
  assert.equal(g.prepare({ index: 5, round: 1 }, h), "new");
  assert.equal(g.timeout({ index: 6, round: 0 }, null), "new");
  g.setSigningFloor(null);
  assert.equal(g.prepare({ index: 1, round: 0 }, h), "new");
});

test("a machine held by its floor neither votes nor re-sends; the floor input below its view lets it vote", () => {
  const view = { index: 1, round: 0 };
  // The safety record of an earlier run at this view would make start() re-send; the hold stops that too.
  const m = machine(2, {
    prepare: { view, proposalHash: proposalHash(proposalMsg(view, cutA).proposal) },
    commit: null,
    timeout: null,
    lock: null,
  });
  m.step({ kind: "signingFloor", floor: "hold" }, 0);
  assert.equal(broadcasts(m.start(0)).length, 0, "no re-sent vote while held");

  const fresh = machine(2);
  fresh.step({ kind: "signingFloor", floor: { index: 1, round: 0 } }, 0);
  const pm = proposalMsg(view, cutA);
  const out = fresh.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10);
  assert.equal(persists(out).length, 0, "no vote record at the floor view");
  assert.equal(broadcasts(ackAll(fresh, out), "prepare").length, 0);
  assert.equal(fresh.signingFloor && typeof fresh.signingFloor === "object" && fresh.signingFloor.index, 1);

  const freed = machine(2);
  freed.step({ kind: "signingFloor", floor: { index: 0, round: 0 } }, 0);
  const votes = ackAll(freed, freed.step({ kind: "message", msg: { kind: "proposal", msg: pm } }, 10));
  assert.equal(broadcasts(votes, "prepare").length, 1, "above the floor it votes as before");
});
