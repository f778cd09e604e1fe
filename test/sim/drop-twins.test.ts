import assert from "node:assert/strict";
import { test } from "node:test";
import { failingSeeds } from "./run-seeds.ts";

// Simulator seeds, part 2 of 2.
//
// Twins are not combined with crash-restart here: an honest node that holds
// the losing branch of an equivocating lane cannot restart, because storage's
// recovery rejects a lane WAL that differs from a finalized tip and no durable
// write can re-base a lane WAL yet (see the report; replay with
// `npm run sim -- --seeds 1 --from 122 --faults crash,partition,drop,twins`).

test("40 seeds, 4 nodes: drop, duplicate, delay and reorder", async () => {
  assert.deepEqual(await failingSeeds(201, 40, 4, ["drop"]), []);
});

test("50 seeds, 4 nodes: twins (one key, two processes)", async () => {
  assert.deepEqual(await failingSeeds(301, 50, 4, ["twins"]), []);
});

test("30 seeds, 4 nodes: twins with partitions, drop and delay", async () => {
  assert.deepEqual(await failingSeeds(501, 30, 4, ["twins", "partition", "drop"]), []);
});

test("10 seeds, 7 nodes: twins with drop and delay", async () => {
  assert.deepEqual(await failingSeeds(751, 10, 7, ["twins", "drop"]), []);
});
