import type { Logger } from "pino";
import type { SyncClientApi } from "../net/index.ts";
import type { BatchQc, CommitQc, GlobalBlock, LaneBlock } from "../types/index.ts";

/** Lane-block and CommitQC fetches in flight at once; more wait for the next ask. */
const MAX_IN_FLIGHT = 8;
/** CommitQCs or global blocks asked for in one request. */
export const RANGE_ITEMS = 64;
/** Global-block requests in flight at once while catching up (the pipeline's depth). */
export const PIPELINE_DEPTH = 3;
/**
 * Indexes fetched beyond the node's executed index: what is in flight, held
 * here in order, or handed to the protocol and not executed yet. It bounds
 * the catch-up's memory (with the server's byte bound per response, at most
 * PIPELINE_DEPTH responses plus this many global blocks) and stays below the
 * protocol's own bounds (consensus holds 256 future CommitQCs, execution
 * MAX_SYNCED_AHEAD synced indexes).
 */
export const MAX_AHEAD_INDEXES = 192;
/**
 * Behind a peer by more than this: catch up from finalized global blocks, not
 * CommitQCs and lane blocks. A node back from a restart or a partition is a
 * few indexes behind; one global-block request brings all of them (CommitQC
 * and lane blocks together), where the live path needs a CommitQC request
 * and then a lane-block request per lane, each a round trip to a peer that
 * may be busy. Within this gap the live path keeps up by itself.
 */
export const GLOBAL_CATCH_UP_MIN_GAP = 2;
/**
 * A node one index behind a peer for this long has missed that index's
 * CommitQC (a pipelined chain is one behind for a few ms at a time); the
 * status probe then fetches it. Shorter than the runtime's probe period, so
 * the second periodic probe that finds it stuck fetches.
 */
export const ONE_BEHIND_GRACE_MS = 1_000;
/** A range nobody could serve is asked again after this long. */
const RETRY_MS = 500;
/** Handed-over blocks that the node did not apply within this long are fetched again. */
const STALL_MS = 5_000;
/**
 * Nothing applied and no block arrived for this long (longer than a sync
 * request's own timeout): the target is not served by any peer, the run ends.
 */
const UNSERVED_MS = 15_000;

export interface CatchUpSink {
  laneBlocks(blocks: LaneBlock[]): void;
  commitQcs(qcs: CommitQc[]): void;
  /** A run of finalized global blocks, in index order. */
  globalBlocks(blocks: GlobalBlock[]): void;
  batchQcs(qcs: BatchQc[]): void;
  /** Highest index whose global block this node has executed. */
  executedIndex(): number;
  /** Highest index whose CommitQC this node holds durably. */
  finalizedIndex(): number;
}

export interface CatchUpStats {
  /** True while catching up from global blocks. */
  active: boolean;
  /** Highest index a peer reported final. */
  targetIndex: number;
  globalRequests: number;
  globalIndexesFetched: number;
}

/**
 * Turns the protocol's "fetch" effects into sync requests and feeds the
 * answers back as inputs. Deduplicates requests already in flight and bounds
 * their number.
 *
 * A node far behind (or asking for what peers already pruned: lane blocks
 * and CommitQCs below their anchor) catches up from finalized global blocks,
 * which carry both the CommitQC and the lane blocks of an index. That is a
 * pipeline: up to PIPELINE_DEPTH range requests in flight, answers handed to
 * the protocol in index order as soon as the run from the executed index is
 * contiguous, never more than MAX_AHEAD_INDEXES beyond it; every fetched
 * index is applied, none is fetched twice unless a peer failed or the node
 * did not apply it (then it is asked again). `pump()` moves it on; the
 * runtime calls it after every turn.
 */
export class CatchUp {
  readonly #sync: SyncClientApi;
  readonly #sink: CatchUpSink;
  readonly #log: Logger;
  readonly #inFlight = new Set<string>();
  #stopped = false;

  // ---- the global-block pipeline ----
  #active = false;
  #target = 0;
  /** Next index not yet requested. */
  #next = 1;
  /** Highest index handed to the protocol. */
  #handed = 0;
  /** Answers not yet handed over, by first index (only ranges in #next's past). */
  readonly #ready = new Map<number, GlobalBlock[]>();
  /** Ranges to ask (again) before #next: short answers and failures. */
  #holes: { first: number; last: number }[] = [];
  #requests = 0;
  #retryAtMs = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #progressAtMs = 0;
  #lastExecuted = 0;
  /** Since when a probe has found a peer exactly one index ahead of this node's finalized index. */
  #oneBehind: { index: number; sinceMs: number } | null = null;
  readonly stats: CatchUpStats = { active: false, targetIndex: 0, globalRequests: 0, globalIndexesFetched: 0 };

  /** The clock (a test drives its own). */
  readonly #now: () => number;

