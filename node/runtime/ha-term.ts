import type { Lease, SignRecord } from "../ha/index.ts";
import { recordsOf } from "../ha/index.ts";
import type { DurableWrite } from "../types/index.ts";

/** Pause between publish attempts while no quorum answers (the lease's validity bounds the retries). */
const PUBLISH_RETRY_MS = 50;

/** A term ended (lease lost, fenced, stopped): its writes are never acknowledged. */
export class TermEnded extends Error {
  override readonly name = "TermEnded";
}

export interface TermHooks {
  /** A redis-server fenced us, or the lease lapsed: stop signing. */
  lost(reason: string): void;
  /** A write contradicts the sign state: a signature would conflict. */
  conflict(reason: string): void;
  /** Publishes that returned, still running on slow servers (for the gauge). */
  outstanding(n: number): void;
}

/**
 * One leadership term's half of "durable" in the HA mode (DESIGN sections 10
 * and 14): the sign-state records a batch of writes carries are published to
 * the Redis quorum, one batch after the other; the runtime counts a write
 * durable only when this and the local group commit both acknowledged it.
 * A batch with no quorum is retried until the lease lapses; a fenced or
 * conflicting one ends the term and is never acknowledged.
 */
export class HaTerm {
  readonly epoch: number;
  readonly #lease: Lease;
  readonly #ownLane: number;
  readonly #hooks: TermHooks;
  #chain: Promise<void> = Promise.resolve();
  #ended: string | null = null;

  constructor(lease: Lease, epoch: number, ownLane: number, hooks: TermHooks) {
    this.#lease = lease;
    this.epoch = epoch;
    this.#ownLane = ownLane;
    this.#hooks = hooks;
  }

  get ended(): boolean {
    return this.#ended !== null;
  }

  end(reason: string): void {
    this.#ended ??= reason;
  }

  /** Resolves when the batch's records are on a quorum (at once when it carries none). */
  publish(writes: readonly DurableWrite[]): Promise<void> {
    const records = writes.flatMap((w) => recordsOf(w, this.#ownLane));
    const run = this.#chain.then(() => this.#publish(records));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #publish(records: SignRecord[]): Promise<void> {
    for (;;) {
      if (this.#ended !== null) throw new TermEnded(this.#ended);
      if (records.length === 0) return;
      const out = await this.#lease.publish(records);
      this.#hooks.outstanding(this.#lease.outstanding);
      if (this.#ended !== null) throw new TermEnded(this.#ended);
      switch (out.kind) {
        case "ok":
          return;
        case "fenced":
          this.end(`fenced: ${out.reason}`);
          this.#hooks.lost(`sign-state publish fenced: ${out.reason}`);
          throw new TermEnded(this.#ended!);
        case "conflict":
          this.end(`conflict at ${out.slot}`);
          this.#hooks.conflict(`sign state slot ${out.slot} already holds ${out.stored}; this write would conflict`);
          throw new TermEnded(this.#ended!);
        case "unavailable":
          if (!this.#lease.held()) {
            this.end("lease lapsed");
            this.#hooks.lost(`lease lapsed while publishing: ${out.reason}`);
            throw new TermEnded(this.#ended!);
          }
          await new Promise((r) => setTimeout(r, PUBLISH_RETRY_MS));
      }
    }
  }
}
