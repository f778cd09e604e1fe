import { type Committee, verifyLaneBlock } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import { bytesEqual, type LaneBlock, ZERO_HASH } from "../types/index.ts";

/**
 * Checks that do not depend on which blocks this node holds: the owner signed
 * it, the payload matches its hash and count, block 0 has a zero parent.
 * Returns a reason or null.
 */
export function checkLaneBlockIntrinsic(committee: Committee, block: LaneBlock, cache?: VerifyCache): string | null {
  if (block.header.number === 0 && !bytesEqual(block.header.parent, ZERO_HASH))
    return "block 0 must have a zero parent";
  const check = verifyLaneBlock(committee, block, cache);
  return check.ok ? null : check.reason;
}
