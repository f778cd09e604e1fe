import type { Batch, BatchQc, BatchVoteMessage, DurableWrite, SignedMessage } from "../types/index.ts";
import type { ExecutedBlock } from "./batches.ts";

/** Node-local attestation settings (config `[attestation]`; batch boundaries are genesis params). */
export interface AttestationConfig {
  /** Batch numbers ahead of the next BatchQC for which votes and BatchQCs are kept. */
  voteWindow: number;
  /** The node's latest vote is pushed again this often until its BatchQC is stored. */
  repushMs: number;
  /**
   * This node is the network's main node: its status (next batch to attest)
   * is its own next BatchQC, not a polled one.
   */
  mainNode: boolean;
}

/** How a received batch vote was taken (metrics `votes by verdict`). */
export type VoteVerdict =
  | "accepted"
  | "duplicate"
  | "invalid"
  | "old"
  | "out_of_window"
  | "superseded"
  | "equivocation";

export const VOTE_VERDICTS: readonly VoteVerdict[] = [
  "accepted",
  "duplicate",
  "invalid",
  "old",
  "out_of_window",
  "superseded",
  "equivocation",
];

export type AttestationInput =
  /** Global block `index` is executed and its app state durable (in index order). */
  | { kind: "executed"; block: ExecutedBlock }
  /** The main node's published status: the next batch to attest (monotonic, from the poller). */
  | { kind: "status"; next: number }
  /** A decoded batch vote message; the machine verifies it unless the network edge did (`verified`). */
  | { kind: "batchVote"; msg: BatchVoteMessage; verified?: boolean }
  /** BatchQCs from a sync response, unverified; the machine verifies them. */
  | { kind: "batchQcs"; qcs: BatchQc[] }
  /** A stored batch read back for the machine (answer to `loadBatch`). */
  | { kind: "batchLoaded"; batch: Batch }
  /** The main node is on another genesis: sign nothing more (votes and BatchQCs are still collected). */
  | { kind: "stopAttesting" }
  /** Write `id` (from this machine's persist effect) is durable. */
  | { kind: "durable"; id: number }
  | { kind: "timer" };

/** The one message this machine signs: the batch vote, with its re-push attempt outside the signature. */
export type AttestationSigned = Extract<SignedMessage, { kind: "batchVote" }>;

export type AttestationEffect =
  /**
   * Make `write` durable; then (and only then: the outbox's rule) release
   * `release`. A batch vote rides on its attestation record's write.
   */
  | { kind: "persist"; id: number; write: DurableWrite; release: AttestationSigned[] }
  /** Re-push the identical vote whose attestation record is already durable. */
  | { kind: "resend"; release: AttestationSigned[] }
  | { kind: "setTimer"; deadlineMs: number }
  /** Fetch BatchQCs from number `from` on (this node misses some). */
  | { kind: "fetchBatchQcs"; from: number }
  /** Read stored batch `number` and feed it back as `batchLoaded`. */
  | { kind: "loadBatch"; number: number }
  /** Batch n closed here (its record is being written). */
  | { kind: "batchClosed"; batch: Batch; hash: Uint8Array }
  /** This node's vote for batch n: its record is durable and the vote released. */
  | { kind: "attested"; batch: Batch; hash: Uint8Array }
  /** BatchQC(n) is durable in the gap-free WAL. */
  | { kind: "batchQcStored"; qc: BatchQc; batch: Batch }
  /** Divergence: a quorum of attesters signed a hash that is not ours. */
  | { kind: "halt"; reason: string }
  | { kind: "event"; level: "info" | "warn" | "error"; msg: string; data?: Record<string, unknown> };

export interface AttestationCounters {
  votes: Record<VoteVerdict, number>;
  batchQcsFormed: number;
  batchQcsStored: number;
  batchesClosed: number;
  votesSigned: number;
  repushes: number;
}
