import { laneParent, linksToParent } from "../committee/index.ts";
import { bytesEqual, type CommitQc, headerHash, type LaneBlock, toHex } from "../types/index.ts";

/** Finds a held block by lane and number (the lanes machine's store). */
export type BlockLookup = (lane: number, number: number) => LaneBlock | undefined;

export type Assembly =
  | { ok: true; blocks: LaneBlock[]; voidLanes: number[] }
  | { ok: false; missing: { lane: number; from: number; to: number }[] };

/**
 * The finalized order of index k (DESIGN section 7): lanes in committee
 * order, within a lane numbers first..next-1. Each range is walked back from
 * its certified lastHash through parent hashes, so the blocks are exactly
 * the certified ones whatever fork a node happens to hold.
 *
 * If the chain reached from lastHash does not link to the lane's previous
 * finalized tip (possible only when the lane owner equivocated and a LaneQC
 * formed on another branch), the range is void: its blocks are stored with
 * the global block but their txs are not executed. Every honest node sees
 * the same hashes, so every honest node voids the same range.
 */
export function assembleGlobalBlock(
  qc: CommitQc,
  tipHashes: Uint8Array[],
  lookup: BlockLookup,
  pool: Pick<Map<string, LaneBlock>, "get">,
): Assembly {
  const blocks: LaneBlock[] = [];
  const voidLanes: number[] = [];
  const missing: { lane: number; from: number; to: number }[] = [];
  for (const range of qc.proposal.ranges) {
    if (range.next === range.first) continue;
    const chain: LaneBlock[] = [];
    let expected = range.lastHash;
    let complete = true;
    for (let n = range.next - 1; n >= range.first; n--) {
      let block = lookup(range.lane, n);
      if (block === undefined || !bytesEqual(headerHash(block.header), expected)) block = pool.get(toHex(expected));
      if (block === undefined || block.header.number !== n || block.header.lane !== range.lane) {
        missing.push({ lane: range.lane, from: range.first, to: n + 1 });
        complete = false;
        break;
      }
      chain.push(block);
      expected = laneParent(block);
    }
    if (!complete) continue;
    if (!linksToParent(chain.at(-1)!, tipHashes[range.lane]!)) voidLanes.push(range.lane);
    blocks.push(...chain.reverse());
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, blocks, voidLanes };
}
