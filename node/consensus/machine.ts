import {
  type Committee,
  SIGNED,
  type SignedRule,
  verifyCommitQc,
  verifyPrepareQc,
  verifySigned,
  verifyTimeoutQc,
} from "../committee/index.ts";
import type { Signer, VerifyCache } from "../crypto/index.ts";
import {
  bytesEqual,
  type CommitQc,
  type ConsensusMessage,
  codecs,
  compareViews,
  DOMAINS,
  fromHex,
  type LaneQc,
  type PhaseVote,
  type PhaseVoteBody,
  type PrepareQc,
  type Proposal,
  type ProposalMessage,
  phaseVoteSigningBody,
  proposalHash,
  type RecoveredState,
  type SafetyRecord,
  type SignedMessage,
  type TimeoutQc,
  type TimeoutVote,
  type TimeoutVoteBody,
  timeoutVoteSigningBody,
  toHex,
  type View,
  viewKey,
} from "../types/index.ts";
import { checkProposal, type LaneTip, laneTips } from "./proposal-validity.ts";
import { buildProposal } from "./proposer.ts";
import { SafetyGate, type SigningFloor } from "./safety-gate.ts";
import { viewTimeoutMs } from "./timeouts.ts";
import type { ConsensusConfig, ConsensusCounters, ConsensusEffect, ConsensusInput } from "./types.ts";
import { MAX_ROUNDS_AHEAD, PhaseVoteBook, TimeoutVoteBook } from "./votes.ts";

/**
 * Messages for index k+1 held while CommitQC(k) becomes durable (or until
 * this node learns it): only rounds below this window (an honest node is in
 * an early round of k+1 when we are still finishing k) ...
 */
export const NEXT_INDEX_ROUND_WINDOW = 8;
/** ... and at most this many per sender (the signer, or the leader of a proposal). */
export const MAX_BUFFERED_NEXT_PER_SENDER = 16;
/** CommitQCs beyond the next index, held until their turn (sync catch-up). */
const MAX_FUTURE_COMMIT_QCS = 256;
/**
 * Proposals of the current index remembered by hash, to build certificates.
 * Only the current and the previous round can still make one (the vote books
 * keep no older rounds), so older ones are forgotten on each round change;
 * the bound is a backstop that evicts the lowest round.
 */
const MAX_PROPOSALS_PER_INDEX = 64;

export interface ConsensusMachineOptions {
  committee: Committee;
  me: number | null;
  signer: Signer | null;
  config: ConsensusConfig;
  recovered: Pick<RecoveredState, "commitQcs" | "anchor" | "finalizedIndex" | "safety" | "safetyFloorIndex">;
  verifyCache?: VerifyCache;
  /** The signing floor at start (issue 15); later changes arrive as `signingFloor` inputs. */
  signingFloor?: SigningFloor;
}

/**
 * Two-phase fast finality with a persisted lock (DESIGN section 6), for one
 * node. Views (k, r); the leader proposes a tip cut; prepare votes make a
 * PrepareQC, which becomes the lock; commit votes make a CommitQC, which
 * finalizes k. Timeouts make a TimeoutQC carrying the highest lock, which the
 * next leader must re-propose. Every vote passes the SafetyGate, and leaves
 * in the `persist` of the record that covers it (the outbox releases it).
 */
export class ConsensusMachine {
  readonly committee: Committee;
  readonly me: number | null;
  readonly counters: ConsensusCounters = {
    proposals: 0,
    proposalsGathered: 0,
    proposalsGatherExpired: 0,
    prepareVotes: 0,
    commitVotes: 0,
    timeoutVotes: 0,
    timeoutQcs: 0,
    finalized: 0,
    rejectedMessages: 0,
    bufferedNextDropped: 0,
  };
  readonly #signer: Signer | null;
  readonly #config: ConsensusConfig;
  readonly #cache: VerifyCache | undefined;
  readonly #gate: SafetyGate;

  #finalizedIndex: number;
  #lastCommitQc: CommitQc | null;
  #tips: LaneTip[];
  /** CommitQC(k) waiting to become durable before the move to k+1. */
  #finalizing: { qc: CommitQc; id: number } | null = null;
  #view: View;
  /** TimeoutQC(k, r-1) that brought us to round r (needed to propose). */
  #entryTc: TimeoutQc | null = null;
  #proposalInView: string | null = null;
  /**
   * When this node accepted the current index's round-0 proposal, else null:
   * the start of the index's consensus time, reported with its finality.
   */
  #proposalAtMs: number | null = null;
  /**
   * The proposal hash of the current view's PrepareQC once it formed and was
   * acted on (commit vote decided), else null; isRedundant reads it too.
   */
  #prepareQcHash: Uint8Array | null = null;
  #proposals = new Map<string, Proposal>();
  #prepares: PhaseVoteBook;
  #commits: PhaseVoteBook;
  #timeouts: TimeoutVoteBook;
  #laneQcs: Map<number, LaneQc>[];
  /** Per lane, the highest block number this node holds (laneSeen), -1 for none. */
  #seenTop: number[];
  /**
   * The leader's wait for lane certificates in this view (proposeGatherMs):
   * since when it had something to propose, and the key of its timer.
   */
  #gather: { sinceMs: number; key: string } | null = null;
  /** After a restart: no proposal at or below this view (we may have sent one). */
  #noProposeUpTo: View | null = null;
  #consecutiveTimeouts = 0;
  #timer: { key: string; deadlineMs: number } | null = null;
  #workSeen = false;
  /** Messages for index k+1 by sender (-1: certificates), see NEXT_INDEX_ROUND_WINDOW. */
  #bufferedNext = new Map<number, ConsensusMessage[]>();
  #futureCommitQcs = new Map<number, CommitQc>();
  #lastFetchAtMs = Number.NEGATIVE_INFINITY;
  #nextWriteId = 0;

