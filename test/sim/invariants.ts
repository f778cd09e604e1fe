import type { NodeEffect } from "../../node/protocol/index.ts";
import {
  codecs,
  type DurableWrite,
  headerHash,
  type PhaseVote,
  proposalHash,
  sha256,
  toHex,
  type View,
  viewKey,
} from "../../node/types/index.ts";

/**
 * What one node has made durably final, mirrored by the simulator when a
 * batch is acknowledged: a restart must not recover less. (Whether a signed
 * message may leave before its record is durable is the outbox's rule, in
 * node/protocol/outbox.ts; the simulator runs it and reports its halts.)
 */
export class DurableShadow {
  finalizedIndex = 0;
  /** Next BatchQC number durable here. */
  batchQcNext = 0;
  /** Set when a BatchQC write skipped a number (reported by the simulator). */
  batchQcGap: string | null = null;

  apply(w: DurableWrite): void {
    if (w.kind === "commitQc") this.finalizedIndex = Math.max(this.finalizedIndex, w.qc.proposal.view.index);
    if (w.kind === "batchQc") {
      if (w.qc.body.number !== this.batchQcNext && this.batchQcGap === null) {
        this.batchQcGap = `BatchQC ${w.qc.body.number} stored after ${this.batchQcNext - 1}`;
      }
      this.batchQcNext = w.qc.body.number + 1;
    }
  }
}

export interface Violation {
  invariant: string;
  detail: string;
}

/**
 * The safety invariants of DESIGN section 12, checked on every effect a node
 * emits and every restart:
 * - no two different finalized blocks at one index;
 * - a finalized index stays finalized after restarts;
 * - no key signs two different messages for one slot (twins excluded: they
 *   are the faulty ones);
 * - attestation: no attester signs two hashes for one batch (slot
 *   batchVote/<signer>/<n>, across restarts), no two BatchQCs for one
 *   number, BatchQCs stored gap-free on every node (its durable writes);
 * - app hashes agree, and no node halts (an outbox halt included: it means a
 *   machine tried to release a signature its durable record does not cover).
 */
export class InvariantChecker {
  readonly violations: Violation[] = [];
  readonly #finalized = new Map<number, string>();
  readonly #appHashes = new Map<number, string>();
  readonly #signed = new Map<string, string>();
  readonly #batchQcs = new Map<number, string>();
  /** Signers of each BatchQC, as first stored (for tests). */
  readonly batchQcSigners = new Map<number, number[]>();
  readonly #faultyValidators: Set<number>;
  readonly #leaderOf: (view: View) => number;

  constructor(faultyValidators: Iterable<number>, leaderOf: (view: View) => number) {
    this.#faultyValidators = new Set(faultyValidators);
    this.#leaderOf = leaderOf;
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  #fail(invariant: string, detail: string): void {
    if (this.violations.length < 20) this.violations.push({ invariant, detail });
  }

  /** One effect emitted by sim node `node`. */
  onEffect(node: string, e: NodeEffect): void {
    switch (e.kind) {
      case "finalized": {
        // What an index finalizes is its tip cut (and timestamp); rounds differ.
        const k = e.qc.proposal.view.index;
        const h = toHex(sha256(codecs.proposal.encode({ ...e.qc.proposal, view: { index: k, round: 0 } })));
        const prev = this.#finalized.get(k);
        if (prev === undefined) this.#finalized.set(k, h);
        else if (prev !== h)
          this.#fail("agreement", `${node} finalized ${h.slice(0, 12)} at index ${k}, others ${prev.slice(0, 12)}`);
        return;
      }
      case "deliver": {
        const k = e.block.index;
        const h = toHex(e.appHash);
        const prev = this.#appHashes.get(k);
        if (prev === undefined) this.#appHashes.set(k, h);
        else if (prev !== h)
          this.#fail("app hash", `${node} app hash ${h.slice(0, 12)} at ${k}, others ${prev.slice(0, 12)}`);
        return;
      }
      case "halt":
        this.#fail("halt", `${node} halted: ${e.reason}`);
        return;
      case "batchQcStored": {
        const n = e.qc.body.number;
        const h = toHex(e.qc.body.hash);
        const prev = this.#batchQcs.get(n);
        if (prev === undefined) {
          this.#batchQcs.set(n, h);
          this.batchQcSigners.set(n, e.qc.signers.getTrueBitIndexes());
        } else if (prev !== h) {
          this.#fail(
            "one BatchQC per batch",
            `${node} stored BatchQC ${n} on ${h.slice(0, 12)}, others ${prev.slice(0, 12)}`,
          );
        }
        return;
      }
      case "pushBlock": {
        const { lane, number } = e.block.header;
        this.#slot(lane, `laneBlock/${lane}/${number}`, toHex(headerHash(e.block.header)), node);
        return;
      }
      case "broadcast":
        this.#onBroadcast(node, e);
        return;
      case "sendLaneVote": {
        const { lane, number, headerHash: hh } = e.vote.body;
        this.#slot(e.vote.signer, `laneVote/${e.vote.signer}/${lane}/${number}`, toHex(hh), node);
        return;
      }
      default:
        return;
    }
  }

  #onBroadcast(node: string, e: Extract<NodeEffect, { kind: "broadcast" }>): void {
    if (e.topic === "lane_vote") {
      const { lane, number, headerHash: hh } = e.vote.body;
      this.#slot(e.vote.signer, `laneVote/${e.vote.signer}/${lane}/${number}`, toHex(hh), node);
      return;
    }
    if (e.topic === "lane_qc") return; // others' signatures
    if (e.topic === "batch_vote") {
      const { body, signer } = e.msg.vote;
      this.#slot(signer, `batchVote/${signer}/${body.number}`, toHex(body.hash), node);
      return;
    }
    if (e.topic === "app_vote") {
      const { index, appHash } = e.vote.body;
      this.#slot(e.vote.signer, `appVote/${e.vote.signer}/${index}`, toHex(appHash), node);
      return;
    }
    const m = e.msg;
    switch (m.kind) {
      case "prepare":
      case "commit": {
        const v: PhaseVote = m.msg;
        this.#slot(v.signer, `${m.kind}/${v.signer}/${viewKey(v.body.view)}`, toHex(v.body.proposalHash), node);
        return;
      }
      case "timeout": {
        const v = m.msg;
        this.#slot(v.signer, `timeout/${v.signer}/${viewKey(v.body.view)}`, String(v.body.lockRound), node);
        return;
      }
      case "proposal": {
        const p = m.msg.proposal;
        this.#slot(this.#leaderOf(p.view), `proposal/${viewKey(p.view)}`, toHex(proposalHash(p)), node);
        return;
      }
      default:
        return;
    }
  }

  /** A signed message for `slot`: a different content under one key is equivocation. */
  #slot(signer: number, slot: string, content: string, node: string): void {
    if (this.#faultyValidators.has(signer)) return;
    const prev = this.#signed.get(slot);
    if (prev === undefined) this.#signed.set(slot, content);
    else if (prev !== content) this.#fail("no equivocation", `${node} signed a second, different message for ${slot}`);
  }

  /** After a restart: what was durably final must still be. */
  onRecovered(node: string, recoveredFinalized: number, shadow: DurableShadow): void {
    if (recoveredFinalized < shadow.finalizedIndex) {
      this.#fail(
        "finality survives restart",
        `${node} recovered finalized index ${recoveredFinalized}, had ${shadow.finalizedIndex} durable`,
      );
    }
  }

  note(invariant: string, detail: string): void {
    this.#fail(invariant, detail);
  }
}
