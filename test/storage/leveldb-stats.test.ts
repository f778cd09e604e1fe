/**
 * LevelDB's own statistics reach /metrics: the parser reads LevelDB 1.20's
 * `leveldb.stats` text; LevelDbCounters turns its totals into gauges and
 * counters without counting anything twice (scripted statistics, where
 * every step is known), and a real database's flushes show up (checked
 * only for what has certainly happened: compaction runs on its own thread).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MemoryLevel } from "memory-level";
import { createMetrics } from "../../node/observability/index.ts";
import { LevelDbCounters } from "../../node/runtime/leveldb-counters.ts";
import { openDatabase, parseLevelDbStats, readLevelDbStats } from "../../node/storage/index.ts";

const MiB = 1024 * 1024;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const SAMPLE = `                               Compactions
Level  Files Size(MB) Time(sec) Read(MB) Write(MB)
--------------------------------------------------
  0        3        5         1        0        12
  1        6       10        21      140       131
  3        1        2         0        4         3
`;

test("parses each level's line and skips the header", () => {
  assert.deepEqual(parseLevelDbStats(SAMPLE), [
    { level: 0, files: 3, sizeMiB: 5, compactionSeconds: 1, compactionReadMiB: 0, compactionWrittenMiB: 12 },
    { level: 1, files: 6, sizeMiB: 10, compactionSeconds: 21, compactionReadMiB: 140, compactionWrittenMiB: 131 },
    { level: 3, files: 1, sizeMiB: 2, compactionSeconds: 0, compactionReadMiB: 4, compactionWrittenMiB: 3 },
  ]);
  assert.deepEqual(parseLevelDbStats("not the stats\n  0 1 2\n"), []);
});

/** A stand-in database whose `leveldb.stats` is whatever the test sets. */
class ScriptedDb {
  text = "";
  getProperty(property: string): string {
    assert.equal(property, "leveldb.stats");
    return this.text;
  }
}

const HEADER =
  "Level  Files Size(MB) Time(sec) Read(MB) Write(MB)\n--------------------------------------------------\n";

/** The value of one sample of `name` with `level` in the registry's text, or undefined. */
async function sample(
  metrics: ReturnType<typeof createMetrics>,
  name: string,
  level: number,
): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const m = new RegExp(`^${name}\\{level="${level}"\\} (\\S+)$`, "m").exec(text);
  return m === null ? undefined : Number(m[1]);
}

test("a database without LevelDB's properties (the memory backend) has no statistics, and no samples", async () => {
  assert.equal(readLevelDbStats(new MemoryLevel()), null);
  const metrics = createMetrics({ defaultMetrics: false });
  new LevelDbCounters(new MemoryLevel(), metrics).update();
  assert.doesNotMatch(await metrics.registry.metrics(), /^validator_leveldb_\w+\{/m);
});

test("gauges follow each look; counters add what grew, once, and all of a total that went down", async () => {
  const db = new ScriptedDb();
  const metrics = createMetrics({ defaultMetrics: false });
  const counters = new LevelDbCounters(db, metrics);
  db.text = `${HEADER}  0        3        5         1        0        12\n  1        6       10        21      140       131\n`;
  counters.update();
  counters.update();
  assert.equal(await sample(metrics, "validator_leveldb_files", 0), 3);
  assert.equal(await sample(metrics, "validator_leveldb_level_bytes", 1), 10 * MiB);
  assert.equal(await sample(metrics, "validator_leveldb_files", 4), 0, "a level LevelDB does not list holds nothing");
  assert.equal(await sample(metrics, "validator_leveldb_compaction_seconds_total", 1), 21, "two looks, counted once");
  assert.equal(await sample(metrics, "validator_leveldb_compaction_written_bytes_total", 0), 12 * MiB);
  assert.equal(await sample(metrics, "validator_leveldb_compaction_read_bytes_total", 1), 140 * MiB);
  // Compactions went on; level 0 emptied (its line stays, with its history).
  db.text = `${HEADER}  0        0        0         2        0        20\n  1        9       16        30      200       190\n`;
  counters.update();
  assert.equal(await sample(metrics, "validator_leveldb_files", 0), 0);
  assert.equal(await sample(metrics, "validator_leveldb_compaction_seconds_total", 1), 30);
  assert.equal(await sample(metrics, "validator_leveldb_compaction_written_bytes_total", 0), 20 * MiB);
  // A reopened database starts its totals again: what it reports is all new.
  db.text = `${HEADER}  1        9       16         4        5         6\n`;
  counters.update();
  assert.equal(await sample(metrics, "validator_leveldb_compaction_seconds_total", 1), 34);
  assert.equal(await sample(metrics, "validator_leveldb_compaction_written_bytes_total", 1), 196 * MiB);
  assert.equal(await sample(metrics, "validator_leveldb_files", 0), 0);
});

test("a real database's flushes show in its statistics and in the metrics", async () => {
  const dir = mkdtempSync(join(tmpdir(), "leveldb-stats-test-"));
  dirs.push(dir);
  // A 64 KiB buffer: 3 MiB of incompressible values go to tables.
  const { db } = await openDatabase(join(dir, "db"), { verifyTables: false, writeBufferBytes: 64 * 1024 });
  try {
    for (let batch = 0; batch < 48; batch++) {
      const ops = [];
      for (let i = 0; i < 16; i++) {
        ops.push({ type: "put" as const, key: randomBytes(16), value: randomBytes(4096) });
      }
      await db.batch(ops);
    }
    const stats = readLevelDbStats(db);
    assert.ok(stats !== null && stats.length > 0);
    // Background compactions may go on: only what has certainly happened is checked.
    assert.ok(stats.reduce((n, s) => n + s.compactionWrittenMiB, 0) >= 1);
    assert.ok(stats.reduce((n, s) => n + s.files, 0) >= 1);
    const metrics = createMetrics({ defaultMetrics: false });
    new LevelDbCounters(db, metrics).update();
    let written = 0;
    for (let level = 0; level < 7; level++) {
      written += (await sample(metrics, "validator_leveldb_compaction_written_bytes_total", level)) ?? 0;
    }
    assert.ok(written >= MiB, `written: ${written}`);
  } finally {
    await db.close();
  }
});
