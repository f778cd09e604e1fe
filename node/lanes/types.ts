import type { LaneBlock, LaneQc, LaneRange, LaneVote, PersistEffect, ResendEffect, Tx } from "../types/index.ts";

/**
 * Node-local lane settings (protocol-wide ones come from genesis params).
 * No defaults here: every value comes from the config ([lanes] of
 * config/default.toml) through protocol/config.ts.
 */
export interface LanesConfig {
  /** Produce a block once the mempool holds this many bytes. */
  maxBlockBytes: number;
  /**
   * ...or at the first wall-clock tick of the block delay after the oldest
   * pending tx arrived (ticks every this many ms, the least block delay;
   * longer while consensus is slow: maxAdaptiveBlockDelayMs).
   */
  maxBlockDelayMs: number;
  /**
   * When twice the smoothed time consensus takes per index is longer than
   * maxBlockDelayMs, the delay follows it, rounded up to maxBlockDelayMs
   * times a power of two, up to this (block-delay.ts); at or below
   * maxBlockDelayMs the delay stays fixed.
   */
  maxAdaptiveBlockDelayMs: number;
  /** Produce at once when the own lane is idle (every own block final); batch only under load. */
  sendWhenIdle: boolean;
  /** No new own block while own unfinalized blocks' payloads would pass this many bytes. */
  maxWindowBytes: number;
  /** Mempool bounds: beyond either, txs are rejected (the API answers 503). */
  mempoolMaxTxs: number;
  mempoolMaxBytes: number;
  /** Future blocks of one lane buffered while a gap is fetched. */
  maxBufferedAhead: number;
  /** Re-broadcast cadence for own votes/blocks not yet certified (lost messages). */
  retransmitMs: number;
}

/**
 * Inputs. A signed message is verified once, by committee/signed.ts: at the
 * network edge (then the input says `verified`: nothing is hashed or checked
 * twice) or else by the machine itself, so nothing unverified reaches the
 * state.
 */
export type LanesInput =
  /**
   * A client's tx. `hash`: txHashHex(tx) (= toHex(txHash(tx))) when the
   * admitting code already computed it (else the lanes machine does). It
   * must be exactly that: it becomes the tx's entry in the chain's tx index
   * when the own lane's block is executed, and the mempool refuses only what
   * is not lowercase hex of the right length.
   */
  | { kind: "tx"; tx: Tx; hash?: string }
  /** A pushed lane block, or one from a sync response. */
  | { kind: "laneBlock"; block: LaneBlock; verified?: boolean }
  | { kind: "laneVote"; vote: LaneVote; verified?: boolean }
  /** A lane owner's announced LaneQC (committees where a voter cannot certify alone: vote-routing.ts). */
  | { kind: "laneQc"; qc: LaneQc; verified?: boolean }
  /** A write this machine asked for is durable (its number from the persist effect). */
  | { kind: "durable"; id: number }
  /** The lanes' timer fired (production deadline, retransmission). */
  | { kind: "timer" }
  /**
   * Consensus finalized these ranges: the window moves. `consensusMs`: how
   * long the index took consensus here, when measured (ConsensusEffect
   * "finalized"); it sets the block delay.
   */
  | { kind: "finalized"; ranges: LaneRange[]; consensusMs?: number }
  /**
   * The index with these ranges (its CommitQC's) was executed and its global
   * block is durable: the held blocks below them keep only their hashes.
   */
  | { kind: "executed"; ranges: LaneRange[] }
  /** A pruning anchor is durable: drop blocks below its ranges (its CommitQC's). */
  | { kind: "prune"; ranges: LaneRange[] };

export type LanesEffect =
  /** A block write; it releases the own block and the own vote for it (to the outbox). */
  | PersistEffect
  /** Identical re-sends of durable own blocks and votes (to the outbox). */
  | ResendEffect
  /** A LaneQC formed: block `number` of `lane` is available. */
  | { kind: "laneQc"; qc: LaneQc }
  /** The own lane's LaneQC, for every member (only where voters cannot form it themselves: vote-routing.ts). */
  | { kind: "announceLaneQc"; qc: LaneQc }
  /** A block of `lane` is held now (own or received): consensus' leader waits for its certificate. */
  | { kind: "laneSeen"; lane: number; number: number }
  | { kind: "setTimer"; deadlineMs: number }
  /** Ask peers for blocks from..to-1 of a lane (sync protocol). */
  | { kind: "fetchLaneBlocks"; lane: number; from: number; to: number }
  /** `hash`: the refused tx's hex hash (the pending map's key). */
  /** See TxRefusal (lanes/mempool.ts): `code` says what the runtime does with the tx's pending entry. */
  | { kind: "txRejected"; tx: Tx; hash: string; code: "duplicate" | "full" | "invalid"; reason: string }
  | { kind: "event"; level: "info" | "warn" | "error"; msg: string; data?: Record<string, unknown> };

/** Counters a runtime exports as metrics. */
export interface LanesCounters {
  blocksProduced: number;
  blocksAccepted: number;
  blocksRejected: number;
  equivocations: number;
  laneQcs: number;
  txsRejected: number;
}
