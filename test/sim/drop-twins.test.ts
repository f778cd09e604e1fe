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

test("40 seeds, 4 nodes: twins (one key, two processes)", async () => {
  assert.deepEqual(await failingSeeds(301, 40, 4, ["twins"]), []);
});

test("20 seeds, 4 nodes: twins with partitions, drop and delay", async () => {
  assert.deepEqual(await failingSeeds(501, 20, 4, ["twins", "partition", "drop"]), []);
});

test("5 seeds, 7 nodes: twins with drop and delay", async () => {
  assert.deepEqual(await failingSeeds(751, 5, 7, ["twins", "drop"]), []);
});
