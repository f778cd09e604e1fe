import {
  type Committee,
  type KnownHashes,
  verifyCommitQc,
  verifyLaneQc,
  verifySigned,
  verifyTimeoutQc,
} from "../committee/index.ts";
import { type VerifyCache, verifyMemberSignature } from "../crypto/index.ts";
import {
  type AppVote,
  type BatchVoteMessage,
  type ConsensusMessage,
  codecs,
  consensusMessageCodec,
  DecodeError,
  DOMAINS,
  type HaAnnouncement,
  type LaneBlock,
  type LaneQc,
  type LaneVote,
  type SignedMessage,
} from "../types/index.ts";
import type { Topic, Verdict } from "./metrics.ts";

/**
 * Message checks, pure and synchronous: bytes in, a verdict out. They decide
 * what the network accepts, so that handlers only ever see decoded messages
 * whose signatures are valid.
 *
 * Split of verification work (see index.ts): here every message's own
 * signature (votes, lane blocks, the leader's proposal signature) and the
 * certificate of a CommitQC / TimeoutQC announcement (node/committee's
 * verifyCommitQc / verifyTimeoutQc, the same checks recovery uses). Certificates
 * nested inside a message (LaneQCs, TimeoutQC and previous CommitQC in a
 * proposal; the lock inside a timeout vote; a TimeoutQC's highQc) are the
 * consensus machine's: it must check them anyway against its own state.
 */

export type Reason =
  | "ok"
  | "oversize"
  | "decode"
  | "non_member"
  | "wrong_lane"
  | "wrong_leader"
  | "bad_signature"
  | "bad_payload"
  | "bad_certificate"
  | "irrelevant";

export type Checked<T> = { verdict: "accept"; value: T } | { verdict: Exclude<Verdict, "accept">; reason: Reason };

export type GossipValue =
  | { topic: "lane_vote"; value: LaneVote }
  | { topic: "lane_vote_owner"; value: LaneVote }
  | { topic: "lane_qc"; value: LaneQc }
  | { topic: "consensus"; value: ConsensusMessage }
  | { topic: "app_vote"; value: AppVote }
  | { topic: "batch_vote"; value: BatchVoteMessage }
  | { topic: "ha_announce"; value: HaAnnouncement };

export interface ValidationContext {
  committee: Committee;
  chainId: string;
  maxConsensusMessageBytes: number;
  cache: VerifyCache;
  /**
   * Optional hook from the runtime: true for a lane vote that would tell the
   * node nothing (its block is certified or final already, with that hash).
   * Such a vote is ignored, not rejected, and its signature is not checked:
   * most of a block's incoming votes arrive after its LaneQC formed.
   */
  isRedundantLaneVote?: (vote: LaneVote) => boolean;
  /** The same for an announced LaneQC (its number certified or final here already): ignored unchecked. */
  isRedundantLaneQc?: (qc: LaneQc) => boolean;
  /**
   * The same for consensus: any message of an index final here (unless it is
   * evidence against a statement the node keeps), or a prepare vote for the
   * current view's PrepareQC (ProtocolNode.isRedundantConsensus). Ignored
   * unchecked.
   */
  isRedundantConsensus?: (m: ConsensusMessage) => boolean;
  /** This node's lane (validator index): the only lane whose votes its own vote topic carries. */
  ownLane?: number | null;
}

function reject<T>(reason: Reason): Checked<T> {
  return { verdict: "reject", reason };
}

function decodeOrReject<T>(decode: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: decode() };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false };
    // Anything else from a decoder is still bad input, never a crash.
    return { ok: false };
  }
}

export function maxBytesOf(topic: Topic, ctx: Pick<ValidationContext, "maxConsensusMessageBytes">): number {
  switch (topic) {
    case "lane_vote":
    case "lane_vote_owner":
      return codecs.laneVote.maxBytes;
    case "lane_qc":
      return codecs.laneQc.maxBytes;
    case "app_vote":
      return codecs.appVote.maxBytes;
    case "batch_vote":
      return codecs.batchVoteMessage.maxBytes;
    case "consensus":
      return ctx.maxConsensusMessageBytes;
    case "ha_announce":
      return codecs.haAnnouncement.maxBytes;
  }
}

