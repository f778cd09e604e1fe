import type { Committee } from "../committee/index.ts";
import { aggregate } from "../crypto/index.ts";
import { type LaneQc, type LaneVote, toHex } from "../types/index.ts";

/**
 * Collects verified lane votes per (lane, number, header hash) and forms a
 * LaneQC once their weight reaches A. Only numbers inside [low, high) per
 * lane are kept, so memory is bounded by the window.
 */
export class LaneVoteAggregator {
  readonly #committee: Committee;
  // key lane/number -> header hash hex -> signer -> vote
  #votes = new Map<string, Map<string, Map<number, LaneVote>>>();
  #done = new Set<string>();

  constructor(committee: Committee) {
    this.#committee = committee;
  }

  /** Adds a vote; returns a new LaneQC when this vote completes one. */
  add(vote: LaneVote): LaneQc | null {
    const slot = `${vote.body.lane}/${vote.body.number}`;
    const hash = toHex(vote.body.headerHash);
    if (this.#done.has(`${slot}/${hash}`)) return null;
    let byHash = this.#votes.get(slot);
    if (byHash === undefined) {
      byHash = new Map();
      this.#votes.set(slot, byHash);
    }
    let bySigner = byHash.get(hash);
    if (bySigner === undefined) {
      // Votes for more distinct headers than members can only come from
      // equivocating owners; bound the map anyway.
      if (byHash.size >= this.#committee.size) return null;
      bySigner = new Map();
      byHash.set(hash, bySigner);
    }
    bySigner.set(vote.signer, vote);
    if (this.#committee.weightOf(bySigner.keys()) < this.#committee.availabilityQuorum) return null;
    this.#done.add(`${slot}/${hash}`);
    const agg = aggregate(
      [...bySigner.values()].map((v) => ({ signer: v.signer, signature: v.signature })),
      this.#committee.size,
    );
    return { body: vote.body, signers: agg.signers, signatures: agg.signatures };
  }

  /** Forgets lane `lane` below `number`. */
  dropBelow(lane: number, number: number): void {
    for (const key of [...this.#votes.keys()]) {
      const [l, n] = key.split("/").map(Number);
      if (l === lane && n! < number) this.#votes.delete(key);
    }
    for (const key of [...this.#done]) {
      const [l, n] = key.split("/").map(Number);
      if (l === lane && n! < number) this.#done.delete(key);
    }
  }
}
