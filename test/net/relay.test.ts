/**
 * Gossip without a mesh (node/net/host.ts: D = 0): a publish goes straight to
 * every subscribed peer and nothing is forwarded, so in the committee's full
 * mesh each message crosses each link once. A node that has no link to the
 * publisher still gets the message, from a neighbour's IHAVE/IWANT gossip
 * (with no mesh anywhere, the only path from node2 or node3 to the observer).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { TOPICS } from "../../node/net/index.ts";
import { appVote, laneChain, laneVote, netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const c = netCommittee(4, 120);
const nodes: TestNode[] = [];
/** Knows node0 only; the validators never dial an observer. */
let observer: TestNode | undefined;

before(async () => {
  for (let i = 0; i < 4; i++) {
    nodes.push(await startNode(c, { index: i, peers: nodes.flatMap((n) => n.net.addresses()) }));
  }
  observer = await startNode(c, { index: null, peers: nodes[0]!.net.addresses() });
  await until("the validators' full mesh and the observer's one link", () =>
    TOPICS.every(
      (t) =>
        nodes.every((n, i) => n.net.topicPeers(t).length === (i === 0 ? 4 : 3)) &&
        observer!.net.topicPeers(t).length === 1,
    ),
  );
});

after(() => stopAll([...nodes, observer]));

test("no node has a gossip mesh, so nothing is forwarded", async () => {
  // Past the first heartbeats (1 s apart), which would have grafted a mesh with the default degree.
  await new Promise((r) => setTimeout(r, 2_500));
  for (const [i, n] of [...nodes, observer!].entries()) {
    for (const t of TOPICS) assert.deepEqual(n.net.meshPeers(t), [], `node ${i}, topic ${t}`);
  }
});

test("a node with no link to the publisher gets the message through a neighbour's IHAVE/IWANT", async () => {
  await nodes[2]!.net.publishAppVote(appVote(c, 2, 11));
  const block = laneChain(c, 3, 1)[0]!;
  await nodes[3]!.net.publishLaneVote(laneVote(c, 3, block));
  // Heartbeats are 1 s apart; the IHAVE of the next one repairs the gap.
  await until("node2's and node3's messages at the observer", () => {
    const o = observer!.inbox;
    return o.appVotes.length === 1 && o.laneVotes.length === 1;
  });
  assert.equal(observer!.inbox.appVotes[0]!.signer, 2);
  assert.equal(observer!.inbox.laneVotes[0]!.signer, 3);
  for (const [i, n] of nodes.entries()) {
    // Every validator has them: from the publisher directly, or its own loopback.
    assert.equal(n.inbox.appVotes.length, 1, `node${i}`);
    assert.equal(n.inbox.laneVotes.length, 1, `node${i}`);
  }
});
