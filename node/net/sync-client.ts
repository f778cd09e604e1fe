import type { PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Logger } from "pino";
import { type Committee, checkLaneChain, verifyBatchQc, verifyCommitQc } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import {
  type BatchQc,
  type CommitQc,
  codecs,
  type GlobalBlock,
  type LaneBlock,
  MAX_GLOBAL_BLOCK_BYTES,
} from "../types/index.ts";
import { readFrames, writeFrame } from "./framing.ts";
import type { Host } from "./host.ts";
import type { NetLimits } from "./limits.ts";
import type { NetMetrics, SyncKind } from "./metrics.ts";
import {
  encodeRequest,
  type HeldRange,
  SYNC_CODE,
  type SyncRequest,
  type SyncStatus,
  syncCodecs,
} from "./sync-wire.ts";
import { checkLaneBlock, checkLaneBlockValue } from "./validate.ts";

export class SyncError extends Error {
  readonly outcome: "error" | "timeout" | "limited" | "invalid";
  constructor(outcome: "error" | "timeout" | "limited" | "invalid", message: string) {
    super(message);
    this.name = "SyncError";
    this.outcome = outcome;
  }
}

/** What the runtime calls: "fetch lane L blocks m..n from whoever has them". */
export interface SyncClientApi {
  /** One peer's status; without a peer, the first connected peer that answers. */
  status(peer?: string): Promise<SyncStatus>;
  /** Lane blocks first..last (inclusive), verified and contiguous from `first`; [] when nobody has them. */
  fetchLaneBlocks(lane: number, first: number, last: number): Promise<LaneBlock[]>;
  /** CommitQCs for indexes first..last, each certificate verified; [] when nobody has them. */
  fetchCommitQcs(first: number, last: number): Promise<CommitQc[]>;
  /** Global blocks first..last, each checked against its CommitQC; [] when nobody has them. */
  fetchGlobalBlocks(first: number, last: number): Promise<GlobalBlock[]>;
  /** BatchQCs for batches first..last, each verified against the attesters; [] when nobody has them. */
  fetchBatchQcs(first: number, last: number): Promise<BatchQc[]>;
}

export class SyncClient implements SyncClientApi {
  readonly #host: Host;
  readonly #protocol: string;
  readonly #committee: Committee;
  readonly #chainId: string;
  readonly #cache: VerifyCache;
  readonly #limits: NetLimits;
  readonly #metrics: NetMetrics;
  readonly #log: Logger;
  /** Last status per peer, bounded by the number of connections. */
  readonly #statuses = new Map<string, { status: SyncStatus; atMs: number }>();

  constructor(
    host: Host,
    protocol: string,
    committee: Committee,
    cache: VerifyCache,
    limits: NetLimits,
    metrics: NetMetrics,
    log: Logger,
  ) {
    this.#host = host;
    this.#protocol = protocol;
    this.#committee = committee;
    this.#chainId = committee.chainId;
    this.#cache = cache;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#log = log;
  }

  forgetPeer(peer: string): void {
    this.#statuses.delete(peer);
  }

  async status(peer?: string): Promise<SyncStatus> {
    if (peer !== undefined) return this.#statusOf(peer);
    let last: Error = new SyncError("error", "no connected peer to ask for status");
    for (const p of this.#candidates()) {
      try {
        return await this.#statusOf(p);
      } catch (err) {
        last = err as Error;
      }
    }
    throw last;
  }

  async fetchLaneBlocks(lane: number, first: number, last: number): Promise<LaneBlock[]> {
    assertRange(first, last);
    if (!this.#committee.isMember(lane)) throw new Error(`lane ${lane} is not a committee lane`);
    const req: SyncRequest = { kind: "laneBlocks", lane, first, last };
    return this.#fetch(
      req,
      (s) => s.lanes.find((l) => l.lane === lane),
      this.#committee.params.maxLaneBlockBytes,
      (frames) => this.#verifyLaneBlocks(lane, first, frames),
    );
  }

