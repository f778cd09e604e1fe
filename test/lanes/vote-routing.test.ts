/**
 * Lane votes go to the block's owner (lanes/vote-routing.ts): where two
 * members' weights reach A, voters certify from the owner's vote and their
 * own; elsewhere the owner announces its LaneQC, and everyone takes it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KvApp } from "../../node/execution/index.ts";
import { type LanesEffect, type LanesMachine, LaneVoteAggregator, votersCertifyAlone } from "../../node/lanes/index.ts";
import { type NodeEffect, ProtocolNode } from "../../node/protocol/index.ts";
import {
  DOMAINS,
  headerHash,
  type LaneBlock,
  type LaneQc,
  type LaneVote,
  laneVoteSigningBody,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { laneBlock } from "../fixtures/certs.ts";
import { type TestCommittee, testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import { freshLanes } from "../fixtures/lanes.ts";
import { emptyRecovered } from "../fixtures/recovered.ts";
import { SIM_PARAMS, SIM_PROTOCOL_CONFIG } from "../sim/sim-config.ts";

const LANES = testProtocolConfig().lanes;
const tc4 = testCommittee(4);
const tc7 = testCommittee(7);

function lanes(tc: TestCommittee, me: number): LanesMachine {
  return freshLanes(tc, me, LANES);
}

function vote(tc: TestCommittee, signer: number, block: LaneBlock): LaneVote {
  const body = { lane: block.header.lane, number: block.header.number, headerHash: headerHash(block.header) };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.laneVote, laneVoteSigningBody(body)) };
}

const kinds = (out: LanesEffect[], kind: LanesEffect["kind"]) => out.filter((e) => e.kind === kind);

/** Feeds votes by `signers` to `m`; returns every effect. */
function feed(m: LanesMachine, tc: TestCommittee, block: LaneBlock, signers: number[], now = 1): LanesEffect[] {
  return signers.flatMap((s) => m.step({ kind: "laneVote", vote: vote(tc, s, block) }, now));
}

/** A LaneQC on `block` by the first A members. */
function qcOn(tc: TestCommittee, block: LaneBlock): LaneQc {
  const votes = new LaneVoteAggregator(tc.committee);
  for (let s = 0; s < tc.committee.size; s++) {
    const qc = votes.add(vote(tc, s, block));
    if (qc !== null) return qc;
  }
  throw new Error("no LaneQC");
}

test("voters certify alone where any two members' weights reach A: committees of up to 6 with equal weights", () => {
  assert.equal(votersCertifyAlone(tc4.committee), true);
  assert.equal(votersCertifyAlone(testCommittee(6).committee), true);
  assert.equal(votersCertifyAlone(tc7.committee), false);
  // Weights 3,1,1,1: W = 6, f = 1, A = 2, and the lightest two reach it.
  assert.equal(votersCertifyAlone(testCommittee([3, 1, 1, 1]).committee), true);
  // Weights 2,2,1,1,1: A = 3, and two members of weight 1 do not reach it (5 members, yet LaneQCs are announced).
  const weighted = testCommittee([2, 2, 1, 1, 1]).committee;
  assert.equal(weighted.availabilityQuorum, 3);
  assert.equal(votersCertifyAlone(weighted), false);
});

test("n = 4: a voter certifies another lane's block from the owner's vote and its own, as soon as it has voted", () => {
  const m = lanes(tc4, 1);
  const b = laneBlock(tc4, 2, 0, ZERO_HASH);
  m.step({ kind: "laneBlock", block: b }, 0);
  assert.equal(kinds(m.step({ kind: "laneVote", vote: vote(tc4, 2, b) }, 1), "laneQc").length, 0, "the owner's alone");
  const own = m.step({ kind: "laneVote", vote: vote(tc4, 1, b), verified: true }, 2);
  assert.equal(kinds(own, "laneQc").length, 1, "with its own: weight A = 2");
});

test("where voters certify alone a voter re-sends its newest vote to the owner each period until the block is final", () => {
  const m = lanes(tc4, 1);
  const b = laneBlock(tc4, 2, 0, ZERO_HASH);
  const write = m.step({ kind: "laneBlock", block: b }, 0).find((e) => e.kind === "persist");
  assert.ok(write?.kind === "persist");
  m.step({ kind: "durable", id: write.id }, 1);
  feed(m, tc4, b, [2, 1], 2);
  const resentVotes = (now: number) =>
    m
      .step({ kind: "timer" }, now)
      .flatMap((e) => (e.kind === "resend" ? e.release : []))
      .flatMap((r) => (r.kind === "laneVote" ? [[r.msg.signer, r.msg.body.lane, r.msg.body.number]] : []));
  assert.deepEqual(resentVotes(10_000), [[1, 2, 0]], "certified here, but the owner may have missed it");
  m.step({ kind: "finalized", ranges: [{ lane: 2, first: 0, next: 1, lastHash: headerHash(b.header) }] }, 10_001);
  assert.deepEqual(resentVotes(20_000), [], "final: nothing");
});

