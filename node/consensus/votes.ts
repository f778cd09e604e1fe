import type { Committee } from "../committee/index.ts";
import { aggregate } from "../crypto/index.ts";
import type { PhaseVote, ProposalQc, TimeoutQc, TimeoutVote, View } from "../types/index.ts";
import { toHex, viewKey } from "../types/index.ts";

/** Rounds of one index that votes are kept for, beyond the current round. */
export const MAX_ROUNDS_AHEAD = 64;

/**
 * Verified prepare or commit votes of the current index, per view and
 * proposal hash. One vote per signer per view counts (a second, different
 * one is the signer's equivocation and is ignored).
 */
export class PhaseVoteBook {
  readonly #committee: Committee;
  #byView = new Map<string, { bySigner: Map<number, PhaseVote>; byHash: Map<string, Map<number, PhaseVote>> }>();

  constructor(committee: Committee) {
    this.#committee = committee;
  }

  /** Adds a vote; returns the weight now behind its proposal hash (0 if ignored). */
  add(vote: PhaseVote): number {
    const key = viewKey(vote.body.view);
    let v = this.#byView.get(key);
    if (v === undefined) {
      v = { bySigner: new Map(), byHash: new Map() };
      this.#byView.set(key, v);
    }
    if (v.bySigner.has(vote.signer)) return 0;
    v.bySigner.set(vote.signer, vote);
    const hash = toHex(vote.body.proposalHash);
    let signers = v.byHash.get(hash);
    if (signers === undefined) {
      signers = new Map();
      v.byHash.set(hash, signers);
    }
    signers.set(vote.signer, vote);
    return this.#committee.weightOf(signers.keys());
  }

  /** Hashes in `view` with weight >= quorum. */
  quorumHashes(view: View): string[] {
    const v = this.#byView.get(viewKey(view));
    if (v === undefined) return [];
    return [...v.byHash]
      .filter(([, s]) => this.#committee.weightOf(s.keys()) >= this.#committee.quorum)
      .map(([h]) => h);
  }

  /** The certificate for `proposal` from the votes on its hash. */
  certificate(view: View, hashHex: string, proposal: ProposalQc["proposal"]): ProposalQc {
    const votes = [...(this.#byView.get(viewKey(view))?.byHash.get(hashHex)?.values() ?? [])];
    const agg = aggregate(votes, this.#committee.size);
    return { proposal, signers: agg.signers, signatures: agg.signatures };
  }

  views(): View[] {
    return [...this.#byView.values()].map((v) => [...v.bySigner.values()][0]!.body.view);
  }

  clear(): void {
    this.#byView.clear();
  }

  /** Drops views whose round is below `round`. */
  dropRoundsBelow(round: number): void {
    for (const [key, v] of this.#byView) {
      const first = v.bySigner.values().next().value;
      if (first !== undefined && first.body.view.round < round) this.#byView.delete(key);
    }
  }
}

/**
 * Verified timeout votes of the current index: per round for TimeoutQCs, and
 * each signer's highest round for f+1 amplification.
 */
export class TimeoutVoteBook {
  readonly #committee: Committee;
  #byRound = new Map<number, Map<number, TimeoutVote>>();
  #highestBySigner = new Map<number, number>();

  constructor(committee: Committee) {
    this.#committee = committee;
  }

  add(vote: TimeoutVote): void {
    const r = vote.body.view.round;
    let m = this.#byRound.get(r);
    if (m === undefined) {
      m = new Map();
      this.#byRound.set(r, m);
    }
    if (!m.has(vote.signer)) m.set(vote.signer, vote);
    const prev = this.#highestBySigner.get(vote.signer);
    if (prev === undefined || r > prev) this.#highestBySigner.set(vote.signer, r);
  }

  weightAt(round: number): number {
    return this.#committee.weightOf(this.#byRound.get(round)?.keys() ?? []);
  }

  /**
   * The highest round R such that signers whose highest timeout round is
   * >= R weigh at least f+1: at least one honest node timed out at R or
   * later, so joining R cannot be a Byzantine trick to stall us.
   */
  amplificationRound(): number | null {
    const rounds = [...this.#highestBySigner].sort((a, b) => b[1] - a[1]);
    let weight = 0;
    for (const [signer, round] of rounds) {
      weight += this.#committee.weight(signer);
      if (weight >= this.#committee.f + 1) return round;
    }
    return null;
  }

  /** TimeoutQC(view) from the votes at its round; null below quorum. */
  certificate(view: View): TimeoutQc | null {
    const votes = [...(this.#byRound.get(view.round)?.values() ?? [])].sort((a, b) => a.signer - b.signer);
    if (this.#committee.weightOf(votes.map((v) => v.signer)) < this.#committee.quorum) return null;
    const agg = aggregate(votes, this.#committee.size);
    let high: TimeoutVote | null = null;
    for (const v of votes) {
      const lr = v.body.lockRound;
      if (lr !== null && (high === null || lr > (high.body.lockRound ?? -1))) high = v;
    }
    return {
      view,
      signers: agg.signers,
      lockRounds: votes.map((v) => v.body.lockRound),
      signatures: agg.signatures,
      highQc: high?.lock ?? null,
    };
  }

  /** Forgets rounds below `round` (the highest-per-signer map stays bounded by n). */
  dropRoundsBelow(round: number): void {
    for (const r of [...this.#byRound.keys()]) if (r < round) this.#byRound.delete(r);
  }

  clear(): void {
    this.#byRound.clear();
    this.#highestBySigner.clear();
  }
}
