/**
 * The messages this node signs, as one union: what a machine hands the outbox
 * (node/protocol/outbox.ts) to release once the record that forbids a
 * conflicting signature is durable. Each kind carries its wire message under
 * `msg`; the consensus kinds have exactly the shape of a `ConsensusMessage`.
 *
 * Adding a signed kind (e.g. the batch vote): add it here, then follow the
 * compiler: a row in the outbox's `RELEASE_RULES` (node/protocol/outbox.ts)
 * and in `SIGNED` (node/committee/signed.ts), its route in ProtocolNode's
 * `#send`; if its durable record is a new write kind, teach
 * `DurableRecord.apply` that write.
 */
import type { DurableWrite } from "./durable.ts";
import type {
  AppVote,
  BatchVoteMessage,
  LaneBlock,
  LaneVote,
  PhaseVote,
  ProposalMessage,
  TimeoutVote,
} from "./schema.ts";

export type SignedMessage =
  /** Own lane block (pushed to every member). */
  | { kind: "laneBlock"; msg: LaneBlock }
  | { kind: "laneVote"; msg: LaneVote }
  /** Own proposal as the view's leader; released with the own prepare vote. */
  | { kind: "proposal"; msg: ProposalMessage }
  | { kind: "prepare"; msg: PhaseVote }
  | { kind: "commit"; msg: PhaseVote }
  | { kind: "timeout"; msg: TimeoutVote }
  | { kind: "appVote"; msg: AppVote }
  /** Batch vote, with its re-push attempt outside the signature (DESIGN section 13). */
  | { kind: "batchVote"; msg: BatchVoteMessage };

export type SignedKind = SignedMessage["kind"];

/**
 * The one effect a signing machine emits for a new signature: make `write`
 * durable, then release `release` (checked against the durable record).
 * `id` is the machine's own write number; the acknowledgement comes back to
 * the machine as `{ kind: "durable", id }`. Writes without a signature use the
 * same effect with an empty `release`.
 */
export interface PersistEffect {
  kind: "persist";
  id: number;
  write: DurableWrite;
  release: SignedMessage[];
}

/**
 * Re-send messages identical to ones whose record is already durable (after a
 * restart, or a retransmission of a lost vote). The outbox checks them against
 * the durable record at once.
 */
export interface ResendEffect {
  kind: "resend";
  release: SignedMessage[];
}
