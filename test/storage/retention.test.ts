import assert from "node:assert/strict";
import { test } from "node:test";
import { VerifyCache } from "../../node/crypto/index.ts";
import {
  GroupCommitWriter,
  openStorage,
  RecoveryError,
  recover,
  StorageIntegrityError,
  space,
  u64Key,
} from "../../node/storage/index.ts";
import { appQc } from "../fixtures/certs.ts";
import { chainWithClosedBatch, type memoryDb, tc } from "./helpers.ts";

const INDEXES = 8;
const chainState = () => chainWithClosedBatch(INDEXES, 6);

/** The u64 keys held in a sublevel, in order. */
async function keysOf(db: ReturnType<typeof memoryDb>, names: string[]): Promise<number[]> {
  const out: number[] = [];
  for await (const key of space(db, names).keys()) out.push(Number(Buffer.from(key).readBigUInt64BE()));
  return out;
}

/** Recovery refuses the database as damage (not a recovery error) at `keyRange` (exact, or matching). */
async function rejectsAsDamage(db: ReturnType<typeof memoryDb>, keyRange: string | RegExp): Promise<void> {
  await assert.rejects(recoverDb(db), (err: unknown) => {
    assert.ok(err instanceof StorageIntegrityError && !(err instanceof RecoveryError), `got ${err}`);
    if (typeof keyRange === "string") assert.equal(err.keyRange, keyRange);
    else assert.match(err.keyRange, keyRange);
    return true;
  });
}

const recoverDb = async (db: ReturnType<typeof memoryDb>) =>
  recover(await openStorage(db, tc.committee), tc.committee, new VerifyCache(1000), { deepCheckBlocks: 1000 });

test("retention prunes blocks and their tx index below a point, in one batch, and moves the retention start", async () => {
  const { db, storage, writer, txOf } = await chainState();
  assert.equal(storage.chain.first, 1);
  assert.equal(storage.chainPruneLimit(), 7, "the open batch (7..8) is kept");
  const lists = await storage.chain.hashListsBefore(4);
  assert.equal(lists.length, 3);
  await writer.submit([{ kind: "pruneChain", before: 4, txHashLists: lists }]);
  assert.equal(storage.chain.first, 4);
  for (const k of [1, 2, 3]) {
    assert.equal(await storage.globalBlock(k), undefined, `block ${k} pruned`);
    assert.equal(await storage.chain.txHashes(k), undefined);
    assert.equal(await storage.txLocation(txOf(k)), undefined, `tx of block ${k} no longer indexed`);
  }
  for (const k of [4, 8]) {
    assert.equal((await storage.globalBlock(k))?.index, k);
    assert.deepEqual(await storage.txLocation(txOf(k)), { index: k, position: 0 });
  }
  // The app hashes of the pruned blocks went in the same batch.
  for (const k of [1, 2, 3]) assert.equal(await storage.appHashAt(k), undefined, `app hash ${k} pruned`);
  assert.deepEqual(await storage.appHashAt(4), new Uint8Array(32).fill(4));
  assert.equal(storage.app.hashFirst, 4);
  assert.deepEqual(await keysOf(db, ["app", "hash"]), [4, 5, 6, 7, 8]);
  assert.deepEqual(await storage.encodedGlobalBlocks(2, 5), [], "a range from below the start is not served");
  assert.equal((await storage.encodedGlobalBlocks(4, 5)).length, 2);
  await writer.close();
  // The start is durable, and the integrity checks start there: blocks 4..8 in depth, app hashes 4..8.
  const reopened = await openStorage(db, tc.committee);
  assert.equal(reopened.chain.first, 4);
  assert.equal(reopened.app.hashFirst, 4);
  const s = await recoverDb(db);
  assert.equal(s.chainTip, INDEXES);
  const { executedAfter } = s.attestation;
  assert.deepEqual(
    executedAfter.map((e) => e.index),
    [7, 8],
  );
});