export function checkGossip(topic: Topic, data: Uint8Array, ctx: ValidationContext): Checked<GossipValue> {
  if (data.byteLength > maxBytesOf(topic, ctx)) return reject("oversize");
  switch (topic) {
    case "lane_vote": {
      const r = checkLaneVote(data, ctx);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
    case "lane_vote_owner": {
      // Sent to this node as the lane's owner: a vote on another lane has no business here (checked before the signature).
      const r = checkLaneVote(data, ctx, ctx.ownLane ?? null);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
    case "lane_qc": {
      const r = checkLaneQcMessage(data, ctx);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
    case "app_vote": {
      const r = checkAppVote(data, ctx);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
    case "batch_vote": {
      const r = checkBatchVote(data, ctx);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
    case "consensus": {
      const r = checkConsensus(data, ctx);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
    case "ha_announce": {
      const r = checkHaAnnouncement(data, ctx);
      return r.verdict === "accept" ? { verdict: "accept", value: { topic, value: r.value } } : r;
    }
  }
}

/** An HA instance's announcement: signed by a member's validator key, naming a valid peer id. */
export function checkHaAnnouncement(data: Uint8Array, ctx: ValidationContext): Checked<HaAnnouncement> {
  const d = decodeOrReject(() => codecs.haAnnouncement.decode(data));
  if (!d.ok) return reject("decode");
  const a = d.value;
  if (!ctx.committee.isMember(a.body.validator)) return reject("non_member");
  const body = codecs.haAnnouncementBody.encode(a.body);
  if (
    !verifyMemberSignature(
      ctx.committee,
      a.body.validator,
      DOMAINS.haAnnouncement,
      ctx.chainId,
      body,
      a.signature,
      ctx.cache,
    )
  )
    return reject("bad_signature");
  return { verdict: "accept", value: a };
}

/** A decoded signed message through the one table of rules (committee/signed.ts), as a verdict. */
function verdictOf<T>(
  m: SignedMessage,
  ctx: { committee: Committee; cache?: VerifyCache },
  value: T,
  known?: KnownHashes,
): Checked<T> {
  const check = verifySigned(ctx.committee, m, ctx.cache, known);
  if (check.ok) return { verdict: "accept", value };
  if (check.code === "non_member") return reject("non_member");
  if (check.code === "bad_content")
    return reject(m.kind === "laneVote" || m.kind === "batchVote" ? "non_member" : "bad_payload");
  return reject(m.kind === "proposal" ? "wrong_leader" : "bad_signature");
}

/** `lane`: the only lane accepted (a vote on an owner's topic), or undefined for any. */
function checkLaneVote(data: Uint8Array, ctx: ValidationContext, lane?: number | null): Checked<LaneVote> {
  const d = decodeOrReject(() => codecs.laneVote.decode(data));
  if (!d.ok) return reject("decode");
  if (lane !== undefined && d.value.body.lane !== lane) return reject("wrong_lane");
  // A member's vote only (a non-member's is rejected below, whatever it votes for).
  if (ctx.committee.isMember(d.value.signer) && ctx.isRedundantLaneVote?.(d.value) === true) {
    return { verdict: "ignore", reason: "irrelevant" };
  }
  return verdictOf({ kind: "laneVote", msg: d.value }, ctx, d.value);
}

/** An owner's LaneQC: votes of weight >= A on one header of a member's lane. Already known ones are ignored unchecked. */
function checkLaneQcMessage(data: Uint8Array, ctx: ValidationContext): Checked<LaneQc> {
  const d = decodeOrReject(() => codecs.laneQc.decode(data));
  if (!d.ok) return reject("decode");
  const qc = d.value;
  if (!ctx.committee.isMember(qc.body.lane)) return reject("wrong_lane");
  if (ctx.isRedundantLaneQc?.(qc) === true) return { verdict: "ignore", reason: "irrelevant" };
  return verifyLaneQc(ctx.committee, qc, ctx.cache).ok ? { verdict: "accept", value: qc } : reject("bad_certificate");
}

function checkAppVote(data: Uint8Array, ctx: ValidationContext): Checked<AppVote> {
  const d = decodeOrReject(() => codecs.appVote.decode(data));
  if (!d.ok) return reject("decode");
  return verdictOf({ kind: "appVote", msg: d.value }, ctx, d.value);
}

/** A batch vote: signed by an attester (attester weight > 0) under the batch_vote domain. */
function checkBatchVote(data: Uint8Array, ctx: ValidationContext): Checked<BatchVoteMessage> {
  const d = decodeOrReject(() => codecs.batchVoteMessage.decode(data));
  if (!d.ok) return reject("decode");
  return verdictOf({ kind: "batchVote", msg: d.value }, ctx, d.value);
}

function checkConsensus(data: Uint8Array, ctx: ValidationContext): Checked<ConsensusMessage> {
  const d = decodeOrReject(() => consensusMessageCodec.decode(data));
  if (!d.ok) return reject("decode");
  const m = d.value;
  const { committee, cache } = ctx;
  // Asked only of a member's statement or a certificate: a non-member's vote
  // is rejected below, whatever it is for. A proposal's signer is its view's
  // leader, a member by construction.
  const mayBeRedundant =
    m.kind === "proposal" || m.kind === "commitQc" || m.kind === "timeoutQc" || committee.isMember(m.msg.signer);
  if (mayBeRedundant && ctx.isRedundantConsensus?.(m) === true) {
    return { verdict: "ignore", reason: "irrelevant" };
  }
  switch (m.kind) {
    case "proposal":
    case "prepare":
    case "commit":
    case "timeout":
      return verdictOf(m, ctx, m);
    case "commitQc":
      if (!verifyCommitQc(committee, m.msg, cache).ok) return reject("bad_certificate");
      break;
    case "timeoutQc":
      // The whole announcement, its highQc included: it moves every node to the next round.
      if (!verifyTimeoutQc(committee, m.msg, cache).ok) return reject("bad_certificate");
      break;
  }
  return { verdict: "accept", value: m };
}

/**
 * A lane block as it arrives by push or sync: canonical, within the chain's
 * size limit, its lane a committee member, signed by that lane's owner, and
 * its header committing to exactly these transactions. The same rules as
 * node/committee's signed-message table, with reason codes for the metrics.
 * The decoder walks the payload's offsets and keeps it as the received
 * bytes; it is hashed once, as those bytes (no re-encode).
 */
export function checkLaneBlock(data: Uint8Array, committee: Committee, cache?: VerifyCache): Checked<LaneBlock> {
  if (data.byteLength > committee.params.maxLaneBlockBytes) return reject("oversize");
  const d = decodeOrReject(() => codecs.laneBlock.decode(data));
  if (!d.ok) return reject("decode");
  return checkLaneBlockValue(d.value, committee, cache);
}

export function checkLaneBlockValue(
  block: LaneBlock,
  committee: Committee,
  cache?: VerifyCache,
  knownPayloadHash?: Uint8Array,
): Checked<LaneBlock> {
  return verdictOf({ kind: "laneBlock", msg: block }, { committee, cache }, block, { payloadHash: knownPayloadHash });
}
