/**
 * Retransmission stays at one round per `lanes.retransmitMs` whatever else
 * arms the lanes' timer. Found by the 600 s chaos run (seed 2): a validator
 * whose own lane window was full (the chain slow under faults) still held
 * txs older than maxBlockDelayMs, so its production deadline was always past
 * and the timer was armed 1 ms ahead, again and again; each firing re-sent
 * every uncertified vote. Peers received each of those votes ~1,300 times,
 * their input queues filled (95,910 inputs waiting) and the chain stopped at
 * index 50 for good.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type LanesEffect, LanesMachine } from "../../node/lanes/index.ts";
import { laneChain } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

const CONFIG = testProtocolConfig().lanes;
const tc = testCommittee(4);
const { laneWindow } = tc.committee.params;

test("a full own lane window with txs waiting neither spins the timer nor re-sends votes faster than retransmitMs", () => {
  const ME = 0;
  // Our own lane holds laneWindow blocks, none finalized: no new block may be made.
  const own = laneChain(tc, ME, 0, laneWindow);
  const other = laneChain(tc, 1, 0, 5);
  const m = new LanesMachine({
    committee: tc.committee,
    me: ME,
    signer: tc.signers[ME]!,
    config: CONFIG,
    recoveredLanes: tc.committee.members.map((_, lane) =>
      lane === ME
        ? { lane, first: 0, next: laneWindow, blocks: own }
        : lane === 1
          ? { lane, first: 0, next: 5, blocks: other }
          : { lane, first: 0, next: 0, blocks: [] },
    ),
    finalizedRanges: null,
  });
  let timerAtMs: number | null = null;
  let resendRounds = 0;
  let votes = 0;
  /** One step's effects; a step that re-sends any vote is one round. */
  const take = (out: LanesEffect[]) => {
    let n = 0;
    for (const e of out) {
      if (e.kind === "setTimer") timerAtMs = e.deadlineMs;
      if (e.kind === "resend") n += e.release.filter((r) => r.kind === "laneVote").length;
    }
    if (n > 0) resendRounds++;
    votes += n;
  };
  take(m.start(0));
  const encoder = new TextEncoder();
  for (let i = 0; i < 10; i++) take(m.step({ kind: "tx", tx: encoder.encode(`k${i}=v`) }, 0));
  resendRounds = 0;
  votes = 0;
  // The runtime: fire the timer when due, for 5 s of time.
  const periodMs = 5_000;
  let firings = 0;
  for (let guard = 0; guard < 100_000 && timerAtMs !== null && timerAtMs <= periodMs; guard++) {
    const at: number = timerAtMs;
    timerAtMs = null;
    firings++;
    take(m.step({ kind: "timer" }, at));
  }
  const rounds = Math.ceil(periodMs / CONFIG.retransmitMs) + 1;
  assert.ok(firings <= rounds * 2, `${firings} timer firings in ${periodMs} ms (retransmitMs ${CONFIG.retransmitMs})`);
  assert.ok(resendRounds <= rounds, `${resendRounds} re-send rounds (${votes} votes) in ${periodMs} ms`);
  assert.ok(resendRounds >= 2, `uncertified votes are still re-sent (${resendRounds} rounds)`);
});
