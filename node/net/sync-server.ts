import type { Connection, Stream } from "@libp2p/interface";
import type { Logger } from "pino";
import { type BatchQc, type CommitQc, codecs, type GlobalBlock, type LaneBlock } from "../types/index.ts";
import { readFrames, writeFrame } from "./framing.ts";
import type { NetLimits } from "./limits.ts";
import type { NetMetrics } from "./metrics.ts";
import { decodeRequest, SYNC_CODE, type SyncRequest, type SyncStatus, syncCodecs } from "./sync-wire.ts";

/**
 * What the runtime serves to syncing peers. Ranges are inclusive and already
 * clamped to the response bound; return the contiguous run held from `first`
 * (possibly shorter, possibly empty). Items may be returned already encoded
 * (straight from storage) to save a re-encode.
 */
export interface SyncServerHandlers {
  status(): SyncStatus | Promise<SyncStatus>;
  commitQcs(first: number, last: number): Array<CommitQc | Uint8Array> | Promise<Array<CommitQc | Uint8Array>>;
  laneBlocks(
    lane: number,
    first: number,
    last: number,
  ): Array<LaneBlock | Uint8Array> | Promise<Array<LaneBlock | Uint8Array>>;
  /** May stop once the items reach `maxBytes` (the response bound): global blocks are large. */
  globalBlocks(
    first: number,
    last: number,
    maxBytes: number,
  ): Array<GlobalBlock | Uint8Array> | Promise<Array<GlobalBlock | Uint8Array>>;
  batchQcs(first: number, last: number): Array<BatchQc | Uint8Array> | Promise<Array<BatchQc | Uint8Array>>;
  /** The lowest global block held (the retention start); a request below it is answered "pruned". */
  globalBlocksFirst?(): number;
}

/** What a request for a range may hold before its size is known; a status request is small. */
const STATUS_RESERVE_BYTES = 64 * 1024;

/**
 * The server's budget over all peers: requests in flight and bytes of
 * responses held (read from storage, not yet written to a slow reader).
 * Committee members may use all of it; other peers only the part not
 * reserved for members, so members are served first when it is scarce.
 */
export class SyncBudget {
  readonly #limits: NetLimits;
  #inflight = 0;
  #bytes = 0;