test("n = 7: the owner announces the LaneQC it forms from the votes it receives; n = 4: nobody announces", () => {
  const b7 = laneBlock(tc7, 0, 0, ZERO_HASH);
  const owner7 = feed(lanes(tc7, 0), tc7, b7, [1, 2, 3]);
  assert.equal(kinds(owner7, "laneQc").length, 1, "A = 3 votes make the LaneQC");
  const [announced] = kinds(owner7, "announceLaneQc");
  assert.ok(announced?.kind === "announceLaneQc");
  assert.equal(announced.qc.body.number, 0);
  // A member that forms another lane's LaneQC (votes gossiped by a peer) keeps it to itself.
  assert.equal(kinds(feed(lanes(tc7, 4), tc7, b7, [1, 2, 3]), "announceLaneQc").length, 0);
  const b4 = laneBlock(tc4, 0, 0, ZERO_HASH);
  const owner4 = feed(lanes(tc4, 0), tc4, b4, [0, 1]);
  assert.equal(kinds(owner4, "laneQc").length, 1);
  assert.equal(kinds(owner4, "announceLaneQc").length, 0, "every voter certifies from the owner's vote and its own");
});

test("an announced LaneQC certifies once; a forged one, one out of the window or a repeat does nothing", () => {
  const b = laneBlock(tc7, 2, 0, ZERO_HASH);
  const qc = qcOn(tc7, b);
  const m = lanes(tc7, 5);
  m.step({ kind: "laneBlock", block: b }, 0);
  assert.equal(m.isRedundantQc(qc), false, "held, not certified");
  const forged: LaneQc = { ...qc, signatures: qc.signatures.map(() => new Uint8Array(64).fill(7)) };
  const bad = m.step({ kind: "laneQc", qc: forged }, 1);
  assert.equal(kinds(bad, "laneQc").length, 0, "a forged LaneQC certifies nothing");
  assert.ok(bad.some((e) => e.kind === "event" && e.msg === "bad LaneQC"));
  const good = m.step({ kind: "laneQc", qc }, 2);
  assert.deepEqual(
    kinds(good, "laneQc").map((e) => (e.kind === "laneQc" ? e.qc.body.number : -1)),
    [0],
    "checked, then the same certification as one formed here (to consensus)",
  );
  assert.equal(kinds(good, "announceLaneQc").length, 0, "only the owner announces");
  assert.equal(kinds(m.step({ kind: "laneQc", qc }, 3), "laneQc").length, 0, "a repeat is nothing new");
  assert.equal(m.isRedundantQc(qc), true, "certified: the network edge ignores it unchecked");
  assert.equal(m.isRedundantVote(vote(tc7, 6, b)), true, "and so are further votes on it");
  // An observer holds no pushed block: a LaneQC for a final number is redundant all the same.
  const observer = freshLanes(tc7, null, LANES);
  assert.equal(observer.isRedundantQc(qc), false);
  observer.step({ kind: "finalized", ranges: [{ lane: 2, first: 0, next: 1, lastHash: headerHash(b.header) }] }, 0);
  assert.equal(observer.isRedundantQc(qc), true, "final, held or not");
  // Beyond the window (genesis laneWindow past the finalized tip): not taken.
  const far = laneBlock(tc7, 3, tc7.committee.params.laneWindow, ZERO_HASH);
  assert.equal(kinds(m.step({ kind: "laneQc", qc: qcOn(tc7, far) }, 4), "laneQc").length, 0);
});

