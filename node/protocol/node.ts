import { type AttestationEffect, type AttestationInput, AttestationMachine } from "../attestation/index.ts";
import { type Committee, rememberOwnSigned } from "../committee/index.ts";
import { type ConsensusEffect, type ConsensusInput, ConsensusMachine, type SigningFloor } from "../consensus/index.ts";
import type { Signer, VerifyCache } from "../crypto/index.ts";
import { EquivocationDetector } from "../evidence/index.ts";
import {
  type App,
  type ExecutionEffect,
  type ExecutionInput,
  ExecutionMachine,
  MAX_PENDING_EXECUTION,
} from "../execution/index.ts";
import { type LanesEffect, type LanesInput, LanesMachine } from "../lanes/index.ts";
import {
  blockHash,
  type CommitQc,
  type ConsensusMessage,
  type Evidence,
  type GlobalBlock,
  type LaneBlock,
  type RecoveredState,
  type SignedMessage,
} from "../types/index.ts";
import { Outbox, type OutboxEvent, type WriteOwner } from "./outbox.ts";
import type { NodeEffect, NodeInput, ProtocolConfig } from "./types.ts";

export interface ProtocolNodeOptions {
  committee: Committee;
  /** Validator index, or null for an observer (never signs). */
  me: number | null;
  signer: Signer | null;
  config: ProtocolConfig;
  recovered: RecoveredState;
  app: App;
  /** One cache per process, shared with the network layer's checks. */
  verifyCache?: VerifyCache;
  /** Evidence already on disk: not reported again. */
  knownEvidence?: Evidence[];
  /** Signing floor at start (issue 15: a start without a trustworthy safety record). */
  signingFloor?: SigningFloor;
  /**
   * Test-only faults, the outbox's negative control. `laneVotesEarly`: the
   * lanes machine hands its lane votes out before their block is durable.
   * Never set in production.
   */
  testFaults?: { laneVotesEarly?: boolean };
  /** Start time (seeds the batch vote's re-push counter). */
  nowMs?: number;
}

type MachineEffect = LanesEffect | ConsensusEffect | ExecutionEffect | AttestationEffect;
/** The effects every machine emits alike, handled in one place (ProtocolNode #common). */
type CommonEffect = Extract<MachineEffect, { kind: "persist" | "resend" | "setTimer" | "event" | "halt" }>;

type Work =
  | { to: "lanes"; input: LanesInput }
  | { to: "consensus"; input: ConsensusInput }
  | { to: "execution"; input: ExecutionInput }
  | { to: "attestation"; input: AttestationInput };

/** Bound on internal hand-offs in one step: a loop here would be a bug. */
const MAX_INTERNAL_STEPS = 100_000;
/**
 * Indexes past execution whose synced lane blocks wait for their CommitQC to
 * become final (the same bound as catch-up's CommitQCs ahead of execution).
 */
export const MAX_SYNCED_AHEAD = MAX_PENDING_EXECUTION / 2;

/**
 * One node's protocol: the lanes, consensus and execution machines wired
 * together, still pure. It routes internal effects (a LaneQC to consensus, a
 * finalized CommitQC to lanes and execution, an anchor to lanes' pruning,
 * the node's own messages back to itself) and returns only the effects the
 * outside world must carry out. Every write and every signed message passes
 * through its Outbox: signed messages leave only once their record is
 * durable, and durable acknowledgements come back to the machine that asked.
 * The simulator and node/runtime drive this same class.
 *
 * It lives in its own pure folder (not in consensus) because it depends on
 * all three machines, which must not depend on each other.
 */
export class ProtocolNode {
  readonly committee: Committee;
  readonly me: number | null;
  readonly lanes: LanesMachine;
  readonly consensus: ConsensusMachine;
  readonly execution: ExecutionMachine;
  /** Equivocation by any member, seen in the messages that reach the machines. */
  readonly #evidence: EquivocationDetector;
  readonly attestation: AttestationMachine;
  readonly outbox: Outbox;
  readonly #verifyCache: VerifyCache | undefined;
  #halted: string | null = null;
  /** Lane blocks of synced global blocks not final here yet, by index (bounded by MAX_SYNCED_AHEAD). */
  readonly #synced = new Map<number, LaneBlock[]>();

