/**
 * MachineCounters carries the machines' plain counters over to Prometheus
 * when asked (before a scrape): each counter grows by what the machine
 * counted since the last look, never twice for the same count.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { VerifyCache } from "../../node/crypto/index.ts";
import { createMetrics } from "../../node/observability/index.ts";
import type { ProtocolNode } from "../../node/protocol/index.ts";
import { MachineCounters } from "../../node/runtime/machine-counters.ts";

function fakeProtocol() {
  return {
    lanes: {
      counters: { blocksProduced: 0, blocksAccepted: 0, blocksRejected: 0, equivocations: 0, laneQcs: 0 },
      mempoolSize: 0,
      blockDelayMs: 100,
      heldPayloadBytes: 0,
    },
    consensus: {
      counters: {
        timeoutVotes: 0,
        timeoutQcs: 0,
        proposals: 0,
        proposalsGathered: 0,
        proposalsGatherExpired: 0,
        bufferedNextDropped: 0,
      },
      view: { index: 1, round: 0 },
    },
    execution: { counters: { appVotesDropped: 0, poolDropped: 0 } },
    attestation: { counters: { votes: { accepted: 0 }, votesSigned: 0 } },
    outbox: { pendingWrites: 0 },
  };
}

async function value(metrics: ReturnType<typeof createMetrics>, line: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  assert.ok(found, `${line} is exported`);
  return Number(found.split(" ")[1]);
}

test("each update adds what grew since the last one, and the gauges read the machines at that moment", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const p = fakeProtocol();
  const counters = new MachineCounters(p as unknown as ProtocolNode, metrics);
  p.lanes.counters.blocksProduced = 3;
  p.consensus.counters.proposals = 5;
  p.consensus.counters.proposalsGathered = 2;
  p.lanes.mempoolSize = 7;
  p.lanes.blockDelayMs = 250;
  p.lanes.heldPayloadBytes = 4096;
  p.consensus.view = { index: 9, round: 1 };
  counters.update();
  assert.equal(await value(metrics, 'validator_lane_blocks_total{outcome="produced"}'), 3);
  assert.equal(await value(metrics, 'validator_proposals_total{wait="none"}'), 3);
  assert.equal(await value(metrics, 'validator_proposals_total{wait="gathered"}'), 2);
  assert.equal(await value(metrics, "validator_mempool_txs"), 7);
  assert.equal(await value(metrics, "validator_lane_block_delay_seconds"), 0.25);
  assert.equal(await value(metrics, "validator_lane_held_bytes"), 4096);
  assert.equal(await value(metrics, "validator_view_index"), 9);

  counters.update();
  assert.equal(
    await value(metrics, 'validator_lane_blocks_total{outcome="produced"}'),
    3,
    "nothing new, nothing added",
  );

  p.lanes.counters.blocksProduced = 4;
  p.lanes.mempoolSize = 0;
  counters.update();
  assert.equal(await value(metrics, 'validator_lane_blocks_total{outcome="produced"}'), 4);
  assert.equal(await value(metrics, "validator_mempool_txs"), 0);
});

test("a rebuilt protocol counts from zero again; the signature cache, which outlives it, is not counted twice", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const cache = new VerifyCache(8);
  const old = fakeProtocol();
  const counters = new MachineCounters(old as unknown as ProtocolNode, metrics, cache);
  cache.has("a");
  cache.add("a");
  cache.has("a");
  old.lanes.counters.blocksProduced = 5;
  counters.update();
  assert.equal(await value(metrics, 'validator_signature_checks_total{result="verified"}'), 1);
  assert.equal(await value(metrics, 'validator_signature_checks_total{result="cached"}'), 1);

  // The old machines counted one more block before the rebuild: carried over by follow().
  old.lanes.counters.blocksProduced = 6;
  const rebuilt = fakeProtocol();
  counters.follow(rebuilt as unknown as ProtocolNode);
  assert.equal(await value(metrics, 'validator_lane_blocks_total{outcome="produced"}'), 6);
  rebuilt.lanes.counters.blocksProduced = 2;
  cache.has("b");
  counters.update();
  assert.equal(await value(metrics, 'validator_lane_blocks_total{outcome="produced"}'), 8, "6 before, 2 since");
  assert.equal(
    await value(metrics, 'validator_signature_checks_total{result="verified"}'),
    2,
    "one new miss, the old ones not again",
  );
  assert.equal(await value(metrics, 'validator_signature_checks_total{result="cached"}'), 1);
});