test("the owner makes good a lost certification each retransmission period until the block is final", () => {
  // n = 7: the LaneQC again.
  const b7 = laneBlock(tc7, 0, 0, ZERO_HASH);
  const owner7 = lanes(tc7, 0);
  feed(owner7, tc7, b7, [1, 2, 3]);
  const again = kinds(owner7.step({ kind: "timer" }, 10_000), "announceLaneQc");
  assert.equal(again.length, 1);
  owner7.step({ kind: "finalized", ranges: [{ lane: 0, first: 0, next: 1, lastHash: headerHash(b7.header) }] }, 10_001);
  assert.equal(kinds(owner7.step({ kind: "timer" }, 20_000), "announceLaneQc").length, 0, "final: nothing");

  // The newest LaneQC may be beyond a proposal's reach (maxBlocksPerLane past the finalized tip): the
  // highest one within reach goes again too, or a member that missed it could never propose the lane.
  const short = testCommittee(7, { params: { maxBlocksPerLane: 2 } });
  const owner = lanes(short, 0);
  let parent = ZERO_HASH;
  for (let n = 0; n < 4; n++) {
    const block = laneBlock(short, 0, n, parent);
    parent = headerHash(block.header);
    feed(owner, short, block, [1, 2, 3], n + 1);
  }
  const numbers = kinds(owner.step({ kind: "timer" }, 10_000), "announceLaneQc").map((e) =>
    e.kind === "announceLaneQc" ? e.qc.body.number : -1,
  );
  assert.deepEqual(numbers.sort(), [1, 3], "the newest (3) and the highest in reach (1)");

  // n = 4: the owner's own vote again (an identical re-send through the outbox).
  const owner4 = lanes(tc4, 0);
  const made = [
    ...owner4.step({ kind: "tx", tx: new TextEncoder().encode("k=v") }, 0),
    ...owner4.step({ kind: "timer" }, LANES.maxBlockDelayMs),
  ];
  const write = made.find((e) => e.kind === "persist");
  assert.ok(write?.kind === "persist" && write.write.kind === "laneBlock");
  const own = write.write.block;
  owner4.step({ kind: "durable", id: write.id }, LANES.maxBlockDelayMs + 1);
  const ownVote = write.release.find((m) => m.kind === "laneVote");
  assert.ok(ownVote?.kind === "laneVote");
  owner4.step({ kind: "laneVote", vote: ownVote.msg, verified: true }, LANES.maxBlockDelayMs + 2);
  assert.equal(kinds(feed(owner4, tc4, own, [2], LANES.maxBlockDelayMs + 3), "laneQc").length, 1);
  const resent = owner4
    .step({ kind: "timer" }, 10_000)
    .flatMap((e) => (e.kind === "resend" ? e.release : []))
    .filter((m) => m.kind === "laneVote");
  assert.deepEqual(
    resent.map((m) => [m.msg.signer, m.msg.body.lane, m.msg.body.number]),
    [[0, 0, 0]],
    "the owner's vote on its newest certified block",
  );
  owner4.step(
    { kind: "finalized", ranges: [{ lane: 0, first: 0, next: 1, lastHash: headerHash(own.header) }] },
    10_001,
  );
  const after = owner4.step({ kind: "timer" }, 20_000).flatMap((e) => (e.kind === "resend" ? e.release : []));
  assert.equal(after.filter((m) => m.kind === "laneVote").length, 0, "final: nothing");
});

/** The network effects a protocol node emits for its own block, and for its vote on another lane's block. */
function routes(size: number): { ownBlock: string[]; otherBlock: string[]; qc: string[] } {
  const tc = testCommittee(size, { params: SIM_PARAMS });
  const node = new ProtocolNode({
    committee: tc.committee,
    me: 0,
    signer: tc.signers[0]!,
    config: SIM_PROTOCOL_CONFIG,
    recovered: emptyRecovered(size),
    app: new KvApp(),
  });
  node.start(0);
  const net = (out: NodeEffect[]) =>
    out.flatMap((e) =>
      e.kind === "sendLaneVote"
        ? [`vote to owner ${e.vote.body.lane}`]
        : e.kind === "broadcast" && (e.topic === "lane_vote" || e.topic === "lane_qc")
          ? [`${e.topic} to all`]
          : e.kind === "pushBlock"
            ? ["block to all"]
            : [],
    );
  const durable = (out: NodeEffect[], now: number) =>
    out.flatMap((e) => (e.kind === "persist" ? node.step({ kind: "durable", id: e.id }, now) : []));
  const produced = [
    ...node.step({ kind: "tx", tx: new TextEncoder().encode("k=v") }, 1),
    ...node.step({ kind: "timer", timer: "lanes", key: "lanes" }, 1 + SIM_PROTOCOL_CONFIG.lanes.maxBlockDelayMs),
  ];
  const ownBlock = net(durable(produced, 500));
  const other = laneBlock(tc, 2, 0, ZERO_HASH);
  const otherBlock = net(durable(node.step({ kind: "laneBlock", block: other }, 600), 601));
  // The votes that complete the own block's LaneQC (the own vote counted already).
  const own = produced.find((e) => e.kind === "persist" && e.write.kind === "laneBlock");
  assert.ok(own?.kind === "persist" && own.write.kind === "laneBlock");
  const block = own.write.block;
  const qc = [1, 2, 3, 4, 5]
    .slice(0, tc.committee.availabilityQuorum - 1)
    .flatMap((s) => net(node.step({ kind: "laneVote", vote: vote(tc, s, block) }, 700 + s)));
  return { ownBlock, otherBlock, qc };
}

test("the protocol node routes votes: to the owner; the own vote to all (n = 4) or to nobody (n = 7), the LaneQC then", () => {
  assert.deepEqual(routes(4), {
    ownBlock: ["block to all", "lane_vote to all"],
    otherBlock: ["vote to owner 2"],
    qc: [],
  });
  assert.deepEqual(routes(7), {
    ownBlock: ["block to all"],
    otherBlock: ["vote to owner 2"],
    qc: ["lane_qc to all"],
  });
});
