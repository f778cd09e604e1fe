/**
 * What `validator resync` does to the data directory: keep the safety
 * record, move the damaged database aside, start a fresh one that holds
 * only the carried record. The node then rebuilds the chain from its peers
 * (catch-up from index 1) while the carried record bars every vote at or
 * below the views it names.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { Level } from "level";
import { type Committee, verifyPrepareQc } from "../committee/index.ts";
import { codecs, type SafetyRecord, viewKey } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { utf8 } from "./keys.ts";
import { space } from "./level.ts";
import { listDbFiles, verifyLogFile } from "./leveldb-files.ts";
import { clearDamage } from "./open-db.ts";
import { highestIndex, inconsistency } from "./safety-store.ts";
import { openStorage } from "./storage.ts";
import { WriteSet } from "./write-set.ts";

type ClassicStatic = { repair(location: string): Promise<void> };

/** Is a process holding LevelDB's lock on `dbPath`? Read from /proc/locks, without opening (and so replaying) the database. */
export function databaseInUse(dbPath: string): boolean | null {
  const lockFile = join(dbPath, "LOCK");
  if (!existsSync(lockFile)) return false;
  let locks: string;
  try {
    locks = readFileSync("/proc/locks", "utf8");
  } catch {
    return null; // cannot tell on this platform
  }
  const { ino } = statSync(lockFile);
  // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF": major:minor:inode
  return locks.split("\n").some((line) => line.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
}

export interface SalvagedSafety {
  record: SafetyRecord | null;
  /** How the record was read back: directly, or after LevelDB's repair of a copy. */
  how: "read" | "repaired copy";
  /**
   * The highest index anything in the salvaged data names (CommitQC WAL,
   * anchor, chain, app, the record itself): no new vote at or below it, since
   * a later safety record may have been lost with the damage.
   */
  floorIndex: number;
  /** The write-ahead log was damaged: records after the kept one may be lost. */
  logDamaged: boolean;
  /** Next number of this validator's own lane WAL (0 for an observer or when unreadable). */
  ownLaneNext: number;
}

/**
 * Reads the safety record from a copy of the database (never the original:
 * opening a damaged database lets LevelDB drop records for good), repairing
 * the copy with LevelDB's RepairDB when it does not open (missing CURRENT,
 * damaged manifest). The record must decode and validate (its lock
 * certificate verifies); otherwise resync cannot keep it and says so.
 */
export async function salvageSafetyRecord(
  dbPath: string,
  committee: Committee,
  me: number | null,
): Promise<SalvagedSafety> {
  const scratch = mkdtempSync(join(dirname(dbPath), ".resync-salvage-"));
  const copy = join(scratch, "db");
  try {
    cpSync(dbPath, copy, { recursive: true, filter: (src) => !src.endsWith("/LOCK") });
    const logDamaged = listDbFiles(dbPath).logs.some((name) => verifyLogFile(join(dbPath, name)).length > 0);
    let how: SalvagedSafety["how"] = "read";
    let read: Awaited<ReturnType<typeof readSafety>>;
    try {
      read = await readSafety(copy, committee, me);
    } catch {
      await (Level as unknown as ClassicStatic).repair(copy);
      how = "repaired copy";
      read = await readSafety(copy, committee, me);
    }
    const { raw, ownLaneNext } = read;
    if (raw === undefined) return { record: null, how, floorIndex: read.highest, ownLaneNext, logDamaged };
    let record: SafetyRecord;
    try {
      record = codecs.safetyRecord.decode(new Uint8Array(raw));
    } catch (err) {
      throw new StorageError(`meta/safety does not decode: ${(err as Error).message}`);
    }
    const problem = inconsistency(record, Number.MAX_SAFE_INTEGER);
    if (problem !== null) throw new StorageError(`meta/safety is inconsistent: ${problem}`);
    if (record.lock !== null) {
      const check = verifyPrepareQc(committee, record.lock);
      if (!check.ok) throw new StorageError(`meta/safety: the lock's certificate does not verify: ${check.reason}`);
    }
    return { record, how, floorIndex: Math.max(read.highest, highestIndex(record)), ownLaneNext, logDamaged };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The raw safety record and the highest index the rest of the data names (best effort: it may be damaged). */
async function readSafety(
  dbPath: string,
  committee: Committee,
  me: number | null,
): Promise<{ raw: Uint8Array | undefined; highest: number; ownLaneNext: number }> {
  const db = new Level<Uint8Array, Uint8Array>(dbPath, {
    createIfMissing: false,
    keyEncoding: "view",
    valueEncoding: "view",
  });
  await db.open();
  try {
    const raw = await space(db, ["meta"]).get(utf8("safety"));
    let highest = 0;
    let ownLaneNext = 0;
    try {
      const storage = await openStorage(db, committee);
      if (me !== null) ownLaneNext = storage.lanes.wal(me).next;
      highest = Math.max(
        storage.commitQcs.wal.next - 1,
        storage.anchor.index,
        storage.chain.tip,
        storage.app.executedIndex,
      );
    } catch {
      // The rest is damaged: the record alone sets the floor.
    }
    return { raw, highest, ownLaneNext };
  } finally {
    await db.close();
  }
}

/**
 * Moves the database aside (`db.damaged-<time>`, kept for inspection) and
 * creates a fresh one holding only `record`, marked as carried over.
 * Returns where the old database went.
 */
export async function rebuildWithSafety(
  dbPath: string,
  committee: Committee,
  salvaged: Pick<SalvagedSafety, "record" | "floorIndex" | "ownLaneNext">,
  nowMs: number,
): Promise<string> {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, "-");
  const aside = `${dbPath}.damaged-${stamp}`;
  renameSync(dbPath, aside);
  clearDamage(dbPath);
  const db = new Level<Uint8Array, Uint8Array>(dbPath, {
    createIfMissing: true,
    errorIfExists: true,
    keyEncoding: "view",
    valueEncoding: "view",
  });
  const storage = await openStorage(db, committee);
  try {
    {
      const ws = new WriteSet();
      storage.safety.carry(ws, salvaged.record, salvaged.floorIndex, salvaged.ownLaneNext);
      const batch = storage.db.batch();
      for (const op of ws.ops) {
        if (op.type === "put") batch.put(op.key, op.value, { sublevel: op.space });
        else batch.del(op.key, { sublevel: op.space });
      }
      await batch.write({ sync: true });
    }
  } finally {
    await storage.close();
  }
  return aside;
}

/** One line about a safety record for the operator. */
export function describeSafety(record: SafetyRecord | null): string {
  if (record === null) return "no safety record (this node never voted)";
  const parts = [
    record.prepare ? `prepare vote ${viewKey(record.prepare.view)}` : "",
    record.commit ? `commit vote ${viewKey(record.commit.view)}` : "",
    record.timeout ? `timeout vote ${viewKey(record.timeout.view)}` : "",
    record.lock ? `lock ${viewKey(record.lock.proposal.view)}` : "",
  ].filter((p) => p !== "");
  return `safety record up to index ${highestIndex(record)} (${parts.join(", ")})`;
}
