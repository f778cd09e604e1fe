import type { CommitQc, ConsensusMessage, LaneQc, PersistEffect, ResendEffect } from "../types/index.ts";
import type { SigningFloor } from "./safety-gate.ts";

/** Settings from the config ([consensus] of config/default.toml, through protocol/config.ts); no defaults here. */
export interface ConsensusConfig {
  /** View timeout after a view starts having work (DESIGN section 6). */
  viewTimeoutMs: number;
  /** Cap of the timeout, which grows on each consecutive timeout. */
  maxViewTimeoutMs: number;
  /** Factor the timeout grows by on each consecutive timeout (>= 1). */
  viewTimeoutGrowth: number;
  /** Minimum spacing of sync requests for missing CommitQCs. */
  fetchRetryMs: number;
  /** Longest wait of a leader for the lane blocks it holds to be certified before it proposes (0: no wait). */
  proposeGatherMs: number;
}

/**
 * Inputs. Consensus messages arrive decoded. A message's own signature is
 * checked once, by committee/signed.ts: at the network edge (then the input
 * says `verified`) or else here; certificates inside it are checked here,
 * through the shared VerifyCache. `laneQc` comes from this node's own lanes
 * machine and is trusted.
 */
export type ConsensusInput =
  /**
   * `verified`: the message's own signature already passed committee/signed.ts
   * (network edge, or the node's own message); absent, the machine checks it.
   * Certificates inside a message are always checked here.
   */
  | { kind: "message"; msg: ConsensusMessage; verified?: boolean }
  | { kind: "laneQc"; qc: LaneQc }
  /** This node holds block `number` of `lane` (from its own lanes machine): a certificate may follow. */
  | { kind: "laneSeen"; lane: number; number: number }
  /** The proposal wait (`setProposeTimer`) ran out. */
  | { kind: "proposeTimer"; key: string }
  /** A write this machine asked for is durable (its number from the persist effect). */
  | { kind: "durable"; id: number }
  | { kind: "timer"; viewKey: string }
  /** CommitQCs from a sync response, any order, unverified. */
  | { kind: "commitQcs"; qcs: CommitQc[] }
  /** A new signing floor (issue 15), already durable. */
  | { kind: "signingFloor"; floor: SigningFloor };

/** The consensus messages that carry no new signature of this node. */
export type CertificateMessage = Extract<ConsensusMessage, { kind: "commitQc" | "timeoutQc" }>;

export type ConsensusEffect =
  /**
   * Certificates (CommitQC, TimeoutQC): others' signatures, sent as they are.
   * Typed to certificates only, so an own vote cannot take this path around
   * the outbox.
   */
  | { kind: "broadcast"; msg: CertificateMessage }
  /** A write; a safety record releases the votes (and own proposal) it covers, via the outbox. */
  | PersistEffect
  /** Identical re-sends of votes whose record is durable (via the outbox). */
  | ResendEffect
  /** One view timer: a new one replaces the previous. */
  | { kind: "setTimer"; viewKey: string; deadlineMs: number }
  /** The leader's wait for lane certificates (proposeGatherMs): a timer of its own. */
  | { kind: "setProposeTimer"; key: string; deadlineMs: number }
  /**
   * Index k is decided: its CommitQC is formed here or checked, and its
   * write was just emitted (emitted once, in order, before `finalized`).
   * Execution starts here: the writes it emits come after the CommitQC's in
   * the same or a later durable batch, and nothing it releases leaves
   * before they are durable, so nothing waits for the CommitQC's write
   * first (one durable write less between a tx's CommitQC and its client).
   */
  | { kind: "decided"; qc: CommitQc }
  /**
   * CommitQC(k) is durable: index k is final (emitted once, in order).
   * `consensusMs`: from accepting k's round-0 proposal to this moment, when
   * k was decided live in round 0 (absent after a round change or catch-up).
   */
  | { kind: "finalized"; qc: CommitQc; consensusMs?: number }
  /** Ask peers for CommitQCs from index `from` on. */
  | { kind: "fetchCommitQcs"; from: number }
  | { kind: "event"; level: "info" | "warn" | "error"; msg: string; data?: Record<string, unknown> };

export interface ConsensusCounters {
  proposals: number;
  /** Proposals made after the leader waited for lane certificates (proposeGatherMs): all came in time ... */
  proposalsGathered: number;
  /** ... or the wait ran out with a held block still uncertified. */
  proposalsGatherExpired: number;
  prepareVotes: number;
  commitVotes: number;
  timeoutVotes: number;
  timeoutQcs: number;
  finalized: number;
  rejectedMessages: number;
  /** Messages for the next index refused by its round window or per-sender bound. */
  bufferedNextDropped: number;
}
