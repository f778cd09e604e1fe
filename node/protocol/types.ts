import type { ConsensusConfig } from "../consensus/index.ts";
import type { ExecutionConfig } from "../execution/index.ts";
import type { LanesConfig } from "../lanes/index.ts";
import type {
  AppVote,
  CommitQc,
  ConsensusMessage,
  DurableWrite,
  Evidence,
  GlobalBlock,
  LaneBlock,
  LaneVote,
  Tx,
} from "../types/index.ts";

export interface ProtocolConfig {
  lanes: LanesConfig;
  consensus: ConsensusConfig;
  execution: ExecutionConfig;
}

export type TimerName = "lanes" | "consensus" | "execution";

/** Everything that can happen to one node, from the outside. */
export type NodeInput =
  | { kind: "tx"; tx: Tx }
  | { kind: "laneBlock"; block: LaneBlock }
  | { kind: "laneVote"; vote: LaneVote }
  | { kind: "consensus"; msg: ConsensusMessage }
  | { kind: "appVote"; vote: AppVote }
  /** The write with this id (from a `persist` effect) is durable. */
  | { kind: "durable"; id: string }
  /** A timer set by a `setTimer` effect fired (`key` as given there). */
  | { kind: "timer"; timer: TimerName; key: string }
  /** Sync responses: unverified; the machines check them. */
  | { kind: "syncLaneBlocks"; blocks: LaneBlock[] }
  | { kind: "syncCommitQcs"; qcs: CommitQc[] };

/** Everything one node asks of the outside world. */
export type NodeEffect =
  /** Make this write durable (group commit), then feed back `durable(id)`. */
  | { kind: "persist"; id: string; write: DurableWrite }
  /** Own lane block to every committee member (push protocol). */
  | { kind: "pushBlock"; block: LaneBlock }
  | { kind: "broadcast"; topic: "lane_vote"; vote: LaneVote }
  | { kind: "broadcast"; topic: "consensus"; msg: ConsensusMessage }
  | { kind: "broadcast"; topic: "app_vote"; vote: AppVote }
  /** (Re)arm the named timer; the previous one of that name is replaced. */
  | { kind: "setTimer"; timer: TimerName; key: string; deadlineMs: number }
  /** Index k is final (its CommitQC is durable). */
  | { kind: "finalized"; qc: CommitQc }
  /** Global block k is executed and its app state durable. */
  | { kind: "deliver"; block: GlobalBlock; appHash: Uint8Array }
  | { kind: "fetchLaneBlocks"; lane: number; from: number; to: number }
  | { kind: "fetchCommitQcs"; from: number }
  | { kind: "txRejected"; tx: Tx; reason: string }
  /** The node must stop (app hash divergence). */
  | { kind: "halt"; reason: string }
  /** A member signed two different statements for one slot: keep the proof (storage dedupes). */
  | { kind: "evidence"; evidence: Evidence }
  | {
      kind: "event";
      module: "lanes" | "consensus" | "execution";
      level: "info" | "warn" | "error";
      msg: string;
      data?: Record<string, unknown>;
    };
