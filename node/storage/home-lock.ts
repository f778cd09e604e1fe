import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Level } from "level";

/**
 * Which process holds a home (issue 15). LevelDB's lock on <dataDir>/db is
 * what keeps a second node out; the pid file next to it only lets commands
 * that refuse (init --force, reset) and a second `start` say which process
 * it is.
 */
export const PID_FILE = "node.pid";

export function writePidFile(dataDir: string): void {
  try {
    writeFileSync(join(dataDir, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  } catch {
    // Only an aid for messages; the database lock is what excludes a second node.
  }
}

export function removePidFile(dataDir: string): void {
  try {
    const file = join(dataDir, PID_FILE);
    if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}

/** "pid 1234" from the pid file, or "pid unknown". */
export function describeHolder(dataDir: string): string {
  try {
    const pid = Number(readFileSync(join(dataDir, PID_FILE), "utf8").trim());
    if (Number.isSafeInteger(pid) && pid > 0) return `pid ${pid}`;
  } catch {
    // No pid file: a node from before pid files, or one that is starting.
  }
  return "pid unknown";
}

/**
 * null when no process holds the database under `dataDir`; otherwise who
 * does ("pid 1234"). A database that does not open for another reason
 * (damaged, half-created) is not held.
 */
export async function homeLockHolder(dataDir: string): Promise<string | null> {
  const dbDir = join(dataDir, "db");
  if (!existsSync(dbDir)) return null;
  const db = new Level(dbDir, { createIfMissing: false });
  try {
    await db.open();
    return null;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code === "LEVEL_LOCKED" ? describeHolder(dataDir) : null;
  } finally {
    await db.close().catch(() => {});
  }
}