  constructor(limits: NetLimits) {
    this.#limits = limits;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Takes one request and `bytes`; false (nothing taken) when the peer's share is used up. */
  take(bytes: number, member: boolean): boolean {
    const share = member ? 1 : 1 - this.#limits.syncReservedPercent / 100;
    if (this.#inflight + 1 > Math.floor(this.#limits.maxSyncInflight * share)) return false;
    if (this.#bytes + bytes > Math.floor(this.#limits.maxSyncInflightBytes * share)) return false;
    this.#inflight++;
    this.#bytes += bytes;
    return true;
  }

  /** Gives back part of a request's bytes once its real size is known. */
  shrink(by: number): void {
    this.#bytes -= by;
  }

  release(bytes: number): void {
    this.#inflight--;
    this.#bytes -= bytes;
  }
}

/** Per-peer admission: requests in flight and a token bucket of requests per second. */
class PeerLimiter {
  readonly #limits: NetLimits;
  readonly #peers = new Map<string, { inflight: number; tokens: number; atMs: number }>();

  constructor(limits: NetLimits) {
    this.#limits = limits;
  }

  admit(peer: string, nowMs: number): boolean {
    let s = this.#peers.get(peer);
    if (s === undefined) {
      // Bounded: forget the least recently added peer beyond the connection bound.
      if (this.#peers.size >= this.#limits.maxConnections) {
        const oldest = this.#peers.keys().next().value;
        if (oldest !== undefined) this.#peers.delete(oldest);
      }
      s = { inflight: 0, tokens: this.#limits.maxSyncRequestsPerSecond, atMs: nowMs };
      this.#peers.set(peer, s);
    }
    const rate = this.#limits.maxSyncRequestsPerSecond;
    s.tokens = Math.min(rate, s.tokens + ((nowMs - s.atMs) / 1000) * rate);
    s.atMs = nowMs;
    if (s.inflight >= this.#limits.maxSyncInflightPerPeer || s.tokens < 1) return false;
    s.tokens -= 1;
    s.inflight++;
    return true;
  }

  release(peer: string): void {
    const s = this.#peers.get(peer);
    if (s !== undefined && s.inflight > 0) s.inflight--;
  }

  forget(peer: string): void {
    this.#peers.delete(peer);
  }
}

export class SyncServer {
  readonly #handlers: SyncServerHandlers;
  readonly #limits: NetLimits;
  readonly #metrics: NetMetrics;
  readonly #log: Logger;
  readonly #limiter: PeerLimiter;
  readonly #budget: SyncBudget;
  readonly #isMember: (peer: string) => boolean;

  constructor(
    handlers: SyncServerHandlers,
    limits: NetLimits,
    metrics: NetMetrics,
    log: Logger,
    isMember: (peer: string) => boolean = () => false,
  ) {
    this.#handlers = handlers;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#log = log;
    this.#limiter = new PeerLimiter(limits);
    this.#budget = new SyncBudget(limits);
    this.#isMember = isMember;
  }

  /** The global budget in use (tests, status). */
  get budget(): { inflight: number; bytes: number } {
    return { inflight: this.#budget.inflight, bytes: this.#budget.bytes };
  }

  forgetPeer(peer: string): void {
    this.#limiter.forget(peer);
  }

  handle(stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer.toString();
    const deadline = AbortSignal.timeout(this.#limits.syncTimeoutMs);
    const onTimeout = () => stream.abort(new Error("sync request timed out"));
    deadline.addEventListener("abort", onTimeout, { once: true });
    const done = () => deadline.removeEventListener("abort", onTimeout);
    let got = false;
    readFrames(
      stream,
      syncCodecs.request.maxBytes,
      (frame) => {
        if (got) throw new Error("one request per stream");
        got = true;
        this.#serve(stream, peer, frame, deadline)
          .catch((err: Error) => {
            this.#log.debug({ peer, err: err.message }, "sync response failed");
            stream.abort(err);
          })
          .finally(done);
      },
      (err) => {
        if (got) return;
        done();
        if (err !== undefined) this.#log.debug({ peer, err: err.message }, "sync stream ended before a request");
      },
    );
  }

  async #serve(stream: Stream, peer: string, frame: Uint8Array, signal: AbortSignal): Promise<void> {
    let req: SyncRequest;
    try {
      req = decodeRequest(frame);
    } catch (err) {
      this.#metrics.syncEvent("status", "server", "invalid");
      this.#log.debug({ peer, err: (err as Error).message }, "bad sync request");
      await this.#respondError(stream, SYNC_CODE.badRequest);
      return;
    }
    const first = req.kind === "globalBlocks" ? this.#handlers.globalBlocksFirst?.() : undefined;
    if (req.kind === "globalBlocks" && first !== undefined && req.first < first) {
      // Not an error of the peer's, nor of ours: a clear answer instead of an empty one.
      this.#metrics.syncEvent(req.kind, "server", "pruned");
      await this.#respondError(stream, SYNC_CODE.pruned);
      return;
    }
    if (!this.#limiter.admit(peer, Date.now())) {
      this.#metrics.syncEvent(req.kind, "server", "limited");
      await this.#respondError(stream, SYNC_CODE.rateLimited);
      return;
    }
    let reserved = req.kind === "status" ? STATUS_RESERVE_BYTES : this.#limits.maxSyncResponseBytes;
    if (!this.#budget.take(reserved, this.#isMember(peer))) {
      this.#limiter.release(peer);
      this.#metrics.syncEvent(req.kind, "server", "limited");
      await this.#respondError(stream, SYNC_CODE.rateLimited);
      return;
    }
    try {
      let items: Uint8Array[];
      try {
        items = await this.#items(req);
        // Hold only what the response really takes.
        const bytes = items.reduce((n, i) => n + i.byteLength, 0);
        if (bytes < reserved) {
          this.#budget.shrink(reserved - bytes);
          reserved = bytes;
        }
      } catch (err) {
        this.#metrics.syncEvent(req.kind, "server", "error");
        this.#log.warn({ peer, kind: req.kind, err: (err as Error).message }, "sync handler failed");
        await this.#respondError(stream, SYNC_CODE.unavailable);
        return;
      }
      await writeFrame(stream, syncCodecs.header.encode({ code: SYNC_CODE.ok, items: items.length }), signal);
      for (const item of items) await writeFrame(stream, item, signal);
      await stream.close({ signal });
      this.#metrics.syncEvent(req.kind, "server", "ok");
    } finally {
      this.#budget.release(reserved);
      this.#limiter.release(peer);
    }
  }

  /** Encoded response items, bounded by count and bytes (at least one item when any is held). */
  async #items(req: SyncRequest): Promise<Uint8Array[]> {
    if (req.kind === "status") return [syncCodecs.status.encode(await this.#handlers.status())];
    const last = Math.min(req.last, req.first + this.#limits.maxSyncItems - 1);
    let raw: Array<Uint8Array | CommitQc | LaneBlock | GlobalBlock | BatchQc>;
    let encode: (v: never) => Uint8Array;
    switch (req.kind) {
      case "commitQcs":
        raw = await this.#handlers.commitQcs(req.first, last);
        encode = (v) => codecs.proposalQc.encode(v);
        break;
      case "laneBlocks":
        raw = await this.#handlers.laneBlocks(req.lane, req.first, last);
        encode = (v) => codecs.laneBlock.encode(v);
        break;
      case "globalBlocks":
        raw = await this.#handlers.globalBlocks(req.first, last, this.#limits.maxSyncResponseBytes);
        encode = (v) => codecs.globalBlock.encode(v);
        break;
      case "batchQcs":
        raw = await this.#handlers.batchQcs(req.first, last);
        encode = (v) => codecs.batchQc.encode(v);
        break;
    }
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (const v of raw.slice(0, last - req.first + 1)) {
      const encoded = v instanceof Uint8Array ? v : encode(v as never);
      out.push(encoded);
      bytes += encoded.byteLength;
      if (bytes >= this.#limits.maxSyncResponseBytes) break;
    }
    return out;
  }

  async #respondError(stream: Stream, code: number): Promise<void> {
    try {
      await writeFrame(stream, syncCodecs.header.encode({ code, items: 0 }));
      await stream.close({ signal: AbortSignal.timeout(1000) });
    } catch (err) {
      stream.abort(err as Error);
    }
  }
}
