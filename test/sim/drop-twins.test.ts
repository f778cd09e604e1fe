import assert from "node:assert/strict";
import { test } from "node:test";
import { failingSeeds } from "./run-seeds.ts";

// Simulator seeds, part 2 of 2.

test("40 seeds, 4 nodes: drop, duplicate, delay and reorder", async () => {
  assert.deepEqual(await failingSeeds(201, 40, 4, ["drop"]), []);
});

test("40 seeds, 4 nodes: twins (one key, two processes)", async () => {
  assert.deepEqual(await failingSeeds(301, 40, 4, ["twins"]), []);
});

test("30 seeds, 4 nodes: every fault at once", async () => {
  assert.deepEqual(await failingSeeds(401, 30, 4, ["crash", "partition", "drop", "twins"]), []);
});

test("5 seeds, 7 nodes: crash and drop", async () => {
  assert.deepEqual(await failingSeeds(751, 5, 7, ["crash", "drop"]), []);
});
