import type { Committee } from "../committee/index.ts";

/**
 * Where lane votes go (DESIGN sections 5 and 9, departed from for issue 14).
 *
 * A lane block needs votes of weight A (f + 1) for its LaneQC. Sending
 * every vote to every member costs n(n - 1) messages per block; at n = 7
 * that was two thirds of all gossip a node received. Instead a voter sends
 * its vote to the block's owner only, and what the others need depends on A:
 *
 * - Any two members' weights reach A (with equal weights: A <= 2, committees
 *   of up to 6 members): the owner's own vote
 *   goes to every member, as before, and each voter certifies the block
 *   from that vote and its own, as soon as it has voted: no extra hop, and
 *   2(n - 1) vote messages per block instead of n(n - 1).
 * - Otherwise (n = 7 and up with equal weights): the owner's vote alone is no use to the others; the owner forms
 *   the LaneQC from the votes it receives and announces it to every member
 *   (one more hop than before, 2(n - 1) messages per block instead of
 *   n(n - 1)).
 *
 * One rule, read by the protocol driver (where a released vote goes) and
 * the lanes machine (whether the owner announces its LaneQCs).
 */
export function votersCertifyAlone(committee: Committee): boolean {
  const weights = committee.members.map((m) => committee.weight(m.index)).sort((a, b) => a - b);
  // The two lightest members are the worst pair; a committee of one certifies with its own vote.
  return (weights[0] ?? 0) + (weights[1] ?? 0) >= committee.availabilityQuorum;
}
