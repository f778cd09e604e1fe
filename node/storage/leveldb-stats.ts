/**
 * LevelDB's own statistics (`leveldb.stats`): per level, the table files
 * and their size, and what compactions into that level cost since the
 * database was opened (seconds, MiB read and written). LevelDB compacts on
 * one background thread of its own; under load its work can take as much
 * CPU as a node's event loop. These numbers say how busy that thread is,
 * and how much each level rewrites.
 */

export interface LevelStats {
  level: number;
  files: number;
  /** The level's table files, in MiB (LevelDB rounds to whole MiB). */
  sizeMiB: number;
  /** Wall-clock time of the compactions into this level since open, I/O included, in (rounded) seconds. */
  compactionSeconds: number;
  /** MiB those compactions read and wrote (rounded); memtable flushes count as writes, mostly into level 0. */
  compactionReadMiB: number;
  compactionWrittenMiB: number;
}

/**
 * Parses the text of LevelDB 1.20's `leveldb.stats` property: a header, then
 * one line per level that has files or compaction history,
 * `level files size(MB) time(sec) read(MB) write(MB)`. Lines that do not fit
 * are skipped, so a format change yields fewer levels, never wrong ones.
 */
export function parseLevelDbStats(text: string): LevelStats[] {
  const levels: LevelStats[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m === null) continue;
    const [level, files, sizeMiB, compactionSeconds, compactionReadMiB, compactionWrittenMiB] = m.slice(1).map(Number);
    levels.push({
      level: level!,
      files: files!,
      sizeMiB: sizeMiB!,
      compactionSeconds: compactionSeconds!,
      compactionReadMiB: compactionReadMiB!,
      compactionWrittenMiB: compactionWrittenMiB!,
    });
  }
  return levels;
}

/** What `leveldb.stats` says of `db`, or null for a database that is not a LevelDB (the simulator's memory backend). */
export function readLevelDbStats(db: unknown): LevelStats[] | null {
  const getProperty = (db as { getProperty?: unknown }).getProperty;
  if (typeof getProperty !== "function") return null;
  try {
    return parseLevelDbStats(String(getProperty.call(db, "leveldb.stats")));
  } catch {
    // A closed database refuses: no statistics this time.
    return null;
  }
}
