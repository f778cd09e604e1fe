import type { AttestationConfig } from "../attestation/index.ts";
import type { ConsensusConfig, SigningFloor } from "../consensus/index.ts";
import type { ExecutionConfig } from "../execution/index.ts";
import type { LanesConfig } from "../lanes/index.ts";
import type {
  AppVote,
  Batch,
  BatchQc,
  BatchVoteMessage,
  CommitQc,
  ConsensusMessage,
  Evidence,
  GlobalBlock,
  LaneBlock,
  LaneQc,
  LaneVote,
  Tx,
} from "../types/index.ts";
import type { OutboxPersist, WriteId } from "./outbox.ts";

export interface ProtocolConfig {
  lanes: LanesConfig;
  consensus: ConsensusConfig;
  execution: ExecutionConfig;
  attestation: AttestationConfig;
}

/** One timer per name; consensus has two (the view timer, and the leader's proposal wait). */
export type TimerName = "lanes" | "consensus" | "propose" | "execution" | "attestation";

/**
 * Everything that can happen to one node, from the outside. `verified`: the
 * message passed committee/signed.ts's verifySigned at the network edge
 * (net/validate.ts, net/sync-client.ts), so the machines do not check its
 * signature again; absent, they do (the simulator's inputs, tests).
 */
export type NodeInput =
  /** A client's tx; `hash` as for the lanes machine's tx input (lanes/types.ts). */
  | { kind: "tx"; tx: Tx; hash?: string }
  | { kind: "laneBlock"; block: LaneBlock; verified?: boolean }
  | { kind: "laneVote"; vote: LaneVote; verified?: boolean }
  /** A lane owner's announced LaneQC (lanes/vote-routing.ts). */
  | { kind: "laneQc"; qc: LaneQc; verified?: boolean }
  | { kind: "consensus"; msg: ConsensusMessage; verified?: boolean }
  | { kind: "appVote"; vote: AppVote; verified?: boolean }
  | { kind: "batchVote"; msg: BatchVoteMessage; verified?: boolean }
  /** The main node's status (next batch to attest), from the poller. */
  | { kind: "attestationStatus"; next: number }
  /** The main node is on another genesis: this node signs no more batch votes. */
  | { kind: "stopAttesting" }
  /** A stored batch read back (answer to `loadBatch`). */
  | { kind: "batchLoaded"; batch: Batch }
  /**
   * The write with this id (from a `persist` effect) is durable, and so is
   * every write persisted before it: report in persist order.
   */
  | { kind: "durable"; id: WriteId }
  /** A timer set by a `setTimer` effect fired (`key` as given there). */
  | { kind: "timer"; timer: TimerName; key: string }
  /** Sync responses: the machines check them (lane blocks' signatures unless `verified`). */
  | { kind: "syncLaneBlocks"; blocks: LaneBlock[]; verified?: boolean }
  | { kind: "syncCommitQcs"; qcs: CommitQc[] }
  /**
   * Finalized global blocks from a sync response, in index order (the sync
   * client checked each against its CommitQC). Each index's CommitQC goes to
   * consensus and its lane blocks to lanes and execution once it is final.
   */
  | { kind: "syncGlobalBlocks"; blocks: GlobalBlock[] }
  | { kind: "syncBatchQcs"; qcs: BatchQc[] }
  /** A new signing floor (issue 15), already durable: consensus signs no vote at or below it. */
  | { kind: "signingFloor"; floor: SigningFloor };

/** Everything one node asks of the outside world. */
export type NodeEffect =
  /**
   * Make this write durable (group commit), then feed back `durable(id)`.
   * `signed` lists what it will release, for the HA hook only: never send it.
   */
  | OutboxPersist
  /** Own lane block to every committee member (push protocol); only ever released by the outbox. */
  | { kind: "pushBlock"; block: LaneBlock }
  /** Own votes and proposals are released by the outbox; certificates relay others' signatures. */
  | { kind: "broadcast"; topic: "lane_vote"; vote: LaneVote }
  /** An own vote on another member's lane block: to that lane's owner only (lanes/vote-routing.ts). */
  | { kind: "sendLaneVote"; vote: LaneVote }
  /** The own lane's LaneQC, where voters cannot form it themselves. */
  | { kind: "broadcast"; topic: "lane_qc"; qc: LaneQc }
  | { kind: "broadcast"; topic: "consensus"; msg: ConsensusMessage }
  | { kind: "broadcast"; topic: "app_vote"; vote: AppVote }
  /** Own batch vote (first push, after its record is durable, or a re-push). */
  | { kind: "broadcast"; topic: "batch_vote"; msg: BatchVoteMessage }
  /** (Re)arm the named timer; the previous one of that name is replaced. */
  | { kind: "setTimer"; timer: TimerName; key: string; deadlineMs: number }
  /** Index k is final (its CommitQC is durable); `consensusMs` as the consensus machine measured it. */
  | { kind: "finalized"; qc: CommitQc; consensusMs?: number }
  /** Global block k is executed and its app state durable. */
  /** `txHashes`: the block's tx hashes in order, 32 bytes each, computed once by execution. */
  | { kind: "deliver"; block: GlobalBlock; appHash: Uint8Array; txHashes: Uint8Array }
  | { kind: "fetchLaneBlocks"; lane: number; from: number; to: number }
  | { kind: "fetchCommitQcs"; from: number }
  | { kind: "fetchBatchQcs"; from: number }
  /** Read stored batch `number`, feed it back as `batchLoaded`. */
  | { kind: "loadBatch"; number: number }
  /** Batch n closed (log). */
  | { kind: "batchClosed"; batch: Batch; hash: Uint8Array }
  /** This node's batch vote for n left (log). */
  | { kind: "attested"; batch: Batch; hash: Uint8Array }
  /** BatchQC(n) is durable (log, metrics, main node status). */
  | { kind: "batchQcStored"; qc: BatchQc; batch: Batch }
  /** `hash`: the refused tx's hex hash (the pending map's key). */
  /** See TxRefusal (lanes/mempool.ts): `code` says what the runtime does with the tx's pending entry. */
  | { kind: "txRejected"; tx: Tx; hash: string; code: "duplicate" | "full" | "invalid"; reason: string }
  /** The node must stop (app hash divergence, or a release the durable record does not cover). */
  | { kind: "halt"; reason: string }
  /** A member signed two different statements for one slot: keep the proof (storage dedupes). */
  | { kind: "evidence"; evidence: Evidence }
  | {
      kind: "event";
      module: "lanes" | "consensus" | "execution" | "attestation" | "protocol";
      level: "info" | "warn" | "error";
      msg: string;
      data?: Record<string, unknown>;
    };
