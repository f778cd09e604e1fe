import assert from "node:assert/strict";
import { test } from "node:test";
import { VerifyCache } from "../../node/crypto/index.ts";
import { openStorage, recover, space, u64Key } from "../../node/storage/index.ts";
import { txHashAt } from "../../node/types/index.ts";
import { chainWithClosedBatch, tc } from "./helpers.ts";

test("a database of the one-key-per-tx index is migrated at open to the per-block index, and recovers", async () => {
  const { db, storage, writer, txOf } = await chainWithClosedBatch(6, 6);
  await writer.close();
  // Rewrite it as the previous layout had it: chain/tx/<hash> -> index u64 ++ position u32; no lists, no lookup keys.
  const old = space(db, ["chain", "tx"]);
  for (let k = 1; k <= 6; k++) {
    const list = (await storage.chain.txHashes(k))!;
    for (let p = 0; p < list.byteLength / 32; p++) {
      const loc = new Uint8Array(12);
      loc.set(u64Key(k));
      new DataView(loc.buffer).setUint32(8, p);
      await old.put(txHashAt(list, p), loc);
    }
  }
  await space(db, ["chain", "txs"]).clear();
  await space(db, ["chain", "txk"]).clear();
  assert.deepEqual(await (await openStorage(db, tc.committee)).txLocation(txOf(3)), { index: 3, position: 0 });
  // Migrated: the old keys are gone, lookups and the deep check work on the new ones.
  const keys: Uint8Array[] = [];
  for await (const k of old.keys()) keys.push(k);
  assert.deepEqual(keys, []);
  const s = await openStorage(db, tc.committee);
  for (let k = 1; k <= 6; k++) assert.deepEqual(await s.txLocation(txOf(k)), { index: k, position: 0 });
  const r = await recover(s, tc.committee, new VerifyCache(1000), { deepCheckBlocks: 1000 });
  assert.equal(r.chainTip, 6);
});