  constructor(opts: ConsensusMachineOptions) {
    if ((opts.me === null) !== (opts.signer === null)) throw new Error("a validator needs a signer; an observer none");
    this.committee = opts.committee;
    this.me = opts.me;
    this.#signer = opts.signer;
    this.#config = opts.config;
    this.#cache = opts.verifyCache;
    const r = opts.recovered;
    this.#gate = new SafetyGate(r.safety, opts.signingFloor ?? null, r.safetyFloorIndex ?? 0);
    this.#lastCommitQc = r.commitQcs.at(-1) ?? r.anchor?.commitQc ?? null;
    this.#finalizedIndex = this.#lastCommitQc?.proposal.view.index ?? 0;
    if (this.#finalizedIndex !== r.finalizedIndex) {
      throw new Error(`recovered finalizedIndex ${r.finalizedIndex} but the last CommitQC is ${this.#finalizedIndex}`);
    }
    this.#tips = laneTips(this.committee, this.#lastCommitQc);
    this.#prepares = new PhaseVoteBook(this.committee);
    this.#commits = new PhaseVoteBook(this.committee);
    this.#timeouts = new TimeoutVoteBook(this.committee);
    this.#laneQcs = this.committee.members.map(() => new Map());
    this.#seenTop = this.committee.members.map(() => -1);
    // Resume in the highest round of the next index the record mentions.
    const k = this.#finalizedIndex + 1;
    let round = 0;
    const s = this.#gate.record;
    for (const v of [s.prepare?.view, s.commit?.view, s.timeout?.view, s.lock?.proposal.view]) {
      if (v !== undefined && v.index === k) round = Math.max(round, v.round);
    }
    this.#view = { index: k, round };
    if (round > 0 || s.prepare?.view.index === k || s.timeout?.view.index === k) {
      this.#noProposeUpTo = this.#view;
      this.#workSeen = true;
    }
  }

  get view(): View {
    return this.#view;
  }

  get finalizedIndex(): number {
    return this.#finalizedIndex;
  }

  get lastCommitQc(): CommitQc | null {
    return this.#lastCommitQc;
  }

