import { type Committee, linksToParent, verifySigned } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import { type LaneBlock, ZERO_HASH } from "../types/index.ts";

/**
 * Checks that do not depend on which blocks this node holds: block 0 links
 * to the zero hash, and (unless the network edge already did, `verified`)
 * the block passes committee/signed.ts: the owner signed it, the payload
 * matches its hash and count. Returns a reason or null.
 */
export function checkLaneBlockIntrinsic(
  committee: Committee,
  block: LaneBlock,
  cache?: VerifyCache,
  verified = false,
): string | null {
  if (block.header.number === 0 && !linksToParent(block, ZERO_HASH)) return "block 0 must have a zero parent";
  if (verified) return null;
  const check = verifySigned(committee, { kind: "laneBlock", msg: block }, cache);
  return check.ok ? null : check.reason;
}
