import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import pino from "pino";
import type { SyncClientApi, SyncStatus } from "../../node/net/index.ts";
import { CatchUp, type CatchUpSink } from "../../node/runtime/catch-up.ts";
import type { CommitQc } from "../../node/types/index.ts";

/**
 * The periodic probe against a peer's status: a peer one index ahead is the
 * pipeline, not a node behind; only the same lag on two probes in a row at
 * the same index (a missed CommitQC) or a larger lag fetches.
 */

function harness() {
  const node = { finalized: 10, executed: 10 };
  const peer = { finalized: 11 };
  const fetches: Array<[number, number]> = [];
  const held = (next: number) => ({ first: 1, next });
  const sync: SyncClientApi = {
    status: async () =>
      ({ commitQcs: held(peer.finalized + 1), globalBlocks: held(peer.finalized + 1) }) as unknown as SyncStatus,
    fetchCommitQcs: async (first, last) => {
      fetches.push([first, last]);
      return [{} as CommitQc];
    },
    fetchLaneBlocks: async () => [],
    fetchGlobalBlocks: async () => [],
    fetchBatchQcs: async () => [],
  };
  const sink: CatchUpSink = {
    laneBlocks: () => {},
    commitQcs: () => {},
    globalBlocks: () => {},
    batchQcs: () => {},
    executedIndex: () => node.executed,
    finalizedIndex: () => node.finalized,
  };
  const catchUp = new CatchUp(sync, sink, pino({ level: "silent" }));
  const probe = async () => {
    catchUp.probe(node.finalized);
    for (let i = 0; i < 5; i++) await tick();
  };
  return { node, peer, fetches, probe, catchUp };
}

test("a peer one index ahead is the pipeline: no fetch until two probes in a row find the node at the same index", async () => {
  const h = harness();
  await h.probe();
  assert.deepEqual(h.fetches, [], "one behind once: nothing fetched");
  await h.probe();
  assert.equal(h.fetches.length, 1, "still at index 10 on the next probe: the CommitQC is fetched");
  assert.equal(h.fetches[0]![0], 11);

  // The node moves on and is again one behind at a new index: that is new, no fetch.
  h.node.finalized = h.node.executed = 40;
  h.peer.finalized = 41;
  await h.probe();
  assert.equal(h.fetches.length, 1, "one behind at a new index: nothing fetched");
  h.node.finalized = h.node.executed = 41;
  h.peer.finalized = 42;
  await h.probe();
  assert.equal(h.fetches.length, 1, "the node moved on between probes: nothing fetched");
  h.catchUp.stop();
});

test("two indexes behind fetches at the first probe", async () => {
  const h = harness();
  h.peer.finalized = 12;
  await h.probe();
  assert.deepEqual(
    h.fetches.map(([first]) => first),
    [11],
  );
  h.catchUp.stop();
});

test("level with the peer or ahead of it: nothing fetched", async () => {
  const h = harness();
  h.peer.finalized = 10;
  await h.probe();
  await h.probe();
  h.peer.finalized = 9;
  await h.probe();
  assert.deepEqual(h.fetches, []);
  h.catchUp.stop();
});