  constructor(sync: SyncClientApi, sink: CatchUpSink, log: Logger, now: () => number = Date.now) {
    this.#now = now;
    this.#sync = sync;
    this.#sink = sink;
    this.#log = log;
  }

  get inFlight(): number {
    return this.#inFlight.size + this.#requests;
  }

  stop(): void {
    this.#stopped = true;
    this.#active = false;
    this.#ready.clear();
    this.#holes = [];
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  /** Lane blocks from..to-1 of a lane. */
  laneBlocks(lane: number, from: number, to: number): void {
    if (to <= from || this.#active) return;
    this.#run(`lane/${lane}/${from}`, async () => {
      const blocks = await this.#sync.fetchLaneBlocks(lane, from, to - 1);
      if (blocks.length > 0) this.#sink.laneBlocks(blocks);
      // Lane block numbers are no global index: the target is the peer's tip.
      else await this.#globalFromStatus(0);
    });
  }

  /** CommitQCs from index `from` on. */
  commitQcs(from: number): void {
    if (this.#active) return;
    this.#run(`cqc/${from}`, async () => {
      const qcs = await this.#sync.fetchCommitQcs(from, from + RANGE_ITEMS - 1);
      if (qcs.length > 0) this.#sink.commitQcs(qcs);
      else await this.#globalFromStatus(from);
    });
  }

  /** BatchQCs from batch `from` on (this node missed some). */
  batchQcs(from: number): void {
    this.#run(`bqc/${from}`, async () => {
      const qcs = await this.#sync.fetchBatchQcs(from, from + RANGE_ITEMS - 1);
      if (qcs.length > 0) this.#sink.batchQcs(qcs);
    });
  }

  /** Asks a peer how far its chain is; fetches what this node lacks. */
  probe(finalizedIndex: number): void {
    this.#run("probe", async () => {
      const status = await this.#sync.status();
      const peerFinalized = Math.max(status.commitQcs.next, status.globalBlocks.next) - 1;
      if (peerFinalized <= finalizedIndex) return;
      const pruned = status.commitQcs.first > finalizedIndex + 1;
      if (pruned || peerFinalized - this.#sink.executedIndex() > GLOBAL_CATCH_UP_MIN_GAP) {
        this.#startGlobal(status.globalBlocks.next - 1);
      } else if (!this.#active) {
        // One index behind is what a pipelined chain looks like from a probe:
        // the peer holds the CommitQC of index k, and this node's is on its
        // way (it forms it from the same votes, or hears it announced). Fetch
        // only when the node is still at that index ONE_BEHIND_GRACE_MS after
        // a probe first found it one behind: then it missed the certificate
        // (an idle chain brings no proposal that would carry it). Under load
        // on 7 validators every node logged "catching up" every few probes
        // and fetched what it then formed itself.
        if (peerFinalized === finalizedIndex + 1) {
          const nowMs = this.#now();
          if (this.#oneBehind?.index !== finalizedIndex) this.#oneBehind = { index: finalizedIndex, sinceMs: nowMs };
          if (nowMs - this.#oneBehind.sinceMs < ONE_BEHIND_GRACE_MS) return;
        }
        this.#log.info({ finalizedIndex, peerFinalized }, "behind a peer: catching up");
        this.#inFlight.delete("probe");
        this.commitQcs(finalizedIndex + 1);
      }
    });
  }

  /** Moves the global-block pipeline on: hands over what is in order, asks for what is next. */
  pump(): void {
    if (!this.#active || this.#stopped) return;
    const nowMs = this.#now();
    const executed = this.#sink.executedIndex();
    if (executed !== this.#lastExecuted) {
      this.#lastExecuted = executed;
      this.#progressAtMs = nowMs;
    } else if (this.#handed > executed && nowMs - this.#progressAtMs > STALL_MS) {
      // Handed over but not applied (dropped by a bound, or a block failed a
      // check): ask again from the executed index.
      this.#log.warn({ executed, handed: this.#handed }, "catch-up made no progress: fetching again");
      this.#handed = executed;
      this.#next = executed + 1;
      this.#ready.clear();
      this.#holes = [];
      this.#progressAtMs = nowMs;
    } else if (this.#handed <= executed && nowMs - this.#progressAtMs > UNSERVED_MS) {
      // Nothing to apply and nothing arrived: no peer serves the target (it
      // was a peer's tip that is gone). End this run; a probe starts another
      // toward a tip a peer has, and meanwhile the live path fetches again.
      this.#log.warn({ executed, target: this.#target }, "catch-up target not served by any peer: probing again");
      this.#finish();
      this.probe(this.#sink.finalizedIndex());
      return;
    }
    if (this.#handed < executed) this.#handed = executed;
    if (this.#next <= this.#handed) this.#next = this.#handed + 1;
    this.#handOver();
    this.#holes = this.#holes.filter((h) => h.last > this.#handed);
    for (const h of this.#holes) h.first = Math.max(h.first, this.#handed + 1);
    if (executed >= this.#target && this.#requests === 0) {
      this.#log.info({ index: executed, target: this.#target }, "caught up to the target from finalized global blocks");
      this.#finish();
      // The chain moved on meanwhile: a probe starts another run if it is still far.
      this.probe(this.#sink.finalizedIndex());
      return;
    }
    if (nowMs < this.#retryAtMs) {
      this.#armRetry(this.#retryAtMs - nowMs);
      return;
    }
    const limit = Math.min(this.#target, executed + MAX_AHEAD_INDEXES);
    while (this.#requests < PIPELINE_DEPTH) {
      const hole = this.#holes.shift();
      if (hole !== undefined) {
        this.#request(hole.first, hole.last);
        continue;
      }
      // Whole ranges only (but the last one up to the target): as execution
      // frees room, the next request waits until a full range fits.
      if (this.#next > limit || (limit < this.#target && limit - this.#next + 1 < RANGE_ITEMS)) break;
      const first = this.#next;
      const last = Math.min(first + RANGE_ITEMS - 1, limit);
      this.#next = last + 1;
      this.#request(first, last);
    }
  }

  #finish(): void {
    this.#active = false;
    this.stats.active = false;
    this.#target = 0;
    this.#ready.clear();
    this.#holes = [];
  }

  /** Peers pruned what was asked: catch up from global blocks, as far as a peer has them. */
  async #globalFromStatus(atLeast: number): Promise<void> {
    let target = atLeast;
    try {
      const status = await this.#sync.status();
      target = Math.max(target, status.globalBlocks.next - 1);
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, "no peer status: catching up to what was asked");
    }
    this.#startGlobal(target);
  }

  #startGlobal(target: number): void {
    if (this.#stopped) return;
    if (target > this.#target) {
      this.#target = target;
      this.stats.targetIndex = target;
    }
    if (!this.#active) {
      const executed = this.#sink.executedIndex();
      if (this.#target <= executed) return;
      this.#active = true;
      this.stats.active = true;
      this.#handed = executed;
      this.#next = executed + 1;
      this.#lastExecuted = executed;
      this.#progressAtMs = this.#now();
      this.#log.info({ from: executed + 1, target: this.#target }, "catching up from finalized global blocks");
    }
    this.pump();
  }

  #handOver(): void {
    for (let run = this.#nextRun(); run !== undefined; run = this.#nextRun()) {
      this.#handed += run.length;
      // The stall clock starts when the node has something to apply.
      this.#progressAtMs = this.#now();
      this.#sink.globalBlocks(run);
    }
    // Answers wholly below what is handed over (after a restart of the pipeline) go.
    for (const [first, run] of this.#ready) if (first + run.length - 1 <= this.#handed) this.#ready.delete(first);
  }

  /**
   * The held answer that continues what is handed over, from #handed + 1 on.
   * An answer may begin below it: the node executed part of its range by
   * another path (live lane blocks and CommitQCs) while it was in flight.
   */
  #nextRun(): GlobalBlock[] | undefined {
    const want = this.#handed + 1;
    for (const [first, run] of this.#ready) {
      if (first > want || first + run.length <= want) continue;
      this.#ready.delete(first);
      return run.slice(want - first);
    }
    return undefined;
  }

  #request(first: number, last: number): void {
    this.#requests++;
    this.stats.globalRequests++;
    this.#sync
      .fetchGlobalBlocks(first, last)
      .then(
        (blocks) => {
          if (this.#stopped || !this.#active) return;
          this.stats.globalIndexesFetched += blocks.length;
          this.#log.debug({ from: first, to: first + blocks.length - 1 }, "fetched finalized global blocks");
          if (blocks.length > 0) {
            this.#ready.set(first, blocks);
            this.#progressAtMs = this.#now();
          }
          // A short answer (the server's byte bound) or none: ask the rest again.
          if (blocks.length < last - first + 1) {
            this.#holes.push({ first: first + blocks.length, last });
            if (blocks.length === 0) this.#retryAtMs = this.#now() + RETRY_MS;
          }
        },
        (err: Error) => {
          this.#log.debug({ first, last, err: err.message }, "global block fetch failed");
          this.#holes.push({ first, last });
          this.#retryAtMs = this.#now() + RETRY_MS;
        },
      )
      .finally(() => {
        this.#requests--;
        this.pump();
      });
  }

  #armRetry(delayMs: number): void {
    if (this.#retryTimer !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.pump();
    }, delayMs);
    this.#retryTimer.unref();
  }

  #run(key: string, job: () => Promise<void>): void {
    if (this.#stopped || this.#inFlight.has(key) || this.#inFlight.size >= MAX_IN_FLIGHT) return;
    this.#inFlight.add(key);
    job()
      .catch((err: Error) => this.#log.debug({ key, err: err.message }, "sync fetch failed"))
      .finally(() => this.#inFlight.delete(key));
  }
}