  /**
   * Whether a received message would tell this node nothing, so the network
   * edge may drop it before checking its signatures (as lanes' isRedundantVote):
   * - any message of an index final here or being made durable: the machine
   *   drops whatever else arrives for that index (#onMessage), so a vote, a
   *   timeout or a proposal for it is checked only when it is evidence against
   *   a statement the equivocation detector keeps (ProtocolNode asks that),
   *   and a certificate of it is no one's statement. Without this, a peer
   *   replaying a history of validly signed old messages cost a signature
   *   check each;
   * - a prepare vote for exactly the current view's PrepareQC: at n = 4 a
   *   certificate needs two of the three prepare (or commit) votes a node
   *   receives per index, at n = 7 four of six; the rest, when they arrive
   *   after it formed, need no check.
   * A vote of the current index for another proposal is never redundant: it
   * may be an equivocation, and the index is not decided yet.
   */
  isRedundant(m: ConsensusMessage): boolean {
    const index = messageIndex(m);
    if (index <= this.#finalizedIndex || index === this.#finalizing?.qc.proposal.view.index) return true;
    if (m.kind !== "prepare") return false;
    const { view, proposalHash: hash } = m.msg.body;
    const prepared = this.#prepareQcHash;
    return prepared !== null && compareViews(view, this.#view) === 0 && bytesEqual(hash, prepared);
  }

  get lock(): PrepareQc | null {
    return this.#gate.lock;
  }

  /** The signing floor in force (issue 15). */
  get signingFloor(): SigningFloor {
    return this.#gate.signingFloor;
  }

  /** The safety record including writes not yet durable. */
  get safetyRecord() {
    return this.#gate.record;
  }

  /**
   * Effects right after start: the identical votes on record for the current
   * view are re-sent (the only signatures a restarted node may repeat).
   */
  start(nowMs: number): ConsensusEffect[] {
    const out: ConsensusEffect[] = [];
    const s = this.#gate.record;
    if (this.me !== null && !this.#gate.belowSigningFloor(this.#view)) {
      const release: SignedMessage[] = [];
      if (s.prepare && compareViews(s.prepare.view, this.#view) === 0) release.push(this.#sign("prepare", s.prepare));
      if (s.commit && compareViews(s.commit.view, this.#view) === 0) release.push(this.#sign("commit", s.commit));
      if (s.timeout && compareViews(s.timeout.view, this.#view) === 0) release.push(this.#signTimeout(s.timeout));
      if (release.length > 0) out.push({ kind: "resend", release });
    }
    this.#armTimer(nowMs, out);
    return out;
  }

  step(input: ConsensusInput, nowMs: number): ConsensusEffect[] {
    const out: ConsensusEffect[] = [];
    switch (input.kind) {
      case "message":
        this.#onMessage(input.msg, nowMs, out, input.verified === true);
        break;
      case "laneQc":
        this.#onLaneQc(input.qc, nowMs, out);
        break;
      case "laneSeen":
        if (input.number > (this.#seenTop[input.lane] ?? Number.POSITIVE_INFINITY))
          this.#seenTop[input.lane] = input.number;
        break;
      case "proposeTimer":
        // The timer firing is the deadline (a clock read a millisecond short must not strand the proposal).
        if (this.#gather?.key === input.key) {
          this.#gather = { sinceMs: Number.NEGATIVE_INFINITY, key: input.key };
          this.#maybePropose(nowMs, out);
        }
        break;
      case "durable":
        this.#onDurable(input.id, nowMs, out);
        break;
      case "timer":
        if (this.#timer?.key === input.viewKey) {
          this.#timer = null;
          this.#onViewTimeout(out);
        }
        break;
      case "signingFloor":
        this.#gate.setSigningFloor(input.floor);
        this.#maybePropose(nowMs, out);
        break;
      case "commitQcs":
        for (const qc of [...input.qcs].sort((a, b) => a.proposal.view.index - b.proposal.view.index)) {
          this.#onCommitQc(qc, false, nowMs, out);
        }
        break;
    }
    this.#armTimer(nowMs, out);
    return out;
  }

  // ---- message dispatch ----

  /**
   * `verified`: the network edge checked the message's own signature
   * (committee/signed.ts), or a CommitQC / TimeoutQC announcement as a whole;
   * certificates nested inside a message are checked here.
   */
  #onMessage(msg: ConsensusMessage, nowMs: number, out: ConsensusEffect[], verified = false): void {
    const index = messageIndex(msg);
    if (msg.kind === "commitQc") {
      this.#onCommitQc(msg.msg, false, nowMs, out, verified);
      return;
    }
    if (index < this.#view.index) return; // an older index: already final here
    if (index > this.#view.index || this.#finalizing !== null) {
      this.#onFutureMessage(msg, index, nowMs, out);
      return;
    }
    switch (msg.kind) {
      case "proposal":
        this.#onProposal(msg.msg, nowMs, out, verified);
        return;
      case "prepare":
        this.#onPhaseVote("prepare", msg.msg, nowMs, out, verified);
        return;
      case "commit":
        this.#onPhaseVote("commit", msg.msg, nowMs, out, verified);
        return;
      case "timeout":
        this.#onTimeoutVote(msg.msg, nowMs, out, verified);
        return;
      case "timeoutQc":
        this.#onTimeoutQc(msg.msg, false, nowMs, out, verified);
        return;
    }
  }

  /** A message for a later index: learn its CommitQC, buffer or fetch. */
  #onFutureMessage(msg: ConsensusMessage, index: number, nowMs: number, out: ConsensusEffect[]): void {
    if (msg.kind === "proposal" && msg.msg.prevCommitQc !== null)
      this.#onCommitQc(msg.msg.prevCommitQc, false, nowMs, out);
    if (index === this.#view.index + 1) this.#bufferNext(msg);
    // Behind: unless CommitQC(k) is on its way to disk, ask for it.
    if (index > this.#view.index + 1 || (index > this.#view.index && this.#finalizing === null)) {
      this.#fetchCommitQcs(nowMs, out);
    }
  }

  /**
   * Buffers a message for index k+1, windowed by round and bounded per
   * sender, so one member cannot crowd out the others' messages. A sender's
   * bucket keeps its lowest rounds (what k+1 needs first). Votes and
   * proposals are verified before they take a place (a forged sender could
   * otherwise fill an honest member's bucket); the check is cached, so the
   * replay after the move to k+1 costs a lookup.
   */
  #bufferNext(msg: ConsensusMessage): void {
    const round = messageRound(msg);
    if (round >= NEXT_INDEX_ROUND_WINDOW) {
      this.counters.bufferedNextDropped++;
      return;
    }
    const sender = this.#verifiedSender(msg);
    if (sender === null) {
      this.counters.bufferedNextDropped++;
      return;
    }
    let bucket = this.#bufferedNext.get(sender);
    if (bucket === undefined) {
      bucket = [];
      this.#bufferedNext.set(sender, bucket);
    }
    bucket.push(msg);
    if (bucket.length <= MAX_BUFFERED_NEXT_PER_SENDER) return;
    let worst = 0;
    for (let i = 1; i < bucket.length; i++) if (messageRound(bucket[i]!) > messageRound(bucket[worst]!)) worst = i;
    bucket.splice(worst, 1);
    this.counters.bufferedNextDropped++;
  }

  /** The member whose signature makes the message (-1 for certificates), or null if it does not verify. */
  #verifiedSender(msg: ConsensusMessage): number | null {
    if (msg.kind === "timeoutQc" || msg.kind === "commitQc") return -1;
    const m = msg as SignedMessage;
    if (!verifySigned(this.committee, m, this.#cache).ok) return null;
    return (SIGNED[m.kind] as SignedRule<typeof m.kind>).signer(m.msg as never, this.committee);
  }

  #fetchCommitQcs(nowMs: number, out: ConsensusEffect[]): void {
    if (nowMs - this.#lastFetchAtMs < this.#config.fetchRetryMs) return;
    this.#lastFetchAtMs = nowMs;
    out.push({ kind: "fetchCommitQcs", from: this.#finalizedIndex + 1 });
  }

  #reject(what: string, reason: string, out: ConsensusEffect[]): void {
    this.counters.rejectedMessages++;
    out.push({ kind: "event", level: "warn", msg: `${what} rejected`, data: { reason, view: viewKey(this.#view) } });
  }

  // ---- proposals and prepare votes ----

  #onProposal(pm: ProposalMessage, nowMs: number, out: ConsensusEffect[], verified = false): void {
    const v = pm.proposal.view;
    if (v.round < this.#view.round) return;
    if (v.round > this.#view.round) {
      // A valid proposal for a later round carries the TimeoutQC that ends ours.
      if (pm.timeoutQc === null || pm.timeoutQc.view.round !== v.round - 1) return;
      this.#onTimeoutQc(pm.timeoutQc, false, nowMs, out);
      if (v.round !== this.#view.round) return;
    }
    const hash = proposalHash(pm.proposal);
    const hex = toHex(hash);
    if (this.#proposalInView !== null) {
      if (this.#proposalInView !== hex)
        this.#reject("proposal", "leader equivocation: a second proposal in the view", out);
      else this.#prepareVote(pm, hash, out); // a re-sent proposal may re-send our identical vote
      return;
    }
    const reason = checkProposal(
      { committee: this.committee, lastCommitQc: this.#lastCommitQc, cache: this.#cache, signatureVerified: verified },
      pm,
    );
    if (reason !== null) {
      this.#reject("proposal", reason, out);
      return;
    }
    this.#proposalInView = hex;
    if (v.round === 0) this.#proposalAtMs = nowMs;
    this.#rememberProposal(hex, pm.proposal);
    this.#workSeen = true;
    this.#prepareVote(pm, hash, out);
    // Votes that arrived before the proposal may already make certificates.
    this.#checkCertificates(nowMs, out);
  }

  /** Bounded: when full, the proposal of the lowest round goes (never the current round's). */
  #rememberProposal(hex: string, proposal: Proposal): void {
    if (!this.#proposals.has(hex) && this.#proposals.size >= MAX_PROPOSALS_PER_INDEX) {
      let lowest: string | null = null;
      for (const [h, p] of this.#proposals) {
        if (lowest === null || p.view.round < this.#proposals.get(lowest)!.view.round) lowest = h;
      }
      if (lowest !== null) this.#proposals.delete(lowest);
    }
    this.#proposals.set(hex, proposal);
  }

  #prepareVote(pm: ProposalMessage, hash: Uint8Array, out: ConsensusEffect[]): void {
    if (this.me === null) return;
    const body: PhaseVoteBody = { view: pm.proposal.view, proposalHash: hash };
    const decision = this.#gate.prepare(body.view, hash);
    if (decision === "resend") out.push({ kind: "resend", release: [this.#sign("prepare", body)] });
    if (decision !== "new") return;
    const release: SignedMessage[] = [];
    // A leader's proposal leaves together with its own prepare vote: the
    // record then also bars a second proposal in this view after a crash.
    if (this.committee.leader(body.view) === this.me) release.push({ kind: "proposal", msg: pm });
    release.push(this.#sign("prepare", body));
    this.counters.prepareVotes++;
    this.#persistSafety({ prepare: body }, release, out);
  }

  /** Leader duty: propose once per view when there is something to order. */
  #maybePropose(nowMs: number, out: ConsensusEffect[]): void {
    if (this.me === null || this.#signer === null || this.#finalizing !== null) return;
    const view = this.#view;
    if (this.committee.leader(view) !== this.me || this.#proposalInView !== null) return;
    if (this.#gate.timedOutAt(view) || this.#gate.belowSigningFloor(view)) return;
    const prepared = this.#gate.record.prepare;
    if (prepared !== null && compareViews(prepared.view, view) >= 0) return;
    if (this.#noProposeUpTo !== null && compareViews(view, this.#noProposeUpTo) <= 0) return;
    if (view.round > 0 && this.#entryTc === null) return;
    const createdAtMs = Math.max(nowMs, this.#lastCommitQc?.proposal.createdAtMs ?? 0);
    const built = buildProposal(this.committee, view, this.#tips, this.#laneQcs, this.#entryTc, createdAtMs);
    if (built === null || this.#gathering(nowMs, out)) return;
    const pm: ProposalMessage = {
      proposal: built.proposal,
      signature: this.#signer.sign(DOMAINS.proposal, codecs.proposal.encode(built.proposal)),
      laneQcs: built.laneQcs,
      timeoutQc: view.round > 0 ? this.#entryTc : null,
      prevCommitQc: this.#lastCommitQc,
    };
    this.counters.proposals++;
    if (this.#gather !== null) {
      if (this.#gather.sinceMs === Number.NEGATIVE_INFINITY) this.counters.proposalsGatherExpired++;
      else this.counters.proposalsGathered++;
    }
    // Our own proposal goes through the same checks as anyone's (its
    // signature is ours), then the vote (and the proposal) wait for the
    // durable record.
    this.#onProposal(pm, nowMs, out, true);
  }

  /**
   * Whether the leader, which has something to propose, waits: in round 0,
   * for at most proposeGatherMs, while a lane block it holds that the
   * proposal could include has no certificate yet. Lanes cut their blocks
   * on the same wall-clock ticks (lanes/block-delay.ts), and their
   * certificates form milliseconds apart; without the wait the first one
   * starts an index and the others wait for the next. It waits for every
   * such block, also once all but f lanes are certified: the last lane's
   * block is then only milliseconds behind, and an index of its own would
   * cost every node a proposal, two rounds of votes and a global block.
   * Measured with the ticks (README "Benchmark", 4 validators): about 40%
   * fewer indexes at 500 tx/s, less CPU per node in most runs, a lower p50
   * and a higher peak. (Before the ticks, lanes cut at random
   * moments, and waiting for the last ones under load lengthened every
   * index: p50 at 4,000 tx/s went from ~190 to ~270 ms.) A block that is
   * never certified (its owner slow or faulty) costs at most proposeGatherMs
   * per index; a lane with nothing in flight costs nothing.
   */
  #gathering(nowMs: number, out: ConsensusEffect[]): boolean {
    const gatherMs = this.#config.proposeGatherMs;
    if (gatherMs === 0 || this.#view.round !== 0) return false;
    if (!this.#laneBlockInFlight()) return false;
    if (this.#gather === null) {
      const key = `${viewKey(this.#view)}:gather`;
      this.#gather = { sinceMs: nowMs, key };
      out.push({ kind: "setProposeTimer", key, deadlineMs: nowMs + gatherMs });
    }
    return nowMs < this.#gather.sinceMs + gatherMs;
  }

  /**
   * A held lane block within a proposal's reach (maxBlocksPerLane past the
   * tip) that no held LaneQC covers: per lane, the highest such block (a
   * LaneQC on it covers those below).
   */
  #laneBlockInFlight(): boolean {
    for (let lane = 0; lane < this.committee.size; lane++) {
      const tip = this.#tips[lane]!;
      const target = Math.min(this.#seenTop[lane]!, tip.next + this.committee.params.maxBlocksPerLane - 1);
      if (target < tip.next) continue;
      let certified = -1;
      for (const n of this.#laneQcs[lane]!.keys()) if (n > certified) certified = n;
      if (certified < target) return true;
    }
    return false;
  }

  // ---- prepare and commit votes, certificates ----

  #onPhaseVote(
    phase: "prepare" | "commit",
    vote: PhaseVote,
    nowMs: number,
    out: ConsensusEffect[],
    verified: boolean,
  ): void {
    const v = vote.body.view;
    if (v.round < this.#view.round - 1 || v.round > this.#view.round + MAX_ROUNDS_AHEAD) return;
    if (!verified) {
      const check = verifySigned(this.committee, { kind: phase, msg: vote }, this.#cache);
      if (!check.ok) {
        this.#reject(`${phase} vote`, check.reason, out);
        return;
      }
    }
    (phase === "prepare" ? this.#prepares : this.#commits).add(vote);
    if (compareViews(v, this.#view) === 0) this.#workSeen = true;
    this.#checkCertificates(nowMs, out);
  }

  /**
   * A CommitQC from commit votes of any round of this index finalizes it; a
   * PrepareQC of the current view leads to the commit vote. Both need the
   * proposal itself (certificates carry it).
   */
  #checkCertificates(nowMs: number, out: ConsensusEffect[]): void {
    for (const view of this.#commits.views()) {
      for (const hex of this.#commits.quorumHashes(view)) {
        const proposal = this.#proposals.get(hex);
        if (proposal === undefined || compareViews(proposal.view, view) !== 0) continue;
        this.#onCommitQc(this.#commits.certificate(view, hex, proposal), true, nowMs, out);
        return;
      }
    }
    if (this.#prepareQcHash !== null) return;
    for (const hex of this.#prepares.quorumHashes(this.#view)) {
      const proposal = this.#proposals.get(hex);
      if (proposal === undefined || compareViews(proposal.view, this.#view) !== 0) continue;
      this.#prepareQcHash = fromHex(hex);
      this.#commitVote(this.#prepares.certificate(this.#view, hex, proposal), out);
    }
  }

  /**
   * PrepareQC of the current view: lock it, and commit-vote. The lock and the
   * commit record go in one durable write, and the commit vote waits for it:
   * a CommitQC is Q commit votes, so once it exists at least f+1 honest nodes
   * hold this lock on disk, and every later TimeoutQC (Q signers) includes
   * one of them and carries the lock, forcing the next leader to re-propose
   * the committed cut. A lock forgotten in a crash would break that chain.
   */
  #commitVote(qc: PrepareQc, out: ConsensusEffect[]): void {
    if (this.me === null) return;
    const body: PhaseVoteBody = { view: qc.proposal.view, proposalHash: proposalHash(qc.proposal) };
    const decision = this.#gate.commit(body.view, body.proposalHash);
    if (decision === "resend") out.push({ kind: "resend", release: [this.#sign("commit", body)] });
    if (decision !== "new") return;
    this.counters.commitVotes++;
    this.#persistSafety({ commit: body, lock: qc }, [this.#sign("commit", body)], out);
  }

  #onCommitQc(qc: CommitQc, formedHere: boolean, nowMs: number, out: ConsensusEffect[], verified = false): void {
    const checked = formedHere || verified;
    const index = qc.proposal.view.index;
    if (index <= this.#finalizedIndex) return;
    const expected = this.#finalizedIndex + 1;
    if (index > expected || this.#finalizing !== null) {
      if (this.#finalizing?.qc.proposal.view.index === index || this.#futureCommitQcs.has(index)) return;
      this.#holdFutureCommitQc(qc, checked);
      if (index > expected + (this.#finalizing !== null ? 1 : 0)) this.#fetchCommitQcs(nowMs, out);
      return;
    }
    if (!checked) {
      const check = verifyCommitQc(this.committee, qc, this.#cache);
      if (!check.ok) {
        this.#reject("CommitQC", check.reason, out);
        return;
      }
    }
    // Index k is final. It moves on to k+1 only once the CommitQC is durable,
    // so that a restarted node's record never refers to an index it cannot
    // recover the start of.
    const id = this.#nextWriteId++;
    this.#finalizing = { qc, id };
    out.push({ kind: "persist", id, write: { kind: "commitQc", qc }, release: [] });
    // Execution may start now: see the `decided` effect. The next index
    // still waits for this write (the comment above).
    out.push({ kind: "decided", qc });
    // Every node that formed it announces it. Measured: announcing it from the
    // next leader only (the others formed it from the same votes, and the next
    // proposal carries it) slowed a CPU-bound 4-node devnet at 3,000 tx/s from
    // p50 265 ms to 330-752 ms: a node that falls behind on its queue learns
    // finality from the first peer that formed the certificate.
    if (formedHere) out.push({ kind: "broadcast", msg: { kind: "commitQc", msg: qc } });
  }

  /**
   * Keeps the nearest CommitQCs beyond the next index: when the buffer is
   * full, one nearer than the farthest held replaces it. A node catching up
   * also hears the live chain's newest CommitQCs; were those kept first, the
   * buffer would fill with the tip and the synced run in between would be
   * dropped, one index finalized per fetch (issue 16 item 4).
   */
  #holdFutureCommitQc(qc: CommitQc, checked: boolean): void {
    const index = qc.proposal.view.index;
    let farthest = -1;
    if (this.#futureCommitQcs.size >= MAX_FUTURE_COMMIT_QCS) {
      for (const i of this.#futureCommitQcs.keys()) if (i > farthest) farthest = i;
      if (farthest < index) return;
    }
    if (!checked && !verifyCommitQc(this.committee, qc, this.#cache).ok) return;
    if (farthest >= 0) this.#futureCommitQcs.delete(farthest);
    this.#futureCommitQcs.set(index, qc);
  }

  #onDurable(id: number, nowMs: number, out: ConsensusEffect[]): void {
    this.#gate.durableAck(id);
    if (this.#finalizing?.id !== id) return;
    const qc = this.#finalizing.qc;
    this.#finalizing = null;
    this.#finalizedIndex = qc.proposal.view.index;
    this.#lastCommitQc = qc;
    this.#tips = laneTips(this.committee, qc);
    this.counters.finalized++;
    // Measured only for an index decided live in round 0 from a proposal
    // seen here: a round change or a catch-up says nothing of the index's cost.
    const consensusMs =
      this.#proposalAtMs !== null && qc.proposal.view.round === 0 ? Math.max(0, nowMs - this.#proposalAtMs) : undefined;
    out.push(consensusMs === undefined ? { kind: "finalized", qc } : { kind: "finalized", qc, consensusMs });
    this.#enterIndex(this.#finalizedIndex + 1, nowMs, out);
  }

  #enterIndex(index: number, nowMs: number, out: ConsensusEffect[]): void {
    this.#view = { index, round: 0 };
    this.#gather = null;
    this.#entryTc = null;
    this.#proposalInView = null;
    this.#proposalAtMs = null;
    this.#prepareQcHash = null;
    this.#proposals.clear();
    this.#prepares.clear();
    this.#commits.clear();
    this.#timeouts.clear();
    this.#consecutiveTimeouts = 0;
    this.#timer = null;
    this.#workSeen = false;
    for (const [lane, qcs] of this.#laneQcs.entries()) {
      for (const n of [...qcs.keys()]) if (n < this.#tips[lane]!.next) qcs.delete(n);
      // Certified blocks beyond the new tips are work: the timer must run
      // even if no new LaneQC ever arrives (e.g. this index's leader is down).
      if (qcs.size > 0) this.#workSeen = true;
    }
    const queued = this.#futureCommitQcs.get(index);
    this.#futureCommitQcs.delete(index);
    for (const i of [...this.#futureCommitQcs.keys()]) if (i < index) this.#futureCommitQcs.delete(i);
    const buffered = [...this.#bufferedNext.values()].flat();
    this.#bufferedNext = new Map();
    if (queued !== undefined) this.#onCommitQc(queued, false, nowMs, out);
    for (const msg of buffered) this.#onMessage(msg, nowMs, out);
    this.#maybePropose(nowMs, out);
  }

  // ---- timeouts ----

  #onViewTimeout(out: ConsensusEffect[]): void {
    if (this.#finalizing !== null) return;
    if (this.#gate.timedOutAt(this.#view)) {
      // Still no TimeoutQC: our vote or others' may be lost. Re-send the
      // identical timeout vote and what laggards need to catch up.
      this.#timeoutVote(out);
      if (this.#lastCommitQc !== null)
        out.push({ kind: "broadcast", msg: { kind: "commitQc", msg: this.#lastCommitQc } });
      return;
    }
    this.#consecutiveTimeouts++;
    out.push({ kind: "event", level: "warn", msg: "view timed out", data: { view: viewKey(this.#view) } });
    this.#timeoutVote(out);
  }

  #timeoutVote(out: ConsensusEffect[]): void {
    if (this.me === null) return; // observers never sign
    const lock = this.#gate.lock;
    const lockRound = lock !== null && lock.proposal.view.index === this.#view.index ? lock.proposal.view.round : null;
    const body: TimeoutVoteBody = { view: this.#view, lockRound };
    const decision = this.#gate.timeout(this.#view, lockRound);
    if (decision === "resend") out.push({ kind: "resend", release: [this.#signTimeout(body)] });
    if (decision !== "new") return;
    this.counters.timeoutVotes++;
    this.#persistSafety({ timeout: body }, [this.#signTimeout(body)], out);
  }

  #onTimeoutVote(vote: TimeoutVote, nowMs: number, out: ConsensusEffect[], verified: boolean): void {
    const v = vote.body.view;
    if (v.round < this.#view.round || v.round > this.#view.round + MAX_ROUNDS_AHEAD) return;
    if (!verified) {
      const check = verifySigned(this.committee, { kind: "timeout", msg: vote }, this.#cache);
      if (!check.ok) {
        this.#reject("timeout vote", check.reason, out);
        return;
      }
    }
    const lr = vote.body.lockRound;
    if (lr !== null) {
      // The carried lock must be the PrepareQC the voter signed it has.
      if (
        vote.lock === null ||
        compareViews(vote.lock.proposal.view, { index: v.index, round: lr }) !== 0 ||
        lr > v.round
      ) {
        this.#reject("timeout vote", "lock does not match its lockRound", out);
        return;
      }
      const check = verifyPrepareQc(this.committee, vote.lock, this.#cache);
      if (!check.ok) {
        this.#reject("timeout vote", check.reason, out);
        return;
      }
    } else if (vote.lock !== null) {
      this.#reject("timeout vote", "lock without lockRound", out);
      return;
    }
    this.#timeouts.add(vote);
    this.#workSeen = true;
    // f+1 timeouts at or above our round: at least one honest node gave up on
    // it, so join (at the highest such round) instead of waiting our timer.
    const amp = this.#timeouts.amplificationRound();
    if (amp !== null && amp >= this.#view.round && !this.#gate.timedOutAt({ index: v.index, round: amp })) {
      if (amp > this.#view.round) this.#enterRound(amp, null, nowMs, out);
      this.#consecutiveTimeouts++;
      this.#timeoutVote(out);
    }
    if (v.round < this.#view.round || this.#timeouts.weightAt(v.round) < this.committee.quorum) return;
    const tc = this.#timeouts.certificate(v);
    if (tc !== null) this.#onTimeoutQc(tc, true, nowMs, out);
  }

  #onTimeoutQc(tc: TimeoutQc, formedHere: boolean, nowMs: number, out: ConsensusEffect[], verified = false): void {
    if (tc.view.index !== this.#view.index) return;
    const checked = formedHere || verified;
    if (tc.view.round === this.#view.round - 1 && this.#entryTc === null) {
      // We joined this round through f+1 timeout votes, without its
      // TimeoutQC; a leader needs it to propose here.
      if (checked || verifyTimeoutQc(this.committee, tc, this.#cache).ok) {
        this.#entryTc = tc;
        this.#maybePropose(nowMs, out);
      }
      return;
    }
    if (tc.view.round < this.#view.round) return;
    if (!checked) {
      const check = verifyTimeoutQc(this.committee, tc, this.#cache);
      if (!check.ok) {
        this.#reject("TimeoutQC", check.reason, out);
        return;
      }
    }
    this.counters.timeoutQcs++;
    if (formedHere) out.push({ kind: "broadcast", msg: { kind: "timeoutQc", msg: tc } });
    if (tc.highQc !== null) this.#rememberProposal(toHex(proposalHash(tc.highQc.proposal)), tc.highQc.proposal);
    out.push({ kind: "event", level: "warn", msg: "TimeoutQC: next round", data: { view: viewKey(tc.view) } });
    this.#enterRound(tc.view.round + 1, tc, nowMs, out);
  }

  #enterRound(round: number, tc: TimeoutQc | null, nowMs: number, out: ConsensusEffect[]): void {
    this.#view = { index: this.#view.index, round };
    this.#gather = null;
    this.#entryTc = tc;
    this.#proposalInView = null;
    // A round change: the index is no longer decided live in round 0, even
    // if round 0's votes still complete a CommitQC (the books keep round r-1).
    this.#proposalAtMs = null;
    this.#prepareQcHash = null;
    this.#timer = null;
    this.#workSeen = true;
    this.#prepares.dropRoundsBelow(round - 1);
    this.#commits.dropRoundsBelow(round - 1);
    // Certificates come only from the rounds the vote books keep.
    for (const [hex, p] of this.#proposals) if (p.view.round < round - 1) this.#proposals.delete(hex);
    this.#timeouts.dropRoundsBelow(round);
    this.#maybePropose(nowMs, out);
    this.#checkCertificates(nowMs, out);
  }

  // ---- lane certificates, timers ----

  #onLaneQc(qc: LaneQc, nowMs: number, out: ConsensusEffect[]): void {
    const lane = qc.body.lane;
    const tip = this.#tips[lane];
    if (tip === undefined || qc.body.number < tip.next) return;
    if (qc.body.number >= tip.next + this.committee.params.laneWindow) return;
    this.#laneQcs[lane]!.set(qc.body.number, qc);
    this.#workSeen = true;
    if (this.#view.round === 0 || this.#entryTc !== null) this.#maybePropose(nowMs, out);
  }

  /**
   * The view timer runs only while there is work (a certified lane block
   * beyond the finalized tips, or a proposal or vote in this index): an idle
   * chain stays silent.
   */
  #armTimer(nowMs: number, out: ConsensusEffect[]): void {
    if (this.#timer !== null || this.#finalizing !== null || !this.#workSeen) return;
    const key = viewKey(this.#view);
    const deadlineMs = nowMs + viewTimeoutMs(this.#config, this.#consecutiveTimeouts);
    this.#timer = { key, deadlineMs };
    out.push({ kind: "setTimer", viewKey: key, deadlineMs });
  }

  // ---- signing ----

  /** A new safety record; `release` leaves (through the outbox) once it is durable. */
  #persistSafety(change: Partial<SafetyRecord>, release: SignedMessage[], out: ConsensusEffect[]): void {
    const id = this.#nextWriteId++;
    out.push({ kind: "persist", id, write: this.#gate.write(id, change), release });
  }

  #sign(phase: "prepare" | "commit", body: PhaseVoteBody): SignedMessage {
    const signature = this.#signer!.sign(
      phase === "prepare" ? DOMAINS.prepare : DOMAINS.commit,
      phaseVoteSigningBody(body),
    );
    return { kind: phase, msg: { body, signer: this.me!, signature } };
  }

  #signTimeout(body: TimeoutVoteBody): SignedMessage {
    const lock = body.lockRound === null ? null : this.#gate.lock;
    const signature = this.#signer!.sign(DOMAINS.timeout, timeoutVoteSigningBody(body));
    return { kind: "timeout", msg: { body, signer: this.me!, signature, lock } };
  }
}

/** The round a consensus message belongs to. */
function messageRound(msg: ConsensusMessage): number {
  switch (msg.kind) {
    case "proposal":
      return msg.msg.proposal.view.round;
    case "prepare":
    case "commit":
    case "timeout":
      return msg.msg.body.view.round;
    case "commitQc":
      return msg.msg.proposal.view.round;
    case "timeoutQc":
      return msg.msg.view.round;
  }
}

/** The index a consensus message belongs to. */
function messageIndex(msg: ConsensusMessage): number {
  switch (msg.kind) {
    case "proposal":
      return msg.msg.proposal.view.index;
    case "prepare":
    case "commit":
      return msg.msg.body.view.index;
    case "timeout":
      return msg.msg.body.view.index;
    case "commitQc":
      return msg.msg.proposal.view.index;
    case "timeoutQc":
      return msg.msg.view.index;
  }
}
