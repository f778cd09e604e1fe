import type { NodeEffect } from "../../node/protocol/index.ts";
import {
  type AttestationRecord,
  codecs,
  compareViews,
  type DurableWrite,
  headerHash,
  type PhaseVote,
  proposalHash,
  type SafetyRecord,
  sha256,
  toHex,
  type View,
  viewKey,
} from "../../node/types/index.ts";

/**
 * What one node has made durable, mirrored by the simulator at the moment a
 * batch is acknowledged. Checks "no signature leaves before its record"
 * against it, independently of the storage code.
 */
export class DurableShadow {
  safety: SafetyRecord | null = null;
  finalizedIndex = 0;
  executedIndex = 0;
  appHashes = new Map<number, string>();
  /** lane -> number -> header hash hex */
  laneBlocks = new Map<number, Map<number, string>>();
  laneFirst = new Map<number, number>();
  attestation: AttestationRecord | null = null;
  /** Next BatchQC number durable here. */
  batchQcNext = 0;
  /** Set when a BatchQC write skipped a number (checked by the invariants). */
  batchQcGap: string | null = null;

  apply(w: DurableWrite): void {
    switch (w.kind) {
      case "safety":
        this.safety = w.record;
        return;
      case "commitQc":
        this.finalizedIndex = Math.max(this.finalizedIndex, w.qc.proposal.view.index);
        return;
      case "appState":
        this.executedIndex = w.index;
        this.appHashes.set(w.index, toHex(w.appHash));
        return;
      case "laneBlock": {
        const m = this.laneBlocks.get(w.block.header.lane) ?? new Map<number, string>();
        m.set(w.block.header.number, toHex(headerHash(w.block.header)));
        this.laneBlocks.set(w.block.header.lane, m);
        return;
      }
      case "attestation":
        this.attestation = w.record;
        return;
      case "batchQc":
        if (w.qc.body.number !== this.batchQcNext && this.batchQcGap === null) {
          this.batchQcGap = `BatchQC ${w.qc.body.number} stored after ${this.batchQcNext - 1}`;
        }
        this.batchQcNext = w.qc.body.number + 1;
        return;
      case "pruneLane":
        this.laneFirst.set(w.lane, Math.max(this.laneFirst.get(w.lane) ?? 0, w.before));
        return;
      default:
        return;
    }
  }

  /** Forget everything: the node's database was wiped of its safety record. */
  wipeSafety(): void {
    this.safety = null;
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
 * - no vote leaves before its record is durable;
 * - app hashes agree;
 * - attestation: no attester signs two hashes for one batch (slot
 *   batchVote/<signer>/<n>, across restarts), no two BatchQCs for one
 *   number, BatchQCs stored gap-free on every node (checked on its writes).
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
  onEffect(node: string, e: NodeEffect, shadow: DurableShadow): void {
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
        const h = toHex(headerHash(e.block.header));
        if (shadow.laneBlocks.get(lane)?.get(number) !== h)
          this.#fail("durable first", `${node} pushed block ${lane}/${number} before it was durable`);
        this.#slot(lane, `laneBlock/${lane}/${number}`, h, node);
        return;
      }
      case "broadcast":
        this.#onBroadcast(node, e, shadow);
        return;
      default:
        return;
    }
  }

  #onBroadcast(node: string, e: Extract<NodeEffect, { kind: "broadcast" }>, shadow: DurableShadow): void {
    if (e.topic === "lane_vote") {
      const { lane, number, headerHash: hh } = e.vote.body;
      const h = toHex(hh);
      const pruned = number < (shadow.laneFirst.get(lane) ?? 0);
      if (!pruned && shadow.laneBlocks.get(lane)?.get(number) !== h) {
        this.#fail("durable first", `${node} voted lane block ${lane}/${number} before it was durable`);
      }
      this.#slot(e.vote.signer, `laneVote/${e.vote.signer}/${lane}/${number}`, h, node);
      return;
    }
    if (e.topic === "app_vote") {
      const { index, appHash } = e.vote.body;
      const h = toHex(appHash);
      if (shadow.executedIndex < index || (shadow.appHashes.has(index) && shadow.appHashes.get(index) !== h)) {
        this.#fail("durable first", `${node} sent app vote ${index} before its app state was durable`);
      }
      this.#slot(e.vote.signer, `appVote/${e.vote.signer}/${index}`, h, node);
      return;
    }
    if (e.topic === "batch_vote") {
      const { body, signer } = e.msg.vote;
      const h = toHex(body.hash);
      const r = shadow.attestation;
      if (r === null || r.number !== body.number || toHex(r.hash) !== h) {
        this.#fail("durable first", `${node} sent batch vote ${body.number} before its attestation record was durable`);
      }
      this.#slot(signer, `batchVote/${signer}/${body.number}`, h, node);
      return;
    }
    const m = e.msg;
    const s = shadow.safety;
    switch (m.kind) {
      case "prepare":
      case "commit": {
        const v: PhaseVote = m.msg;
        const rec = m.kind === "prepare" ? s?.prepare : s?.commit;
        const recorded = rec !== null && rec !== undefined && compareViews(rec.view, v.body.view) >= 0;
        if (!recorded)
          this.#fail(
            "durable first",
            `${node} sent a ${m.kind} vote at ${viewKey(v.body.view)} before its record was durable`,
          );
        if (m.kind === "commit" && (!s?.lock || compareViews(s.lock.proposal.view, v.body.view) < 0)) {
          this.#fail(
            "durable first",
            `${node} sent a commit vote at ${viewKey(v.body.view)} before its lock was durable`,
          );
        }
        this.#slot(v.signer, `${m.kind}/${v.signer}/${viewKey(v.body.view)}`, toHex(v.body.proposalHash), node);
        return;
      }
      case "timeout": {
        const v = m.msg;
        if (!s?.timeout || compareViews(s.timeout.view, v.body.view) < 0) {
          this.#fail(
            "durable first",
            `${node} sent a timeout vote at ${viewKey(v.body.view)} before its record was durable`,
          );
        }
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
