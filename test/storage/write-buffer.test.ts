/**
 * storage.writeBufferMiB reaches LevelDB: the write buffer decides when the
 * memtable is flushed to a table file. The same writes (3 MiB of
 * incompressible values) leave table files behind a 1 MiB buffer and none
 * behind a 64 MiB one, where everything is still in the log.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { openDatabase } from "../../node/storage/index.ts";

const MiB = 1024 * 1024;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes 3 MiB through a database opened with this buffer, closes it, and lists its table files. */
async function tablesAfterWrites(writeBufferBytes: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "write-buffer-test-"));
  dirs.push(dir);
  const path = join(dir, "db");
  const { db } = await openDatabase(path, { verifyTables: false, writeBufferBytes });
  for (let batch = 0; batch < 48; batch++) {
    const ops = [];
    for (let i = 0; i < 16; i++) {
      const key = new TextEncoder().encode(`k${String(batch * 16 + i).padStart(6, "0")}`);
      ops.push({ type: "put" as const, key, value: randomBytes(4096) });
    }
    await db.batch(ops, { sync: true });
  }
  // Closing waits for a flush in progress; the live memtable stays in the log.
  await db.close();
  return readdirSync(path).filter((n) => n.endsWith(".ldb"));
}

test("a 1 MiB write buffer flushes 3 MiB of writes to table files", async () => {
  const tables = await tablesAfterWrites(MiB);
  assert.ok(tables.length >= 1, `expected table files, found ${tables.join(", ") || "none"}`);
});

test("a 64 MiB write buffer keeps the same writes in the log", async () => {
  assert.deepEqual(await tablesAfterWrites(64 * MiB), []);
});