  constructor(opts: ProtocolNodeOptions) {
    const { committee, me, signer, recovered, verifyCache } = opts;
    this.committee = committee;
    this.me = me;
    this.outbox = new Outbox(me, recovered);
    this.#verifyCache = verifyCache;
    const lastQc = recovered.commitQcs.at(-1) ?? recovered.anchor?.commitQc ?? null;
    // The CommitQC of the last index executed before the restart (in the WAL, or the anchor's).
    const executed = recovered.app.executedIndex;
    const anchorQc = recovered.anchor?.commitQc;
    const executedQc =
      recovered.commitQcs.find((qc) => qc.proposal.view.index === executed) ??
      (anchorQc?.proposal.view.index === executed ? anchorQc : null);
    this.lanes = new LanesMachine({
      committee,
      me,
      signer,
      config: opts.config.lanes,
      recoveredLanes: recovered.lanes,
      finalizedRanges: lastQc?.proposal.ranges ?? null,
      anchorRanges: recovered.anchor?.commitQc.proposal.ranges ?? null,
      executedRanges: executedQc?.proposal.ranges ?? null,
      ownLaneFloor: recovered.ownLaneFloor ?? 0,
      verifyCache,
      faultReleaseVotesEarly: opts.testFaults?.laneVotesEarly === true,
    });
    this.consensus = new ConsensusMachine({
      committee,
      me,
      signer,
      config: opts.config.consensus,
      recovered,
      verifyCache,
      signingFloor: opts.signingFloor ?? null,
    });
    this.#evidence = new EquivocationDetector(committee, verifyCache);
    this.#evidence.known(opts.knownEvidence ?? []);
    const lanes = this.lanes;
    this.execution = new ExecutionMachine({
      committee,
      me,
      signer,
      config: opts.config.execution,
      app: opts.app,
      recovered,
      lookup: (lane, number) => lanes.heldBlock(lane, number),
      verifyCache,
    });
    this.attestation = new AttestationMachine({
      committee,
      me,
      signer,
      config: opts.config.attestation,
      params: committee.params,
      recovered: recovered.attestation,
      verifyCache,
      nowMs: opts.nowMs ?? 0,
    });
  }

  /**
   * A consensus message the network edge may drop before checking its
   * signatures: the consensus machine has no use for it
   * (ConsensusMachine.isRedundant: its index is final here, or it is a
   * prepare vote for the PrepareQC in hand), and it is no evidence against a
   * statement of its signer the detector kept (that one is checked and
   * reported as usual). Certificates hold no statement the detector reads.
   */
  isRedundantConsensus(m: ConsensusMessage): boolean {
    if (!this.consensus.isRedundant(m)) return false;
    return m.kind === "commitQc" || m.kind === "timeoutQc" || !this.#evidence.conflicts(m);
  }

  get halted(): string | null {
    return this.#halted;
  }

  /** Effects to run once after construction (re-sent identical votes, timers). */
  start(nowMs: number): NodeEffect[] {
    const out: NodeEffect[] = [];
    const work: Work[] = [];
    for (const e of this.lanes.start(nowMs)) this.#fromLanes(e, out, work);
    for (const e of this.consensus.start(nowMs)) this.#fromConsensus(e, out, work);
    for (const e of this.execution.start(nowMs)) this.#fromExecution(e, out, work);
    for (const e of this.attestation.start(nowMs)) this.#fromAttestation(e, out, work);
    this.#drain(work, nowMs, out);
    return out;
  }

