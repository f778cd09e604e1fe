/**
 * Issue 16 items 1 and 3 while the node runs: the background scrub re-reads
 * every table block of a real LevelDB with its checksum and checks the
 * finalized chain in depth, at a bounded rate, and reports damage with the
 * key range and the remedy.
 */

import assert from "node:assert/strict";
import { closeSync, openSync, readdirSync, statSync, utimesSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Level } from "level";
import pino from "pino";
import { Scrubber } from "../../node/runtime/scrub.ts";
import {
  GroupCommitWriter,
  openDatabase,
  openStorage,
  type StorageIntegrityError,
  u64Key,
  WriteSet,
} from "../../node/storage/index.ts";
import { payloadTxs, txHashList } from "../../node/types/index.ts";
import { tempDir } from "../cli/run.ts";
import { globalBlockWrite } from "../fixtures/certs.ts";
import { history, tc } from "../storage/helpers.ts";

const tmp = tempDir("validator-scrub-");

/** Polls until `done`, for up to 60 s (generous: the machine may be loaded); the assertions after it say what failed. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}
after(tmp.cleanup);

/** A real database with table files: app keys enough to flush LevelDB's 4 MiB write buffer, reopened once. */
async function realDb(dir: string): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  const storage = await openStorage(db, tc.committee);
  const kv = db.sublevel<Uint8Array, Uint8Array>(["app", "kv"], { keyEncoding: "view", valueEncoding: "view" });
  const value = new Uint8Array(4096);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7919) & 0xff;
  for (let i = 0; i < 1500; i++)
    await kv.put(
      u64Key(i),
      value.map((b) => b ^ (i & 0xff)),
    );
  await storage.close();
  // LevelDB flushes a full write buffer in its background thread, and a close
  // skips that flush if the thread had not started it (seen under CI load: no
  // table file). Opening again writes what the log holds into a table before
  // it returns, so the tables are there whatever the timing.
  const again = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await again.open();
  await again.close();
}

function scrubber(storage: Awaited<ReturnType<typeof openStorage>>, dbPath: string, found: StorageIntegrityError[]) {
  let bytes = 0;
  const s = new Scrubber({
    storage,
    // These tests write nothing while the scrub runs: everything staged is durable.
    durableTip: () => storage.chain.tip,
    committee: tc.committee,
    dbPath,
    home: "/the/home",
    bytesPerSecond: 64 * 1024 * 1024,
    logger: pino({ level: "silent" }),
    onBytes: (n) => {
      bytes += n;
    },
    onPass: () => {},
    onDamage: (err) => found.push(err),
  });
  return { s, bytes: () => bytes };
}

test("the scrub finds a damaged table block written long ago and names its key range and the remedy", async () => {
  const dir = join(tmp.dir, "tables");
  await realDb(dir);
  const tables = readdirSync(dir).filter((f) => f.endsWith(".ldb"));
  assert.ok(tables.length > 0, "LevelDB wrote table files");
  const table = join(dir, tables[0]!);
  const fd = openSync(table, "r+");
  writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, Math.floor(statSync(table).size / 2));
  closeSync(fd);
  const longAgo = new Date(Date.now() - 3_600_000);
  utimesSync(table, longAgo, longAgo);

  const { db } = await openDatabase(dir, { verifyTables: false });
  const storage = await openStorage(db, tc.committee);
  const found: StorageIntegrityError[] = [];
  const { s } = scrubber(storage, dir, found);
  s.start();
  await until(() => found.length > 0);
  await s.stop();
  await storage.close();
  assert.equal(found.length, 1, "the scrub reported the damage");
  const err = found[0]!;
  assert.equal(err.path, dir);
  assert.match(
    err.problem,
    new RegExp(`table ${tables[0]!.replace(".", "\\.")}: the block at byte \\d+.*checksum mismatch`),
  );
  assert.match(err.keyRange, /app\/kv\/\d+/);
  assert.equal(err.remedy, "validator resync --home /the/home --yes");
});

test("the scrub checks the finalized chain in depth: a missing tx index entry below the anchor is found", async () => {
  const dir = join(tmp.dir, "chain");
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  const storage = await openStorage(db, tc.committee);
  const writer = new GroupCommitWriter(storage);
  const h = history(6, 6);
  await writer.submit(h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  await writer.submit(h.qcs.map((qc, i) => globalBlockWrite({ index: i + 1, commitQc: qc, blocks: [h.lane0[i]!] })));
  await writer.close();
  // One tx index entry lost, as a dropped record would lose it.
  const keys = db.sublevel<Uint8Array, Uint8Array>(["chain", "txk"], { keyEncoding: "view", valueEncoding: "view" });
  const { txHash } = await import("../../node/types/index.ts");
  const { u64Key } = await import("../../node/storage/index.ts");
  const hash = txHash(payloadTxs(h.lane0[2]!.payload)[0]!);
  await keys.del(Buffer.concat([hash.subarray(0, 8), u64Key(3)]));

  const found: StorageIntegrityError[] = [];
  const { s } = scrubber(storage, dir, found);
  s.start();
  await until(() => found.length > 0);
  await s.stop();
  await storage.close();
  assert.equal(found.length, 1);
  assert.match(found[0]!.problem, /of global block 3 is missing from the tx index/);
  assert.match(found[0]!.keyRange, /^chain\/txk\/[0-9a-f]{16}$/);
});

test("a global block staged but not yet written is not damage: the scrub reads only up to the durable tip", async () => {
  const dir = join(tmp.dir, "staged");
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  const storage = await openStorage(db, tc.committee);
  const writer = new GroupCommitWriter(storage);
  const h = history(4, 4);
  await writer.submit(h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  await writer.submit(
    h.qcs.slice(0, 3).map((qc, i) => globalBlockWrite({ index: i + 1, commitQc: qc, blocks: [h.lane0[i]!] })),
  );
  await writer.close();
  const durable = storage.chain.tip;
  // Block 4 staged, as the group commit stages a write before LevelDB has it: the tip moves, the disk has nothing.
  const staged = new WriteSet();
  const block4 = { index: 4, commitQc: h.qcs[3]!, blocks: [h.lane0[3]!] };
  storage.chain.put(staged, block4, [], txHashList(block4.blocks));
  assert.equal(storage.chain.tip, 4);

  const scrubOnce = async (durableTip: () => number): Promise<StorageIntegrityError[]> => {
    const found: StorageIntegrityError[] = [];
    let passes = 0;
    const s = new Scrubber({
      storage,
      durableTip,
      committee: tc.committee,
      dbPath: dir,
      home: "/the/home",
      bytesPerSecond: 64 * 1024 * 1024,
      logger: pino({ level: "silent" }),
      onBytes: () => {},
      onPass: () => passes++,
      onDamage: (err) => found.push(err),
    });
    s.start();
    await until(() => passes > 0 || found.length > 0);
    await s.stop();
    return found;
  };
  // Up to the durable tip: a whole pass, no damage.
  assert.deepEqual(await scrubOnce(() => durable), []);
  // The negative control, the old behaviour: reading up to the staged tip calls the block in flight missing.
  const wrong = await scrubOnce(() => storage.chain.tip);
  assert.equal(wrong.length, 1);
  assert.match(wrong[0]!.keyRange, /chain\/block/);
  staged.rollback();
  await storage.close();
});
