/**
 * The start check reads only the files LevelDB's current version uses. A
 * shutdown or crash in the middle of a compaction leaves a half-written
 * output table that no version lists; LevelDB deletes it as it opens. Found
 * under load: a SIGINT during a compaction left `000220.ldb` cut short, and
 * the next start refused the healthy database ("bad table magic number",
 * remedy: resync).
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Level } from "level";
import { fileNumber, openDatabase, readLiveFiles, StorageIntegrityError } from "../../node/storage/index.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A closed LevelDB with several table files (a small write buffer flushes often). */
async function makeDb(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "manifest-test-"));
  dirs.push(dir);
  const path = join(dir, "db");
  const db = new Level<Uint8Array, Uint8Array>(path, {
    keyEncoding: "view",
    valueEncoding: "view",
    writeBufferSize: 64 * 1024,
  });
  await db.open();
  const value = new Uint8Array(1000).fill(7);
  for (let batch = 0; batch < 20; batch++) {
    const ops = [];
    for (let i = 0; i < 100; i++) {
      const key = new TextEncoder().encode(`k${String(batch * 100 + i).padStart(6, "0")}`);
      ops.push({ type: "put" as const, key, value });
    }
    await db.batch(ops, { sync: true });
  }
  await db.close();
  return path;
}

const tablesOf = (path: string) => readdirSync(path).filter((n) => /^\d+\.ldb$/.test(n));

/**
 * A file number LevelDB used before and will never hand out again: below the
 * highest file present, and held by no file (an old log or a compacted
 * table; MANIFEST-N counts as present). A number past the highest would not
 * do: the compaction LevelDB starts right after opening may allocate it and
 * write a real table under that name (CI failed so, 1 run in 24 under load).
 */
function unusedFileNumber(path: string): number {
  const present = new Set(
    readdirSync(path)
      .map((n) => Number(/^(?:MANIFEST-)?(\d+)/.exec(n)?.[1]))
      .filter(Number.isFinite),
  );
  const highest = Math.max(...present);
  for (let n = 2; n < highest; n++) if (!present.has(n)) return n;
  throw new Error(`no free file number below ${highest} in ${path}`);
}

test("the manifest names the live tables, and they are the tables LevelDB keeps", async () => {
  const path = await makeDb();
  const live = readLiveFiles(path);
  assert.ok(live !== null);
  assert.ok(live.tables.size > 0);
  for (const n of live.tables) assert.ok(existsSync(join(path, `${String(n).padStart(6, "0")}.ldb`)), `table ${n}`);
  assert.ok(live.minLogNumber > 0);
});

test("a half-written table left by an interrupted compaction does not stop the start, and LevelDB deletes it", async () => {
  const path = await makeDb();
  const names = tablesOf(path);
  // A compaction that ended at close may leave obsolete tables behind too: count the live ones.
  const liveCount = readLiveFiles(path)!.tables.size;
  const orphan = `${String(unusedFileNumber(path)).padStart(6, "0")}.ldb`;
  copyFileSync(join(path, names[0]!), join(path, orphan));
  truncateSync(join(path, orphan), Math.floor(statSync(join(path, orphan)).size / 2));

  const { db, report } = await openDatabase(path, { verifyTables: true });
  try {
    assert.ok(report.obsoleteFiles.includes(orphan), `reported as obsolete: ${report.obsoleteFiles.join(", ")}`);
    assert.equal(report.tables, liveCount);
    assert.equal(existsSync(join(path, orphan)), false, "LevelDB deleted the orphan as it opened");
    const value = await db.get(new TextEncoder().encode("k000000"));
    assert.equal(value?.byteLength, 1000);
  } finally {
    await db.close();
  }
});

test("the same damage to a live table is still refused, naming the file and the resync remedy", async () => {
  const path = await makeDb();
  const live = readLiveFiles(path)!;
  const name = tablesOf(path).find((n) => live.tables.has(fileNumber(n)))!;
  truncateSync(join(path, name), Math.floor(statSync(join(path, name)).size / 2));
  await assert.rejects(openDatabase(path, { verifyTables: true }), (err: unknown) => {
    assert.ok(err instanceof StorageIntegrityError);
    assert.match(err.message, new RegExp(name));
    assert.match(err.message, /resync/);
    return true;
  });
});

test("without a readable manifest every file is checked (nothing is skipped on a guess)", async () => {
  const path = await makeDb();
  const names = tablesOf(path);
  const orphan = `${String(unusedFileNumber(path)).padStart(6, "0")}.ldb`;
  copyFileSync(join(path, names[0]!), join(path, orphan));
  truncateSync(join(path, orphan), Math.floor(statSync(join(path, orphan)).size / 2));
  const manifest = readdirSync(path).find((n) => n.startsWith("MANIFEST-"))!;
  truncateSync(join(path, manifest), 3);
  assert.equal(readLiveFiles(path), null);
  // The half-written table is checked like any other, and named.
  await assert.rejects(openDatabase(path, { verifyTables: true }), (err: unknown) => {
    assert.ok(err instanceof StorageIntegrityError);
    assert.match(err.message, new RegExp(orphan));
    return true;
  });
});
