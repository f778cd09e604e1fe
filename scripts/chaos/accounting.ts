/** One accepted tx as the runner saw it. */
export interface Accepted {
  /** The API that answered 202. */
  api: string;
  /** When the request was sent (Date.now()): the node accepted the tx after this. */
  sentAtMs: number;
  /** When the 202 arrived. */
  atMs: number;
}

export type TxOutcome = "final" | "lost" | "missing";

/**
 * Which accepted txs may be missing from the chain: those that went with
 * their node's mempool. A node loses its mempool when its process goes (kill
 * -9, a SIGTERM restart, a wipe); a SIGSTOP or a partition loses nothing, so
 * a tx accepted before either must become final.
 *
 * A tx is lost with its node's mempool when the request that carried it was
 * *sent* before the node's old process was gone (the runner notes the loss
 * once the process has exited): a SIGTERMed node accepts until its handler
 * runs, and a 202 written just before a kill can reach the runner after it
 * (the 202's arrival is no bound). A request sent after the exit went to the
 * new process, whose mempool holds it.
 */
export class TxAccounting {
  readonly #accepted = new Map<string, Accepted>();
  /** Per API: when its node last lost its process. */
  readonly #lostAtMs = new Map<string, number>();

  get size(): number {
    return this.#accepted.size;
  }

  accepted(hashes: readonly string[], a: Accepted): void {
    for (const h of hashes) this.#accepted.set(h, a);
  }

  /** The node behind `api` lost its process: noted once the process has exited. */
  mempoolLost(api: string, atMs: number): void {
    this.#lostAtMs.set(api, atMs);
  }

  /** Whether the tx went with its node's mempool (see the class comment). */
  lostWithMempool(a: Accepted): boolean {
    const lostAt = this.#lostAtMs.get(a.api);
    return lostAt !== undefined && lostAt >= a.sentAtMs;
  }

  /** Each accepted tx: final (`finalAt` knows its index), lost with a mempool, or missing. */
  *outcomes(finalAt: (hash: string) => number | undefined): Generator<[string, Accepted, TxOutcome]> {
    for (const [hash, a] of this.#accepted) {
      const outcome = finalAt(hash) !== undefined ? "final" : this.lostWithMempool(a) ? "lost" : "missing";
      yield [hash, a, outcome];
    }
  }

  /** Accepted txs neither final nor lost with a mempool. */
  missing(finalAt: (hash: string) => number | undefined): [string, Accepted][] {
    const out: [string, Accepted][] = [];
    for (const [hash, a, outcome] of this.outcomes(finalAt)) if (outcome === "missing") out.push([hash, a]);
    return out;
  }

  /** Of the lost txs, those whose 202 arrived after the runner noted the loss. */
  lateAnswers(finalAt: (hash: string) => number | undefined): number {
    let n = 0;
    for (const [, a, outcome] of this.outcomes(finalAt))
      if (outcome === "lost" && a.atMs > (this.#lostAtMs.get(a.api) ?? Number.POSITIVE_INFINITY)) n++;
    return n;
  }
}
