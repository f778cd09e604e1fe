import { type Committee, linksToParent, verifyLaneQc, verifySigned } from "../committee/index.ts";
import type { Signer, VerifyCache } from "../crypto/index.ts";
import {
  bytesEqual,
  DOMAINS,
  encodePayload,
  headerHash,
  type LaneBlock,
  type LaneQc,
  type LaneRange,
  type LaneVote,
  laneBlockSigningBody,
  laneVoteSigningBody,
  MAX_TXS_PER_BLOCK,
  payloadHash,
  type RecoveredLane,
  rememberTxHashes,
  type SignedMessage,
  type Tx,
  txHashHex,
  ZERO_HASH,
} from "../types/index.ts";
import { checkLaneBlockIntrinsic } from "./acceptance.ts";
import { BlockDelay } from "./block-delay.ts";
import { LaneVoteAggregator } from "./lane-qc.ts";
import { Mempool, type TxRefusal } from "./mempool.ts";
import type { LanesConfig, LanesCounters, LanesEffect, LanesInput } from "./types.ts";
import { votersCertifyAlone } from "./vote-routing.ts";

interface HeldBlock {
  /**
   * The block, or null once its index was executed here and the global
   * block is durable: from then on only its hash is needed in memory (the
   * lane WAL keeps the bytes until the anchor prunes them, and serves sync).
   */
  block: LaneBlock | null;
  hash: Uint8Array;
  durable: boolean;
  /** Our signed vote for it, kept for re-sending (signing is deterministic, this saves the work). */
  vote?: LaneVote;
}

/** What this node holds of one lane. Blocks first..next-1 are in `blocks`. */
interface LaneState {
  lane: number;
  first: number;
  next: number;
  /** Header hash of block next-1 (zero when next is 0; null if pruned unseen). */
  tipHash: Uint8Array | null;
  blocks: Map<number, HeldBlock>;
  /** Blocks from this number on still hold their bytes in `blocks` (below it: executed, hash only). */
  bytesFrom: number;
  /** Every block below this number is durable. */
  durableNext: number;
  /** Next number this node signs a vote for: votes go strictly in order. */
  votedNext: number;
  /** Blocks beyond `next`, held while the gap is fetched. */
  ahead: Map<number, LaneBlock>;
  /** Next number of this lane in the latest CommitQC. */
  finalizedNext: number;
  /** Highest number with a known LaneQC, plus one. */
  certifiedNext: number;
  /**
   * Numbers at or above finalizedNext with a known LaneQC. A LaneQC on a
   * high number does not make lower ones useless: the leader may only use
   * one within maxBlocksPerLane of the finalized tip.
   */
  certified: Set<number>;
  lastFetchAtMs: number;
}

/** Number `n` of the lane is final or has a LaneQC: a vote for it adds nothing to a certificate. */
function settled(lane: LaneState, n: number): boolean {
  return n < lane.finalizedNext || lane.certified.has(n);
}

/** Header, signature and list offsets: what a block costs beyond its txs. */
const BLOCK_OVERHEAD_BYTES = 256;

export interface LanesMachineOptions {
  committee: Committee;
  /** This node's validator index, or null for an observer (never signs). */
  me: number | null;
  signer: Signer | null;
  config: LanesConfig;
  /** Recovered lane WALs, one per committee lane (durable by definition). */
  recoveredLanes: RecoveredLane[];
  /** Ranges of the latest durable CommitQC (or null at genesis). */
  finalizedRanges: LaneRange[] | null;
  /** Ranges of the recovered pruning anchor's CommitQC, if any. */
  anchorRanges?: LaneRange[] | null;
  /**
   * Ranges of the CommitQC of the last index executed before the restart, if
   * known: the recovered blocks below them start as hashes only (see
   * #onExecuted).
   */
  executedRanges?: LaneRange[] | null;
  /** Own lane numbers below this were signed before a resync: never sign them again, fetch them. */
  ownLaneFloor?: number;
  verifyCache?: VerifyCache;
  /**
   * Test-only fault (negative control of the outbox): lane votes are handed
   * out at once instead of with their block's write. Never set in production.
   */
  faultReleaseVotesEarly?: boolean;
}

/**
 * The availability layer of one node (DESIGN section 5): produces the own
 * lane's blocks from the mempool, accepts other lanes' blocks in order, votes
 * for each block in order, and aggregates lane votes into LaneQCs. A block's
 * write carries the signatures it makes safe (the own block, the lane vote):
 * the outbox releases them once the block is durable. Pure: inputs in,
 * effects out.
 */
