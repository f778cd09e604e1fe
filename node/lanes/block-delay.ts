/**
 * When the own lane cuts a block that is not full: at the first tick of a
 * wall-clock grid after its oldest pending tx arrived. The grid's period is
 * the block delay: `lanes.maxBlockDelayMs`, unless consensus itself is slow.
 *
 * Why a grid. Every lane cuts on the same ticks (the clocks of the
 * validators agree to a few ms), so the blocks of all lanes are certified
 * together and the leader (waiting up to consensus.proposeGatherMs for
 * the ones it holds) puts them in one index, instead of starting an index
 * for each lane's block as it comes. An index costs every node the same
 * fixed work whatever it holds (a proposal, two rounds of votes, a global
 * block write), and that fixed work was most of a node's CPU below the
 * peak. The oldest tx waits at most the delay instead of exactly it, so
 * txs also wait less. Measured on a devnet of 4 (README "Benchmark").
 *
 * A lane block costs every member the same fixed work whatever it holds: a
 * push, a signature check, a durable write, a vote and its check, a LaneQC.
 * When an index takes consensus longer than a block delay, blocks cut
 * faster than that only queue for the next proposal, and on a machine short
 * of CPU (7 validators sharing 2 cores) their fixed work slows the very
 * votes that finalize indexes: with 100 ms blocks the index rate fell to
 * 3-8 a second under 250 tx/s, with 200 ms blocks it rose to 8-11 (a
 * 2-vCPU Intel VM, stop 31). A fixed 200 ms costs 4 validators 40-80 ms of
 * p50 near their peak, so the delay adapts instead (README "Benchmark":
 * with this rule 7 validators kept up at 375 tx/s where a fixed 100 ms
 * missed at 250, on a 2-vCPU AMD EPYC VM).
 *
 * The signal is the time this node's consensus took per index: from
 * accepting the round-0 proposal to the CommitQC being durable (the
 * consensus machine measures it; round changes and catch-up are not
 * sampled). It leaves out the leader's wait for lane certificates, so the
 * lane delay cannot feed on itself: one busy lane, a paused chain or a
 * catch-up leave it alone, and a longer delay only lowers it (less work
 * competes with the votes). The delay follows twice the smoothed time,
 * rounded up to `floorMs` (lanes.maxBlockDelayMs) times a power of two so
 * that validators whose measurements differ a little still share ticks
 * (every tick of a 400 ms grid is one of the 100 ms grid), and at most
 * `capMs` (lanes.maxAdaptiveBlockDelayMs). Measured on the AMD EPYC VM at
 * a fixed delay (README "Benchmark"): 4 validators took 16 ms per index at
 * 500 tx/s and 26 ms at 3,000 (twice that is below 100 ms, so they keep
 * the floor); 7 validators at 250 tx/s took 93 ms with 100 ms blocks and
 * 65 ms with 200 ms blocks. A cap at or below the floor keeps the delay
 * fixed.
 *
 * Pure: the samples and the time come in as arguments.
 */

/** The delay as a multiple of the consensus time per index. */
const DELAY_PER_CONSENSUS = 2;
/** Weight of the newest sample in the smoothed time (about ten indexes of memory). */
const SMOOTHING = 0.1;
/**
 * The delay counts as "lengthened" for the log once it reaches this multiple
 * of the floor (or the cap, if that is lower), and as back once it is at the
 * floor again: the band between keeps a delay that hovers near the floor
 * from logging at every index.
 */
const LENGTHENED = 1.5;

/** A change worth a log line: the delay lengthened well past the floor, or came back to it. */
export type BlockDelayChange = "lengthened" | "restored" | null;

export class BlockDelay {
  readonly #floorMs: number;
  readonly #capMs: number;
  /** Smoothed consensus time per index; 0 until the first sample. */
  #consensusMs = 0;
  #lengthened = false;

  constructor(floorMs: number, capMs: number) {
    // At least 1 ms (the config's bound): the grid divides by it.
    this.#floorMs = Math.max(1, floorMs);
    this.#capMs = capMs;
  }

  /** An index was decided live in round 0; consensus took `ms` here. Returns a change worth logging. */
  sample(ms: number): BlockDelayChange {
    if (!Number.isFinite(ms) || ms < 0) return null;
    // One stalled index (a slow disk, a pause) weighs no more than a time that already reaches the cap.
    const s = Math.min(ms, this.#capMs / DELAY_PER_CONSENSUS);
    this.#consensusMs += (s - this.#consensusMs) * SMOOTHING;
    // The log follows the unrounded delay: rounding would turn every swing
    // across a power of two into a line.
    const delay = this.#followedMs();
    if (!this.#lengthened && delay > this.#floorMs && delay >= Math.min(this.#floorMs * LENGTHENED, this.#capMs)) {
      this.#lengthened = true;
      return "lengthened";
    }
    if (this.#lengthened && delay <= this.#floorMs) {
      this.#lengthened = false;
      return "restored";
    }
    return null;
  }

  /** The smoothed consensus time per index, ms. */
  get consensusMs(): number {
    return this.#consensusMs;
  }

  /** The delay now, ms: the grid's period, and the longest the oldest pending tx waits. */
  get ms(): number {
    const followed = this.#followedMs();
    let ms = this.#floorMs;
    while (ms < followed) ms *= 2;
    return Math.min(ms, Math.max(this.#capMs, this.#floorMs));
  }

  /**
   * When a block that is not full is cut, its oldest tx having arrived at
   * `oldestAtMs` (wall clock, ms): the first tick of the grid after it.
   * A wall clock stepped back (an NTP correction) puts that tx in the
   * future: then at once (`nowMs`), instead of holding the lane until the
   * clock has caught up.
   */
  cutAtMs(oldestAtMs: number, nowMs: number): number {
    if (oldestAtMs > nowMs) return nowMs;
    const period = this.ms;
    return (Math.floor(oldestAtMs / period) + 1) * period;
  }

  /** Twice the smoothed consensus time, between the floor and the cap, unrounded. */
  #followedMs(): number {
    if (this.#capMs <= this.#floorMs) return this.#floorMs;
    const followed = Math.round(this.#consensusMs * DELAY_PER_CONSENSUS);
    return Math.min(this.#capMs, Math.max(this.#floorMs, followed));
  }
}
