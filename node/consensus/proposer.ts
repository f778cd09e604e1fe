import type { Committee } from "../committee/index.ts";
import type { LaneQc, LaneRange, Proposal, TimeoutQc, View } from "../types/index.ts";
import type { LaneTip } from "./proposal-validity.ts";

/**
 * The leader's tip cut. After a TimeoutQC carrying a PrepareQC it is exactly
 * that PrepareQC's cut and timestamp (the reproposal rule). Otherwise, per lane, the
 * highest certified block within maxBlocksPerLane of the finalized tip.
 * Returns null when there is nothing to finalize.
 */
export function buildProposal(
  committee: Committee,
  view: View,
  tips: LaneTip[],
  laneQcs: Map<number, LaneQc>[],
  entryTc: TimeoutQc | null,
  createdAtMs: number,
): { proposal: Proposal; laneQcs: LaneQc[] } | null {
  if (entryTc?.highQc) {
    const high = entryTc.highQc.proposal;
    return { proposal: { view, createdAtMs: high.createdAtMs, ranges: high.ranges }, laneQcs: [] };
  }
  const ranges: LaneRange[] = [];
  const used: LaneQc[] = [];
  for (let lane = 0; lane < committee.size; lane++) {
    const tip = tips[lane]!;
    const limit = tip.next + committee.params.maxBlocksPerLane - 1;
    let best: LaneQc | undefined;
    for (const [n, qc] of laneQcs[lane]!)
      if (n >= tip.next && n <= limit && (best === undefined || n > best.body.number)) best = qc;
    if (best === undefined) ranges.push({ lane, first: tip.next, next: tip.next, lastHash: tip.lastHash });
    else {
      ranges.push({ lane, first: tip.next, next: best.body.number + 1, lastHash: best.body.headerHash });
      used.push(best);
    }
  }
  if (used.length === 0) return null;
  return { proposal: { view, createdAtMs, ranges }, laneQcs: used };
}
