import { type Committee, verifyLaneQc, verifySigned, verifyTimeoutQc } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import {
  bytesEqual,
  type CommitQc,
  compareViews,
  type LaneRange,
  type Proposal,
  type ProposalMessage,
  ZERO_HASH,
} from "../types/index.ts";

/** The finalized tip of one lane: where the next range must start. */
export interface LaneTip {
  next: number;
  lastHash: Uint8Array;
}

/** Lane tips after CommitQC(k-1); all zero at genesis. */
export function laneTips(committee: Committee, last: CommitQc | null): LaneTip[] {
  return committee.members.map((_, lane) => {
    const r = last?.proposal.ranges[lane];
    return r === undefined ? { next: 0, lastHash: ZERO_HASH } : { next: r.next, lastHash: r.lastHash };
  });
}

export function rangesEqual(a: LaneRange[], b: LaneRange[]): boolean {
  if (a.length !== b.length) return false;
  return a.every(
    (r, i) =>
      r.lane === b[i]!.lane &&
      r.first === b[i]!.first &&
      r.next === b[i]!.next &&
      bytesEqual(r.lastHash, b[i]!.lastHash),
  );
}

/**
 * Two proposals of one index finalize the same thing when their tip cuts and
 * timestamps agree; the view (and so the hash) differs between rounds.
 */
export function sameCut(a: Proposal, b: Proposal): boolean {
  return a.view.index === b.view.index && a.createdAtMs === b.createdAtMs && rangesEqual(a.ranges, b.ranges);
}

export interface ProposalContext {
  committee: Committee;
  /** CommitQC(k-1), or null when k == 1. */
  lastCommitQc: CommitQc | null;
  cache?: VerifyCache;
  /** The leader's signature passed committee/signed.ts at the edge (or is ours). */
  signatureVerified?: boolean;
}

/**
 * Is this proposal for view (k, r) one an honest node may prepare-vote for?
 * Returns the reason it is not, or null. The caller has checked that the
 * view is the node's current one. Every signature and certificate inside is
 * verified here (DESIGN section 6):
 * - signed by the view's leader;
 * - the previous CommitQC it carries is ours;
 * - one range per lane, starting at the finalized tip, at most
 *   maxBlocksPerLane long; an empty range repeats the tip hash;
 * - round 0: no TimeoutQC, at least one non-empty range, each backed by a
 *   LaneQC on block next-1;
 * - round r > 0: a valid TimeoutQC(k, r-1); if it carries a PrepareQC the
 *   proposal must repeat exactly that tip cut and its createdAtMs (the
 *   reproposal rule, which keeps a possibly committed cut alive, and makes
 *   what index k finalizes the same whichever round finalizes it);
 *   otherwise as in round 0.
 */
export function checkProposal(ctx: ProposalContext, pm: ProposalMessage): string | null {
  const { committee, lastCommitQc } = ctx;
  const p = pm.proposal;
  if (ctx.signatureVerified !== true && !verifySigned(committee, { kind: "proposal", msg: pm }, ctx.cache).ok)
    return `not signed by the leader ${committee.leader(p.view)} of the view`;
  if (lastCommitQc !== null) {
    if (pm.prevCommitQc === null) return "missing the previous CommitQC";
    if (!sameCut(pm.prevCommitQc.proposal, lastCommitQc.proposal))
      return "previous CommitQC differs from the finalized one";
    if (p.createdAtMs < lastCommitQc.proposal.createdAtMs) return "createdAtMs below the previous proposal's";
  }
  const tips = laneTips(committee, lastCommitQc);
  if (p.ranges.length !== committee.size) return `${p.ranges.length} ranges for ${committee.size} lanes`;
  for (let lane = 0; lane < committee.size; lane++) {
    const r = p.ranges[lane]!;
    const tip = tips[lane]!;
    if (r.lane !== lane) return `range ${lane} names lane ${r.lane}`;
    if (r.first !== tip.next) return `lane ${lane}: range starts at ${r.first}, finalized tip is ${tip.next}`;
    if (r.next < r.first) return `lane ${lane}: range ends before it starts`;
    if (r.next - r.first > committee.params.maxBlocksPerLane) {
      return `lane ${lane}: ${r.next - r.first} blocks exceed maxBlocksPerLane ${committee.params.maxBlocksPerLane}`;
    }
    if (r.next === r.first && !bytesEqual(r.lastHash, tip.lastHash))
      return `lane ${lane}: empty range must repeat the tip hash`;
  }

  if (p.view.round === 0) {
    if (pm.timeoutQc !== null) return "a round-0 proposal carries no TimeoutQC";
  } else {
    const tc = pm.timeoutQc;
    if (tc === null) return `round ${p.view.round} needs TimeoutQC(${p.view.index}, ${p.view.round - 1})`;
    if (compareViews(tc.view, { index: p.view.index, round: p.view.round - 1 }) !== 0) {
      return "TimeoutQC is not for the previous round";
    }
    const check = verifyTimeoutQc(committee, tc, ctx.cache);
    if (!check.ok) return check.reason;
    if (tc.highQc !== null) {
      // The reproposal rule. The PrepareQC already proves Q voters checked
      // availability of this cut, so no LaneQCs are needed.
      const high = tc.highQc.proposal;
      const same = rangesEqual(p.ranges, high.ranges) && p.createdAtMs === high.createdAtMs;
      return same ? null : "ignores the reproposal rule: must re-propose the TimeoutQC's PrepareQC";
    }
  }
  return checkAvailability(ctx, pm);
}

function checkAvailability(ctx: ProposalContext, pm: ProposalMessage): string | null {
  const nonEmpty = pm.proposal.ranges.filter((r) => r.next > r.first);
  if (nonEmpty.length === 0) return "all ranges are empty";
  if (pm.laneQcs.length > ctx.committee.size) return "more LaneQCs than lanes";
  for (const r of nonEmpty) {
    const qc = pm.laneQcs.find((q) => q.body.lane === r.lane && q.body.number === r.next - 1);
    if (qc === undefined) return `lane ${r.lane}: no LaneQC for block ${r.next - 1}`;
    if (!bytesEqual(qc.body.headerHash, r.lastHash)) return `lane ${r.lane}: LaneQC names another header`;
    const check = verifyLaneQc(ctx.committee, qc, ctx.cache);
    if (!check.ok) return check.reason;
  }
  return null;
}
