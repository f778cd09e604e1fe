import { MemoryLevel } from "memory-level";
import { verifyCommitQc, verifyLaneQc, verifySigned, verifyTimeoutQc } from "../../node/committee/index.ts";
import { VerifyCache } from "../../node/crypto/index.ts";
import { KvApp } from "../../node/execution/index.ts";
import {
  type NodeEffect,
  type NodeInput,
  type OutboxPersist,
  ProtocolNode,
  type TimerName,
} from "../../node/protocol/index.ts";
import type { GroupCommitWriter, Storage } from "../../node/storage/index.ts";
import { openStorage, recover, space, GroupCommitWriter as Writer } from "../../node/storage/index.ts";
import {
  type CommitQc,
  type DurableWrite,
  type LaneBlock,
  proposalHash,
  toHex,
  viewKey,
} from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { ByzantineFlood } from "./byzantine.ts";
import { EventQueue } from "./event-queue.ts";
import { DurableShadow, InvariantChecker, type Violation } from "./invariants.ts";
import { Prng } from "./prng.ts";
import { type Fault, SIM_PARAMS, SIM_POLL_MS, SIM_PROTOCOL_CONFIG } from "./sim-config.ts";

export interface SimOptions {
  seed: number;
  /** Validators (4 or 7 in CI). */
  nodes: number;
  faults: Fault[];
  /** Observer nodes (no key: they follow, verify and execute, never sign). */
  observers?: number;
  /** Virtual time during which faults happen. */
  faultPhaseMs?: number;
  /** After healing, every honest node must finalize a new index within this. */
  livenessBoundMs?: number;
  /** Attester weight per validator (default 1 each). */
  attesterWeights?: number[];
  /** This validator's first batch vote reaches nobody (only its re-pushes do). */
  dropFirstBatchVoteOf?: number;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  violations: Violation[];
  /** Lowest finalized index among honest nodes at the end. */
  finalized: number;
  /** Lowest next BatchQC number among honest nodes at the end (BatchQCs 0..n-1 stored everywhere). */
  batchQcs: number;
  /** The BatchQCs stored, by number: their signers (from the first node that stored each). */
  batchQcSigners: Map<number, number[]>;
  /** Whether the `dropFirstBatchVoteOf` drop happened. */
  droppedFirstBatchVote: boolean;
  events: number;
  virtualMs: number;
}

type SyncRequest = Extract<NodeEffect, { kind: "fetchLaneBlocks" | "fetchCommitQcs" | "fetchBatchQcs" }>;

type SimEvent =
  | { kind: "deliver"; to: SimNode; inc: number; input: NodeInput }
  | { kind: "flush"; node: SimNode; inc: number; writes: OutboxPersist[]; evidence: DurableWrite[] }
  | { kind: "timer"; node: SimNode; inc: number; timer: TimerName; key: string; token: number }
  | { kind: "sync"; from: SimNode; peer: SimNode; req: SyncRequest }
  | { kind: "crash"; node: SimNode; downMs: number }
  | { kind: "restart"; node: SimNode }
  | { kind: "partition"; groups: number[]; durationMs: number }
  | { kind: "heal" }
  | { kind: "tx" }
  | { kind: "flood" }
  /** Every attester polls the simulated main node's status. */
  | { kind: "poll" };

const SYNC_LIMIT = 64;
/** Debugging aid: SIM_TRACE=<index> prints every consensus message and finality of that index. */
const TRACE_INDEX = process.env.SIM_TRACE === undefined ? null : Number(process.env.SIM_TRACE);
const TX_EVERY_MS = 30;
/** Virtual time between two bursts of the Byzantine member's flood. */
const FLOOD_EVERY_MS = 20;
/** Evidence kinds every honest validator must have recorded about the Byzantine member. */
const EXPECTED_EVIDENCE = ["laneBlock", "appVote", "prepare"];
/** Indexes every honest node must finalize after healing before a run may end early. */
const SUSTAINED_INDEXES = 12;

/** Effects carrying the node's own signature (relaying a certificate is not signing). */
function signsSomething(e: NodeEffect): boolean {
  if (e.kind === "pushBlock" || e.kind === "sendLaneVote") return true;
  if (e.kind !== "broadcast" || e.topic === "lane_qc") return false;
  return e.topic !== "consensus" || (e.msg.kind !== "commitQc" && e.msg.kind !== "timeoutQc");
}