test("retention refuses to prune the open batch, the tip or past the executed index, and a wrong list count", async () => {
  const { storage, writer } = await chainState();
  const lists = await storage.chain.hashListsBefore(8);
  await assert.rejects(writer.submit([{ kind: "pruneChain", before: 8, txHashLists: lists }]), /passes 7/);
  await assert.rejects(
    writer.submit([{ kind: "pruneChain", before: 3, txHashLists: lists.slice(0, 1) }]),
    /1 hash lists to prune 1..2/,
  );
  await assert.rejects(writer.submit([{ kind: "pruneChain", before: 1, txHashLists: [] }]), /pruning below 1/);
  assert.equal(storage.chain.first, 1, "a refused prune leaves the start where it was");
  // A valid prune refused with the rest of its request is undone whole: blocks and app hashes.
  await assert.rejects(
    writer.submit([
      { kind: "pruneChain", before: 4, txHashLists: await storage.chain.hashListsBefore(4) },
      { kind: "pruneChain", before: 8, txHashLists: lists },
    ]),
    /passes 7/,
  );
  assert.equal(storage.chain.first, 1);
  assert.equal(storage.app.hashFirst, 1);
  assert.deepEqual(await storage.appHashAt(1), new Uint8Array(32).fill(1));
  await writer.close();
});

test("after pruning, a block missing at the retention start is damage, named with its key", async () => {
  const { db, storage, writer } = await chainState();
  await writer.submit([{ kind: "pruneChain", before: 3, txHashLists: await storage.chain.hashListsBefore(3) }]);
  await writer.close();
  await space(db, ["chain", "block"]).del(u64Key(3));
  await rejectsAsDamage(db, /^chain\/block\/3/);
});

test("app hashes kept below the retention start by an earlier version are accepted, and drained by the next prune", async () => {
  const { db, storage, writer } = await chainState();
  await writer.submit([{ kind: "pruneChain", before: 3, txHashLists: await storage.chain.hashListsBefore(3) }]);
  await writer.close();
  // What a version that pruned blocks only left behind: app/hash/1..2 below the start 3.
  for (const k of [1, 2]) await space(db, ["app", "hash"]).put(u64Key(k), new Uint8Array(32).fill(k));
  const s = await recoverDb(db);
  assert.equal(s.chainTip, INDEXES, "recovery accepts app hashes from below the retention start");
  const again = await openStorage(db, tc.committee);
  assert.equal(again.app.hashFirst, 1);
  const w = new GroupCommitWriter(again);
  await w.submit([{ kind: "pruneChain", before: 5, txHashLists: await again.chain.hashListsBefore(5) }]);
  assert.deepEqual(await keysOf(db, ["app", "hash"]), [5, 6, 7, 8], "the old ones went with the next prune");
  assert.equal(again.app.hashFirst, 5);
  await w.close();
  assert.equal((await recoverDb(db)).chainTip, INDEXES);
});

test("an app hash missing at the retention start is damage, named with its key", async () => {
  const { db, storage, writer } = await chainState();
  await writer.submit([{ kind: "pruneChain", before: 4, txHashLists: await storage.chain.hashListsBefore(4) }]);
  await writer.close();
  await space(db, ["app", "hash"]).del(u64Key(4));
  await rejectsAsDamage(db, "app/hash/4");
});

test("the pruning anchor's app hash stays until the anchor moves on, even when retention passes it", async () => {
  const { db, storage, writer, h } = await chainState();
  // An anchor at index 2 whose AppQC certifies the app hash stored there.
  const anchor = { commitQc: h.qcs[1]!, appQc: appQc(tc, 2, new Uint8Array(32).fill(2)) };
  await writer.submit([{ kind: "anchor", anchor }]);
  await writer.submit([{ kind: "pruneChain", before: 5, txHashLists: await storage.chain.hashListsBefore(5) }]);
  assert.equal(storage.chain.first, 5);
  assert.deepEqual(await keysOf(db, ["app", "hash"]), [2, 3, 4, 5, 6, 7, 8], "from the anchor's index 2");
  await writer.close();
  assert.equal((await recoverDb(db)).chainTip, INDEXES, "the anchor's AppQC is checked against app/hash/2");
});

test("a stray app/hash/0 is damage, never taken for the start of the app hashes", async () => {
  const { db, writer } = await chainState();
  await writer.close();
  await space(db, ["app", "hash"]).put(u64Key(0), new Uint8Array(32));
  assert.equal((await openStorage(db, tc.committee)).app.hashFirst, 1);
  await rejectsAsDamage(db, "app/hash/0");
});
