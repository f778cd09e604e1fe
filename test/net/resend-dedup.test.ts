import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { laneChain, laneVote, netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const c = netCommittee(4, 60);
const nodes: Array<TestNode | undefined> = [];

after(() => stopAll(nodes));

/**
 * The protocol repairs lost votes by re-sending the identical signed bytes
 * (lanes retransmit every retransmitMs, consensus timeout re-sends, start()
 * re-sends after a restart). gossipsub's message id is a content hash and it
 * silently drops a publish whose id is in its two-minute seen cache, even when
 * the first publish reached no peer. The gossip envelope's publish generation
 * (node/net/gossip-envelope.ts) makes each re-send a new gossip message; this
 * test failed before it.
 */
test("an identical vote re-sent after a peer (re)connects reaches that peer", async () => {
  const v0 = await startNode(c, { index: 0 });
  nodes.push(v0);
  const chain = laneChain(c, 0, 2);
  const lost = laneVote(c, 0, chain[0]!);
  // Published while v0 has no peer (partitioned, or just restarted): nobody gets it.
  await v0.net.publishLaneVote(lost);
  // Longer than gossipsub's message cache window (IHAVE gossip cannot repair it).
  await sleep(6000);

  const v1 = await startNode(c, { index: 1, peers: v0.net.addresses() });
  nodes.push(v1);
  await until("mesh", () => v0.net.topicPeers("lane_vote").length === 1 && v1.net.topicPeers("lane_vote").length === 1);

  // The retransmission: the very same signed vote, as the lanes machine re-sends it.
  await v0.net.publishLaneVote(lost);
  // Control: a fresh vote published after it does arrive.
  await v0.net.publishLaneVote(laneVote(c, 0, chain[1]!));
  await until("control vote delivered", () => v1.inbox.laneVotes.some((v) => v.body.number === 1));
  await sleep(500);
  assert.ok(
    v1.inbox.laneVotes.some((v) => v.body.number === 0),
    "the re-sent vote for block 0 never reached v1: gossipsub dropped the identical re-publish as a duplicate",
  );
});