/** One simulated process: its "disk" (a memory-level database) survives crashes; nothing else does. */
class SimNode {
  readonly name: string;
  /** Validator index, or null for an observer. */
  readonly validator: number | null;
  /** The node's disk: survives crashes. */
  readonly db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: "view", valueEncoding: "view" });
  readonly shadow = new DurableShadow();
  storage: Storage | null = null;
  writer: GroupCommitWriter | null = null;
  node: ProtocolNode | null = null;
  up = false;
  inc = 0;
  lastFlushAtMs = 0;
  timers = new Map<TimerName, number>();
  group = 0;
  /** Negative control: restart with the safety record deleted. */
  wipeOnRestart = false;
  /** The network's main node for attestation (answers status from its own BatchQC store). */
  mainNode = false;

  constructor(name: string, validator: number | null) {
    this.name = name;
    this.validator = validator;
  }
}

/**
 * The deterministic simulator (DESIGN section 12): N nodes of the real
 * machines (ProtocolNode) and the real storage and recovery code over
 * memory-level; virtual time; a network that delays, drops, duplicates,
 * reorders and partitions; crashes that lose every write not yet durable;
 * twins. Every run is reproducible from its seed.
 */
export async function runSimulation(opts: SimOptions): Promise<SimResult> {
  const sim = new Simulation(opts);
  return sim.run();
}

class Simulation {
  readonly opts: Required<Omit<SimOptions, "attesterWeights" | "dropFirstBatchVoteOf">> &
    Pick<SimOptions, "attesterWeights" | "dropFirstBatchVoteOf">;
  readonly rng: Prng;
  readonly tc;
  readonly cache = new VerifyCache(1 << 16);
  readonly nodes: SimNode[] = [];
  readonly honest: SimNode[];
  readonly checker: InvariantChecker;
  readonly queue = new EventQueue<SimEvent>();
  now = 0;
  events = 0;
  dropRate = 0;
  dupRate = 0;
  maxDelayMs = 15;
  partitioned = false;
  timerToken = 0;
  txSeq = 0;
  /** The Byzantine member (fault "byzantine"): its own node, and the junk it floods. */
  byzantine: { node: SimNode; flood: ByzantineFlood } | null = null;

  constructor(opts: SimOptions) {
    this.opts = { faultPhaseMs: 1000, livenessBoundMs: 2000, observers: 0, ...opts };
    this.rng = new Prng(opts.seed * 2654435761 + 17);
    this.tc = testCommittee(opts.nodes, {
      params: SIM_PARAMS,
      ...(opts.attesterWeights && { attesterWeights: opts.attesterWeights }),
    });
    for (let v = 0; v < opts.nodes; v++) this.nodes.push(new SimNode(`v${v}`, v));
    const faulty: number[] = [];
    if (opts.faults.includes("twins")) {
      const t = this.rng.int(0, opts.nodes - 1);
      this.nodes.push(new SimNode(`v${t}'`, t));
      faulty.push(t);
    }
    if (opts.faults.includes("byzantine")) {
      const b = this.rng.int(0, opts.nodes - 1);
      if (!faulty.includes(b)) faulty.push(b);
      this.byzantine = { node: this.nodes[b]!, flood: new ByzantineFlood(b, this.tc.signers[b]!, this.tc.committee) };
    }
    for (let o = 0; o < this.opts.observers; o++) this.nodes.push(new SimNode(`o${o}`, null));
    this.honest = this.nodes.filter((n) => n.validator === null || !faulty.includes(n.validator));
    const committee = this.tc.committee;
    this.checker = new InvariantChecker(faulty, (v) => committee.leader(v));
    this.main = this.honest.find((n) => n.validator !== null)!;
    this.main.mainNode = true;
  }

  readonly main: SimNode;
  /** Batches closed somewhere when the faults healed: each must get a BatchQC on every honest node. */
  closedAtHeal = -1;
  #droppedFirstBatchVote = false;