  step(input: NodeInput, nowMs: number): NodeEffect[] {
    if (this.#halted !== null) return [];
    const work: Work[] = [];
    switch (input.kind) {
      case "tx":
        work.push({ to: "lanes", input });
        break;
      case "laneBlock":
        work.push({ to: "lanes", input }, { to: "execution", input: { kind: "blocks", blocks: [input.block] } });
        break;
      case "laneVote":
      case "laneQc":
        work.push({ to: "lanes", input });
        break;
      case "consensus":
        work.push({ to: "consensus", input: { kind: "message", msg: input.msg, verified: input.verified } });
        break;
      case "appVote":
        work.push({ to: "execution", input });
        break;
      case "batchVote":
        work.push({
          to: "attestation",
          input: { kind: "batchVote", msg: input.msg, verified: input.verified === true },
        });
        break;
      case "attestationStatus":
        work.push({ to: "attestation", input: { kind: "status", next: input.next } });
        break;
      case "batchLoaded":
      case "stopAttesting":
        work.push({ to: "attestation", input });
        break;
      case "syncBatchQcs":
        work.push({ to: "attestation", input: { kind: "batchQcs", qcs: input.qcs } });
        break;
      case "durable": {
        const out: NodeEffect[] = [];
        for (const ev of this.outbox.durable(input.id)) this.#fromOutbox(ev, out, work);
        this.#drain(work, nowMs, out);
        return out;
      }
      case "timer":
        if (input.timer === "lanes") work.push({ to: "lanes", input: { kind: "timer" } });
        else if (input.timer === "consensus")
          work.push({ to: "consensus", input: { kind: "timer", viewKey: input.key } });
        else if (input.timer === "propose")
          work.push({ to: "consensus", input: { kind: "proposeTimer", key: input.key } });
        else if (input.timer === "attestation") work.push({ to: "attestation", input: { kind: "timer" } });
        else work.push({ to: "execution", input: { kind: "timer" } });
        break;
      case "syncLaneBlocks":
        for (const block of input.blocks)
          work.push({ to: "lanes", input: { kind: "laneBlock", block, verified: input.verified } });
        work.push({ to: "execution", input: { kind: "blocks", blocks: input.blocks } });
        break;
      case "signingFloor":
        work.push({ to: "consensus", input });
        break;
      case "syncCommitQcs": {
        // Catch-up runs no further ahead of execution than execution can
        // queue; what is left out is fetched again as execution advances.
        const limit = this.execution.executedIndex + MAX_SYNCED_AHEAD;
        const qcs = input.qcs.filter((qc) => qc.proposal.view.index <= limit);
        if (qcs.length > 0) work.push({ to: "consensus", input: { kind: "commitQcs", qcs } });
        break;
      }
      case "syncGlobalBlocks":
        this.#onSyncedGlobalBlocks(input.blocks, work);
        break;
    }
    const out: NodeEffect[] = [];
    for (const evidence of this.#evidence.observe(input)) out.push({ kind: "evidence", evidence });
    this.#drain(work, nowMs, out);
    return out;
  }

  /**
   * A run of finalized global blocks. Indexes already final here give their
   * lane blocks at once; later ones wait (bounded) for their CommitQC, which
   * goes to consensus, to become final: lane blocks enter lanes only within
   * the finalized ranges, so none falls outside the lane window, and
   * execution takes them because the index is pending there.
   */
  #onSyncedGlobalBlocks(blocks: GlobalBlock[], work: Work[]): void {
    const executed = this.execution.executedIndex;
    const finalized = this.consensus.finalizedIndex;
    const limit = executed + MAX_SYNCED_AHEAD;
    const qcs: CommitQc[] = [];
    for (const g of blocks) {
      if (g.index <= executed || g.index > limit || g.commitQc.proposal.view.index !== g.index) continue;
      if (g.index <= finalized) this.#syncedBlocksFinal(g.blocks, work);
      else {
        this.#synced.set(g.index, g.blocks);
        qcs.push(g.commitQc);
      }
    }
    if (qcs.length > 0) work.push({ to: "consensus", input: { kind: "commitQcs", qcs } });
  }

  #syncedBlocksFinal(blocks: LaneBlock[], work: Work[]): void {
    if (blocks.length === 0) return;
    for (const block of blocks) work.push({ to: "lanes", input: { kind: "laneBlock", block } });
    work.push({ to: "execution", input: { kind: "blocks", blocks } });
  }

