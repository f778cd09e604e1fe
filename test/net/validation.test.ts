import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { SharedTopic } from "../../node/net/index.ts";
import { codecs, consensusMessageCodec, DOMAINS } from "../../node/types/index.ts";
import { laneChain, laneVote, netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const c = netCommittee(4, 20);
const limits = { maxConsensusMessageBytes: 64 * 1024, maxGossipFrameBytes: 256 * 1024 };
let v0: TestNode;
let v1: TestNode;
const attackers: TestNode[] = [];

before(async () => {
  v0 = await startNode(c, { index: 0, limits });
  v1 = await startNode(c, { index: 1, peers: v0.net.addresses(), limits });
  await until("v0 and v1 connected", () => v0.net.peers().some((p) => p.validatorIndex === 1));
});

after(() => stopAll([v0, v1, ...attackers]));

/** A fresh non-validator host connected to v0, so each case starts from a clean peer score. */
async function attacker(): Promise<TestNode> {
  const a = await startNode(c, { index: null, peers: v0.net.addresses(), limits });
  attackers.push(a);
  await until("attacker subscribed at v0", () => v0.net.topicPeers("consensus").includes(a.net.peerId));
  await until("v0 subscribed at attacker", () => a.net.topicPeers("lane_vote").includes(v0.net.peerId));
  return a;
}

async function expectRejected(topic: SharedTopic, data: Uint8Array, reason: string): Promise<void> {
  const a = await attacker();
  const before = v0.net.metrics.reason(topic, "reject", reason);
  await a.net.publishRaw(topic, data);
  await until(`${topic} ${reason} rejected`, () => v0.net.metrics.reason(topic, "reject", reason) === before + 1);
  assert.equal(v0.inbox.laneVotes.length + v0.inbox.consensus.length + v0.inbox.appVotes.length, 0);
}

test("garbage bytes are rejected as undecodable", async () => {
  await expectRejected("lane_vote", new Uint8Array([1, 2, 3, 4, 5]), "decode");
  await expectRejected("consensus", new Uint8Array(100).fill(0xff), "decode");
});

test("a vote with a bad signature is rejected", async () => {
  const block = laneChain(c, 2, 1)[0]!;
  // Claims signer 0, signed with validator 1's key.
  const forged = laneVote(c, 0, block, c.signers[1]);
  await expectRejected("lane_vote", codecs.laneVote.encode(forged), "bad_signature");
});

test("a vote from a non-member signer index is rejected", async () => {
  const vote = { ...laneVote(c, 0, laneChain(c, 2, 1)[0]!), signer: 9 };
  await expectRejected("lane_vote", codecs.laneVote.encode(vote), "non_member");
});

test("a proposal not signed by its view's leader is rejected", async () => {
  const proposal = { view: { index: 1, round: 0 }, createdAtMs: 5, ranges: [] };
  // Leader of (1, 0) is validator 1; validator 3 signs it.
  const signature = c.signers[3]!.sign(DOMAINS.proposal, codecs.proposal.encode(proposal));
  const msg = consensusMessageCodec.encode({
    kind: "proposal",
    msg: { proposal, signature, laneQcs: [], timeoutQc: null, prevCommitQc: null },
  });
  await expectRejected("consensus", msg, "wrong_leader");
});

test("oversize messages are rejected before decoding", async () => {
  await expectRejected("lane_vote", new Uint8Array(codecs.laneVote.maxBytes + 1), "oversize");
  await expectRejected("consensus", new Uint8Array(limits.maxConsensusMessageBytes + 1), "oversize");
});

test("every rejection is counted by topic and verdict", () => {
  assert.equal(v0.net.metrics.messages("lane_vote", "reject"), 4);
  assert.equal(v0.net.metrics.messages("consensus", "reject"), 3);
  assert.equal(v0.net.metrics.messages("lane_vote", "accept"), 0);
});

test("every rejected sender lost peer score", async () => {
  assert.equal(attackers.length, 7);
  // Scores are recomputed on the gossipsub heartbeat.
  await until("negative scores", () => attackers.every((a) => v0.net.peerScore(a.net.peerId) < 0));
  assert.ok(v0.net.peerScore(v1.net.peerId) >= 0);
});

test("a pushed lane block with a bad signature is rejected, not delivered, and its pusher is banned", async () => {
  // A member of its own (v2), so the honest v1 above stays connected.
  const v2 = await startNode(c, { index: 2, peers: v0.net.addresses(), limits });
  attackers.push(v2);
  await until("v0 and v2 connected", () => v0.net.peers().some((p) => p.validatorIndex === 2));
  const good = laneChain(c, 2, 1)[0]!;
  const bad = { ...good, signature: c.signers[3]!.sign(DOMAINS.laneBlock, codecs.laneBlockHeader.encode(good.header)) };
  v2.net.pushLaneBlock(bad);
  await until("push rejected at v0", () => v0.net.metrics.snapshot().push.rejected >= 1);
  assert.equal(v0.inbox.laneBlocks.length, 0);
  // One invalid message is enough (REJECTS_BEFORE_BAN): v2 is disconnected and refused for banMs.
  await until("v2 banned at v0", () => v0.net.isBanned(v2.net.peerId));
  await until("v2 disconnected", () => !v0.net.peers().some((p) => p.validatorIndex === 2));
  v2.net.pushLaneBlock(good);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(v0.inbox.laneBlocks.length, 0, "nothing from a banned peer is delivered");
  assert.ok(
    v0.net.peers().some((p) => p.validatorIndex === 1),
    "the honest member stays connected",
  );
});
