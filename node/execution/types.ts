import type { Anchor, AppVote, CommitQc, GlobalBlock, LaneBlock, PersistEffect, ResendEffect } from "../types/index.ts";

/** Settings from the config ([execution] of config/default.toml, through protocol/config.ts); no defaults here. */
export interface ExecutionConfig {
  /** Write a pruning anchor at most every this many indexes. */
  anchorEveryIndexes: number;
  /** Minimum spacing of sync requests for missing lane blocks. */
  fetchRetryMs: number;
}

export type ExecutionInput =
  /** CommitQC(k) is durable (from consensus), in index order. */
  | { kind: "finalized"; qc: CommitQc }
  /** Lane blocks from a sync response: matched by hash, never trusted otherwise. */
  | { kind: "blocks"; blocks: LaneBlock[] }
  /** A decoded app vote; unless `verified` at the edge (committee/signed.ts), the machine verifies it. */
  | { kind: "appVote"; vote: AppVote; verified?: boolean }
  /** A write this machine asked for is durable (its number from the persist effect). */
  | { kind: "durable"; id: number }
  | { kind: "timer" };

export type ExecutionEffect =
  /** A write; the app state write releases the app vote (via the outbox). */
  | PersistEffect
  /** The identical app vote of the recovered app state (via the outbox). */
  | ResendEffect
  /** Global block k with its app hash: delivered once, in index order, once durable. */
  | {
      kind: "deliver";
      block: GlobalBlock;
      appHash: Uint8Array;
      /** The block's tx hashes in order, 32 bytes each (types' txHashList): hashed once per node (execution, or admission for the own lane). */
      txHashes: Uint8Array;
    }
  | { kind: "fetchLaneBlocks"; lane: number; from: number; to: number }
  /** A pruning anchor is durable: lanes may drop blocks below its ranges. */
  | { kind: "anchored"; anchor: Anchor }
  | { kind: "setTimer"; deadlineMs: number }
  /** Divergence or an inconsistency: the node must stop. */
  | { kind: "halt"; reason: string }
  | { kind: "event"; level: "info" | "warn" | "error"; msg: string; data?: Record<string, unknown> };

export interface ExecutionCounters {
  executed: number;
  txs: number;
  voidRanges: number;
  appQcs: number;
  anchors: number;
  /** App votes outside the window of indexes this node can act on. */
  appVotesDropped: number;
  /** Fetched lane blocks not taken into the pool (not certified, or the pool full). */
  poolDropped: number;
}