  #drain(work: Work[], nowMs: number, out: NodeEffect[]): void {
    for (let i = 0; i < work.length; i++) {
      if (i > MAX_INTERNAL_STEPS) throw new Error("internal hand-off loop between the machines");
      if (this.#halted !== null) return;
      const w = work[i]!;
      if (w.to === "lanes") for (const e of this.lanes.step(w.input, nowMs)) this.#fromLanes(e, out, work);
      else if (w.to === "consensus")
        for (const e of this.consensus.step(w.input, nowMs)) this.#fromConsensus(e, out, work);
      else if (w.to === "attestation")
        for (const e of this.attestation.step(w.input, nowMs)) this.#fromAttestation(e, out, work);
      else for (const e of this.execution.step(w.input, nowMs)) this.#fromExecution(e, out, work);
    }
  }

  /** What the outbox decided: send a released message, route an acknowledgement, or stop. */
  #fromOutbox(ev: OutboxEvent, out: NodeEffect[], work: Work[]): void {
    switch (ev.kind) {
      case "release":
        this.#send(ev.msg, out, work);
        return;
      case "ack":
        work.push({ to: ev.owner, input: { kind: "durable", id: ev.id } } as Work);
        return;
      case "halt":
        this.#halted = ev.reason;
        out.push({ kind: "event", module: "protocol", level: "error", msg: ev.reason });
        out.push(ev);
        return;
    }
  }

  /**
   * A message the outbox released: to the network, and the own votes back to
   * the machine that counts them (they count toward certificates), marked
   * verified. The own signature seeds the verify cache: when it comes back
   * inside a certificate, checking it is a lookup.
   */
  #send(m: SignedMessage, out: NodeEffect[], work: Work[]): void {
    if (this.#verifyCache !== undefined) rememberOwnSigned(this.committee, m, this.#verifyCache);
    switch (m.kind) {
      case "laneBlock":
        out.push({ kind: "pushBlock", block: m.msg });
        return;
      case "laneVote":
        // To the block's owner; the owner's own vote to every member, where
        // they certify from it (lanes/vote-routing.ts), else to nobody.
        if (m.msg.signer !== m.msg.body.lane) out.push({ kind: "sendLaneVote", vote: m.msg });
        else if (this.lanes.votersCertifyAlone) out.push({ kind: "broadcast", topic: "lane_vote", vote: m.msg });
        work.push({ to: "lanes", input: { kind: "laneVote", vote: m.msg, verified: true } });
        return;
      case "proposal":
        // Not fed back: the machine went through its own proposal when it
        // made it, and a second pass would only re-send our vote.
        out.push({ kind: "broadcast", topic: "consensus", msg: m });
        return;
      case "prepare":
      case "commit":
      case "timeout":
        out.push({ kind: "broadcast", topic: "consensus", msg: m });
        work.push({ to: "consensus", input: { kind: "message", msg: m, verified: true } });
        return;
      case "appVote":
        out.push({ kind: "broadcast", topic: "app_vote", vote: m.msg });
        work.push({ to: "execution", input: { kind: "appVote", vote: m.msg, verified: true } });
        return;
      case "batchVote":
        // Not fed back: the attestation machine counts its own vote when the
        // acknowledgement of its record arrives (right after this release).
        out.push({ kind: "broadcast", topic: "batch_vote", msg: m.msg });
        return;
      default:
        m satisfies never;
    }
  }

  /**
   * The effects every machine emits alike: writes and re-sends through the
   * outbox, timers, log events and halts. One place, so no machine's halt or
   * write can be routed differently. Returns whether it handled `e` (as a
   * type guard: the callers' switch then sees only their own effects).
   */
  #common(owner: WriteOwner, e: MachineEffect, out: NodeEffect[], work: Work[]): e is CommonEffect {
    switch (e.kind) {
      case "persist":
        out.push(this.outbox.persist(owner, e));
        return true;
      case "resend":
        for (const ev of this.outbox.resend(e.release)) this.#fromOutbox(ev, out, work);
        return true;
      case "setTimer":
        // Consensus keys its timer by view (a stale view's timer is ignored); the others have one timer each.
        out.push({ kind: "setTimer", timer: owner, key: "viewKey" in e ? e.viewKey : owner, deadlineMs: e.deadlineMs });
        return true;
      case "event":
        out.push({ ...e, module: owner });
        return true;
      case "halt":
        this.#halted = e.reason;
        out.push(e);
        return true;
      default:
        return false;
    }
  }

  #fromLanes(e: LanesEffect, out: NodeEffect[], work: Work[]): void {
    if (this.#common("lanes", e, out, work)) return;
    if (e.kind === "laneQc") work.push({ to: "consensus", input: { kind: "laneQc", qc: e.qc } });
    else if (e.kind === "announceLaneQc") out.push({ kind: "broadcast", topic: "lane_qc", qc: e.qc });
    else if (e.kind === "laneSeen") work.push({ to: "consensus", input: e });
    else out.push(e);
  }

  #fromConsensus(e: ConsensusEffect, out: NodeEffect[], work: Work[]): void {
    if (this.#common("consensus", e, out, work)) return;
    switch (e.kind) {
      case "setProposeTimer":
        out.push({ kind: "setTimer", timer: "propose", key: e.key, deadlineMs: e.deadlineMs });
        return;
      case "broadcast":
        // A certificate (others' signatures): sent as it is, and fed back.
        out.push({ kind: "broadcast", topic: "consensus", msg: e.msg });
        work.push({ to: "consensus", input: { kind: "message", msg: e.msg } });
        return;
      case "decided":
        // Executed in this same turn: its writes follow the CommitQC's
        // (consensus/types.ts). Blocks fetched by global catch-up still come
        // at `finalized`, below: lanes take them only inside their window.
        work.push({ to: "execution", input: { kind: "finalized", qc: e.qc } });
        return;
      case "finalized": {
        out.push(e);
        const ranges = e.qc.proposal.ranges;
        work.push({
          to: "lanes",
          input:
            e.consensusMs === undefined
              ? { kind: "finalized", ranges }
              : { kind: "finalized", ranges, consensusMs: e.consensusMs },
        });
        const index = e.qc.proposal.view.index;
        const synced = this.#synced.get(index);
        for (const i of this.#synced.keys()) if (i <= index) this.#synced.delete(i);
        // Only blocks of the CommitQC that was finalized: the sync client
        // checked them against the one it fetched, which must be the same.
        if (synced !== undefined) this.#syncedBlocksFinal(synced, work);
        return;
      }
      default:
        out.push(e);
    }
  }

  #fromExecution(e: ExecutionEffect, out: NodeEffect[], work: Work[]): void {
    if (this.#common("execution", e, out, work)) return;
    switch (e.kind) {
      case "anchored":
        work.push({ to: "lanes", input: { kind: "prune", ranges: e.anchor.commitQc.proposal.ranges } });
        return;
      case "deliver": {
        out.push(e);
        // Executed and durable: batching takes the index (DESIGN section 13).
        const p = e.block.commitQc.proposal;
        const block = {
          index: e.block.index,
          blockHash: blockHash(p),
          createdAtMs: p.createdAtMs,
          appHash: e.appHash,
        };
        work.push({ to: "attestation", input: { kind: "executed", block } });
        // Lanes keep only the hashes of this index's blocks (the lane WAL keeps their bytes until the anchor).
        work.push({ to: "lanes", input: { kind: "executed", ranges: p.ranges } });
        return;
      }
      default:
        out.push(e);
    }
  }

  #fromAttestation(e: AttestationEffect, out: NodeEffect[], work: Work[]): void {
    if (this.#common("attestation", e, out, work)) return;
    out.push(e);
  }
}