  async run(): Promise<SimResult> {
    const { faultPhaseMs, livenessBoundMs } = this.opts;
    for (const n of this.nodes) await this.boot(n);
    this.scheduleFaults();
    this.queue.push(TX_EVERY_MS, { kind: "tx" });
    this.queue.push(SIM_POLL_MS, { kind: "poll" });
    this.queue.push(faultPhaseMs, { kind: "heal" });
    const endMs = faultPhaseMs + livenessBoundMs;
    let finalizedAtHeal = -1;
    for (let e = this.queue.pop(); e !== undefined && e.at <= endMs; e = this.queue.pop()) {
      if (finalizedAtHeal < 0 && e.at >= faultPhaseMs) {
        finalizedAtHeal = this.maxFinalized();
        this.closedAtHeal = Math.max(...this.honest.map((n) => n.node?.attestation.openBatch ?? 0));
      }
      this.now = e.at;
      this.events++;
      await this.handle(e.ev);
      if (!this.checker.ok) break;
      // Liveness shown, with sustained progress (enough indexes for anchors
      // and pruning to run after healing): stop early; the invariants held
      // on every step until here.
      if (
        finalizedAtHeal >= 0 &&
        this.events % 64 === 0 &&
        !this.opts.faults.includes("wipe") &&
        this.livenessShown(finalizedAtHeal + SUSTAINED_INDEXES) &&
        this.batchLivenessShown()
      ) {
        break;
      }
    }
    if (process.env.SIM_ATTEST_DEBUG) {
      for (const n of this.nodes) {
        const a = n.node?.attestation;
        process.stdout.write(
          `${n.name} main=${n.mainNode} up=${n.up} status=${a?.status} record=${a?.record?.number} open=${a?.openBatch} qcNext=${a?.nextBatchQc} votes=${JSON.stringify(a?.counters)}\n`,
        );
      }
    }
    const finalized = Math.min(...this.honest.map((n) => n.node?.consensus.finalizedIndex ?? 0));
    if (this.checker.ok && this.byzantine !== null) this.checkEvidence(this.byzantine.node.validator!);
    if (this.checker.ok && !this.opts.faults.includes("wipe")) {
      for (const n of this.honest) {
        const stored = n.node?.attestation.nextBatchQc ?? 0;
        if (stored < this.closedAtHeal) {
          this.checker.note(
            "batch liveness",
            `${n.name} holds BatchQCs 0..${stored - 1} ${livenessBoundMs} ms after healing; batches 0..${this.closedAtHeal - 1} had closed`,
          );
        }
      }
      for (const n of this.honest) {
        const k = n.node?.consensus.finalizedIndex ?? 0;
        if (k <= finalizedAtHeal) {
          this.checker.note(
            "liveness",
            `${n.name} finalized index ${k} ${livenessBoundMs} ms after healing; the highest at healing was ${finalizedAtHeal}`,
          );
        }
      }
    }
    return {
      seed: this.opts.seed,
      ok: this.checker.ok,
      violations: this.checker.violations,
      finalized,
      batchQcs: Math.min(...this.honest.map((n) => n.node?.attestation.nextBatchQc ?? 0)),
      batchQcSigners: this.checker.batchQcSigners,
      droppedFirstBatchVote: this.#droppedFirstBatchVote,
      events: this.events,
      virtualMs: this.now,
    };
  }

  /** Every honest validator that ran the whole time holds proof of the Byzantine member's equivocations. */
  checkEvidence(byzantine: number): void {
    // With other faults a node may never see one of the two statements (dropped, down, partitioned).
    if (this.opts.faults.some((f) => f !== "byzantine")) return;
    for (const n of this.honest) {
      if (n.validator === null || n.storage === null) continue;
      const kinds = new Set(
        n.storage.evidence
          .list()
          .filter((e) => e.signer === byzantine)
          .map((e) => e.kind),
      );
      const missing = EXPECTED_EVIDENCE.filter((k) => !kinds.has(k));
      if (missing.length > 0)
        this.checker.note("evidence", `${n.name} has no ${missing.join(", ")} evidence about v${byzantine}`);
    }
  }

  livenessShown(finalizedAtHeal: number): boolean {
    return this.honest.every((n) => (n.node?.consensus.finalizedIndex ?? 0) > finalizedAtHeal);
  }

  /** Every batch closed at healing has a BatchQC on every honest node. */
  batchLivenessShown(): boolean {
    return this.honest.every((n) => (n.node?.attestation.nextBatchQc ?? 0) >= this.closedAtHeal);
  }

  maxFinalized(): number {
    return Math.max(...this.honest.map((n) => n.node?.consensus.finalizedIndex ?? 0));
  }

