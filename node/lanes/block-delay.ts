/**
 * How long the oldest pending tx may wait before the own lane cuts a block
 * (when the block is not full first).
 *
 * A lane block costs every member the same fixed work whatever it holds:
 * a push, a signature check, a durable write, a vote and its check. Blocks
 * cut much faster than the chain finalizes indexes buy little latency (a
 * tx waits for the next proposal anyway) and take CPU from the votes that
 * finalize indexes. On 7 validators sharing 2 cores, with 100 ms blocks the
 * index rate fell to 3-6 a second under 250 tx/s and the p99 passed 1 s;
 * with 200 ms blocks the same CPU per tx went to consensus instead, indexes
 * ran at about 11 a second and 500 tx/s kept up (README "Benchmark"). Where
 * the chain was fast, the index interval was about half the block delay (4
 * validators: 100 ms blocks, 50-70 ms indexes; 7 with 200 ms blocks: 90 ms).
 * So the delay is twice the smoothed interval between finalized indexes,
 * between `floorMs` (lanes.maxBlockDelayMs, the delay of a fast chain) and
 * `capMs` (lanes.maxAdaptiveBlockDelayMs). (Once the delay itself, one
 * block per index, settled back at the floor: in the good state indexes run
 * faster than the blocks that made it good.) A fast chain keeps the floor:
 * the delay moves only once twice the interval passes 1.5 times the floor,
 * and the interval is smoothed over about ten indexes, since on 4
 * validators (indexes every 50-55 ms on average, single ones from 20 to
 * 150 ms) a delay that followed every swing cost 10-20 ms of p50 at
 * 500-2,000 tx/s. A cap at or below the floor keeps the delay fixed.
 *
 * Pure: time comes in as arguments.
 */

/** The delay as a multiple of the index interval: about one lane block per two indexes. */
const INDEXES_PER_BLOCK = 2;
/** Weight of the newest interval in the smoothed one (about ten indexes of memory). */
const SMOOTHING = 0.1;
/** The delay leaves the floor only above this multiple of it. */
const DEAD_BAND = 1.5;

export class BlockDelay {
  readonly #floorMs: number;
  readonly #capMs: number;
  /** Smoothed interval between finalized indexes. */
  #intervalMs: number;
  #lastFinalizedAtMs: number | null = null;
  #busyAtLast = false;

  constructor(floorMs: number, capMs: number) {
    this.#floorMs = floorMs;
    this.#capMs = capMs;
    // As if indexes came as fast as the floor allows: a new node starts at the floor.
    this.#intervalMs = floorMs / INDEXES_PER_BLOCK;
  }

  /**
   * An index was finalized at `nowMs`. `busy`: this node has work in flight
   * (txs pending, or own blocks not final). The interval since the previous
   * index counts only if the node was busy then: an idle chain's pause
   * measures nothing and would only lengthen the first blocks after it.
   */
  finalized(nowMs: number, busy: boolean): void {
    if (this.#lastFinalizedAtMs !== null && this.#busyAtLast) {
      const sampleMs = Math.min(Math.max(0, nowMs - this.#lastFinalizedAtMs), this.#capMs);
      this.#intervalMs += (sampleMs - this.#intervalMs) * SMOOTHING;
    }
    this.#lastFinalizedAtMs = nowMs;
    this.#busyAtLast = busy;
  }

  /** The delay now. */
  get ms(): number {
    if (this.#capMs <= this.#floorMs) return this.#floorMs;
    const followed = this.#intervalMs * INDEXES_PER_BLOCK;
    if (followed < this.#floorMs * DEAD_BAND) return this.#floorMs;
    return Math.min(this.#capMs, Math.round(followed));
  }
}
