import { statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Committee } from "../committee/index.ts";
import {
  checkBlocks,
  describeDbKey,
  fileNumber,
  listDbFiles,
  readLiveFiles,
  resyncCommand,
  type Storage,
  StorageIntegrityError,
  verifyTables,
} from "../storage/index.ts";

/** Global blocks checked per slice (one await of the loop). */
const BLOCKS_PER_SLICE = 32;
/** A table file younger than this may still be written by a compaction: left for the next pass. */
const TABLE_SETTLE_MS = 10_000;
/** The longest single pause, so stop() is prompt and a slow rate still makes progress. */
const MAX_PAUSE_MS = 5_000;
/** Passes start at most this often (a small database is checked quickly; no need to spin). */
const MIN_PASS_INTERVAL_MS = 60_000;
/**
 * Tx index keys looked up per global block per pass, a different window
 * each pass (TxIndexSample in node/storage): a block of 200 txs is covered
 * in 25 passes. Every pass still re-reads every table block, the index's
 * included, with its checksum. The lookups are iterator seeks, not point
 * reads (ChainStore.lookupPositions): with point reads, the scrub made
 * LevelDB compact tables for them. Measured with `npm run bench -- --rates
 * 1000,2000,3000,4000 --refine 0` (4 validators, 2-core VM), bytes written
 * per finalized tx at 4,000 tx/s and at 80% of the peak after it: point
 * reads of every tx 3,000-3,600 and 3,800-4,100 (6 runs); point reads of 8
 * per block 3,100-3,200 and 3,400 (2); seeks of every tx 2,300-2,400 and
 * 2,100-2,200 (2); seeks of 8 per block, this code, 2,400 and 2,200; the
 * scrub off 2,300-2,400 and 2,300-2,500 (6).
 */
const TX_INDEX_KEYS_PER_BLOCK = 8;

export interface ScrubOptions {
  storage: Storage;
  committee: Committee;
  dbPath: string;
  home: string;
  bytesPerSecond: number;
  logger: Logger;
  /**
   * The highest global block known durable. Not `storage.chain.tip`, which
   * moves when a write is staged: a block staged but not yet written would
   * look "missing" and stop the node for nothing.
   */
  durableTip(): number;
  /** Bytes read and checked (a metric). */
  onBytes(bytes: number): void;
  onPass(): void;
  /** Damage found: the node must stop. */
  onDamage(err: StorageIntegrityError): void;
}

/**
 * The background scrub (issue 16): over and over, re-reads every table
 * block of the database with its checksum and checks every finalized global
 * block in depth (hash links, lane chains, payload hashes, tx index), below
 * the anchor too, at most `bytesPerSecond`. Damage stops the node with the
 * key range and the remedy, instead of surfacing as a failed write at some
 * later compaction.
 */
export class Scrubber {
  readonly #o: ScrubOptions;
  readonly #abort = new AbortController();
  #done: Promise<void> | null = null;
  /** Passes started, which picks each block's tx index window. */
  #pass = 0;

  constructor(opts: ScrubOptions) {
    this.#o = opts;
  }

  start(): void {
    if (this.#o.bytesPerSecond <= 0 || this.#done !== null) return;
    this.#done = this.#run().catch((err: unknown) => {
      if (this.#abort.signal.aborted) return;
      if (err instanceof StorageIntegrityError) this.#o.onDamage(err.locate(this.#o.dbPath, this.#o.home));
      else
        this.#o.logger.warn({ err: (err as Error).message }, "scrub stopped on an error; it resumes after a restart");
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }

  async #run(): Promise<void> {
    const log = this.#o.logger;
    while (!this.#abort.signal.aborted) {
      const started = performance.now();
      this.#pass++;
      const tables = await this.#tables();
      const blocks = await this.#blocks();
      this.#o.onPass();
      log.info(
        { tableBytes: tables, blockBytes: blocks, durationMs: Math.round(performance.now() - started) },
        "scrub pass complete: every table block and global block checked",
      );
      await this.#pause(MIN_PASS_INTERVAL_MS - (performance.now() - started));
    }
  }

  async #tables(): Promise<number> {
    const { dbPath } = this.#o;
    let total = 0;
    // The tables of the current version: one a failed compaction left behind
    // is garbage LevelDB deletes at its next open, not damage.
    const live = readLiveFiles(dbPath);
    for (const name of listDbFiles(dbPath).tables) {
      if (this.#abort.signal.aborted) return total;
      if (live !== null && !live.tables.has(fileNumber(name))) continue;
      const path = join(dbPath, name);
      let size: number;
      let mtimeMs: number;
      try {
        ({ size, mtimeMs } = statSync(path));
      } catch {
        continue; // compacted away
      }
      if (Date.now() - mtimeMs < TABLE_SETTLE_MS) continue;
      const damage = verifyTables(dbPath, describeDbKey, [name]);
      const d = damage[0];
      if (d !== undefined) {
        throw new StorageIntegrityError({
          path: dbPath,
          keyRange: d.keyRange === "" ? `${name} (key range unknown)` : d.keyRange,
          problem: `table ${name}: the block at byte ${d.offset} (${d.bytes} bytes): ${d.reason}`,
          lost: `the keys in that block${d.keyRange === "" ? "" : ` (${d.keyRange})`} cannot be read`,
          remedy: resyncCommand(),
        });
      }
      total += size;
      await this.#spent(size);
    }
    return total;
  }

  async #blocks(): Promise<number> {
    const { storage, committee } = this.#o;
    let total = 0;
    const tip = this.#o.durableTip();
    for (let from = storage.chain.first; from <= tip; from += BLOCKS_PER_SLICE) {
      if (this.#abort.signal.aborted) return total;
      // Retention may have pruned past this slice meanwhile: start at what is kept.
      from = Math.max(from, storage.chain.first);
      let bytes: number;
      try {
        ({ bytes } = await checkBlocks(storage, committee, from, Math.min(tip, from + BLOCKS_PER_SLICE - 1), {
          rehashTxs: false,
          txIndexSample: { keysPerBlock: TX_INDEX_KEYS_PER_BLOCK, pass: this.#pass },
        }));
      } catch (err) {
        // Records pruned while the slice was read are not damage.
        if (from < storage.chain.first) continue;
        throw err;
      }
      total += bytes;
      await this.#spent(bytes);
    }
    return total;
  }

  /** Counts `bytes` and pauses long enough to stay within the rate. */
  async #spent(bytes: number): Promise<void> {
    this.#o.onBytes(bytes);
    await this.#pause((bytes / this.#o.bytesPerSecond) * 1000);
  }

  async #pause(ms: number): Promise<void> {
    let left = ms;
    while (left > 0 && !this.#abort.signal.aborted) {
      const step = Math.min(left, MAX_PAUSE_MS);
      await sleep(step, undefined, { signal: this.#abort.signal, ref: false }).catch(() => {});
      left -= step;
    }
  }
}
