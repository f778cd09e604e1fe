import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import pino from "pino";
import type { SyncClientApi, SyncStatus } from "../../node/net/index.ts";
import { CatchUp, type CatchUpSink, ONE_BEHIND_GRACE_MS } from "../../node/runtime/catch-up.ts";
import type { CommitQc } from "../../node/types/index.ts";

/**
 * The periodic probe against a peer's status: a peer one index ahead is the
 * pipeline, not a node behind; only a node still at that index
 * ONE_BEHIND_GRACE_MS after a probe first found it one behind (a missed
 * CommitQC), or a larger lag, fetches.
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
  const clock = { nowMs: 1_000_000 };
  const catchUp = new CatchUp(sync, sink, pino({ level: "silent" }), () => clock.nowMs);
  /** A probe `afterMs` after the previous one. */
  const probe = async (afterMs = 3_000) => {
    clock.nowMs += afterMs;
    catchUp.probe(node.finalized);
    for (let i = 0; i < 5; i++) await tick();
  };
  return { node, peer, fetches, probe, catchUp };
}

test("a peer one index ahead is the pipeline: no fetch until the node is still at that index a grace period later", async () => {
  const h = harness();
  await h.probe();
  assert.deepEqual(h.fetches, [], "one behind once: nothing fetched");
  // A probe soon after (on a first peer connect, or after a catch-up run) is not the grace period.
  await h.probe(ONE_BEHIND_GRACE_MS - 1);
  assert.deepEqual(h.fetches, [], "still within the grace period: nothing fetched");
  await h.probe(1);
  assert.equal(h.fetches.length, 1, "still at index 10 after the grace period: the CommitQC is fetched");
  assert.equal(h.fetches[0]![0], 11);
  // Still stuck at the next probe (the fetch did not bring it): fetched again, not re-armed.
  await h.probe();
  assert.equal(h.fetches.length, 2, "still stuck: fetched again");

  // The node moves on and is again one behind at a new index: that is new, no fetch.
  h.node.finalized = h.node.executed = 40;
  h.peer.finalized = 41;
  await h.probe();
  assert.equal(h.fetches.length, 2, "one behind at a new index: nothing fetched");
  h.node.finalized = h.node.executed = 41;
  h.peer.finalized = 42;
  await h.probe();
  assert.equal(h.fetches.length, 2, "the node moved on between probes: nothing fetched");
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
