import type { Committee } from "../committee/index.ts";
import { aggregate } from "../crypto/index.ts";
import { type AppQc, type AppVote, toHex } from "../types/index.ts";

/** Indexes whose app votes are kept at once. */
export const MAX_APP_VOTE_INDEXES = 512;

/** Verified app votes per (index, appHash); an AppQC at weight >= Q. */
export class AppVoteBook {
  readonly #committee: Committee;
  #byIndex = new Map<number, { bySigner: Set<number>; byHash: Map<string, AppVote[]>; done: boolean }>();

  constructor(committee: Committee) {
    this.#committee = committee;
  }

  /** Adds a vote; returns the AppQC it completes, if any. */
  add(vote: AppVote): AppQc | null {
    const index = vote.body.index;
    let e = this.#byIndex.get(index);
    if (e === undefined) {
      if (this.#byIndex.size >= MAX_APP_VOTE_INDEXES) {
        const lowest = Math.min(...this.#byIndex.keys());
        if (index < lowest) return null;
        this.#byIndex.delete(lowest);
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
