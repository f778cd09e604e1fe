/**
 * Issue 16 item 5: after a full restart, a lane more than maxBlocksPerLane
 * ahead of finality must resume. Every node re-votes its recovered blocks at
 * start while no peer is connected yet (those votes are lost); what reaches
 * peers later is the retransmission. The leader can only use a LaneQC within
 * maxBlocksPerLane of the finalized tip.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type LanesEffect, LanesMachine } from "../../node/lanes/index.ts";
import type { LaneQc, LaneRange, LaneVote } from "../../node/types/index.ts";
import { headerHash, ZERO_HASH } from "../../node/types/index.ts";
import { laneChain } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

/** The shipped lane defaults (config/default.toml through the loader). */
const DEFAULT_LANES_CONFIG = testProtocolConfig().lanes;

const tc = testCommittee(4);
const LANE = 2;
const { maxBlocksPerLane, laneWindow } = tc.committee.params;

/** Votes sent at once (re-sends of durable blocks' votes: start and retransmission). */
const votesOf = (out: LanesEffect[]): LaneVote[] =>
  out.flatMap((e) => (e.kind === "resend" ? e.release.flatMap((m) => (m.kind === "laneVote" ? [m.msg] : [])) : []));
const qcsOf = (out: LanesEffect[]): LaneQc[] => out.flatMap((e) => (e.kind === "laneQc" ? [e.qc] : []));

test("after a full restart, a lane more than maxBlocksPerLane ahead of finality gets usable LaneQCs (issue 16 item 5)", () => {
  const ahead = maxBlocksPerLane + 8;
  assert.ok(ahead < laneWindow, "the lane is inside the window");
  const chain = laneChain(tc, LANE, 0, ahead);
  // Every node recovered the same durable lane WAL; nothing is finalized yet.
  const nodes = tc.signers.map(
    (signer, me) =>
      new LanesMachine({
        committee: tc.committee,
        me,
        signer,
        config: DEFAULT_LANES_CONFIG,
        recoveredLanes: tc.committee.members.map((_, lane) =>
          lane === LANE ? { lane, first: 0, next: ahead, blocks: chain } : { lane, first: 0, next: 0, blocks: [] },
        ),
        finalizedRanges: null,
      }),
  );
  // What each node knows: LaneQCs of lane LANE, by number.
  const known = nodes.map(() => new Map<number, LaneQc>());
  const note = (i: number, out: LanesEffect[]) => {
    for (const qc of qcsOf(out)) if (qc.body.lane === LANE) known[i]!.set(qc.body.number, qc);
  };
  // Start: no peer is connected, so each node's re-votes reach only itself.
  nodes.forEach((m, i) => {
    const out = m.start(0);
    note(i, out);
    for (const v of votesOf(out)) note(i, m.step({ kind: "laneVote", vote: v }, 0));
  });
  // Peers connect; from now on every vote sent reaches every node.
  const exchange = (nowMs: number, input: (i: number) => Parameters<LanesMachine["step"]>[0]) => {
    const sent: LaneVote[] = [];
    nodes.forEach((m, i) => {
      const out = m.step(input(i), nowMs);
      note(i, out);
      sent.push(...votesOf(out));
    });
    for (const v of sent) {
      nodes.forEach((m, i) => {
        note(i, m.step({ kind: "laneVote", vote: v }, nowMs));
      });
    }
    return sent.length;
  };
  const usable = (finalizedNext: number) =>
    known.map((qcs) => [...qcs.keys()].filter((n) => n >= finalizedNext && n < finalizedNext + maxBlocksPerLane));

  let now = 0;
  for (let round = 0; round < 4; round++) {
    now += DEFAULT_LANES_CONFIG.retransmitMs;
    exchange(now, () => ({ kind: "timer" }));
  }
  const reach = usable(0);
  for (const [i, numbers] of reach.entries()) {
    assert.ok(numbers.length > 0, `node ${i} holds no LaneQC a leader can use (0..31)`);
  }
  const best = Math.max(...reach[0]!);
  assert.equal(best, maxBlocksPerLane - 1, "the highest block within reach is certified");

  // The leader finalizes up to it; the lane must go on to its end.
  const finalized: LaneRange[] = tc.committee.members.map((_, lane) =>
    lane === LANE
      ? { lane, first: 0, next: best + 1, lastHash: headerHash(chain[best]!.header) }
      : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
  );
  exchange(now, () => ({ kind: "finalized", ranges: finalized }));
  for (let round = 0; round < 4; round++) {
    now += DEFAULT_LANES_CONFIG.retransmitMs;
    exchange(now, () => ({ kind: "timer" }));
  }
  for (const [i, numbers] of usable(best + 1).entries()) {
    assert.ok(numbers.includes(ahead - 1), `node ${i}: the lane's last block ${ahead - 1} is certified`);
  }
});

test("retransmission is bounded: at most maxBlocksPerLane + 1 votes per lane and period, none once certified", () => {
  const ahead = laneWindow;
  const chain = laneChain(tc, LANE, 0, ahead);
  const m = new LanesMachine({
    committee: tc.committee,
    me: 0,
    signer: tc.signers[0]!,
    config: DEFAULT_LANES_CONFIG,
    recoveredLanes: tc.committee.members.map((_, lane) =>
      lane === LANE ? { lane, first: 0, next: ahead, blocks: chain } : { lane, first: 0, next: 0, blocks: [] },
    ),
    finalizedRanges: null,
  });
  assert.equal(votesOf(m.start(0)).length, ahead, "start re-votes every recovered block in order");
  const resent = votesOf(m.step({ kind: "timer" }, DEFAULT_LANES_CONFIG.retransmitMs));
  assert.equal(resent.length, maxBlocksPerLane + 1);
  assert.deepEqual(
    resent.map((v) => v.body.number),
    [...Array.from({ length: maxBlocksPerLane }, (_, n) => n), ahead - 1],
  );
});

test("after a resync, the own lane signs no block below the carried floor: it fetches them instead", () => {
  const m = new LanesMachine({
    committee: tc.committee,
    me: 1,
    signer: tc.signers[1]!,
    config: DEFAULT_LANES_CONFIG,
    recoveredLanes: tc.committee.members.map((_, lane) => ({ lane, first: 0, next: 0, blocks: [] })),
    finalizedRanges: null,
    ownLaneFloor: 3,
  });
  m.start(0);
  const out = m.step({ kind: "tx", tx: new TextEncoder().encode("a=1") }, 1);
  const later = m.step({ kind: "timer" }, 10_000);
  const all = [...out, ...later];
  assert.equal(
    all.filter((e) => e.kind === "persist").length,
    0,
    "no own block 0: this key signed one before the resync",
  );
  const fetch = all.find((e) => e.kind === "fetchLaneBlocks");
  assert.ok(fetch?.kind === "fetchLaneBlocks" && fetch.lane === 1 && fetch.from === 0 && fetch.to === 3);
  // Once blocks 0..2 are back (from peers), production resumes at 3 with the waiting tx.
  const chain = laneChain(tc, 1, 0, 3);
  const after: LanesEffect[] = [];
  for (const b of chain) after.push(...m.step({ kind: "laneBlock", block: b }, 10_001));
  const own = after.flatMap((e) =>
    e.kind === "persist" && e.write.kind === "laneBlock" ? [e.write.block.header.number] : [],
  );
  assert.deepEqual(own, [0, 1, 2, 3], "the fetched blocks are stored, then own block 3 is signed");
  assert.equal(m.laneNext(1), 4);
});
