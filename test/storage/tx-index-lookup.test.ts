/**
 * The integrity checks' read of one block's tx index
 * (ChainStore.lookupPositions, used by the start-up check and the scrub):
 * one iterator seeking to each key in key order, answered in the caller's
 * order, on the simulator's memory-level and on the node's LevelDB
 * (classic-level, where the seeks replaced point reads: see its comment).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { GroupCommitWriter, type LevelDb, openDatabase, openStorage, space, u64Key } from "../../node/storage/index.ts";
import { txHashAt, ZERO_HASH } from "../../node/types/index.ts";
import { commitQc, globalBlockWrite, laneChain, proposal } from "../fixtures/certs.ts";
import { memoryDb, rangesAt, tc } from "./helpers.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function classicDb(): Promise<LevelDb> {
  const dir = mkdtempSync(join(tmpdir(), "tx-index-lookup-"));
  dirs.push(dir);
  return (await openDatabase(join(dir, "db"), { verifyTables: false })).db;
}

for (const [backend, open] of [
  ["memory-level", async () => memoryDb() as unknown as LevelDb],
  ["classic-level", classicDb],
] as const) {
  test(`tx index of a block, read by seeks (${backend}): caller's order, missing and malformed keys undefined`, async () => {
    const db = await open();
    try {
      const storage = await openStorage(db, tc.committee);
      const writer = new GroupCommitWriter(storage);
      const txs = Array.from({ length: 6 }, (_, i) => new TextEncoder().encode(`lookup-${i}=v`));
      const lane0 = laneChain(tc, 0, 0, 1, ZERO_HASH, txs);
      const qc = commitQc(tc, proposal({ index: 1, round: 0 }, rangesAt(lane0, 1)));
      await writer.submit([{ kind: "commitQc", qc }]);
      await writer.submit([globalBlockWrite({ index: 1, commitQc: qc, blocks: [lane0[0]!] })]);
      const list = (await storage.chain.txHashes(1))!;
      assert.equal(list.byteLength, 6 * 32);

      // Each key holds its own position; asked in any order, answered in that order.
      assert.deepEqual(await storage.chain.lookupPositions(1, list, [5, 0, 3, 1, 4, 2]), [5, 0, 3, 1, 4, 2]);
      assert.deepEqual(await storage.chain.lookupPositions(1, list, []), []);
      // The same hashes under another block index: none of those keys exist.
      assert.deepEqual(await storage.chain.lookupPositions(2, list, [0, 1]), [undefined, undefined]);

      // A missing key and a value of the wrong size read as absent; the others are unaffected.
      const keys = space(db, ["chain", "txk"]);
      const keyOf = (p: number) => Buffer.concat([txHashAt(list, p).subarray(0, 8), u64Key(1)]);
      await keys.del(keyOf(3));
      await keys.put(keyOf(0), new Uint8Array(3));
      assert.deepEqual(await storage.chain.lookupPositions(1, list, [5, 0, 3, 1]), [5, undefined, undefined, 1]);
    } finally {
      await db.close();
    }
  });
}
