import type { Committee } from "../committee/index.ts";
import { aggregate } from "../crypto/index.ts";
import { type AppQc, type AppVote, toHex } from "../types/index.ts";

/**
 * Indexes whose app votes are kept at once. The execution machine only
 * offers votes inside its window (recent executed indexes up to a little
 * beyond its highest finalized index), which is narrower than this; the
 * bound is the backstop.
 */
export const MAX_APP_VOTE_INDEXES = 2048;

/** Indexes the book accepts votes for, inclusive. */
export interface AppVoteWindow {
  low: number;
  high: number;
}

/** Verified app votes per (index, appHash); an AppQC at weight >= Q. */
export class AppVoteBook {
  readonly #committee: Committee;
  #byIndex = new Map<number, { bySigner: Set<number>; byHash: Map<string, AppVote[]>; done: boolean }>();
  /** Votes refused because they were outside the window or the book was full. */
  dropped = 0;

  constructor(committee: Committee) {
    this.#committee = committee;
  }

  get indexes(): number {
    return this.#byIndex.size;
  }

  /**
   * Adds a vote inside `window`; returns the AppQC it completes, if any. A
   * vote outside the window is refused: a far-future index can never be
   * acted on, and letting it in would let one member crowd out the indexes
   * the node needs next. When the book is full the furthest index goes.
   */
  add(vote: AppVote, window: AppVoteWindow): AppQc | null {
    const index = vote.body.index;
    if (index < window.low || index > window.high) {
      this.dropped++;
      return null;
    }
    let e = this.#byIndex.get(index);
    if (e === undefined) {
      if (this.#byIndex.size >= MAX_APP_VOTE_INDEXES) {
        const highest = Math.max(...this.#byIndex.keys());
        if (index > highest) {
          this.dropped++;
          return null;
        }
        this.#byIndex.delete(highest);
        this.dropped++;
      }
      e = { bySigner: new Set(), byHash: new Map(), done: false };
      this.#byIndex.set(index, e);
    }
    if (e.done || e.bySigner.has(vote.signer)) return null;
    e.bySigner.add(vote.signer);
    const hex = toHex(vote.body.appHash);
    const votes = e.byHash.get(hex) ?? [];
    votes.push(vote);
    e.byHash.set(hex, votes);
    if (this.#committee.weightOf(votes.map((v) => v.signer)) < this.#committee.quorum) return null;
    e.done = true;
    const agg = aggregate(votes, this.#committee.size);
    return { body: vote.body, signers: agg.signers, signatures: agg.signatures };
  }

  dropBelow(index: number): void {
    for (const i of [...this.#byIndex.keys()]) if (i < index) this.#byIndex.delete(i);
  }
}
