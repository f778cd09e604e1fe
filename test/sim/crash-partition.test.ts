import assert from "node:assert/strict";
import { test } from "node:test";
import { failingSeeds } from "./run-seeds.ts";

// Simulator seeds, part 1 of 2 (the other file runs alongside on the second core).

test("80 seeds, 4 nodes: crash-restart (unsynced writes lost)", async () => {
  assert.deepEqual(await failingSeeds(1, 80, 4, ["crash"]), []);
});

test("50 seeds, 4 nodes: partitions", async () => {
  assert.deepEqual(await failingSeeds(101, 50, 4, ["partition"]), []);
});

test("40 seeds, 4 nodes and an observer: crash, partition, drop and delay together", async () => {
  assert.deepEqual(await failingSeeds(401, 40, 4, ["crash", "partition", "drop"], 1), []);
});

test("10 seeds, 7 nodes: crash, partition, drop and delay together", async () => {
  assert.deepEqual(await failingSeeds(701, 10, 7, ["crash", "partition", "drop"]), []);
});