export class LanesMachine {
  readonly committee: Committee;
  readonly me: number | null;
  readonly counters: LanesCounters = {
    blocksProduced: 0,
    blocksAccepted: 0,
    blocksRejected: 0,
    equivocations: 0,
    laneQcs: 0,
    txsRejected: 0,
  };
  readonly #signer: Signer | null;
  readonly #config: LanesConfig;
  readonly #cache: VerifyCache | undefined;
  readonly #mempool: Mempool;
  readonly #lanes: LaneState[];
  readonly #votes: LaneVoteAggregator;
  /** Write id -> (lane, number) of the lane block it makes durable. */
  #pendingWrites = new Map<number, { lane: number; number: number }>();
  readonly #faultReleaseVotesEarly: boolean;
  #nextWriteId = 0;
  #timerAtMs: number | null = null;
  #lastRetransmitAtMs = 0;
  readonly #ownLaneFloor: number;
  /** Voters certify from the owner's vote and their own (vote-routing.ts); else the owner announces its LaneQCs. */
  readonly #votersCertifyAlone: boolean;
  /** LaneQCs this node formed for its own lane, by number, not final yet (re-announced when voters cannot certify alone). */
  readonly #ownQcs = new Map<number, LaneQc>();
  /** The wait for a block that is not full: maxBlockDelayMs, longer while consensus is slow (block-delay.ts). */
  readonly #blockDelay: BlockDelay;

