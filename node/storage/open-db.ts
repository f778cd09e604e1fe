import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Level } from "level";
import { type IntegrityFacts, resyncCommand, StorageIntegrityError } from "./errors.ts";
import { describeDbKey } from "./keys.ts";
import { type FileDamage, fileBytes, heldDatabase, listDbFiles, verifyLogFile, verifyTables } from "./leveldb-files.ts";
import { fileNumber, readLiveFiles } from "./leveldb-manifest.ts";

export type ClassicDb = Level<Uint8Array, Uint8Array>;

export interface OpenDatabaseOptions {
  /** Check every table block's checksum before opening (storage.verifyTablesAtStart). */
  verifyTables: boolean;
  /** LevelDB's write buffer (memtable) in bytes (storage.writeBufferMiB); LevelDB's own 4 MiB when absent. */
  writeBufferBytes?: number;
}

export interface OpenReport {
  logBytes: number;
  tableBytes: number;
  tables: number;
  /**
   * Files the manifest does not list (an interrupted compaction's output, a
   * log already in tables): not checked, and deleted by LevelDB as it opens.
   */
  obsoleteFiles: string[];
  durationMs: number;
}

/** storage.writeBufferMiB in bytes, as LevelDB takes it. */
export function writeBufferBytes(storage: { writeBufferMiB: number }): number {
  return storage.writeBufferMiB * 1024 * 1024;
}

/**
 * The options the node opens its LevelDB with (byte keys and values, the
 * write buffer of storage.writeBufferMiB): for the node itself and for the
 * tools that open a node's database, so both see the same LevelDB.
 */
export function nodeLevelOptions(writeBufferBytes?: number) {
  return {
    keyEncoding: "view",
    valueEncoding: "view",
    ...(writeBufferBytes === undefined ? {} : { writeBufferSize: writeBufferBytes }),
  } as const;
}

/** Damage found once and kept beside the database, so a restart cannot forget it. */
const DAMAGE_FILE = "damaged.json";

/** The file that records damage found in the database at `dbPath`. */
export function damageFile(dbPath: string): string {
  return join(dirname(dbPath), DAMAGE_FILE);
}

/**
 * Opens the node's LevelDB at `dbPath`, refusing what LevelDB would accept
 * silently:
 * - a directory that held a database but has no CURRENT (LevelDB would
 *   create an empty database and delete the old table files);
 * - a log record whose checksum fails (LevelDB would drop it and the bytes
 *   after it in its block: acknowledged writes gone without a word);
 * - a table block whose checksum fails, or that cannot be read (found
 *   before compaction trips over it);
 * - damage found earlier (the damage file).
 * Each refusal is a StorageIntegrityError with the remedy `validator resync`.
 */