  // ---- faults ----

  scheduleFaults(): void {
    const F = this.opts.faultPhaseMs;
    const faults = this.opts.faults;
    if (faults.includes("drop")) {
      this.dropRate = 0.05 + this.rng.next() * 0.25;
      this.dupRate = 0.1;
      this.maxDelayMs = 60;
    }
    if (faults.includes("crash")) {
      const crashes = this.rng.int(2, 6);
      for (let i = 0; i < crashes; i++) {
        this.queue.push(this.rng.int(50, F - 50), {
          kind: "crash",
          node: this.rng.pick(this.nodes),
          downMs: this.rng.int(10, 400),
        });
      }
    }
    if (faults.includes("partition")) {
      const parts = this.rng.int(1, 3);
      for (let i = 0; i < parts; i++) {
        const groups = this.nodes.map(() => this.rng.int(0, 1));
        this.queue.push(this.rng.int(50, F - 100), { kind: "partition", groups, durationMs: this.rng.int(100, 600) });
      }
    }
    if (this.byzantine !== null) {
      for (let t = 50; t < F; t += FLOOD_EVERY_MS) this.queue.push(t, { kind: "flood" });
    }
    if (faults.includes("wipe")) {
      // More than f amnesiac validators: restarts that forget what they signed.
      const amnesiacs = this.nodes.slice(0, Math.max(2, this.tc.committee.f + 1));
      for (const n of amnesiacs) {
        n.wipeOnRestart = true;
        for (let t = this.rng.int(30, 120); t < F; t += this.rng.int(60, 200)) {
          this.queue.push(t, { kind: "crash", node: n, downMs: this.rng.int(1, 20) });
        }
      }
    }
  }

  // ---- event handling ----

  async handle(ev: SimEvent): Promise<void> {
    switch (ev.kind) {
      case "deliver": {
        if (!ev.to.up || ev.to.inc !== ev.inc) return;
        const input = this.edge(ev.input);
        if (input !== null) this.step(ev.to, input);
        return;
      }
      case "timer":
        if (ev.node.up && ev.node.inc === ev.inc && ev.node.timers.get(ev.timer) === ev.token) {
          ev.node.timers.delete(ev.timer);
          this.step(ev.node, { kind: "timer", timer: ev.timer, key: ev.key });
        }
        return;
      case "flush":
        return this.flush(ev.node, ev.inc, ev.writes, ev.evidence);
      case "sync":
        return this.serveSync(ev.from, ev.peer, ev.req);
      case "crash":
        if (!ev.node.up) return;
        this.crash(ev.node);
        this.queue.push(Math.min(this.now + ev.downMs, Math.max(this.now, this.opts.faultPhaseMs)), {
          kind: "restart",
          node: ev.node,
        });
        return;
      case "restart":
        if (!ev.node.up) await this.boot(ev.node);
        return;
      case "partition":
        this.nodes.forEach((n, i) => {
          n.group = ev.groups[i]!;
        });
        this.partitioned = true;
        this.queue.push(Math.min(this.now + ev.durationMs, this.opts.faultPhaseMs), { kind: "heal" });
        return;
      case "heal":
        this.partitioned = false;
        if (this.now >= this.opts.faultPhaseMs) {
          this.dropRate = 0;
          this.dupRate = 0;
          this.maxDelayMs = 15;
          for (const n of this.nodes) if (!n.up) await this.boot(n);
        }
        return;
      case "flood": {
        const b = this.byzantine;
        if (b === null || !b.node.up || b.node.node === null) return;
        for (const input of b.flood.burst(b.node.node, this.rng)) this.sendToAll(b.node, input);
        return;
      }
      case "tx": {
        const up = this.nodes.filter((n) => n.up);
        if (up.length > 0) {
          const tx = new TextEncoder().encode(`k${this.txSeq % 64}=v${this.txSeq}`);
          this.txSeq++;
          this.step(this.rng.pick(up), { kind: "tx", tx });
        }
        this.queue.push(this.now + TX_EVERY_MS, { kind: "tx" });
        return;
      }
      case "poll": {
        // The simulated main node answers from its own BatchQC store; an
        // attester that cannot reach it (down, partitioned) waits.
        const main = this.main;
        if (main.up && main.node !== null) {
          const next = main.node.attestation.nextBatchQc;
          for (const n of this.nodes) {
            if (n === main || !n.up || !this.reachable(n, main)) continue;
            this.step(n, { kind: "attestationStatus", next });
          }
        }
        this.queue.push(this.now + SIM_POLL_MS, { kind: "poll" });
        return;
      }
    }
  }

