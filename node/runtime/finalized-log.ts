import type { Logger } from "pino";

/** Lines per second logged one per finalized index before switching to a summary. */
const MAX_LINES_PER_SECOND = 5;

/**
 * One log line per finalized index while the chain is calm; under load, a
 * summary line per second (first and last index, txs) instead of a flood.
 */
export class FinalizedLog {
  readonly #log: Logger;
  #second = -1;
  #linesThisSecond = 0;
  #summary: { from: number; to: number; indexes: number; txs: number } | null = null;

  constructor(log: Logger) {
    this.#log = log;
  }

  note(index: number, round: number, txs: number, nowMs: number): void {
    this.#roll(nowMs);
    if (this.#linesThisSecond < MAX_LINES_PER_SECOND) {
      this.#linesThisSecond++;
      this.#log.info({ index, round, txs }, "finalized");
      return;
    }
    const s = this.#summary ?? { from: index, to: index, indexes: 0, txs: 0 };
    s.to = index;
    s.indexes++;
    s.txs += txs;
    this.#summary = s;
  }

  /** Emits the pending summary once its second is over. */
  tick(nowMs: number): void {
    this.#roll(nowMs);
  }

  #roll(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (second === this.#second) return;
    if (this.#summary !== null) {
      this.#log.info(this.#summary, "finalized (summary of the last second)");
      this.#summary = null;
    }
    this.#second = second;
    this.#linesThisSecond = 0;
  }
}
