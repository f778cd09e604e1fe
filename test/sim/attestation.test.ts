import assert from "node:assert/strict";
import { test } from "node:test";
import { failingSeeds } from "./run-seeds.ts";
import { runSimulation } from "./simulation.ts";

// Batch attestation in the simulator. Every simulated run (here and in the
// other seed files) runs the attestation machine on every node with one
// simulated main node, and checks: no attester signs two hashes for one
// batch (across restarts), no two BatchQCs for one number, BatchQCs stored
// gap-free, and after the faults heal every batch closed by then gets a
// BatchQC on every honest node.

test("an attester's first batch vote is dropped: its re-push gets through and the BatchQC still forms", async () => {
  // Three attesters of weight 1 (v3 has none): Qa = 3, so BatchQC 0 needs v1's vote.
  const r = await runSimulation({
    seed: 7,
    nodes: 4,
    faults: [],
    attesterWeights: [1, 1, 1, 0],
    dropFirstBatchVoteOf: 1,
  });
  assert.deepEqual(r.violations, []);
  assert.equal(r.droppedFirstBatchVote, true, "v1's first batch vote reached nobody");
  assert.ok(r.batchQcs >= 2, `BatchQCs stored everywhere: ${r.batchQcs}`);
  assert.deepEqual(r.batchQcSigners.get(0), [0, 1, 2], "BatchQC 0 carries v1's (re-pushed) signature");
});

test("with no faults, BatchQCs keep forming on every node", async () => {
  const r = await runSimulation({ seed: 3, nodes: 4, faults: [], livenessBoundMs: 3000 });
  assert.deepEqual(r.violations, []);
  assert.ok(r.batchQcs >= 3, `BatchQCs stored everywhere: ${r.batchQcs}`);
});

test("20 seeds, 4 nodes and an observer: crash-restart and twins, attestation invariants hold", async () => {
  assert.deepEqual(await failingSeeds(901, 20, 4, ["crash", "twins"], 1), []);
});

test("10 seeds, 7 nodes: crash, partition, drop and twins together", async () => {
  assert.deepEqual(await failingSeeds(951, 10, 7, ["crash", "partition", "drop", "twins"]), []);
});