export async function openDatabase(
  dbPath: string,
  opts: OpenDatabaseOptions,
): Promise<{ db: ClassicDb; report: OpenReport }> {
  const started = performance.now();
  const recorded = readDamageFile(dbPath);
  if (recorded !== null) throw new StorageIntegrityError(recorded);
  const files = listDbFiles(dbPath);
  const held = heldDatabase(files);
  if (held && !files.current) {
    throw new StorageIntegrityError({
      path: dbPath,
      keyRange: "CURRENT (the whole database)",
      problem: `the CURRENT file is missing, but the directory holds ${describeFiles(files)}`,
      lost: "the pointer to the database's manifest: opened as it is, LevelDB would start an empty database and delete the old table files",
      remedy: resyncCommand(),
    });
  }
  // Only what the current version uses: a crash or shutdown in the middle of
  // a compaction leaves a half-written table that LevelDB never reads and
  // deletes as it opens. Without a readable manifest, every file is checked.
  const live = readLiveFiles(dbPath);
  const logs = live === null ? files.logs : files.logs.filter((n) => fileNumber(n) >= live.minLogNumber);
  const tables = live === null ? files.tables : files.tables.filter((n) => live.tables.has(fileNumber(n)));
  const obsoleteFiles = [...files.logs, ...files.tables].filter((n) => !logs.includes(n) && !tables.includes(n));
  let logBytes = 0;
  for (const name of logs) {
    const path = join(dbPath, name);
    logBytes += fileBytes(path);
    const damage = verifyLogFile(path);
    if (damage.length > 0) throw logDamage(dbPath, damage);
  }
  let tableBytes = 0;
  if (opts.verifyTables) {
    for (const name of tables) tableBytes += fileBytes(join(dbPath, name));
    const damage = verifyTables(dbPath, describeDbKey, tables);
    if (damage.length > 0) throw tableDamage(dbPath, damage);
  }
  const db = new Level<Uint8Array, Uint8Array>(dbPath, {
    createIfMissing: !held,
    ...nodeLevelOptions(opts.writeBufferBytes),
  });
  try {
    await db.open();
  } catch (err) {
    // A held lock, permissions and the like: the caller's to describe (the original error).
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const message = cause?.message ?? (err as Error).message;
    if (
      cause?.code !== "LEVEL_LOCKED" &&
      (cause?.code === "LEVEL_CORRUPTION" || /corrupt|no such file|checksum/i.test(message))
    ) {
      throw new StorageIntegrityError({
        path: dbPath,
        keyRange: "* (LevelDB cannot open the database)",
        problem: message,
        lost: "everything LevelDB cannot read back from its manifest and files",
        remedy: resyncCommand(),
      });
    }
    throw err;
  }
  // Backstop: anything LevelDB itself reported dropping while it opened.
  const dropped = droppedInInfoLog(dbPath);
  if (dropped !== null) {
    const facts: IntegrityFacts = {
      path: dbPath,
      keyRange: "* (records LevelDB dropped while opening)",
      problem: `LevelDB reported while recovering: ${dropped}`,
      lost: "the records in the dropped bytes, which LevelDB has now discarded",
      remedy: resyncCommand(),
    };
    recordDamage(dbPath, facts);
    await db.close().catch(() => {});
    throw new StorageIntegrityError(facts);
  }
  return {
    db,
    report: {
      logBytes,
      tableBytes,
      tables: tables.length,
      obsoleteFiles,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

/** Records damage beside the database so every later start refuses it until a resync. */
export function recordDamage(dbPath: string, facts: IntegrityFacts): void {
  try {
    writeFileSync(damageFile(dbPath), `${JSON.stringify({ ...facts, foundAt: new Date().toISOString() })}\n`);
  } catch {
    // The error itself still stops the node; the record is a second line of defence.
  }
}

export function clearDamage(dbPath: string): void {
  rmSync(damageFile(dbPath), { force: true });
}

function readDamageFile(dbPath: string): IntegrityFacts | null {
  const file = damageFile(dbPath);
  if (!existsSync(file)) return null;
  let facts: Partial<IntegrityFacts> = {};
  try {
    facts = JSON.parse(readFileSync(file, "utf8")) as Partial<IntegrityFacts>;
  } catch {
    // An unreadable record still says the database was found damaged.
  }
  return {
    path: dbPath,
    keyRange: facts.keyRange ?? "*",
    problem: `damage was found earlier and recorded in ${file}: ${facts.problem ?? "(record unreadable)"}`,
    lost: facts.lost ?? "unknown",
    remedy: `${resyncCommand()} (or, after restoring the database from a backup, delete ${file})`,
  };
}

function describeFiles(f: ReturnType<typeof listDbFiles>): string {
  const parts = [
    f.manifests.length > 0 ? `${f.manifests.length} manifest(s)` : "",
    f.tables.length > 0 ? `${f.tables.length} table file(s)` : "",
    f.logs.length > 0 ? `${f.logs.length} log file(s)` : "",
  ].filter((p) => p !== "");
  return parts.join(", ");
}

function logDamage(dbPath: string, damage: FileDamage[]): StorageIntegrityError {
  const d = damage[0]!;
  const bytes = damage.reduce((n, x) => n + x.bytes, 0);
  const where = damage.map((x) => `bytes ${x.offset}..${x.offset + x.bytes - 1}`).join(", ");
  return new StorageIntegrityError({
    path: dbPath,
    keyRange: `${basename(d.file)} ${where} (writes since the last table flush)`,
    problem: `${bytes} bytes of the write-ahead log fail their checksum (${d.reason}); LevelDB would silently drop them`,
    lost: "the writes in those bytes: records acknowledged as durable (blocks, certificates, votes); which keys they held cannot be read",
    remedy: resyncCommand(),
  });
}

function tableDamage(dbPath: string, damage: FileDamage[]): StorageIntegrityError {
  const d = damage[0]!;
  const more = damage.length > 1 ? ` (and ${damage.length - 1} more damaged block(s))` : "";
  return new StorageIntegrityError({
    path: dbPath,
    keyRange: d.keyRange === "" ? `${basename(d.file)} (key range unknown)` : d.keyRange,
    problem: `table ${basename(d.file)}: the block at byte ${d.offset} (${d.bytes} bytes): ${d.reason}${more}`,
    lost: `the keys in that block${d.keyRange === "" ? "" : ` (${d.keyRange})`} cannot be read`,
    remedy: resyncCommand(),
  });
}

/** A line of LevelDB's info LOG from this open that reports dropped bytes or corruption. */
function droppedInInfoLog(dbPath: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(dbPath, "LOG"), "latin1");
  } catch {
    return null;
  }
  const line = text.split("\n").find((l) => /dropping \d+ bytes|Corruption|ignoring error/.test(l));
  return line === undefined ? null : line.replace(/^\S+\s+\S+\s+/, "").trim();
}
