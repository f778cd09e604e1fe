import type { Storage } from "../storage/index.ts";
import type { DurableWrite } from "../types/index.ts";

export interface ChainPrunerOptions {
  storage: Pick<Storage, "chain" | "chainPruneLimit">;
  /** The group commit (the prune is one write batch of its own). */
  submit(writes: DurableWrite[]): Promise<void>;
  /** storage.retainIndexes: keep this many newest global blocks (0 = keep all). */
  retainIndexes: number;
  /** storage.pruneBatchIndexes: blocks per prune write. */
  batchIndexes: number;
  /** Highest global block whose write is durable. */
  durableTip(): number;
  onPruned(from: number, before: number): void;
  onError(before: number, err: Error): void;
}

/**
 * Retention of the chain store: after each executed block, prunes the
 * global blocks (and their tx index) below the newest `retainIndexes`
 * durable ones, at most `batchIndexes` blocks per write, one prune at a
 * time, never past storage's limit (the executed index, the tip, the open
 * attestation batch). Off the protocol: nothing signed depends on it.
 */
export class ChainPruner {
  readonly #o: ChainPrunerOptions;
  #running: Promise<void> | null = null;

  constructor(opts: ChainPrunerOptions) {
    this.#o = opts;
  }

  /** A prune in progress, if any (tests and shutdown wait for it). */
  get running(): Promise<void> | null {
    return this.#running;
  }

  /** Starts the next prune if one is due and none is running. */
  maybe(): void {
    const { storage, retainIndexes, batchIndexes } = this.#o;
    if (retainIndexes === 0 || this.#running !== null) return;
    const chain = storage.chain;
    const keepFrom = Math.min(this.#o.durableTip() - retainIndexes + 1, storage.chainPruneLimit());
    const from = chain.first;
    const before = Math.min(from + batchIndexes, keepFrom);
    if (before <= from) return;
    this.#running = chain
      .hashListsBefore(before)
      .then((txHashLists) => this.#o.submit([{ kind: "pruneChain", before, txHashLists }]))
      .then(
        () => this.#o.onPruned(from, before),
        (err: Error) => this.#o.onError(before, err),
      )
      .finally(() => {
        this.#running = null;
      });
  }
}
