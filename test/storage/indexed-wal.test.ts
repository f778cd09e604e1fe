import assert from "node:assert/strict";
import { test } from "node:test";
import { IndexedWal, readU64Key, type Space, StorageError, space, u64Key, WriteSet } from "../../node/storage/index.ts";
import { memoryDb } from "./helpers.ts";

const textCodec = {
  encode: (s: string) => new TextEncoder().encode(s),
  decode: (b: Uint8Array) => new TextDecoder().decode(b),
};

type Db = ReturnType<typeof memoryDb>;

async function open(db: Db, base = 0): Promise<{ wal: IndexedWal<string>; entries: Space }> {
  const entries = space(db, ["w"]);
  return { wal: await IndexedWal.open("w", entries, space(db, ["meta"]), textCodec, base), entries };
}

/** Writes one write set as a synced chained batch (what the group-commit writer does). */
async function commit(db: Db, ws: WriteSet): Promise<void> {
  const batch = db.batch();
  for (const op of ws.ops) {
    if (op.type === "put") batch.put(op.key, op.value, { sublevel: op.space });
    else batch.del(op.key, { sublevel: op.space });
  }
  await batch.write();
}

async function appendRun(db: Db, wal: IndexedWal<string>, from: number, to: number): Promise<void> {
  const ws = new WriteSet();
  for (let i = from; i < to; i++) wal.append(ws, i, `e${i}`);
  await commit(db, ws);
}

test("keys are fixed-width big-endian, so byte order is numeric order", () => {
  assert.equal(u64Key(1).byteLength, 8);
  assert.equal(Buffer.compare(u64Key(255), u64Key(256)), -1);
  assert.equal(Buffer.compare(u64Key(65_535), u64Key(2 ** 40)), -1);
  assert.equal(readU64Key(u64Key(2 ** 40 + 7)), 2 ** 40 + 7);
  assert.equal(readU64Key(new Uint8Array(7)), null);
  assert.throws(() => u64Key(-1), RangeError);
});

test("append only at next: a gap or an overwrite is refused", async () => {
  const db = memoryDb();
  const { wal } = await open(db, 1);
  assert.equal(wal.first, 1);
  assert.equal(wal.next, 1);
  await appendRun(db, wal, 1, 4);
  assert.equal(wal.next, 4);
  const ws = new WriteSet();
  assert.throws(() => wal.append(ws, 6, "x"), /would leave a gap/);
  assert.throws(() => wal.append(ws, 3, "x"), /already written.*no overwrite/);
  assert.throws(() => wal.append(ws, 0, "x"), StorageError);
  assert.equal(ws.ops.length, 0);
  assert.equal(wal.next, 4);
});

test("entries replay in order across a reopen, including past 255", async () => {
  const db = memoryDb();
  const { wal } = await open(db);
  await appendRun(db, wal, 0, 300);
  const again = (await open(db)).wal;
  const r = await again.replay();
  assert.equal(r.first, 0);
  assert.equal(r.next, 300);
  assert.deepEqual(
    r.entries.map((e) => e.index),
    Array.from({ length: 300 }, (_, i) => i),
  );
  assert.equal(r.entries[299]!.value, "e299");
  assert.equal(again.damaged, false);
  assert.deepEqual(await again.range(250, 260, 3), ["e250", "e251", "e252"]);
  assert.equal(await again.get(300), undefined);
});

test("truncateBefore drops a prefix; at or below first it is a no-op; beyond next it is refused", async () => {
  const db = memoryDb();
  const { wal, entries } = await open(db);
  await appendRun(db, wal, 0, 10);
  let ws = new WriteSet();
  wal.truncateBefore(ws, 4);
  await commit(db, ws);
  assert.equal(wal.first, 4);
  assert.equal(await entries.get(u64Key(3)), undefined);
  ws = new WriteSet();
  wal.truncateBefore(ws, 2);
  assert.equal(ws.ops.length, 0);
  assert.equal(wal.first, 4);
  assert.throws(() => wal.truncateBefore(new WriteSet(), 11), /beyond next 10/);
  const reopened = (await open(db)).wal;
  assert.equal(reopened.first, 4);
  assert.equal(reopened.next, 10);
  assert.equal((await reopened.replay()).entries.length, 6);
});

test("truncateAll empties the WAL and moves next forward; the cursors survive a reopen", async () => {
  const db = memoryDb();
  const { wal } = await open(db);
  await appendRun(db, wal, 0, 5);
  assert.throws(() => wal.truncateAll(new WriteSet(), 4), /may not move backwards/);
  const ws = new WriteSet();
  wal.truncateAll(ws, 20);
  await commit(db, ws);
  const reopened = (await open(db)).wal;
  assert.equal(reopened.first, 20);
  assert.equal(reopened.next, 20);
  assert.equal((await reopened.replay()).entries.length, 0);
  assert.throws(() => reopened.append(new WriteSet(), 5, "x"), /already written/);
  await appendRun(db, reopened, 20, 22);
  assert.equal((await open(db)).wal.next, 22);
});

test("a refused request rolls the cursors back", async () => {
  const db = memoryDb();
  const { wal } = await open(db);
  const ws = new WriteSet();
  wal.append(ws, 0, "a");
  wal.append(ws, 1, "b");
  wal.truncateBefore(ws, 1);
  assert.equal(wal.first, 1);
  ws.rollback();
  assert.equal(wal.first, 0);
  assert.equal(wal.next, 0);
  assert.equal(ws.ops.length, 0);
});

test("entries past a hole are reported, not dropped, and the WAL refuses appends", async () => {
  const db = memoryDb();
  const { wal, entries } = await open(db);
  await appendRun(db, wal, 0, 5);
  await entries.del(u64Key(2));
  const reopened = (await open(db)).wal;
  assert.equal(reopened.next, 2);
  assert.deepEqual(reopened.damage.stray, [3, 4]);
  assert.equal(reopened.damaged, true);
  assert.throws(() => reopened.append(new WriteSet(), 2, "x"), /damaged/);
  const r = await reopened.replay();
  assert.deepEqual(
    r.entries.map((e) => e.index),
    [0, 1],
  );
  assert.deepEqual(r.damage.stray, [3, 4]);
});

test("an entry below first, a lost tail and a foreign key are all reported", async () => {
  const db = memoryDb();
  const { wal, entries } = await open(db);
  await appendRun(db, wal, 0, 6);
  const ws = new WriteSet();
  wal.truncateBefore(ws, 3);
  await commit(db, ws);
  await entries.put(u64Key(1), textCodec.encode("old"));
  await entries.del(u64Key(5));
  await entries.put(new Uint8Array([1, 2, 3]), new Uint8Array(1));
  const reopened = (await open(db)).wal;
  assert.deepEqual(reopened.damage.stray, [1]);
  assert.equal(reopened.damage.badKeys, 1);
  assert.deepEqual(reopened.damage.missing, { from: 5, to: 6 });
  // next never moves backwards: the cursor record remembers 6
  assert.equal(reopened.next, 6);
});
