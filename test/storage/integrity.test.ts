/**
 * Issue 16 item 1 at the storage level: recovery checks the chain and app
 * data below the anchor too, and names the key range and the remedy.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SafetyGate } from "../../node/consensus/safety-gate.ts";
import { VerifyCache } from "../../node/crypto/index.ts";
import {
  checkBlocks,
  openStorage,
  RecoveryError,
  recover,
  StorageIntegrityError,
  space,
  u64Key,
  WriteSet,
} from "../../node/storage/index.ts";
import { codecs, type GlobalBlock, payloadTxs, txHash, ZERO_HASH } from "../../node/types/index.ts";
import { laneBlock } from "../fixtures/certs.ts";
import { type history, memoryDb, openMemory, tc, votedOn, writeExecutedChain } from "./helpers.ts";

type Db = ReturnType<typeof memoryDb>;
const INDEXES = 5;

async function chainState(): Promise<{ db: Db; h: ReturnType<typeof history> }> {
  const { db, writer } = await openMemory();
  const h = await writeExecutedChain(writer, INDEXES);
  await writer.close();
  return { db, h };
}

async function recoverDb(db: Db, deepCheckBlocks = 1000) {
  return recover(await openStorage(db, tc.committee), tc.committee, new VerifyCache(1000), { deepCheckBlocks });
}

async function damaged(db: Db, keyRange: string | RegExp, problem: RegExp, deepCheckBlocks = 1000) {
  await assert.rejects(recoverDb(db, deepCheckBlocks), (err: unknown) => {
    assert.ok(err instanceof StorageIntegrityError && !(err instanceof RecoveryError), `got ${err}`);
    if (typeof keyRange === "string") assert.equal(err.keyRange, keyRange);
    else assert.match(err.keyRange, keyRange);
    assert.match(err.problem, problem);
    assert.ok(err.lost.length > 0);
    assert.equal(err.remedy, "validator resync --yes");
    assert.match(err.message, /remedy: validator resync/);
    return true;
  });
}

test("a valid chain recovers with every block checked in depth", async () => {
  const { db } = await chainState();
  const s = await recoverDb(db);
  assert.equal(s.chainTip, INDEXES);
  assert.equal(s.app.executedIndex, INDEXES);
});

test("a global block LevelDB dropped, even far below the newest, is found by its key range", async () => {
  const { db } = await chainState();
  await space(db, ["chain", "block"]).del(u64Key(2));
  await space(db, ["app", "hash"]).del(u64Key(2));
  // Not in the deep-checked range (only the newest block is): the key scan still finds it.
  await damaged(db, "chain/block/2", /finalized global blocks 2\.\.2 are missing/, 1);
});

test("a missing app hash, and app/state out of step with app/hash, are found", async () => {
  const a = await chainState();
  await space(a.db, ["app", "hash"]).del(u64Key(3));
  await damaged(a.db, "app/hash/3", /app hashes 3\.\.3 are missing/);
  const b = await chainState();
  await space(b.db, ["app", "hash"]).put(u64Key(INDEXES), new Uint8Array(32).fill(0xee));
  await damaged(b.db, `app/state, app/hash/${INDEXES}`, /app\/state says executed 5/);
});

test("a stored block that is not the finalized one, or a tx missing from the tx index, is found in depth", async () => {
  const a = await chainState();
  const { h } = a;
  const forged: GlobalBlock = {
    index: 3,
    commitQc: h.qcs[2]!,
    blocks: [laneBlock(tc, 0, 2, h.lane0[1]!.header.parent, [new TextEncoder().encode("other=1")])],
  };
  await space(a.db, ["chain", "block"]).put(u64Key(3), codecs.globalBlock.encode(forged));
  await damaged(a.db, "chain/block/3", /lane 0 block 2 is not the certified one/);

  const b = await chainState();
  const hash = txHash(payloadTxs(b.h.lane0[3]!.payload)[0]!);
  await space(b.db, ["chain", "txk"]).del(Buffer.concat([hash.subarray(0, 8), u64Key(4)]));
  await damaged(b.db, /^chain\/txk\/[0-9a-f]{16}$/, /of global block 4 is missing from the tx index/);

  const d = await chainState();
  await space(d.db, ["chain", "txs"]).del(u64Key(2));
  await damaged(d.db, "chain/txs/2", /the tx hash list of global block 2 is missing/);
  const e = await chainState();
  await space(e.db, ["chain", "txs"]).put(u64Key(2), new Uint8Array(32));
  await damaged(e.db, "chain/txs/2", /does not match its txs/);

  const c = await chainState();
  await space(c.db, ["chain", "block"]).put(u64Key(4), new Uint8Array([1, 2, 3]));
  await damaged(c.db, "chain/block/4", /does not decode/);
});

test("a safety record carried over by resync may be ahead of the empty chain, and sets a vote floor", async () => {
  const { h } = await chainState();
  const record = votedOn(h.qcs[4]!);
  // Without resync's marker, a record ahead of the CommitQC WAL means lost CommitQCs.
  const plain = memoryDb();
  const s1 = await openStorage(plain, tc.committee);
  const ws = new WriteSet();
  await space(plain, ["meta"]).put(new TextEncoder().encode("safety"), codecs.safetyRecord.encode(record));
  await assert.rejects(recoverDb(plain), RecoveryError);
  await s1.close();

  const db = memoryDb();
  const storage = await openStorage(db, tc.committee);
  storage.safety.carry(ws, record, 9);
  const batch = storage.db.batch();
  for (const op of ws.ops) if (op.type === "put") batch.put(op.key, op.value, { sublevel: op.space });
  await batch.write();
  const s = await recoverDb(db);
  assert.equal(s.finalizedIndex, 0);
  assert.deepEqual(s.safety, record);
  assert.equal(s.safetyFloorIndex, 9, "the floor is the highest index the damaged data named");

  const gate = new SafetyGate(s.safety, null, s.safetyFloorIndex);
  assert.equal(gate.prepare({ index: 2, round: 0 }, ZERO_HASH), "barred", "below the floor: no new vote");
  assert.equal(gate.timeout({ index: 9, round: 3 }, null), "barred");
  assert.equal(gate.prepare({ index: 10, round: 0 }, ZERO_HASH), "new", "above it: votes again");
});

test("the scrub's depth (rehashTxs off) finds a lost, cut or altered hash list without recomputing tx hashes", async () => {
  const a = await chainState();
  await space(a.db, ["chain", "txs"]).put(u64Key(2), new Uint8Array(64));
  const storageA = await openStorage(a.db, tc.committee);
  await assert.rejects(checkBlocks(storageA, tc.committee, 1, INDEXES, { rehashTxs: false }), (err: unknown) => {
    assert.ok(err instanceof StorageIntegrityError);
    assert.equal(err.keyRange, "chain/txs/2");
    assert.match(err.problem, /holds 2 hashes for 1 txs/);
    return true;
  });
  // Same length, other bytes: the lookup keys were written from the real
  // hashes, so the scrub still finds the list wrong, through the tx index.
  const b = await chainState();
  await space(b.db, ["chain", "txs"]).put(u64Key(2), new Uint8Array(32));
  const storageB = await openStorage(b.db, tc.committee);
  await assert.rejects(
    checkBlocks(storageB, tc.committee, 1, INDEXES, { rehashTxs: false }),
    /tx 0000000000000000 of global block 2 is missing from the tx index/,
  );
  await assert.rejects(checkBlocks(storageB, tc.committee, 1, INDEXES), /does not match its txs/);
});
