import assert from "node:assert/strict";
import { after, test } from "node:test";
import { laneChain, laneVote, netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const c = netCommittee(4, 40);
const nodes: Array<TestNode | undefined> = [];

after(() => stopAll(nodes));

function connected(a: TestNode, validator: number): boolean {
  return a.net.peers().some((p) => p.validatorIndex === validator);
}

test("a validator that stops and starts again is redialed, and gets what was pushed meanwhile", async () => {
  // Validator 3 never starts: the others keep trying it without blocking anything.
  const v0 = await startNode(c, { index: 0 });
  const v1 = await startNode(c, { index: 1, peers: v0.net.addresses() });
  const v2 = await startNode(c, { index: 2, peers: [...v0.net.addresses(), ...v1.net.addresses()] });
  nodes.push(v0, v1, v2);
  // Gossip subscriptions follow identify, which is also where v0 and v1 learn v2's listen address.
  await until("triangle", () => [v0, v1, v2].every((v) => v.net.topicPeers("lane_vote").length === 2));
  const v2Listen = v2.net.addresses().map((a) => a.replace(/\/p2p\/.*$/, ""));

  await v2.net.stop();
  await until("v2 gone", () => !connected(v0, 2) && !connected(v1, 2));

  // While v2 is down, v0 keeps producing: v1 gets every block at once, v2's copies wait in its queue.
  const chain = laneChain(c, 0, 5);
  for (const b of chain) v0.net.pushLaneBlock(b);
  await until("v1 has the blocks", () => v1.inbox.laneBlocks.length === 5);

  // Same key, same port, and no configured peers: only the others' redialing can reconnect it.
  const v2b = await startNode(c, { index: 2, listen: v2Listen, peers: [] });
  nodes.push(v2b);
  await until("v0 and v1 redialed v2", () => connected(v0, 2) && connected(v1, 2));
  await until("queued blocks delivered", () => v2b.inbox.laneBlocks.length === 5);
  assert.deepEqual(
    v2b.inbox.laneBlocks.map((r) => r.block.header.number),
    [0, 1, 2, 3, 4],
  );

  // Gossip works again in both directions.
  await until(
    "mesh",
    () => v2b.net.topicPeers("lane_vote").length === 2 && v0.net.topicPeers("lane_vote").length === 2,
  );
  await v2b.net.publishLaneVote(laneVote(c, 2, chain[0]!));
  await until("vote from restarted v2", () => v0.inbox.laneVotes.length === 1 && v1.inbox.laneVotes.length === 1);
  assert.equal(v0.inbox.laneVotes[0]!.signer, 2);
  assert.equal(v0.net.metrics.snapshot().peers.committeeConnected, 2);
});
