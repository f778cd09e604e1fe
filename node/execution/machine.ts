import { type Committee, verifySigned } from "../committee/index.ts";
import type { Signer, VerifyCache } from "../crypto/index.ts";
import {
  type AppQc,
  type AppVote,
  appVoteSigningBody,
  bytesEqual,
  type CommitQc,
  DOMAINS,
  forEachTx,
  type GlobalBlock,
  headerHash,
  type LaneBlock,
  type RecoveredState,
  type SignedMessage,
  toHex,
  txHashList,
  ZERO_HASH,
} from "../types/index.ts";
import type { App } from "./app.ts";
import { AppVoteBook } from "./app-votes.ts";
import { assembleGlobalBlock, type BlockLookup } from "./assembly.ts";
import type { ExecutionConfig, ExecutionCounters, ExecutionEffect, ExecutionInput } from "./types.ts";

/** Finalized indexes waiting for execution; the driver keeps sync within it. */
export const MAX_PENDING = 1024;
/** Fetched lane blocks held until their index executes (only certified ones, see #addToPool). */
const MAX_POOL_BLOCKS = 4096;
/** Bytes of pooled lane blocks. */
const MAX_POOL_BYTES = 256 * 1024 * 1024;
/** Recent own app hashes and CommitQCs kept for AppQC checks and anchors. */
const MAX_RECENT = 512;
/**
 * App votes are kept for indexes up to this far beyond the highest index
 * this node knows to be final: an honest member votes only on an index it
 * executed, so a vote further ahead than the finality lag can never be used.
 */
export const MAX_APP_VOTES_AHEAD = 64;

export interface ExecutionMachineOptions {
  committee: Committee;
  me: number | null;
  signer: Signer | null;
  config: ExecutionConfig;
  app: App;
  recovered: Pick<RecoveredState, "commitQcs" | "anchor" | "app" | "chainTip">;
  /** Held lane blocks (the lanes machine). */
  lookup: BlockLookup;
  verifyCache?: VerifyCache;
}

/**
 * Execution (DESIGN section 7): takes finalized CommitQCs in order, builds
 * each global block from the certified lane blocks, applies it to the app,
 * persists app state with index and hash in one batch, with the app vote as
 * that write's release (the outbox sends it once durable). Aggregates AppQCs; a quorum hash that differs from ours halts
 * the node. Writes pruning anchors.
 */
export class ExecutionMachine {
  readonly committee: Committee;
  readonly me: number | null;
  readonly counters: ExecutionCounters = {
    executed: 0,
    txs: 0,
    voidRanges: 0,
    appQcs: 0,
    anchors: 0,
    appVotesDropped: 0,
    poolDropped: 0,
  };
  readonly #signer: Signer | null;
  readonly #config: ExecutionConfig;
  readonly #app: App;
  readonly #lookup: BlockLookup;
  readonly #cache: VerifyCache | undefined;
  readonly #votes: AppVoteBook;

  #executedIndex: number;
  #appHash: Uint8Array;
  #tipHashes: Uint8Array[];
  #chainTip: number;
  #pending: CommitQc[] = [];
  #pool = new Map<string, { block: LaneBlock; index: number; bytes: number }>();
  #poolBytes = 0;
  #ownHashes = new Map<number, Uint8Array>();
  #durableIndex: number;
  #commitQcs = new Map<number, CommitQc>();
  #appQcs = new Map<number, AppQc>();
  #writes = new Map<number, { block: GlobalBlock; appHash: Uint8Array; txHashes: Uint8Array }>();
  #anchorWrite: { id: number; anchor: { commitQc: CommitQc; appQc: AppQc } } | null = null;
  #lastAnchorIndex: number;
  #halted: string | null = null;
  #lastFetchAtMs = Number.NEGATIVE_INFINITY;
  #nextWriteId = 0;

