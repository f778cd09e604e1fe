import type { Metrics } from "../observability/index.ts";
import { readLevelDbStats } from "../storage/index.ts";

/** LevelDB has levels 0 to 6 (config::kNumLevels in LevelDB 1.20). */
const LEVELS = 7;
const MiB = 1024 * 1024;

/**
 * Carries LevelDB's own statistics (`leveldb.stats`) to Prometheus before
 * each scrape of /metrics: files and size per level as gauges, and what
 * compactions cost as counters. LevelDB keeps its totals since the database
 * was opened; this adds what grew since the last look (a total that went
 * down belongs to a reopened database: all of it is new).
 */
export class LevelDbCounters {
  readonly #db: unknown;
  readonly #metrics: Metrics;
  /** Last totals seen, per level: seconds, MiB read, MiB written. */
  readonly #seen = new Map<string, number>();

  constructor(db: unknown, metrics: Metrics) {
    this.#db = db;
    this.#metrics = metrics;
  }

  update(): void {
    const stats = readLevelDbStats(this.#db);
    if (stats === null) return;
    const m = this.#metrics;
    // LevelDB lists only the levels with files or compaction history: the others hold nothing.
    for (let level = 0; level < LEVELS; level++) {
      const s = stats.find((x) => x.level === level);
      const labels = { level: String(level) };
      m.levelDbFiles.set(labels, s?.files ?? 0);
      m.levelDbBytes.set(labels, (s?.sizeMiB ?? 0) * MiB);
      if (s === undefined) continue;
      this.#add(`${level}/seconds`, s.compactionSeconds, (n) => m.levelDbCompactionSeconds.inc(labels, n));
      this.#add(`${level}/read`, s.compactionReadMiB, (n) => m.levelDbCompactionReadBytes.inc(labels, n * MiB));
      this.#add(`${level}/written`, s.compactionWrittenMiB, (n) =>
        m.levelDbCompactionWrittenBytes.inc(labels, n * MiB),
      );
    }
  }

  #add(name: string, total: number, inc: (n: number) => void): void {
    const last = this.#seen.get(name) ?? 0;
    const grown = total >= last ? total - last : total;
    if (grown > 0) inc(grown);
    this.#seen.set(name, total);
  }
}