  /**
   * The network edge, as in production (net/validate.ts): a signed message
   * passes committee/signed.ts's verifySigned once (a CommitQC or TimeoutQC
   * announcement its certificate check) and arrives `verified`; one that
   * fails is dropped. Sync responses arrive unverified: the machines check
   * those themselves.
   */
  edge(input: NodeInput): NodeInput | null {
    const committee = this.tc.committee;
    let ok: boolean;
    let what: string = input.kind;
    if (input.kind === "laneBlock")
      ok = verifySigned(committee, { kind: "laneBlock", msg: input.block }, this.cache).ok;
    else if (input.kind === "laneVote")
      ok = verifySigned(committee, { kind: "laneVote", msg: input.vote }, this.cache).ok;
    else if (input.kind === "laneQc") ok = verifyLaneQc(committee, input.qc, this.cache).ok;
    else if (input.kind === "appVote")
      ok = verifySigned(committee, { kind: "appVote", msg: input.vote }, this.cache).ok;
    else if (input.kind === "consensus") {
      const m = input.msg;
      what = m.kind;
      if (m.kind === "commitQc") ok = verifyCommitQc(committee, m.msg, this.cache).ok;
      else if (m.kind === "timeoutQc") ok = verifyTimeoutQc(committee, m.msg, this.cache).ok;
      else ok = verifySigned(committee, m, this.cache).ok;
    } else return input;
    if (!ok) {
      this.checker.note("edge", `a ${what} failed its check at the network edge`);
      return null;
    }
    return { ...input, verified: true } as NodeInput;
  }

  step(n: SimNode, input: NodeInput): void {
    this.effects(n, n.node!.step(input, this.now));
  }

  crash(n: SimNode): void {
    // Everything not yet durable is gone: pending flushes, timers, in-flight messages to it.
    n.up = false;
    n.inc++;
    n.node = null;
    n.storage = null;
    n.writer = null;
    n.timers.clear();
  }

  async boot(n: SimNode): Promise<void> {
    const committee = this.tc.committee;
    if (n.wipeOnRestart && n.inc > 0) await space(n.db, ["meta"]).del(new TextEncoder().encode("safety"));
    let recovered: Awaited<ReturnType<typeof recover>>;
    try {
      n.storage = await openStorage(n.db, committee);
      recovered = await recover(n.storage, committee, this.cache);
    } catch (err) {
      this.checker.note("recovery", `${n.name}: ${(err as Error).message}`);
      return;
    }
    this.checker.onRecovered(n.name, recovered.finalizedIndex, n.shadow);
    n.writer = new Writer(n.storage);
    n.node = new ProtocolNode({
      committee,
      me: n.validator,
      signer: n.validator === null ? null : this.tc.signers[n.validator]!,
      config: { ...SIM_PROTOCOL_CONFIG, attestation: { ...SIM_PROTOCOL_CONFIG.attestation, mainNode: n.mainNode } },
      recovered,
      app: new KvApp(),
      verifyCache: this.cache,
      nowMs: this.now,
      // Negative control of the outbox: the first validator's lanes machine
      // hands out its lane votes before their block is durable.
      testFaults: { laneVotesEarly: this.opts.faults.includes("early-vote") && n.validator === 0 },
    });
    n.up = true;
    n.lastFlushAtMs = this.now;
    this.effects(n, n.node.start(this.now));
  }

  /** A group commit completes: the writes become durable, then the machines hear of it. */
  async flush(n: SimNode, inc: number, writes: OutboxPersist[], evidence: DurableWrite[]): Promise<void> {
    if (!n.up || n.inc !== inc) return;
    try {
      // Evidence rides in the same batch but is no protocol write: nothing waits for it.
      await n.writer!.submit([...writes.map((w) => w.write), ...evidence]);
    } catch (err) {
      this.checker.note("storage contract", `${n.name}: a write was refused: ${(err as Error).message}`);
      return;
    }
    for (const w of writes) n.shadow.apply(w.write);
    if (n.shadow.batchQcGap !== null) this.checker.note("BatchQCs gap-free", `${n.name}: ${n.shadow.batchQcGap}`);
    for (const w of writes) {
      if (!n.up || n.inc !== inc) return;
      this.step(n, { kind: "durable", id: w.id });
    }
  }