  constructor(opts: ExecutionMachineOptions) {
    if ((opts.me === null) !== (opts.signer === null)) throw new Error("a validator needs a signer; an observer none");
    this.committee = opts.committee;
    this.me = opts.me;
    this.#signer = opts.signer;
    this.#config = opts.config;
    this.#app = opts.app;
    this.#lookup = opts.lookup;
    this.#cache = opts.verifyCache;
    this.#votes = new AppVoteBook(opts.committee);
    const r = opts.recovered;
    this.#executedIndex = r.app.executedIndex;
    this.#durableIndex = r.app.executedIndex;
    this.#appHash = r.app.appHash;
    this.#chainTip = r.chainTip;
    this.#lastAnchorIndex = r.anchor?.commitQc.proposal.view.index ?? 0;
    const known = [...(r.anchor ? [r.anchor.commitQc] : []), ...r.commitQcs];
    for (const qc of known) this.#remember(qc);
    const executedQc = known.find((qc) => qc.proposal.view.index === this.#executedIndex);
    if (this.#executedIndex > 0 && executedQc === undefined) {
      throw new Error(`executed index ${this.#executedIndex} has no CommitQC in the recovered state`);
    }
    this.#tipHashes = this.committee.members.map((_, lane) => executedQc?.proposal.ranges[lane]?.lastHash ?? ZERO_HASH);
    this.#ownHashes.set(this.#executedIndex, this.#appHash);
    // Finalized but not yet executed before the crash: execute now, in order.
    this.#pending = r.commitQcs.filter((qc) => qc.proposal.view.index > this.#executedIndex);
  }

  get executedIndex(): number {
    return this.#executedIndex;
  }

  get appHash(): Uint8Array {
    return this.#appHash;
  }

  get halted(): string | null {
    return this.#halted;
  }

  /** Effects right after start: re-send the identical app vote of the last executed index, if it is a checkpoint. */
  start(nowMs: number): ExecutionEffect[] {
    const out: ExecutionEffect[] = [];
    if (this.me !== null && this.committee.appVotesAt(this.#executedIndex))
      out.push({ kind: "resend", release: [this.#sign(this.#executedIndex, this.#appHash)] });
    this.#run(nowMs, out);
    return out;
  }

  step(input: ExecutionInput, nowMs: number): ExecutionEffect[] {
    if (this.#halted !== null) return [];
    const out: ExecutionEffect[] = [];
    switch (input.kind) {
      case "finalized": {
        const index = input.qc.proposal.view.index;
        const last = this.#pending.at(-1)?.proposal.view.index ?? this.#executedIndex;
        if (index !== last + 1) {
          if (index > last + 1)
            out.push({ kind: "event", level: "error", msg: "finalized index out of order", data: { index, last } });
          break;
        }
        if (this.#pending.length >= MAX_PENDING) {
          // Dropping the index would stall execution for good (every later
          // one is out of order). The driver keeps catch-up within this
          // bound, so this means blocks are missing for too long: stop, and
          // the restart resumes from the CommitQC WAL.
          this.#halt(
            `execution is ${MAX_PENDING} indexes behind finality (blocks of index ${this.#executedIndex + 1} are missing); restart the node to resume from its CommitQC WAL`,
            out,
          );
          break;
        }
        this.#pending.push(input.qc);
        this.#remember(input.qc);
        break;
      }
      case "blocks":
        this.#addToPool(input.blocks);
        break;
      case "appVote":
        this.#onAppVote(input.vote, input.verified === true, out);
        break;
      case "durable":
        this.#onDurable(input.id, out);
        break;
      case "timer":
        break;
    }
    this.#run(nowMs, out);
    return out;
  }

  // ---- executing finalized indexes ----

  #run(nowMs: number, out: ExecutionEffect[]): void {
    while (this.#halted === null && this.#pending.length > 0) {
      const qc = this.#pending[0]!;
      const assembled = assembleGlobalBlock(qc, this.#tipHashes, this.#lookup, this.#poolView);
      if (!assembled.ok) {
        if (nowMs - this.#lastFetchAtMs >= this.#config.fetchRetryMs) {
          this.#lastFetchAtMs = nowMs;
          for (const m of assembled.missing) out.push({ kind: "fetchLaneBlocks", ...m });
        }
        out.push({ kind: "setTimer", deadlineMs: this.#lastFetchAtMs + this.#config.fetchRetryMs });
        return;
      }
      this.#pending.shift();
      this.#execute(qc, assembled.blocks, assembled.voidLanes, out);
    }
  }

  #execute(qc: CommitQc, blocks: LaneBlock[], voidLanes: number[], out: ExecutionEffect[]): void {
    const index = qc.proposal.view.index;
    for (const lane of voidLanes) {
      this.counters.voidRanges++;
      out.push({
        kind: "event",
        level: "warn",
        msg: "void lane range: certified blocks do not link to the finalized tip",
        data: { index, lane },
      });
    }
    this.#app.beginBlock(index, this.#appHash);
    let txs = 0;
    for (const b of blocks) {
      if (voidLanes.includes(b.header.lane)) continue;
      forEachTx(b.payload, this.#apply);
      txs += b.header.txCount;
    }
    const appHash = this.#app.hash();
    const writes = this.#app.takeWrites();
    const block: GlobalBlock = { index, commitQc: qc, blocks };
    // Every tx of the block hashed once per node: here, or for the own
    // lane's blocks at admission (txHashList takes those). The chain's tx
    // index, the pending map and the API's event stream share this list.
    const txHashes = txHashList(blocks);
    if (index > this.#chainTip) {
      out.push({
        kind: "persist",
        id: this.#nextWriteId++,
        write: { kind: "globalBlock", block, voidLanes, txHashes },
        release: [],
      });
      this.#chainTip = index;
    }
    // App state, executed index and hash in one write; the app vote (at a
    // checkpoint index, Committee.appVotesAt) waits for it.
    const id = this.#nextWriteId++;
    this.#writes.set(id, { block, appHash, txHashes });
    out.push({
      kind: "persist",
      id,
      write: { kind: "appState", index, appHash, puts: writes.puts, dels: writes.dels },
      release: this.me !== null && this.committee.appVotesAt(index) ? [this.#sign(index, appHash)] : [],
    });
    this.#executedIndex = index;
    this.#appHash = appHash;
    for (const r of qc.proposal.ranges) this.#tipHashes[r.lane] = r.lastHash;
    this.#setRecent(this.#ownHashes, index, appHash);
    this.counters.executed++;
    this.counters.txs += txs;
    for (const [key, e] of this.#pool) if (e.index <= index || this.#belowExecuted(e.block)) this.#poolDelete(key);
    const qcForIndex = this.#appQcs.get(index);
    if (qcForIndex !== undefined) this.#checkAppQc(qcForIndex, out);
  }

  #belowExecuted(b: LaneBlock): boolean {
    const last = this.#commitQcs.get(this.#executedIndex);
    const r = last?.proposal.ranges[b.header.lane];
    return r !== undefined && b.header.number < r.next;
  }

  /**
   * Takes fetched blocks into the pool only when they are exactly the
   * certified ones a pending index still misses: walking each pending range
   * back from its certified lastHash through what is held, the first missing
   * hash is wanted; a block with that hash is taken and its parent becomes
   * wanted. Anything else (another branch of an equivocating owner, junk in
   * a range) is refused, so the pool holds only certified blocks. Blocks of
   * one response are matched highest number first.
   */
  #addToPool(blocks: LaneBlock[]): void {
    if (this.#pending.length === 0 || blocks.length === 0) return;
    const wanted = this.#wantedHashes(new Set(blocks.map((b) => b.header.lane)));
    const sorted = blocks.length > 1 ? [...blocks].sort((a, b) => b.header.number - a.header.number) : blocks;
    for (const b of sorted) {
      const hex = toHex(headerHash(b.header));
      const w = wanted.get(hex);
      if (w === undefined || w.lane !== b.header.lane || w.number !== b.header.number) {
        this.counters.poolDropped++;
        continue;
      }
      wanted.delete(hex);
      if (!this.#poolAdd(hex, b, w.index)) continue;
      if (w.number > w.first) wanted.set(toHex(b.header.parent), { ...w, number: w.number - 1 });
    }
  }

  /** Per pending range, the hash of the highest certified block neither held nor pooled. */
  #wantedHashes(lanes: Set<number>): Map<string, { lane: number; number: number; first: number; index: number }> {
    const wanted = new Map<string, { lane: number; number: number; first: number; index: number }>();
    for (const qc of this.#pending) {
      const index = qc.proposal.view.index;
      for (const r of qc.proposal.ranges) {
        if (!lanes.has(r.lane)) continue;
        let expected = r.lastHash;
        for (let n = r.next - 1; n >= r.first; n--) {
          const held = this.#lookup(r.lane, n);
          const hex = toHex(expected);
          const block =
            held !== undefined && bytesEqual(headerHash(held.header), expected) ? held : this.#pool.get(hex)?.block;
          if (block === undefined) {
            wanted.set(hex, { lane: r.lane, number: n, first: r.first, index });
            break;
          }
          expected = block.header.parent;
        }
      }
    }
    return wanted;
  }

  /**
   * Pool bound in count and bytes. When full, the block of the furthest
   * index goes, never one the next index to execute needs.
   */
  #poolAdd(hex: string, block: LaneBlock, index: number): boolean {
    const bytes = laneBlockBytes(block);
    while (this.#pool.size >= MAX_POOL_BLOCKS || this.#poolBytes + bytes > MAX_POOL_BYTES) {
      let worst: string | null = null;
      let worstIndex = index;
      for (const [k, e] of this.#pool) {
        if (e.index > worstIndex) {
          worst = k;
          worstIndex = e.index;
        }
      }
      if (worst === null) {
        this.counters.poolDropped++;
        return false;
      }
      this.#poolDelete(worst);
      this.counters.poolDropped++;
    }
    this.#pool.set(hex, { block, index, bytes });
    this.#poolBytes += bytes;
    return true;
  }

  #poolDelete(hex: string): void {
    const e = this.#pool.get(hex);
    if (e === undefined) return;
    this.#pool.delete(hex);
    this.#poolBytes -= e.bytes;
  }

  #onDurable(id: number, out: ExecutionEffect[]): void {
    if (this.#anchorWrite?.id === id) {
      const anchor = this.#anchorWrite.anchor;
      this.#anchorWrite = null;
      const k = anchor.commitQc.proposal.view.index;
      this.counters.anchors++;
      // Only after the anchor is durable may anything below it go.
      out.push({ kind: "persist", id: this.#nextWriteId++, write: { kind: "pruneCommitQcs", before: k }, release: [] });
      out.push({
        kind: "anchored",
        anchor,
      });
      for (const i of [...this.#commitQcs.keys()]) if (i < k) this.#commitQcs.delete(i);
      return;
    }
    const w = this.#writes.get(id);
    if (w === undefined) return;
    this.#writes.delete(id);
    this.#durableIndex = w.block.index;
    out.push({ kind: "deliver", block: w.block, appHash: w.appHash, txHashes: w.txHashes });
    this.#maybeAnchor(out);
  }

  // ---- app votes, AppQCs, divergence, anchors ----

  #sign(index: number, appHash: Uint8Array): SignedMessage {
    const body = { index, appHash };
    const vote: AppVote = {
      body,
      signer: this.me!,
      signature: this.#signer!.sign(DOMAINS.appVote, appVoteSigningBody(body)),
    };
    return { kind: "appVote", msg: vote };
  }

  #onAppVote(vote: AppVote, verified: boolean, out: ExecutionEffect[]): void {
    if (!this.committee.isMember(vote.signer)) return;
    const window = this.#appVoteWindow();
    if (vote.body.index < window.low || vote.body.index > window.high) {
      this.counters.appVotesDropped++;
      return;
    }
    if (!verified) {
      const check = verifySigned(this.committee, { kind: "appVote", msg: vote }, this.#cache);
      if (!check.ok) {
        const data = { signer: vote.signer, index: vote.body.index, reason: check.reason };
        out.push({ kind: "event", level: "warn", msg: "app vote refused", data });
        return;
      }
    }
    const qc = this.#votes.add(vote, window);
    if (qc === null) return;
    this.counters.appQcs++;
    this.#setRecent(this.#appQcs, qc.body.index, qc);
    this.#checkAppQc(qc, out);
    this.#maybeAnchor(out);
  }

  /**
   * App votes this node can act on: indexes not yet anchored and at most
   * MAX_RECENT below the executed one, up to MAX_APP_VOTES_AHEAD beyond the
   * highest index known to be final.
   */
  #appVoteWindow(): { low: number; high: number } {
    const finalized = this.#pending.at(-1)?.proposal.view.index ?? this.#executedIndex;
    return {
      low: Math.max(this.#lastAnchorIndex + 1, this.#executedIndex - MAX_RECENT),
      high: finalized + MAX_APP_VOTES_AHEAD,
    };
  }

  /** A quorum agreed on an app hash: ours must be the same, or we stop. */
  #checkAppQc(qc: AppQc, out: ExecutionEffect[]): void {
    const own = this.#ownHashes.get(qc.body.index);
    if (own === undefined || bytesEqual(own, qc.body.appHash)) return;
    this.#halt(
      `app hash divergence at index ${qc.body.index}: local ${toHex(own)}, quorum ${toHex(qc.body.appHash)}`,
      out,
    );
  }

  #halt(reason: string, out: ExecutionEffect[]): void {
    this.#halted = reason;
    out.push({ kind: "event", level: "error", msg: reason });
    out.push({ kind: "halt", reason });
  }

  #maybeAnchor(out: ExecutionEffect[]): void {
    if (this.#anchorWrite !== null) return;
    let best: number | null = null;
    for (const [index, qc] of this.#appQcs) {
      if (index > this.#durableIndex || index < this.#lastAnchorIndex + this.#config.anchorEveryIndexes) continue;
      const own = this.#ownHashes.get(index);
      if (own === undefined || !bytesEqual(own, qc.body.appHash) || !this.#commitQcs.has(index)) continue;
      if (best === null || index > best) best = index;
    }
    if (best === null) return;
    const anchor = { commitQc: this.#commitQcs.get(best)!, appQc: this.#appQcs.get(best)! };
    const id = this.#nextWriteId++;
    this.#anchorWrite = { id, anchor };
    this.#lastAnchorIndex = best;
    for (const i of [...this.#appQcs.keys()]) if (i <= best) this.#appQcs.delete(i);
    this.#votes.dropBelow(best + 1);
    out.push({ kind: "persist", id, write: { kind: "anchor", anchor }, release: [] });
  }

  #remember(qc: CommitQc): void {
    this.#setRecent(this.#commitQcs, qc.proposal.view.index, qc);
  }

  #setRecent<T>(map: Map<number, T>, index: number, value: T): void {
    map.set(index, value);
    if (map.size > MAX_RECENT) map.delete(Math.min(...map.keys()));
  }

  /** Applies one tx (a view into its block's payload) to the app. */
  readonly #apply = (tx: Uint8Array): void => {
    this.#app.apply(tx);
  };

  /** The pool as assembly reads it: by header hash. */
  readonly #poolView = { get: (hex: string) => this.#pool.get(hex)?.block };
}

/** What a held lane block costs: its txs and a fixed header allowance. */
function laneBlockBytes(block: LaneBlock): number {
  const bytes = 256;
  return bytes + block.payload.byteLength;
}
