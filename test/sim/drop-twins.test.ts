import assert from "node:assert/strict";
import { test } from "node:test";
import { failingSeeds } from "./run-seeds.ts";

// Simulator seeds, part 2 of 2.
//
// Twins with crash-restart: an honest node that kept the losing branch of an
// equivocating lane must restart from it (recovery reports the equivocation
// instead of refusing the database).

test("40 seeds, 4 nodes: drop, duplicate, delay and reorder", async () => {
  assert.deepEqual(await failingSeeds(201, 40, 4, ["drop"]), []);
});

test("50 seeds, 4 nodes: twins (one key, two processes)", async () => {
  assert.deepEqual(await failingSeeds(301, 50, 4, ["twins"]), []);
});

test("30 seeds, 4 nodes: twins with partitions, drop and delay", async () => {
  assert.deepEqual(await failingSeeds(501, 30, 4, ["twins", "partition", "drop"]), []);
});

test("30 seeds, 4 nodes: every fault at once (twins, crash-restart, partitions, drop and delay)", async () => {
  assert.deepEqual(await failingSeeds(601, 30, 4, ["twins", "crash", "partition", "drop"]), []);
});

test("10 seeds, 7 nodes: twins with drop and delay", async () => {
  assert.deepEqual(await failingSeeds(751, 10, 7, ["twins", "drop"]), []);
});
