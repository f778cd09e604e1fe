/**
 * The integrity checks' reads of a block's tx index: the lookup of many keys
 * at once (ChainStore.lookupPositions, by point reads and by iterator seeks,
 * on the simulator's memory-level and on the node's LevelDB), and the
 * scrub's window of keys per block per pass
 * (TxIndexSample): consecutive passes cover every tx, a missing key is found
 * by the pass whose window holds it, and the start-up check still looks up
 * every tx.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  checkBlocks,
  GroupCommitWriter,
  type LevelDb,
  openDatabase,
  openStorage,
  type Storage,
  space,
  txIndexWindow,
  u64Key,
} from "../../node/storage/index.ts";
import { txHashAt, ZERO_HASH } from "../../node/types/index.ts";
import { tempDir } from "../cli/run.ts";
import { commitQc, globalBlockWrite, laneChain, proposal } from "../fixtures/certs.ts";
import { memoryDb, rangesAt, tc } from "./helpers.ts";

const tmp = tempDir("tx-index-lookup-");
after(tmp.cleanup);
let opened = 0;

async function classicDb(): Promise<LevelDb> {
  return (await openDatabase(join(tmp.dir, `db${opened++}`), { verifyTables: false })).db;
}

/** Global block 1 holding one lane block of `txCount` txs; returns its stored hash list. */
async function blockOfTxs(db: LevelDb, txCount: number): Promise<{ storage: Storage; list: Uint8Array }> {
  const storage = await openStorage(db, tc.committee);
  const writer = new GroupCommitWriter(storage);
  const txs = Array.from({ length: txCount }, (_, i) => new TextEncoder().encode(`lookup-${i}=v`));
  const lane0 = laneChain(tc, 0, 0, 1, ZERO_HASH, txs);
  const qc = commitQc(tc, proposal({ index: 1, round: 0 }, rangesAt(lane0, 1)));
  await writer.submit([{ kind: "commitQc", qc }]);
  await writer.submit([globalBlockWrite({ index: 1, commitQc: qc, blocks: [lane0[0]!] })]);
  const list = (await storage.chain.txHashes(1))!;
  assert.equal(list.byteLength, txCount * 32);
  return { storage, list };
}

/** The `chain/txk` key of position `p` of block 1. */
function keyOf(list: Uint8Array, p: number): Uint8Array {
  return Buffer.concat([txHashAt(list, p).subarray(0, 8), u64Key(1)]);
}

for (const [backend, open] of [
  ["memory-level", async () => memoryDb() as unknown as LevelDb],
  ["classic-level", classicDb],
] as const) {
  for (const by of ["points", "seeks"] as const) {
    test(`tx index of a block by ${by} (${backend}): caller's order, missing and malformed keys undefined`, async () => {
      const db = await open();
      try {
        const { storage, list } = await blockOfTxs(db, 6);
        const lookup = (index: number, positions: number[]) =>
          storage.chain.lookupPositions(index, list, positions, by);
        // Each key holds its own position; asked in any order, answered in that order.
        assert.deepEqual(await lookup(1, [5, 0, 3, 1, 4, 2]), [5, 0, 3, 1, 4, 2]);
        assert.deepEqual(await lookup(1, []), []);
        // The same hashes under another block index: none of those keys exist.
        assert.deepEqual(await lookup(2, [0, 1]), [undefined, undefined]);
        // A missing key and a value of the wrong size read as absent; the others are unaffected.
        const keys = space(db, ["chain", "txk"]);
        await keys.del(keyOf(list, 3));
        await keys.put(keyOf(list, 0), new Uint8Array(3));
        assert.deepEqual(await lookup(1, [5, 0, 3, 1]), [5, undefined, undefined, 1]);
        // The last key of the space missing: a seek past the end finds nothing.
        const last = [0, 1, 2, 4, 5].sort((a, b) => Buffer.compare(keyOf(list, a), keyOf(list, b))).at(-1)!;
        await keys.del(keyOf(list, last));
        assert.deepEqual(await lookup(1, [last]), [undefined]);
      } finally {
        await db.close();
      }
    });
  }
}

test("the scrub's tx index window: keysPerBlock consecutive txs per pass, every tx within ceil(n / keysPerBlock) passes", () => {
  const executed = Array.from({ length: 20 }, (_, i) => i * 2);
  assert.deepEqual(txIndexWindow(executed, undefined), executed);
  assert.deepEqual(txIndexWindow(executed, { keysPerBlock: 8, pass: 0 }), [0, 2, 4, 6, 8, 10, 12, 14]);
  assert.deepEqual(txIndexWindow(executed, { keysPerBlock: 8, pass: 2 }), [32, 34, 36, 38, 0, 2, 4, 6]);
  assert.deepEqual(txIndexWindow([4, 9], { keysPerBlock: 8, pass: 5 }), [4, 9], "a small block: all of it");
  for (let n = 1; n <= 40; n++) {
    const all = Array.from({ length: n }, (_, i) => i);
    for (const k of [1, 3, 8]) {
      for (const first of [0, 1, 7, 1000]) {
        const seen = new Set<number>();
        for (let pass = first; pass < first + Math.ceil(n / k); pass++) {
          const w = txIndexWindow(all, { keysPerBlock: k, pass });
          assert.equal(w.length, Math.min(k, n));
          for (const p of w) seen.add(p);
        }
        assert.equal(seen.size, n, `n ${n}, ${k} per block, passes from ${first}`);
      }
    }
  }
});

test("a tx index key lost from a block of 20 txs: found by the pass whose window holds it, and always at start", async () => {
  const db = memoryDb() as unknown as LevelDb;
  const { storage, list } = await blockOfTxs(db, 20);
  await space(db, ["chain", "txk"]).del(keyOf(list, 13));
  const scrubPass = (pass: number) =>
    checkBlocks(storage, tc.committee, 1, 1, { rehashTxs: false, txIndexSample: { keysPerBlock: 8, pass } });
  // Pass 0 looks at txs 0-7, pass 1 at 8-15, pass 2 at 16-19 and 0-3.
  assert.deepEqual(await scrubPass(0), { blocks: 1, bytes: (await scrubPass(2)).bytes });
  await assert.rejects(scrubPass(1), /of global block 1 is missing from the tx index/);
  await assert.rejects(checkBlocks(storage, tc.committee, 1, 1), /of global block 1 is missing from the tx index/);
});
