import assert from "node:assert/strict";
import { test } from "node:test";
import { ChainPruner } from "../../node/runtime/chain-pruner.ts";
import { chainWithClosedBatch } from "../storage/helpers.ts";

async function settle(p: ChainPruner): Promise<void> {
  while (p.running !== null) await p.running;
}

test("retention prunes in bounded batches up to the newest retainIndexes, never the open batch", async () => {
  const { storage, writer, txOf } = await chainWithClosedBatch(10, 8);
  const pruned: [number, number][] = [];
  const pruner = new ChainPruner({
    storage,
    submit: (w) => writer.submit(w),
    retainIndexes: 4,
    batchIndexes: 2,
    durableTip: () => storage.chain.tip,
    onPruned: (from, before) => pruned.push([from, before]),
    onError: (_before, err) => assert.fail(err),
  });
  for (let i = 0; i < 5; i++) {
    pruner.maybe();
    pruner.maybe(); // one at a time: the second call is a no-op while the first runs
    await settle(pruner);
  }
  // Keep the newest 4 of 10: blocks 7..10; in batches of 2.
  assert.deepEqual(pruned, [
    [1, 3],
    [3, 5],
    [5, 7],
  ]);
  assert.equal(storage.chain.first, 7);
  assert.equal(await storage.txLocation(txOf(6)), undefined);
  assert.deepEqual(await storage.txLocation(txOf(7)), { index: 7, position: 0 });
  await writer.close();
});

test("retention stops at the open attestation batch and does nothing with retainIndexes 0", async () => {
  const { storage, writer } = await chainWithClosedBatch(10, 3);
  const run = async (retainIndexes: number) => {
    const p = new ChainPruner({
      storage,
      submit: (w) => writer.submit(w),
      retainIndexes,
      batchIndexes: 64,
      durableTip: () => storage.chain.tip,
      onPruned: () => {},
      onError: (_before, err) => assert.fail(err),
    });
    p.maybe();
    await settle(p);
  };
  await run(0);
  assert.equal(storage.chain.first, 1, "0 keeps every block");
  await run(1);
  assert.equal(storage.chain.first, 4, "blocks after batch 0 (4..10) are the open batch: kept");
  await writer.close();
});
