import type { Connection, PeerId, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Logger } from "pino";
import type { Committee } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import type { LaneBlock } from "../types/index.ts";
import { encodeFrame, readFrames, waitForDrain } from "./framing.ts";
import type { Host } from "./host.ts";
import type { NetLimits } from "./limits.ts";
import type { NetMetrics } from "./metrics.ts";
import { checkLaneBlock } from "./validate.ts";

/**
 * The lane push protocol (DESIGN section 9): the lane owner writes each of
 * its blocks once to every committee member over one long-lived stream per
 * peer, length-prefixed. One bounded queue per peer; a peer whose stream is
 * slow (send() returned false, waiting for drain) or who is not connected
 * simply accumulates in its own queue, the oldest block dropped beyond the
 * bound, so it never blocks the other peers. A dropped block is fetched by
 * the receiver through sync when it notices the gap.
 */
export class PushSender {
  readonly peerId: PeerId;
  readonly #host: Host;
  readonly #protocol: string;
  readonly #limits: NetLimits;
  readonly #metrics: NetMetrics;
  readonly #log: Logger;
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #stream: Stream | undefined;
  #running = false;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  readonly #stop = new AbortController();

  constructor(host: Host, protocol: string, peerId: string, limits: NetLimits, metrics: NetMetrics, log: Logger) {
    this.peerId = peerIdFromString(peerId);
    this.#host = host;
    this.#protocol = protocol;
    this.#limits = limits;
    this.#metrics = metrics;
    this.#log = log.child({ peer: peerId });
  }

  get queuedBlocks(): number {
    return this.#queue.length;
  }

  /** For status and diagnosis: what this peer's push path is doing. */
  state(): {
    peerId: string;
    queuedBlocks: number;
    queuedBytes: number;
    streamOpen: boolean;
    draining: boolean;
    writeBufferBytes: number;
    needsDrain: boolean;
  } {
    return {
      peerId: this.peerId.toString(),
      queuedBlocks: this.#queue.length,
      queuedBytes: this.#queuedBytes,
      streamOpen: this.#stream !== undefined,
      draining: this.#running,
      writeBufferBytes: this.#stream?.writeBufferLength ?? 0,
      needsDrain: this.#stream?.writableNeedsDrain ?? false,
    };
  }

  enqueue(frame: Uint8Array): void {
    if (this.#stopped) return;
    this.#queue.push(frame);
    this.#queuedBytes += frame.byteLength;
    while (
      this.#queue.length > 1 &&
      (this.#queue.length > this.#limits.maxPushQueueBlocks || this.#queuedBytes > this.#limits.maxPushQueueBytes)
    ) {
      const dropped = this.#queue.shift()!;
      this.#queuedBytes -= dropped.byteLength;
      this.#metrics.pushEvent("dropped");
    }
    this.kick();
  }

  /** Starts draining if there is work and the peer is connected (called on enqueue and on connect). */
  kick(): void {
    if (this.#running || this.#stopped || this.#queue.length === 0) return;
    if (this.#host.getConnections(this.peerId).length === 0) return;
    this.#running = true;
    void this.#drainLoop();
  }

  async #drainLoop(): Promise<void> {
    let failed = false;
    try {
      await this.#drain();
    } catch (err) {
      failed = true;
      this.#failures++;
      this.#log.debug({ err: (err as Error).message }, "push stream failed");
      this.#dropStream(err as Error);
      this.#scheduleRetry();
    } finally {
      this.#running = false;
    }
    // Blocks enqueued while the loop was finishing found it still running: pick them up.
    if (!failed) this.kick();
  }

  async #drain(): Promise<void> {
    while (!this.#stopped && this.#queue.length > 0) {
      if (this.#host.getConnections(this.peerId).length === 0) return; // resumed by kick() on connect
      const stream = this.#stream ?? (await this.#open());
      const frame = this.#queue.shift()!;
      this.#queuedBytes -= frame.byteLength;
      // Once send() accepted the frame it is the stream's: if the stream dies the peer syncs it.
      const writable = stream.send(encodeFrame(frame));
      this.#metrics.pushEvent("sent");
      this.#failures = 0;
      if (!writable) await waitForDrain(stream, this.#stop.signal);
    }
  }

  async #open(): Promise<Stream> {
    const stream = await this.#host.dialProtocol(this.peerId, this.#protocol, {
      signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#limits.syncTimeoutMs)]),
    });
    // We never read on this stream; the receiver never writes.
    stream.addEventListener("close", () => {
      if (this.#stream === stream) this.#stream = undefined;
    });
    this.#stream = stream;
    return stream;
  }

  #dropStream(err: Error): void {
    const s = this.#stream;
    this.#stream = undefined;
    s?.abort(err);
  }

  #scheduleRetry(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const delay = Math.min(this.#limits.redialMaxMs, this.#limits.redialMinMs * 2 ** Math.min(this.#failures, 16));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.kick();
    }, delay);
    this.#retryTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort(new Error("network stopping"));
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    const s = this.#stream;
    this.#stream = undefined;
    if (s !== undefined) {
      try {
        await s.close({ signal: AbortSignal.timeout(1000) });
      } catch {
        s.abort(new Error("network stopping"));
      }
    }
  }
}

/**
 * Inbound side: only committee members may push, and only their own lane's
 * blocks. Every block is decoded, size-checked, payload- and
 * signature-checked before the handler sees it; a bad frame aborts the
 * stream (the sender opens a new one).
 */
export function handlePushStream(
  stream: Stream,
  connection: Connection,
  ctx: {
    committee: Committee;
    chainId: string;
    cache: VerifyCache;
    metrics: NetMetrics;
    log: Logger;
    /** The committee member a peer currently pushes for (genesis, or an HA instance's announcement). */
    laneOfPeer(peerId: string): number | undefined;
    onLaneBlock(block: LaneBlock, fromPeer: string): void;
    /** The peer sent an invalid block (rate-limited warning and ban are the caller's). */
    onInvalid?(peer: string, validator: number, reason: string): void;
  },
): void {
  const from = connection.remotePeer.toString();
  const pusher = ctx.laneOfPeer(from);
  if (pusher === undefined) {
    ctx.metrics.pushEvent("rejected");
    ctx.log.debug({ peer: from }, "push stream from a non-member refused");
    stream.abort(new Error("only committee members push lane blocks"));
    return;
  }
  // Frame bound: the chain's block size limit plus the varint header.
  const maxFrameBytes = ctx.committee.params.maxLaneBlockBytes;
  readFrames(
    stream,
    maxFrameBytes,
    (frame) => {
      const checked = checkLaneBlock(frame, ctx.committee, ctx.cache);
      if (checked.verdict !== "accept" || checked.value.header.lane !== pusher) {
        ctx.metrics.pushEvent("rejected");
        const reason = checked.verdict === "accept" ? "wrong_lane" : checked.reason;
        if (ctx.onInvalid !== undefined) ctx.onInvalid(from, pusher, reason);
        else ctx.log.warn({ peer: from, validator: pusher, reason }, "invalid pushed lane block");
        throw new Error(`invalid pushed lane block: ${reason}`);
      }
      ctx.metrics.pushEvent("received");
      try {
        ctx.onLaneBlock(checked.value, from);
      } catch (err) {
        ctx.log.error({ err: (err as Error).message }, "lane block handler threw");
      }
    },
    (err) => {
      if (err !== undefined) ctx.log.debug({ peer: from, err: err.message }, "push stream ended");
    },
  );
}
