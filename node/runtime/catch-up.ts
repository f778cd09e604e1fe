import type { Logger } from "pino";
import type { SyncClientApi } from "../net/index.ts";
import type { BatchQc, CommitQc, GlobalBlock, LaneBlock } from "../types/index.ts";

/** Fetches of one kind in flight at once; more requests wait for the next ask. */
const MAX_IN_FLIGHT = 8;
/** CommitQCs or global blocks asked for in one request. */
const RANGE_ITEMS = 64;

export interface CatchUpSink {
  laneBlocks(blocks: LaneBlock[]): void;
  commitQcs(qcs: CommitQc[]): void;
  batchQcs(qcs: BatchQc[]): void;
  /** Highest index whose global block this node has executed. */
  executedIndex(): number;
}

/**
 * Turns the protocol's "fetch" effects into sync requests and feeds the
 * answers back as inputs. Deduplicates requests already in flight and bounds
 * their number. When peers have pruned what is asked for (lane blocks and
 * CommitQCs below their pruning anchor), it falls back to finalized global
 * blocks, which carry both the CommitQC and the lane blocks of an index.
 */
export class CatchUp {
  readonly #sync: SyncClientApi;
  readonly #sink: CatchUpSink;
  readonly #log: Logger;
  readonly #inFlight = new Set<string>();
  #stopped = false;

  constructor(sync: SyncClientApi, sink: CatchUpSink, log: Logger) {
    this.#sync = sync;
    this.#sink = sink;
    this.#log = log;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Lane blocks from..to-1 of a lane. */
  laneBlocks(lane: number, from: number, to: number): void {
    if (to <= from) return;
    this.#run(`lane/${lane}/${from}`, async () => {
      const blocks = await this.#sync.fetchLaneBlocks(lane, from, to - 1);
      if (blocks.length > 0) this.#sink.laneBlocks(blocks);
      else await this.#fromGlobalBlocks(this.#sink.executedIndex() + 1);
    });
  }

  /** CommitQCs from index `from` on. */
  commitQcs(from: number): void {
    this.#run(`cqc/${from}`, async () => {
      const qcs = await this.#sync.fetchCommitQcs(from, from + RANGE_ITEMS - 1);
      if (qcs.length > 0) this.#sink.commitQcs(qcs);
      else await this.#fromGlobalBlocks(from);
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
      if (peerFinalized > finalizedIndex) {
        this.#log.info({ finalizedIndex, peerFinalized }, "behind a peer: catching up");
        this.#inFlight.delete("probe");
        this.commitQcs(finalizedIndex + 1);
      }
    });
  }

  async #fromGlobalBlocks(from: number): Promise<void> {
    const blocks: GlobalBlock[] = await this.#sync.fetchGlobalBlocks(from, from + RANGE_ITEMS - 1);
    if (blocks.length === 0 || this.#stopped) return;
    this.#log.debug({ from, to: from + blocks.length - 1 }, "catching up from finalized global blocks");
    this.#sink.commitQcs(blocks.map((b) => b.commitQc));
    this.#sink.laneBlocks(blocks.flatMap((b) => b.blocks));
  }

  #run(key: string, job: () => Promise<void>): void {
    if (this.#stopped || this.#inFlight.has(key) || this.#inFlight.size >= MAX_IN_FLIGHT) return;
    this.#inFlight.add(key);
    job()
      .catch((err: Error) => this.#log.debug({ key, err: err.message }, "sync fetch failed"))
      .finally(() => this.#inFlight.delete(key));
  }
}
