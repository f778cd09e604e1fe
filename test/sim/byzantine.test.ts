import assert from "node:assert/strict";
import { test } from "node:test";
import { failingSeeds } from "./run-seeds.ts";

// Issue 11: one Byzantine member floods far-future app votes, timeout votes
// and proposals, junk and equivocating lane blocks, and second prepare and
// app votes. Safety holds, every honest node finalizes again after the fault
// phase, and (without other faults) every honest validator holds verified
// evidence of its lane-block, prepare and app-vote equivocations.

test("6 seeds, 4 nodes: a Byzantine member's flood; liveness after heal; evidence on every honest node", async () => {
  assert.deepEqual(await failingSeeds(1101, 6, 4, ["byzantine"]), []);
});

test("4 seeds, 4 nodes: the Byzantine flood with crash-restart, partitions and drop", async () => {
  assert.deepEqual(await failingSeeds(1201, 4, 4, ["byzantine", "crash", "partition", "drop"]), []);
});
