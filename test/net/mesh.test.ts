import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { aggregate } from "../../node/crypto/index.ts";
import { TOPICS } from "../../node/net/index.ts";
import { bytesEqual, headerHash } from "../../node/types/index.ts";
import {
  appVote,
  commitQc,
  laneChain,
  laneVote,
  netCommittee,
  prepareVote,
  startNode,
  stopAll,
  type TestNode,
  until,
} from "./fixtures.ts";

const c = netCommittee(4);
const nodes: TestNode[] = [];
let observer: TestNode | undefined;

before(async () => {
  // Each node knows the addresses of the ones started before it; the earlier
  // ones find the later ones through their inbound connections.
  for (let i = 0; i < 4; i++) {
    nodes.push(await startNode(c, { index: i, peers: nodes.flatMap((n) => n.net.addresses()) }));
  }
  observer = await startNode(c, { index: null, peers: nodes.flatMap((n) => n.net.addresses()) });
  const all = [...nodes, observer];
  await until("a full mesh with the observer", () =>
    all.every((n) => TOPICS.every((t) => n.net.topicPeers(t).length === all.length - 1)),
  );
});

after(() => stopAll([...nodes, observer]));

test("every validator is connected to every other committee member", () => {
  for (const [i, n] of nodes.entries()) {
    const members = n.net
      .peers()
      .map((p) => p.validatorIndex)
      .filter((v) => v !== null)
      .sort();
    assert.deepEqual(
      members,
      [0, 1, 2, 3].filter((v) => v !== i),
    );
    assert.equal(n.net.metrics.snapshot().peers.committeeConnected, 3);
  }
});

test("lane votes, consensus messages and app votes reach every node, observer included, and loop back", async () => {
  const block = laneChain(c, 1, 1)[0]!;
  await nodes[0]!.net.publishLaneVote(laneVote(c, 0, block));
  await nodes[1]!.net.publishConsensus(prepareVote(c, 1, 5));
  await nodes[2]!.net.publishConsensus({ kind: "commitQc", msg: commitQc(c, 4) });
  await nodes[3]!.net.publishAppVote(appVote(c, 3, 9));
  const all = [...nodes, observer!];
  await until("every message everywhere", () =>
    all.every((n) => n.inbox.laneVotes.length === 1 && n.inbox.consensus.length === 2 && n.inbox.appVotes.length === 1),
  );
  for (const n of all) {
    assert.equal(n.inbox.laneVotes[0]!.signer, 0);
    assert.ok(bytesEqual(n.inbox.laneVotes[0]!.body.headerHash, headerHash(block.header)));
    const kinds = n.inbox.consensus.map((m) => m.kind).sort();
    assert.deepEqual(kinds, ["commitQc", "prepare"]);
    assert.equal(n.inbox.appVotes[0]!.body.index, 9);
  }
  // Publishers got their own message through the loopback, the others through gossip.
  assert.equal(nodes[0]!.net.metrics.messages("lane_vote", "accept"), 0);
  assert.equal(nodes[1]!.net.metrics.messages("lane_vote", "accept"), 1);
  assert.equal(observer!.net.metrics.messages("consensus", "accept"), 2);
});

test("a vote sent to a lane's owner reaches that owner only; the owner's announced LaneQC reaches everyone", async () => {
  const all = [...nodes, observer!];
  await until("each owner's vote topic is known to every other validator", () =>
    nodes.every((n, i) => nodes.every((m, j) => i === j || n.net.laneOwnerPeers(j).join() === m.net.peerId)),
  );
  // (Above: each owner topic has exactly its owner subscribed, so the observer subscribes to none.)
  assert.deepEqual(observer!.net.laneOwnerPeers(1), [nodes[1]!.net.peerId], "an observer knows the owners too");
  const block = laneChain(c, 1, 1)[0]!;
  const before = all.map((n) => n.inbox.laneVotes.length);
  await nodes[0]!.net.sendLaneVote(laneVote(c, 0, block));
  const signed = [1, 2].map((s) => ({ signer: s, signature: laneVote(c, s, block).signature }));
  const agg = aggregate(signed, c.committee.size);
  await until("the owner has the vote", () => nodes[1]!.inbox.laneVotes.length === before[1]! + 1);
  await nodes[1]!.net.publishLaneQc({
    body: laneVote(c, 1, block).body,
    signers: agg.signers,
    signatures: agg.signatures,
  });
  // By the time everyone has the later LaneQC, a broadcast vote would have reached them too.
  await until("every node has the LaneQC", () => all.every((n) => n.inbox.laneQcs.length === 1));
  assert.deepEqual(
    all.map((n, i) => n.inbox.laneVotes.length - before[i]!),
    [1, 1, 0, 0, 0],
    "the sender's own loopback and the owner, nobody else",
  );
  assert.equal(nodes[1]!.net.metrics.messages("lane_vote_owner", "accept"), 1);
  assert.equal(observer!.net.metrics.messages("lane_qc", "accept"), 1);
});

test("the push protocol delivers each lane block to every other validator, in order, and not to observers", async () => {
  const chain = laneChain(c, 2, 20, 4096);
  for (const b of chain) nodes[2]!.net.pushLaneBlock(b);
  await until("20 blocks at each validator", () => nodes.every((n) => n.inbox.laneBlocks.length === 20));
  for (const n of nodes) {
    assert.deepEqual(
      n.inbox.laneBlocks.map((r) => r.block.header.number),
      chain.map((b) => b.header.number),
    );
    // The owner's own copy comes through the loopback, the rest over the wire: all from the owner.
    assert.ok(n.inbox.laneBlocks.every((r) => r.from === nodes[2]!.net.peerId));
  }
  assert.equal(nodes[2]!.net.metrics.snapshot().push.sent, 60);
  assert.equal(observer!.inbox.laneBlocks.length, 0);
});

test("an observer cannot push, and a validator cannot push another lane", () => {
  assert.throws(() => observer!.net.pushLaneBlock(laneChain(c, 0, 1)[0]!), /observer/);
  assert.throws(() => nodes[0]!.net.pushLaneBlock(laneChain(c, 1, 1)[0]!), /not this validator's lane/);
});
