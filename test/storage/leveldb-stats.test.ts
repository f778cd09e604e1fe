/**
 * LevelDB's own statistics reach /metrics: the parser reads LevelDB 1.20's
 * `leveldb.stats` text, and LevelDbCounters turns a real database's totals
 * into gauges and counters without counting anything twice.
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
import { type LevelStats, openDatabase, parseLevelDbStats, readLevelDbStats } from "../../node/storage/index.ts";

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

test("a database without LevelDB's properties (the memory backend) has no statistics", () => {
  assert.equal(readLevelDbStats(new MemoryLevel()), null);
  const metrics = createMetrics({ defaultMetrics: false });
  new LevelDbCounters(new MemoryLevel(), metrics).update();
});

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

test("a real database's flushes show as level-0 writes and files, counted once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "leveldb-stats-test-"));
  dirs.push(dir);
  // A 64 KiB buffer: 3 MiB of incompressible values go to level-0 tables (and on, by compaction).
  const { db } = await openDatabase(join(dir, "db"), { verifyTables: false, writeBufferBytes: 64 * 1024 });
  try {
    for (let batch = 0; batch < 48; batch++) {
      const ops = [];
      for (let i = 0; i < 16; i++) {
        ops.push({ type: "put" as const, key: randomBytes(16), value: randomBytes(4096) });
      }
      await db.batch(ops);
    }
    // Flushes and compactions run in LevelDB's background thread: wait until they are done.
    let stats = readLevelDbStats(db);
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = readLevelDbStats(db);
      if (JSON.stringify(now) === JSON.stringify(stats)) break;
      stats = now;
    }
    assert.ok(stats !== null);
    const written = stats.reduce((n, s) => n + s.compactionWrittenMiB, 0);
    const files = stats.reduce((n, s) => n + s.files, 0);
    assert.ok(written >= 2, `LevelDB wrote ${written} MiB into tables`);
    assert.ok(files >= 1);

    const metrics = createMetrics({ defaultMetrics: false });
    const counters = new LevelDbCounters(db, metrics);
    counters.update();
    // Nothing written since: a second look adds nothing.
    counters.update();
    const final: LevelStats[] = stats;
    for (let level = 0; level < 7; level++) {
      const s = final.find((x) => x.level === level);
      assert.equal(await sample(metrics, "validator_leveldb_files", level), s?.files ?? 0);
      assert.equal(await sample(metrics, "validator_leveldb_level_bytes", level), (s?.sizeMiB ?? 0) * MiB);
      const counted = await sample(metrics, "validator_leveldb_compaction_written_bytes_total", level);
      // prom-client shows a labelled counter only once it has been incremented.
      assert.equal(counted ?? 0, (s?.compactionWrittenMiB ?? 0) * MiB, `level ${level}`);
    }
  } finally {
    await db.close();
  }
});