  effects(n: SimNode, effects: NodeEffect[]): void {
    const writes: OutboxPersist[] = [];
    const evidence: DurableWrite[] = [];
    for (const e of effects) {
      this.checker.onEffect(n.name, e);
      if (n.validator === null && signsSomething(e)) {
        this.checker.note("observers never sign", `${n.name} emitted a signed ${e.kind}`);
      }
      if (TRACE_INDEX !== null) this.trace(n, e);
      switch (e.kind) {
        case "persist":
          writes.push(e);
          break;
        case "pushBlock":
          this.sendToAll(n, { kind: "laneBlock", block: e.block });
          break;
        case "evidence":
          // As the runtime does: proof of equivocation is kept on disk.
          evidence.push({ kind: "evidence", evidence: e.evidence });
          break;
        case "broadcast":
          if (e.topic === "lane_vote") this.sendToAll(n, { kind: "laneVote", vote: e.vote });
          else if (e.topic === "lane_qc") this.sendToAll(n, { kind: "laneQc", qc: e.qc });
          else if (e.topic === "consensus") this.sendToAll(n, { kind: "consensus", msg: e.msg });
          else if (e.topic === "batch_vote") {
            if (
              e.msg.vote.signer === this.opts.dropFirstBatchVoteOf &&
              e.msg.vote.signer === n.validator &&
              !this.#droppedFirstBatchVote
            ) {
              this.#droppedFirstBatchVote = true;
              break;
            }
            this.sendToAll(n, { kind: "batchVote", msg: e.msg });
          } else this.sendToAll(n, { kind: "appVote", vote: e.vote });
          break;
        case "sendLaneVote": {
          // The owner topic: every process of the lane's validator (a Byzantine member's twin too), nobody else.
          const lane = e.vote.body.lane;
          this.sendTo(n, { kind: "laneVote", vote: e.vote }, (to) => to.validator === lane);
          break;
        }
        case "setTimer": {
          const token = ++this.timerToken;
          n.timers.set(e.timer, token);
          this.queue.push(Math.max(e.deadlineMs, this.now), {
            kind: "timer",
            node: n,
            inc: n.inc,
            timer: e.timer,
            key: e.key,
            token,
          });
          break;
        }
        case "loadBatch": {
          const storage = n.storage!;
          const inc = n.inc;
          void storage.batch(e.number).then((batch) => {
            if (batch !== undefined)
              this.queue.push(this.now, { kind: "deliver", to: n, inc, input: { kind: "batchLoaded", batch } });
          });
          break;
        }
        case "fetchLaneBlocks":
        case "fetchBatchQcs":
        case "fetchCommitQcs": {
          const peers = this.nodes.filter((p) => p !== n && p.up && this.reachable(n, p));
          if (peers.length > 0)
            this.queue.push(this.now + this.delay(), { kind: "sync", from: n, peer: this.rng.pick(peers), req: e });
          break;
        }
        default:
          break;
      }
    }
    if (writes.length > 0 || evidence.length > 0) {
      // One synced batch per step (group commit), completing in order.
      const at = Math.max(this.now + this.rng.int(1, 3), n.lastFlushAtMs);
      n.lastFlushAtMs = at;
      this.queue.push(at, { kind: "flush", node: n, inc: n.inc, writes, evidence });
    }
  }

