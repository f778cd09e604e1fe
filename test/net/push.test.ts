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

test("blocks larger than a muxer frame arrive intact (frames reassembled across chunks)", async () => {
  const v2 = await startNode(c, { index: 2 });
  const v3 = await startNode(c, { index: 3, peers: v2.net.addresses() });
  nodes.push(v2, v3);
  await until("v2 and v3 connected", () => v2.net.peers().some((p) => p.validatorIndex === 3));
  // ~120 KiB each, spanning several 64 KiB yamux frames; pushed back to back.
  const chain = laneChain(c, 2, 12, 120_000);
  for (const b of chain) v2.net.pushLaneBlock(b);
  await until("all 12 arrived", () => v3.inbox.laneBlocks.length === 12);
  assert.deepEqual(
    v3.inbox.laneBlocks.map((r) => r.block.header.number),
    chain.map((b) => b.header.number),
  );
  assert.equal(v3.net.metrics.snapshot().push.rejected, 0);
});

test("blocks pushed in one burst on an open, writable stream all go out", async () => {
  const v0 = nodes[0]!;
  const v1 = nodes[1]!;
  // As many as v0's queue bound (8). The stream to v1 is open from the first test, so
  // the first write completes synchronously while the rest are being enqueued.
  const chain = laneChain(c, 0, 48).slice(40);
  const before = v1.inbox.laneBlocks.length;
  for (const b of chain) v0.net.pushLaneBlock(b);
  await until("the whole burst arrived", () => v1.inbox.laneBlocks.length === before + chain.length);
  assert.ok(v0.net.pushStatus().every((p) => p.queuedBlocks === 0 || p.peerId !== v1.net.peerId));
});

test("with loopback off, own pushed blocks never reach the own handler", async () => {
  const v3 = await startNode(c, { index: 3, loopback: false });
  const v2 = await startNode(c, { index: 2, peers: v3.net.addresses() });
  nodes.push(v3, v2);
  await until("v2 and v3 connected", () => v3.net.peers().some((p) => p.validatorIndex === 2));
  const [block] = laneChain(c, 3, 1);
  v3.net.pushLaneBlock(block!);
  await until("the peer got the block", () => v2.inbox.laneBlocks.some((r) => r.block.header.lane === 3));
  assert.equal(v3.inbox.laneBlocks.length, 0);
});
