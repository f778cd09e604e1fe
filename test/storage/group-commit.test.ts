import assert from "node:assert/strict";
import { test } from "node:test";
import { type BatchStats, GroupCommitWriter, openStorage, StorageError } from "../../node/storage/index.ts";
import { laneChain } from "../fixtures/certs.ts";
import { memoryDb, openMemory, tc } from "./helpers.ts";

test("requests of one turn share one batch; m and m+1 validate against each other", async () => {
  const { storage, writer } = await openMemory();
  const batches: BatchStats[] = [];
  writer.onBatch((s) => batches.push(s));
  const chain = laneChain(tc, 0, 0, 6);
  const first = chain.slice(0, 3).map((block) => writer.submit([{ kind: "laneBlock", block }]));
  assert.equal(writer.queued, 3);
  await Promise.all(first);
  const second = chain.slice(3).map((block) => writer.submit([{ kind: "laneBlock", block }]));
  await Promise.all(second);
  assert.deepEqual(
    batches.map((b) => b.requests),
    [3, 3],
  );
  assert.equal(storage.lanes.wal(0).next, 6);
  assert.equal(writer.queued, 0);
});

test("a request submitted while a batch is in flight goes into the next batch", async () => {
  const { writer } = await openMemory();
  const batches: number[] = [];
  writer.onBatch((s) => batches.push(s.requests));
  const chain = laneChain(tc, 0, 0, 3);
  const a = writer.submit([{ kind: "laneBlock", block: chain[0]! }]);
  await new Promise((r) => setImmediate(r));
  const b = writer.submit([{ kind: "laneBlock", block: chain[1]! }]);
  const c = writer.submit([{ kind: "laneBlock", block: chain[2]! }]);
  await Promise.all([a, b, c]);
  assert.equal(
    batches.reduce((n, x) => n + x, 0),
    3,
  );
  assert.ok(batches.length >= 2);
});

test("a refused request fails alone; the writer keeps going", async () => {
  const { writer } = await openMemory();
  const chain = laneChain(tc, 0, 0, 2);
  const ok = writer.submit([{ kind: "laneBlock", block: chain[0]! }]);
  const refused = writer.submit([{ kind: "laneBlock", block: chain[0]! }]);
  await assert.rejects(refused, StorageError);
  await ok;
  await writer.submit([{ kind: "laneBlock", block: chain[1]! }]);
  assert.equal(writer.failed, null);
});

test("the queue is bounded", async () => {
  const storage = await openStorage(memoryDb(), tc.committee);
  const writer = new GroupCommitWriter(storage, { maxQueuedRequests: 2 });
  const chain = laneChain(tc, 0, 0, 3);
  const a = writer.submit([{ kind: "laneBlock", block: chain[0]! }]);
  const b = writer.submit([{ kind: "laneBlock", block: chain[1]! }]);
  await assert.rejects(writer.submit([{ kind: "laneBlock", block: chain[2]! }]), /queue full/);
  await Promise.all([a, b]);
  await writer.submit([{ kind: "laneBlock", block: chain[2]! }]);
  // Bytes are bounded too; a refused request leaves the cursors untouched.
  const small = new GroupCommitWriter(storage, { maxQueuedBytes: 1000 });
  const more = laneChain(tc, 1, 0, 2, undefined, [new Uint8Array(600)]);
  const c = small.submit([{ kind: "laneBlock", block: more[0]! }]);
  await assert.rejects(small.submit([{ kind: "laneBlock", block: more[1]! }]), /bytes waiting/);
  assert.equal(storage.lanes.wal(1).next, 1);
  await c;
  await small.submit([{ kind: "laneBlock", block: more[1]! }]);
});

test("a failed batch fails every request in it and every later one, loudly", async () => {
  const db = memoryDb();
  const storage = await openStorage(db, tc.committee);
  let fatal: Error | null = null;
  const writer = new GroupCommitWriter(storage, { onFatal: (e) => (fatal = e) });
  const chain = laneChain(tc, 0, 0, 3);
  await writer.submit([{ kind: "laneBlock", block: chain[0]! }]);
  const realBatch = db.batch.bind(db);
  db.batch = (() => {
    const batch = realBatch();
    batch.write = () => Promise.reject(new Error("EIO: disk gone"));
    return batch;
  }) as typeof db.batch;
  const a = writer.submit([{ kind: "laneBlock", block: chain[1]! }]);
  const b = writer.submit([{ kind: "safety", record: { prepare: null, commit: null, timeout: null, lock: null } }]);
  await assert.rejects(a, /durable write failed, the node must stop: EIO/);
  await assert.rejects(b, /EIO/);
  await assert.rejects(writer.submit([{ kind: "laneBlock", block: chain[2]! }]), /EIO/);
  assert.match(String(fatal), /EIO/);
  db.batch = realBatch;
  // Nothing of the failed batch reached the database.
  assert.equal((await openStorage(db, tc.committee)).lanes.wal(0).next, 1);
});

test("close flushes what is queued and refuses later submits", async () => {
  const { db, writer } = await openMemory();
  const chain = laneChain(tc, 0, 0, 2);
  const p = writer.submit(chain.map((block) => ({ kind: "laneBlock" as const, block })));
  await writer.close();
  await p;
  await assert.rejects(writer.submit([]), /closed/);
  assert.equal((await openStorage(db, tc.committee)).lanes.wal(0).next, 2);
});