  trace(n: SimNode, e: NodeEffect): void {
    const at = `${this.now}ms ${n.name}`;
    if (e.kind === "finalized" && e.qc.proposal.view.index === TRACE_INDEX) {
      process.stdout.write(
        `${at} FINALIZED ${viewKey(e.qc.proposal.view)} ${toHex(proposalHash(e.qc.proposal)).slice(0, 8)}\n`,
      );
    }
    if (e.kind === "event" && e.module === "consensus")
      process.stdout.write(`${at} event ${e.msg} ${JSON.stringify(e.data)}\n`);
    if (e.kind !== "broadcast" || e.topic !== "consensus") return;
    const m = e.msg;
    const view =
      m.kind === "proposal"
        ? m.msg.proposal.view
        : m.kind === "commitQc"
          ? m.msg.proposal.view
          : m.kind === "timeoutQc"
            ? m.msg.view
            : m.msg.body.view;
    if (view.index !== TRACE_INDEX) return;
    let what = "";
    if (m.kind === "proposal")
      what = `${toHex(proposalHash(m.msg.proposal)).slice(0, 8)} tcHigh=${m.msg.timeoutQc?.highQc ? viewKey(m.msg.timeoutQc.highQc.proposal.view) : "-"}`;
    else if (m.kind === "prepare" || m.kind === "commit") what = toHex(m.msg.body.proposalHash).slice(0, 8);
    else if (m.kind === "timeout") what = `lockRound=${m.msg.body.lockRound}`;
    else if (m.kind === "commitQc") what = toHex(proposalHash(m.msg.proposal)).slice(0, 8);
    else if (m.kind === "timeoutQc")
      what = `high=${m.msg.highQc ? viewKey(m.msg.highQc.proposal.view) : "-"} ${m.msg.highQc ? toHex(proposalHash(m.msg.highQc.proposal)).slice(0, 8) : ""}`;
    process.stdout.write(`${at} ${m.kind} ${viewKey(view)} ${what}\n`);
  }

  // ---- network ----

  reachable(a: SimNode, b: SimNode): boolean {
    return !this.partitioned || a.group === b.group;
  }

  delay(): number {
    return this.rng.int(1, this.maxDelayMs);
  }

  sendToAll(from: SimNode, input: NodeInput): void {
    this.sendTo(from, input, () => true);
  }

  sendTo(from: SimNode, input: NodeInput, accepts: (to: SimNode) => boolean): void {
    for (const to of this.nodes) {
      if (to === from || !accepts(to) || !this.reachable(from, to)) continue;
      if (this.dropRate > 0 && this.rng.chance(this.dropRate)) continue;
      this.queue.push(this.now + this.delay(), { kind: "deliver", to, inc: to.inc, input });
      if (this.dupRate > 0 && this.rng.chance(this.dupRate)) {
        this.queue.push(this.now + this.delay(), { kind: "deliver", to, inc: to.inc, input });
      }
    }
  }

  /** A peer answers a sync request from its durable storage. */
  async serveSync(from: SimNode, peer: SimNode, req: SyncRequest): Promise<void> {
    if (!peer.up || peer.storage === null || !this.reachable(from, peer)) return;
    const s = peer.storage;
    let input: NodeInput;
    if (req.kind === "fetchLaneBlocks") {
      const to = Math.min(req.to, req.from + SYNC_LIMIT);
      let blocks: LaneBlock[] = await s.laneBlocks(req.lane, req.from, to, SYNC_LIMIT);
      if (blocks.length === 0) {
        // Pruned from the lane WAL: finalized blocks stay in the chain store.
        for (let i = s.chain.tip; i >= 1 && i > s.chain.tip - SYNC_LIMIT; i--) {
          const gb = await s.globalBlock(i);
          if (gb === undefined) break;
          const found = gb.blocks.filter(
            (b) => b.header.lane === req.lane && b.header.number >= req.from && b.header.number < to,
          );
          blocks = [...found, ...blocks];
          if (gb.commitQc.proposal.ranges[req.lane]!.first <= req.from) break;
        }
      }
      input = { kind: "syncLaneBlocks", blocks };
    } else if (req.kind === "fetchBatchQcs") {
      input = { kind: "syncBatchQcs", qcs: await s.batchQcRange(req.from, req.from + SYNC_LIMIT, SYNC_LIMIT) };
    } else {
      let qcs: CommitQc[] = await s.commitQcRange(req.from, req.from + SYNC_LIMIT, SYNC_LIMIT);
      if (qcs.length === 0 || qcs[0]!.proposal.view.index > req.from) {
        qcs = [];
        for (let i = req.from; i < req.from + SYNC_LIMIT; i++) {
          const gb = await s.globalBlock(i);
          const qc = gb?.commitQc ?? (await s.commitQc(i));
          if (qc === undefined) break;
          qcs.push(qc);
        }
      }
      input = { kind: "syncCommitQcs", qcs };
    }
    this.queue.push(this.now + this.delay(), { kind: "deliver", to: from, inc: from.inc, input });
  }
}
