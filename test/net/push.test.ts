import assert from "node:assert/strict";
import { after, test } from "node:test";
import { laneChain, netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const c = netCommittee(4, 80);
const nodes: TestNode[] = [];

after(() => stopAll(nodes));

test("a peer's push queue is bounded: an absent peer gets the newest blocks and syncs the rest", async () => {
  const v0 = await startNode(c, { index: 0, limits: { maxPushQueueBlocks: 8 } });
  nodes.push(v0);
  const chain = laneChain(c, 0, 40);
  for (const b of chain) v0.net.pushLaneBlock(b);
  // Three absent peers, 32 blocks dropped for each.
  assert.equal(v0.net.metrics.snapshot().push.dropped, 3 * 32);

  const v1 = await startNode(c, { index: 1, peers: v0.net.addresses() });
  nodes.push(v1);
  await until("the queued blocks arrive", () => v1.inbox.laneBlocks.length === 8);
  assert.deepEqual(
    v1.inbox.laneBlocks.map((r) => r.block.header.number),
    [32, 33, 34, 35, 36, 37, 38, 39],
  );
  // The owner's own handler saw every block through the loopback.
  await until("loopback", () => v0.inbox.laneBlocks.length === 40);
});