  constructor(opts: LanesMachineOptions) {
    if ((opts.me === null) !== (opts.signer === null)) throw new Error("a validator needs a signer; an observer none");
    if (opts.me !== null && !opts.committee.isMember(opts.me)) throw new Error(`${opts.me} is not a committee member`);
    if (opts.recoveredLanes.length !== opts.committee.size) {
      throw new Error(`recovered ${opts.recoveredLanes.length} lanes for a committee of ${opts.committee.size}`);
    }
    this.committee = opts.committee;
    this.me = opts.me;
    this.#signer = opts.signer;
    this.#config = opts.config;
    this.#blockDelay = new BlockDelay(opts.config.maxBlockDelayMs, opts.config.maxAdaptiveBlockDelayMs);
    this.#cache = opts.verifyCache;
    this.#ownLaneFloor = opts.ownLaneFloor ?? 0;
    this.#faultReleaseVotesEarly = opts.faultReleaseVotesEarly === true;
    this.#mempool = new Mempool(opts.config.mempoolMaxTxs, opts.config.mempoolMaxBytes);
    this.#votes = new LaneVoteAggregator(opts.committee);
    this.#votersCertifyAlone = votersCertifyAlone(opts.committee);
    this.#lanes = opts.recoveredLanes.map((r, lane) => {
      const range = opts.finalizedRanges?.[lane];
      const finalizedNext = range?.next ?? 0;
      const blocks = new Map<number, HeldBlock>();
      for (const block of r.blocks)
        blocks.set(block.header.number, { block, hash: headerHash(block.header), durable: true });
      const last = blocks.get(r.next - 1);
      // After pruning everything held, the tip hash comes from a CommitQC
      // that ends there; if none does, the parent of the next block cannot
      // be checked (it was finalized and pruned) and is taken on trust.
      const anchorRange = opts.anchorRanges?.[lane];
      let tipHash: Uint8Array | null = null;
      if (last !== undefined) tipHash = last.hash;
      else if (r.next === 0) tipHash = ZERO_HASH;
      else if (range !== undefined && range.next === r.next) tipHash = range.lastHash;
      else if (anchorRange !== undefined && anchorRange.next === r.next) tipHash = anchorRange.lastHash;
      return {
        lane,
        first: r.first,
        next: r.next,
        tipHash,
        blocks,
        bytesFrom: r.first,
        durableNext: r.next,
        // Recovered blocks were voted before the crash (or their vote was
        // lost with the crash); start() re-sends the identical votes.
        votedNext: r.next,
        ahead: new Map(),
        finalizedNext,
        certifiedNext: finalizedNext,
        certified: new Set<number>(),
        lastFetchAtMs: Number.NEGATIVE_INFINITY,
      };
    });
    if (opts.executedRanges) this.#onExecuted(opts.executedRanges);
  }

  // ---- read access for the driver and the API ----

  /** The held block `number` of `lane`, if any: one whose index was executed here keeps only its hash (undefined). */
  heldBlock(lane: number, number: number): LaneBlock | undefined {
    return this.#lanes[lane]?.blocks.get(number)?.block ?? undefined;
  }

  laneNext(lane: number): number {
    return this.#lanes[lane]?.next ?? 0;
  }

  /**
   * Whether a lane vote would tell this node nothing: it holds the voted
   * block, with that header hash, and the block is certified or final
   * already. The network edge ignores such votes before their signature is
   * checked: of the n-1 votes an owner receives on its block only the first
   * (with its own, weight A) make the LaneQC, and voters re-send theirs. A
   * vote for another hash at that number is never redundant (it may be an
   * equivocation).
   */
  isRedundantVote(vote: LaneVote): boolean {
    const lane = this.#lanes[vote.body.lane];
    if (lane === undefined || !settled(lane, vote.body.number)) return false;
    const held = lane.blocks.get(vote.body.number);
    return held !== undefined && bytesEqual(held.hash, vote.body.headerHash);
  }

  /** Voters certify from the owner's vote and their own (vote-routing.ts): where released votes go. */
  get votersCertifyAlone(): boolean {
    return this.#votersCertifyAlone;
  }

  /**
   * The same for an announced LaneQC, which is no one's statement (no
   * evidence to find in it): any number final or certified here already,
   * held or not (an observer is not pushed blocks).
   */
  isRedundantQc(qc: LaneQc): boolean {
    const lane = this.#lanes[qc.body.lane];
    return lane !== undefined && settled(lane, qc.body.number);
  }

  get mempoolSize(): number {
    return this.#mempool.size;
  }

  #sampleConsensus(consensusMs: number, out: LanesEffect[]): void {
    if (this.me === null) return; // an observer cuts no blocks
    const change = this.#blockDelay.sample(consensusMs);
    if (change === null) return;
    const data = { blockDelayMs: this.#blockDelay.ms, consensusMs: Math.round(this.#blockDelay.consensusMs) };
    out.push(
      change === "lengthened"
        ? { kind: "event", level: "info", msg: "consensus is slow: own lane blocks wait longer", data }
        : {
            kind: "event",
            level: "info",
            msg: "consensus is fast again: own lane blocks at lanes.maxBlockDelayMs",
            data,
          },
    );
  }

  /**
   * Payload bytes of the lane blocks this machine holds in memory: each
   * lane's blocks not yet executed here (the window past the finalized tip,
   * and what is final but waiting for execution) and those buffered past a
   * gap. Read at a metrics scrape. The window bounds the first; execution
   * runs as soon as an index is final and its blocks are here, so the second
   * is normally the index or two whose global block write is not yet durable.
   */
  get heldPayloadBytes(): number {
    let bytes = 0;
    for (const lane of this.#lanes) {
      for (let n = Math.max(lane.bytesFrom, lane.first); n < lane.next; n++) {
        bytes += lane.blocks.get(n)?.block?.payload.byteLength ?? 0;
      }
      for (const b of lane.ahead.values()) bytes += b.payload.byteLength;
    }
    return bytes;
  }

  /** The block delay now: lanes.maxBlockDelayMs, longer while consensus is slow; a block that is not full is cut on its ticks (block-delay.ts). */
  get blockDelayMs(): number {
    return this.#blockDelay.ms;
  }

  /** True when the mempool would refuse a tx for lack of room. */
  get mempoolFull(): boolean {
    return this.#mempool.size >= this.#mempool.maxTxs || this.#mempool.bytes >= this.#mempool.maxBytes;
  }

  // ---- the step function ----

  step(input: LanesInput, nowMs: number): LanesEffect[] {
    const out: LanesEffect[] = [];
    switch (input.kind) {
      case "tx":
        this.#onTx(input.tx, input.hash ?? txHashHex(input.tx), nowMs, out);
        break;
      case "laneBlock":
        this.#onBlock(input.block, input.verified === true, nowMs, out);
        break;
      case "laneVote":
        this.#onVote(input.vote, input.verified === true, out);
        break;
      case "laneQc":
        this.#onLaneQc(input.qc, input.verified === true, out);
        break;
      case "durable":
        this.#onDurable(input.id);
        break;
      case "timer":
        this.#timerAtMs = null;
        // The timer also serves the production deadline: re-send only once per retransmitMs.
        if (nowMs - this.#lastRetransmitAtMs >= this.#config.retransmitMs) this.#retransmit(nowMs, out);
        break;
      case "finalized":
        if (input.consensusMs !== undefined) this.#sampleConsensus(input.consensusMs, out);
        this.#onFinalized(input.ranges, nowMs, out);
        break;
      case "executed":
        this.#onExecuted(input.ranges);
        break;
      case "prune":
        this.#onPrune(input.ranges, out);
        break;
    }
    this.#maybeProduce(nowMs, out);
    this.#armTimer(nowMs, out);
    return out;
  }

  /** Effects to run right after start: re-send the votes of recovered blocks. */
  start(nowMs: number): LanesEffect[] {
    const out: LanesEffect[] = [];
    if (this.me !== null) {
      const release: SignedMessage[] = [];
      for (const lane of this.#lanes) {
        for (let n = Math.max(lane.first, lane.finalizedNext); n < lane.durableNext; n++)
          release.push(this.#signVote(lane, n));
      }
      if (release.length > 0) out.push({ kind: "resend", release });
      this.#pushLatestOwn(this.#lanes[this.me]!, out);
    }
    this.#armTimer(nowMs, out);
    return out;
  }

  // ---- transactions and production ----

  #onTx(tx: Tx, hash: string, nowMs: number, out: LanesEffect[]): void {
    let refusal: TxRefusal | null = null;
    const invalid = (reason: string): TxRefusal => ({ code: "invalid", reason });
    if (this.me === null) refusal = invalid("an observer does not accept transactions");
    else if (tx.byteLength === 0) refusal = invalid("empty transaction");
    else if (tx.byteLength > this.committee.params.maxTxBytes) {
      refusal = invalid(`transaction of ${tx.byteLength} bytes exceeds maxTxBytes ${this.committee.params.maxTxBytes}`);
    } else refusal = this.#mempool.add(tx, hash, nowMs);
    if (refusal !== null) {
      this.counters.txsRejected++;
      out.push({ kind: "txRejected", tx, hash, ...refusal });
    }
  }

  /** Whether a new own block may be made now (txs aside); its parent's hash if so. */
  #productionParent(): Uint8Array | null {
    if (this.me === null || this.#signer === null) return null;
    const own = this.#lanes[this.me]!;
    // Our own lane is finalized beyond what we hold (a node whose data was
    // reset, catching up): we signed those numbers before, so producing now
    // would sign a second block at one of them. Wait until sync fills it in.
    if (own.next < own.finalizedNext) return null;
    // Likewise below what we signed before a resync, finalized or not.
    if (own.next < this.#ownLaneFloor) return null;
    // The window is the backpressure: no new block while `laneWindow`
    // own blocks wait for finality.
    if (own.next - own.finalizedNext >= this.committee.params.laneWindow) return null;
    // Our own tip was pruned and no certificate names it: wait for one.
    return own.tipHash;
  }

  #maybeProduce(nowMs: number, out: LanesEffect[]): void {
    const parent = this.#productionParent();
    if (parent === null || this.me === null || this.#signer === null) return;
    const own = this.#lanes[this.me]!;
    const oldest = this.#mempool.oldestAtMs;
    if (oldest === null) return;
    // An idle lane (every own block final) sends at once; under load, txs
    // are batched until a block is full or the block delay's next tick after
    // the oldest arrived (the same ticks on every lane: block-delay.ts).
    const idle = this.#config.sendWhenIdle && own.next === own.finalizedNext;
    let maxBytes = Math.min(this.#config.maxBlockBytes, this.committee.params.maxLaneBlockBytes - BLOCK_OVERHEAD_BYTES);
    if (!idle && this.#mempool.bytes < maxBytes && nowMs < this.#blockDelay.cutAtMs(oldest, nowMs)) return;
    if (!idle) {
      // The window in bytes: what own blocks not yet final hold (an idle lane may always send one block).
      const room = this.#byteWindowRoom(own);
      if (room <= 0) return;
      maxBytes = Math.min(maxBytes, room);
    }
    const { txs, hashes } = this.#mempool.take(maxBytes, MAX_TXS_PER_BLOCK);
    // The payload is built once, here; it is signed, stored, pushed and served as these bytes.
    const payload = encodePayload(txs);
    // Its txs were hashed at admission: execution takes these instead of hashing them again.
    rememberTxHashes(payload, hashes);
    const header = {
      lane: this.me,
      number: own.next,
      parent,
      payloadHash: payloadHash(payload),
      txCount: txs.length,
      createdAtMs: nowMs,
    };
    const block: LaneBlock = { header, signature: new Uint8Array(64), payload };
    block.signature = this.#signer.sign(DOMAINS.laneBlock, laneBlockSigningBody(block));
    this.counters.blocksProduced++;
    // Appended and persisted now; the outbox pushes it once durable.
    this.#append(own, block, out);
  }

  /** Payload bytes the own lane's window still takes: lanes.maxWindowBytes less what own blocks not yet final hold. */
  #byteWindowRoom(own: LaneState): number {
    return this.#config.maxWindowBytes - this.#ownUnfinalizedBytes(own);
  }

  /** Payload bytes of the own blocks not yet final (at most laneWindow of them). */
  #ownUnfinalizedBytes(own: LaneState): number {
    let bytes = 0;
    for (let n = own.finalizedNext; n < own.next; n++) bytes += own.blocks.get(n)?.block?.payload.byteLength ?? 0;
    return bytes;
  }

  // ---- accepting blocks ----

  #onBlock(block: LaneBlock, verified: boolean, nowMs: number, out: LanesEffect[]): void {
    // Beyond the window, checked before the signature: a node far behind
    // hears every block the live chain pushes, and would spend its time
    // verifying and logging them. They come back through sync once final
    // here; counted as rejected, never logged one by one.
    const early = this.#lanes[block.header.lane];
    if (early !== undefined && block.header.number >= early.finalizedNext + this.committee.params.laneWindow) {
      this.counters.blocksRejected++;
      return;
    }
    const reason = checkLaneBlockIntrinsic(this.committee, block, this.#cache, verified);
    if (reason !== null) {
      this.counters.blocksRejected++;
      out.push({ kind: "event", level: "warn", msg: "lane block rejected", data: { lane: block.header.lane, reason } });
      return;
    }
    const lane = this.#lanes[block.header.lane]!;
    const m = block.header.number;
    if (m < lane.first) return; // pruned: already finalized and executed
    if (m < lane.next) {
      const held = lane.blocks.get(m)!;
      if (!bytesEqual(held.hash, headerHash(block.header))) this.#equivocation(lane, m, out);
      return;
    }
    if (m > lane.next) {
      const buffered = lane.ahead.get(m);
      if (buffered !== undefined) {
        if (!bytesEqual(headerHash(buffered.header), headerHash(block.header))) this.#equivocation(lane, m, out);
      } else if (m < lane.next + this.#config.maxBufferedAhead) lane.ahead.set(m, block);
      this.#fetchGap(lane, m, nowMs, out);
      return;
    }
    this.#acceptNext(lane, block, out);
    // Buffered successors may now chain on.
    for (let b = lane.ahead.get(lane.next); b !== undefined; b = lane.ahead.get(lane.next)) {
      lane.ahead.delete(lane.next);
      if (!this.#acceptNext(lane, b, out)) break;
    }
    for (const n of [...lane.ahead.keys()]) if (n < lane.next) lane.ahead.delete(n);
  }

  /** Block `lane.next` whose intrinsic checks passed. */
  #acceptNext(lane: LaneState, block: LaneBlock, out: LanesEffect[]): boolean {
    if (lane.tipHash !== null && !linksToParent(block, lane.tipHash)) {
      // The owner forked the chain below this block: we hold another branch.
      this.counters.blocksRejected++;
      out.push({
        kind: "event",
        level: "warn",
        msg: "lane block does not chain to the held tip",
        data: { lane: lane.lane, number: block.header.number },
      });
      return false;
    }
    this.counters.blocksAccepted++;
    this.#append(lane, block, out);
    return true;
  }

  /**
   * Holds block `lane.next` and persists it. The write releases the own block
   * and this node's vote for it: votes go strictly in order (blocks are
   * appended in order), and none below the finalized tip (not needed).
   */
  #append(lane: LaneState, block: LaneBlock, out: LanesEffect[]): void {
    const hash = headerHash(block.header);
    const number = block.header.number;
    lane.blocks.set(number, { block, hash, durable: false });
    out.push({ kind: "laneSeen", lane: lane.lane, number });
    lane.next = number + 1;
    lane.tipHash = hash;
    const release: SignedMessage[] = [];
    if (lane.lane === this.me) release.push({ kind: "laneBlock", msg: block });
    lane.votedNext = Math.max(lane.votedNext, lane.finalizedNext, lane.first);
    if (this.me !== null && lane.votedNext === number) {
      release.push(this.#signVote(lane, number));
      lane.votedNext = number + 1;
    }
    const id = this.#nextWriteId++;
    this.#pendingWrites.set(id, { lane: lane.lane, number });
    if (this.#faultReleaseVotesEarly) {
      out.push({ kind: "resend", release: release.filter((m) => m.kind === "laneVote") });
      out.push({
        kind: "persist",
        id,
        write: { kind: "laneBlock", block },
        release: release.filter((m) => m.kind !== "laneVote"),
      });
      return;
    }
    out.push({ kind: "persist", id, write: { kind: "laneBlock", block }, release });
  }

  #equivocation(lane: LaneState, number: number, out: LanesEffect[]): void {
    this.counters.equivocations++;
    out.push({
      kind: "event",
      level: "warn",
      msg: "lane equivocation: second block at a held number",
      data: { lane: lane.lane, number },
    });
  }

  #fetchGap(lane: LaneState, upTo: number, nowMs: number, out: LanesEffect[]): void {
    if (nowMs - lane.lastFetchAtMs < this.#config.retransmitMs) return;
    lane.lastFetchAtMs = nowMs;
    out.push({ kind: "fetchLaneBlocks", lane: lane.lane, from: lane.next, to: upTo });
  }

  // ---- durability, votes, certificates ----

  /** Bookkeeping only: what the write released, the outbox has sent. */
  #onDurable(id: number): void {
    const w = this.#pendingWrites.get(id);
    if (w === undefined) return;
    this.#pendingWrites.delete(id);
    const lane = this.#lanes[w.lane]!;
    const held = lane.blocks.get(w.number);
    if (held === undefined) return;
    held.durable = true;
    while (lane.blocks.get(lane.durableNext)?.durable === true) lane.durableNext++;
  }

  #signVote(lane: LaneState, number: number): SignedMessage {
    const held = lane.blocks.get(number)!;
    if (held.vote === undefined) {
      const body = { lane: lane.lane, number, headerHash: held.hash };
      held.vote = {
        body,
        signer: this.me!,
        signature: this.#signer!.sign(DOMAINS.laneVote, laneVoteSigningBody(body)),
      };
    }
    return { kind: "laneVote", msg: held.vote };
  }

  #onVote(vote: LaneVote, verified: boolean, out: LanesEffect[]): void {
    const lane = this.#lanes[vote.body.lane];
    if (lane === undefined || !this.committee.isMember(vote.signer)) return;
    const n = vote.body.number;
    if (this.#outOfPlay(lane, n)) return;
    if (!verified && !verifySigned(this.committee, { kind: "laneVote", msg: vote }, this.#cache).ok) {
      out.push({ kind: "event", level: "warn", msg: "bad lane vote signature", data: { signer: vote.signer } });
      return;
    }
    const qc = this.#votes.add(vote);
    if (qc === null) return;
    this.#certify(lane, qc, out);
    if (lane.lane === this.me && !this.#votersCertifyAlone) {
      // Bounded: numbers below finalizedNext + laneWindow, dropped once final (#reannounceOwn).
      this.#ownQcs.set(n, qc);
      out.push({ kind: "announceLaneQc", qc });
    }
  }

  /** An owner's announced LaneQC: the same certification as one formed here, checked unless `verified`. */
  #onLaneQc(qc: LaneQc, verified: boolean, out: LanesEffect[]): void {
    const lane = this.#lanes[qc.body.lane];
    if (lane === undefined) return;
    const n = qc.body.number;
    if (this.#outOfPlay(lane, n)) return;
    if (!verified) {
      const check = verifyLaneQc(this.committee, qc, this.#cache);
      if (!check.ok) {
        out.push({
          kind: "event",
          level: "warn",
          msg: "bad LaneQC",
          data: { lane: lane.lane, number: n, reason: check.reason },
        });
        return;
      }
    }
    this.#certify(lane, qc, out);
  }

  /**
   * Bounded: only numbers that can still matter, inside the window. A number
   * below the highest certified one still matters (see `certified`).
   */
  #outOfPlay(lane: LaneState, n: number): boolean {
    return settled(lane, n) || n >= lane.finalizedNext + this.committee.params.laneWindow;
  }

  #certify(lane: LaneState, qc: LaneQc, out: LanesEffect[]): void {
    const n = qc.body.number;
    this.counters.laneQcs++;
    lane.certifiedNext = Math.max(lane.certifiedNext, n + 1);
    lane.certified.add(n);
    out.push({ kind: "laneQc", qc });
  }

  // ---- finality, pruning, timers ----

  #onFinalized(ranges: LaneRange[], nowMs: number, out: LanesEffect[]): void {
    for (const range of ranges) {
      const lane = this.#lanes[range.lane];
      if (lane === undefined || range.next <= lane.finalizedNext) continue;
      lane.finalizedNext = range.next;
      lane.certifiedNext = Math.max(lane.certifiedNext, range.next);
      for (const n of lane.certified) if (n < range.next) lane.certified.delete(n);
      this.#votes.dropBelow(lane.lane, range.next);
      if (lane.tipHash === null && lane.next === range.next) lane.tipHash = range.lastHash;
      const held = lane.blocks.get(range.next - 1);
      if (held !== undefined && !bytesEqual(held.hash, range.lastHash)) {
        out.push({
          kind: "event",
          level: "warn",
          msg: "finalized lane tip differs from the held block: the owner equivocated",
          data: { lane: lane.lane, number: range.next - 1 },
        });
      }
      // Behind the finalized tip: fetch what we miss (execution needs it).
      if (lane.next < range.next) this.#fetchGap(lane, range.next, nowMs, out);
    }
  }

  /**
   * An index was executed and its global block is durable: the bytes of the
   * blocks below its ranges leave memory. Without this, every finalized block
   * stayed in memory until the next pruning anchor, whose spacing
   * (execution.anchorEveryIndexes, and an AppQC that may come late) bounds
   * nothing in bytes: an overloaded node held about 80 MB of lane blocks
   * (devnet of 4 at 8,000 tx/s, heap snapshot), of which it now holds about
   * 22 MB (validator_lane_held_bytes). Now what a lane holds in memory is
   * its window past the finalized tip, plus the blocks final but not yet
   * executed. The hash and durability of each block stay until the anchor
   * (pruning, duplicate and equivocation checks use them).
   */
  #onExecuted(ranges: LaneRange[]): void {
    for (const r of ranges) {
      const lane = this.#lanes[r.lane];
      if (lane === undefined) continue;
      // Never past what is final here.
      const to = Math.min(r.next, lane.finalizedNext, lane.next);
      for (let n = Math.max(lane.bytesFrom, lane.first); n < to; n++) {
        const held = lane.blocks.get(n);
        if (held === undefined) continue;
        held.block = null;
        held.vote = undefined;
      }
      lane.bytesFrom = Math.max(lane.bytesFrom, to);
    }
  }

  /**
   * Drops blocks below the anchor's ranges. Storage's recovery checks that a
   * lane WAL starting exactly at an anchor range's end links to that range's
   * lastHash; a node that holds another branch of an equivocating owner's lane
   * keeps one more block so that check never meets a foreign branch.
   */
  #onPrune(ranges: LaneRange[], out: LanesEffect[]): void {
    for (const r of ranges) {
      const lane = this.#lanes[r.lane];
      if (lane === undefined) continue;
      // Never prune what is not durable, nor past what is held.
      let to = Math.min(r.first, lane.durableNext);
      if (to === r.next && to > 0) {
        const prev = lane.blocks.get(to - 1);
        const tipMatches =
          prev !== undefined
            ? bytesEqual(prev.hash, r.lastHash)
            : to === lane.next && lane.tipHash !== null && bytesEqual(lane.tipHash, r.lastHash);
        if (!tipMatches) to = prev !== undefined ? to - 1 : lane.first;
      }
      if (to <= lane.first) continue;
      for (let n = lane.first; n < to; n++) lane.blocks.delete(n);
      lane.first = to;
      out.push({
        kind: "persist",
        id: this.#nextWriteId++,
        write: { kind: "pruneLane", lane: lane.lane, before: to },
        release: [],
      });
    }
  }

  /**
   * Lost messages: re-send the durable own votes the next proposal needs
   * (below) and the latest durable own vote of every lane not yet certified,
   * re-push the latest durable own block, and make good the own lane's
   * certifications (#reannounceOwn). Identical bytes, so re-sending is
   * always safe.
   */
  #retransmit(nowMs: number, out: LanesEffect[]): void {
    this.#lastRetransmitAtMs = nowMs;
    for (const lane of this.#lanes) {
      // Where voters cannot certify alone the owner's own vote never leaves the node (vote-routing.ts).
      const ownVoteStaysHome = lane.lane === this.me && !this.#votersCertifyAlone;
      if (this.me !== null && !ownVoteStaysHome) {
        const numbers = this.#votesToResend(lane);
        if (numbers.length > 0) out.push({ kind: "resend", release: numbers.map((n) => this.#signVote(lane, n)) });
      }
      if (lane.lane === this.me) {
        this.#pushLatestOwn(lane, out);
        this.#reannounceOwn(lane, out);
      }
      const floor = lane.lane === this.me ? this.#ownLaneFloor : 0;
      if (lane.ahead.size > 0 || lane.next < lane.finalizedNext || lane.next < floor) {
        const upTo = Math.max(lane.finalizedNext, floor, ...lane.ahead.keys());
        this.#fetchGap(lane, upTo, nowMs, out);
      }
    }
  }

  /**
   * A leader can only use a LaneQC within maxBlocksPerLane of the finalized
   * tip. Every own vote in that reach above its highest certified number is
   * re-sent until certified, and the newest vote too. After a full restart
   * the in-order re-votes of start() went out while no peer was connected,
   * and a LaneQC on the newest block alone is out of reach when the lane is
   * more than maxBlocksPerLane ahead of finality: without this the lane
   * would stick. At most maxBlocksPerLane + 1 votes per lane and period.
   */
  #votesToResend(lane: LaneState): number[] {
    const from = Math.max(lane.finalizedNext, lane.first);
    const newest = this.#releasedVotesNext(lane) - 1;
    const top = Math.min(newest, lane.finalizedNext + this.committee.params.maxBlocksPerLane - 1);
    let low = from;
    for (let n = top; n >= from; n--) {
      if (lane.certified.has(n)) {
        low = n + 1;
        break;
      }
    }
    const numbers: number[] = [];
    for (let n = low; n <= top; n++) if (lane.blocks.has(n)) numbers.push(n);
    if (newest > top && !lane.certified.has(newest) && lane.blocks.has(newest)) numbers.push(newest);
    // Where voters certify alone, this node's certification says nothing of the
    // owner's: its vote is the one the owner needs, and no relay repairs a lost
    // send on the owner's topic. The newest one again while it is not final.
    const forOwner = this.#votersCertifyAlone && lane.lane !== this.me;
    if (forOwner && newest >= from && lane.blocks.has(newest) && !numbers.includes(newest)) numbers.push(newest);
    return numbers;
  }

  /** Own votes below this number were released: their blocks are durable and voted in order. */
  #releasedVotesNext(lane: LaneState): number {
    return Math.min(lane.votedNext, lane.durableNext);
  }

  /**
   * What lets the other members certify the own lane's blocks, once more:
   * for the newest certified block that is not final, and for the highest
   * one a proposal can use (within maxBlocksPerLane of the finalized tip),
   * the owner's own vote where voters certify from it, else the LaneQC. A
   * member that missed them (a lost message, a restart, an HA takeover)
   * would otherwise never certify those blocks: no other vote reaches it,
   * and the owner ignores the votes it re-sends as redundant. At most two
   * messages per member and period.
   */
  #reannounceOwn(lane: LaneState, out: LanesEffect[]): void {
    for (const n of this.#ownQcs.keys()) if (n < lane.finalizedNext) this.#ownQcs.delete(n);
    const newest = lane.certifiedNext - 1;
    const reach = lane.finalizedNext + this.committee.params.maxBlocksPerLane - 1;
    let inReach = Math.min(newest, reach);
    while (inReach >= lane.finalizedNext && !lane.certified.has(inReach)) inReach--;
    for (const n of new Set([newest, inReach])) {
      if (n < lane.finalizedNext || !lane.certified.has(n)) continue;
      if (!this.#votersCertifyAlone) {
        const qc = this.#ownQcs.get(n);
        if (qc !== undefined) out.push({ kind: "announceLaneQc", qc });
      } else if (n < this.#releasedVotesNext(lane) && lane.blocks.has(n)) {
        // Only a vote already released: re-sending cannot run ahead of the outbox.
        out.push({ kind: "resend", release: [this.#signVote(lane, n)] });
      }
    }
  }

  #pushLatestOwn(lane: LaneState, out: LanesEffect[]): void {
    const last = lane.durableNext - 1;
    // Not certified, so not final: its bytes are held.
    const block = last >= lane.certifiedNext ? lane.blocks.get(last)?.block : undefined;
    if (block) out.push({ kind: "resend", release: [{ kind: "laneBlock", msg: block }] });
  }

  #armTimer(nowMs: number, out: LanesEffect[]): void {
    let deadline = this.#lastRetransmitAtMs + this.#config.retransmitMs;
    // The production deadline only while a block may be made: with the
    // window full (in blocks or in bytes) it is always past, and would
    // re-arm the timer 1 ms ahead forever. Finality (the input that frees
    // the window) produces at once.
    const oldest = this.#mempool.oldestAtMs;
    if (oldest !== null && this.#productionParent() !== null && this.#byteWindowRoom(this.#lanes[this.me!]!) > 0)
      deadline = Math.min(deadline, this.#blockDelay.cutAtMs(oldest, nowMs));
    deadline = Math.max(deadline, nowMs + 1);
    if (this.#timerAtMs !== null && this.#timerAtMs <= deadline) return;
    this.#timerAtMs = deadline;
    out.push({ kind: "setTimer", deadlineMs: deadline });
  }
}