  async fetchCommitQcs(first: number, last: number): Promise<CommitQc[]> {
    assertRange(first, last);
    return this.#fetch(
      { kind: "commitQcs", first, last },
      (s) => s.commitQcs,
      codecs.proposalQc.maxBytes,
      (frames) => this.#verifyCommitQcs(first, frames),
    );
  }

  async fetchGlobalBlocks(first: number, last: number): Promise<GlobalBlock[]> {
    assertRange(first, last);
    const p = this.#committee.params;
    const bound = Math.min(
      MAX_GLOBAL_BLOCK_BYTES,
      this.#committee.size * p.maxBlocksPerLane * p.maxLaneBlockBytes + 2 ** 21,
    );
    return this.#fetch(
      { kind: "globalBlocks", first, last },
      (s) => s.globalBlocks,
      bound,
      (frames) => this.#verifyGlobalBlocks(first, frames),
    );
  }

  async fetchBatchQcs(first: number, last: number): Promise<BatchQc[]> {
    assertRange(first, last);
    return this.#fetch(
      { kind: "batchQcs", first, last },
      (s) => s.batchQcs,
      codecs.batchQc.maxBytes,
      (frames) =>
        frames.map((frame, i) => {
          let qc: BatchQc;
          try {
            qc = codecs.batchQc.decode(frame);
          } catch (err) {
            throw new SyncError("invalid", (err as Error).message);
          }
          if (qc.body.number !== first + i) throw new SyncError("invalid", `expected BatchQC ${first + i}`);
          const check = verifyBatchQc(this.#committee, qc, this.#cache);
          if (!check.ok) throw new SyncError("invalid", check.reason);
          return qc;
        }),
    );
  }

  /** Connected peers, committee members first, rotated so load spreads. */
  #candidates(): string[] {
    const peers = this.#host.getPeers().map((p) => p.toString());
    const members = peers.filter((p) => this.#committee.indexOfPeerId(p) !== undefined);
    const others = peers.filter((p) => this.#committee.indexOfPeerId(p) === undefined);
    const shift = members.length > 0 ? Math.floor(Math.random() * members.length) : 0;
    return [...members.slice(shift), ...members.slice(0, shift), ...others];
  }

  async #statusOf(peer: string): Promise<SyncStatus> {
    const frames = await this.#request(peer, { kind: "status" }, syncCodecs.status.maxBytes);
    if (frames.length !== 1) {
      this.#metrics.syncEvent("status", "client", "invalid");
      throw new SyncError("invalid", `status from ${peer} had ${frames.length} items`);
    }
    let status: SyncStatus;
    try {
      status = syncCodecs.status.decode(frames[0]!);
    } catch (err) {
      this.#metrics.syncEvent("status", "client", "invalid");
      throw new SyncError("invalid", `status from ${peer}: ${(err as Error).message}`);
    }
    if (this.#statuses.size >= this.#limits.maxConnections) this.#statuses.clear();
    this.#statuses.set(peer, { status, atMs: Date.now() });
    return status;
  }

  /**
   * Tries peers in turn: a peer whose fresh status says it lacks `first` is
   * skipped; the first valid non-empty answer wins. Failures are counted and
   * logged, never thrown: the caller gets [] and retries on its own schedule.
   */
  async #fetch<T>(
    req: Exclude<SyncRequest, { kind: "status" }>,
    held: (s: SyncStatus) => HeldRange | undefined,
    maxItemBytes: number,
    verify: (frames: Uint8Array[]) => T[],
  ): Promise<T[]> {
    for (const peer of this.#candidates()) {
      try {
        let cached = this.#statuses.get(peer);
        if (cached === undefined || Date.now() - cached.atMs > this.#limits.syncStatusTtlMs) {
          cached = { status: await this.#statusOf(peer), atMs: Date.now() };
        }
        const range = held(cached.status);
        if (range === undefined || req.first < range.first || req.first >= range.next) continue;
        const frames = await this.#request(peer, req, maxItemBytes);
        const items = verify(frames);
        if (items.length > 0) {
          this.#metrics.syncEvent(req.kind, "client", "ok");
          return items;
        }
      } catch (err) {
        if (err instanceof SyncError && err.outcome === "invalid")
          this.#metrics.syncEvent(req.kind, "client", "invalid");
        this.#log.debug({ peer, kind: req.kind, err: (err as Error).message }, "sync fetch from peer failed");
      }
    }
    return [];
  }

  /** One request on a fresh stream; resolves with the item frames. */
  async #request(peer: string, req: SyncRequest, maxItemBytes: number): Promise<Uint8Array[]> {
    const kind: SyncKind = req.kind;
    const signal = AbortSignal.timeout(this.#limits.syncTimeoutMs);
    let peerId: PeerId;
    try {
      peerId = peerIdFromString(peer);
    } catch {
      throw new SyncError("error", `not a peer id: ${peer}`);
    }
    let stream: Stream;
    try {
      stream = await this.#host.dialProtocol(peerId, this.#protocol, { signal });
    } catch (err) {
      const outcome = signal.aborted ? "timeout" : "error";
      this.#metrics.syncEvent(kind, "client", outcome);
      throw new SyncError(outcome, `cannot open sync stream to ${peer}: ${(err as Error).message}`);
    }
    const maxItems = req.kind === "status" ? 1 : Math.min(req.last - req.first + 1, this.#limits.maxSyncItems);
    const result = Promise.withResolvers<Uint8Array[]>();
    const frames: Uint8Array[] = [];
    let expected: number | undefined;
    let bytes = 0;
    let settled = false;
    const fail = (outcome: SyncError["outcome"], message: string) => {
      if (settled) return;
      settled = true;
      this.#metrics.syncEvent(kind, "client", outcome);
      const err = new SyncError(outcome, `sync ${kind} from ${peer}: ${message}`);
      stream.abort(err);
      result.reject(err);
    };
    const onAbort = () => fail("timeout", `no complete answer within ${this.#limits.syncTimeoutMs} ms`);
    signal.addEventListener("abort", onAbort, { once: true });
    readFrames(
      stream,
      Math.max(maxItemBytes, syncCodecs.header.maxBytes),
      (frame) => {
        if (expected === undefined) {
          const header = syncCodecs.header.decode(frame);
          if (header.code === SYNC_CODE.rateLimited) return fail("limited", "rate limited");
          if (header.code === SYNC_CODE.pruned) {
            return fail("error", "the peer pruned that range (storage.retainIndexes): it holds only newer blocks");
          }
          if (header.code !== SYNC_CODE.ok) return fail("error", `server answered code ${header.code}`);
          if (header.items > maxItems) return fail("invalid", `${header.items} items for at most ${maxItems}`);
          expected = header.items;
        } else {
          frames.push(frame);
          bytes += frame.byteLength;
          if (frames.length > expected) return fail("invalid", "more items than announced");
          // The server stops after the item that crosses its byte bound.
          if (bytes - frame.byteLength >= this.#limits.maxSyncResponseBytes)
            return fail("invalid", "response too large");
        }
        if (expected !== undefined && frames.length === expected && !settled) {
          settled = true;
          signal.removeEventListener("abort", onAbort);
          result.resolve(frames);
        }
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        if (!settled) fail(signal.aborted ? "timeout" : "error", `ended early${err ? `: ${err.message}` : ""}`);
      },
    );
    try {
      await writeFrame(stream, encodeRequest(req), signal);
      await stream.close({ signal });
    } catch (err) {
      if (!signal.aborted) fail("error", `cannot send request: ${(err as Error).message}`);
    }
    return result.promise;
  }

  #verifyLaneBlocks(lane: number, first: number, frames: Uint8Array[]): LaneBlock[] {
    const out = frames.map((frame) => {
      const checked = checkLaneBlock(frame, this.#committee, this.#cache);
      if (checked.verdict !== "accept") throw new SyncError("invalid", `lane block: ${checked.reason}`);
      return checked.value;
    });
    // The first block's parent is not ours to know here; the lanes machine links it to its tip.
    const broken = checkLaneChain(out, { lane, first, parent: null });
    if (broken !== null) throw new SyncError("invalid", broken);
    return out;
  }

  #verifyCommitQcs(first: number, frames: Uint8Array[]): CommitQc[] {
    return frames.map((frame, i) => {
      let qc: CommitQc;
      try {
        qc = codecs.proposalQc.decode(frame);
      } catch (err) {
        throw new SyncError("invalid", (err as Error).message);
      }
      if (qc.proposal.view.index !== first + i) throw new SyncError("invalid", `expected CommitQC ${first + i}`);
      const check = verifyCommitQc(this.#committee, qc, this.#cache);
      if (!check.ok) throw new SyncError("invalid", check.reason);
      return qc;
    });
  }

  /**
   * A global block must carry a valid CommitQC for its index, and its lane
   * blocks must be exactly the ranges of that CommitQC's proposal, in
   * committee order, each signed by its owner, hash-linked, ending at lastHash.
   */
  #verifyGlobalBlocks(first: number, frames: Uint8Array[]): GlobalBlock[] {
    return frames.map((frame, i) => {
      let g: GlobalBlock;
      try {
        g = codecs.globalBlock.decode(frame);
      } catch (err) {
        throw new SyncError("invalid", (err as Error).message);
      }
      const index = first + i;
      if (g.index !== index || g.commitQc.proposal.view.index !== index)
        throw new SyncError("invalid", `expected global block ${index}`);
      const check = verifyCommitQc(this.#committee, g.commitQc, this.#cache);
      if (!check.ok) throw new SyncError("invalid", `global block ${index}: ${check.reason}`);
      let at = 0;
      for (const range of g.commitQc.proposal.ranges) {
        const run = g.blocks.slice(at, at + (range.next - range.first));
        at += range.next - range.first;
        if (run.length !== range.next - range.first)
          throw new SyncError(
            "invalid",
            `global block ${index}: expected lane ${range.lane} block ${range.first + run.length}`,
          );
        // The first block's parent may be on a voided branch: only the run must link and end at lastHash.
        const broken = checkLaneChain(run, {
          lane: range.lane,
          first: range.first,
          parent: null,
          last: range.lastHash,
        });
        if (broken !== null) throw new SyncError("invalid", `global block ${index}: ${broken}`);
        for (const b of run) {
          const checked = checkLaneBlockValue(b, this.#committee, this.#cache);
          if (checked.verdict !== "accept")
            throw new SyncError("invalid", `global block ${index}: lane block ${checked.reason}`);
        }
      }
      if (at !== g.blocks.length) throw new SyncError("invalid", `global block ${index}: extra lane blocks`);
      return g;
    });
  }
}

function assertRange(first: number, last: number): void {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first) {
    throw new Error(`invalid sync range ${first}..${last}`);
  }
}
