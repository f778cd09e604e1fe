import type { ServerResponse } from "node:http";

/**
 * Finality pushed to clients: `GET /events` is a server-sent-events stream
 * of finalized indexes with their tx hashes.
 *
 * The runtime calls `publish` from its loop when a block is executed; that
 * is one bounded enqueue and nothing per client. The fan-out runs later, off
 * the loop's turn (setImmediate): each block's frame is serialized once from
 * the tx hashes execution computed, then written to every stream. A stream whose socket
 * does not drain holds at most `bufferEvents` frames of its own; one more and
 * it is disconnected (the client sees the stream end and may reconnect and
 * catch up from GET /blocks/:index). Nothing is buffered without limit.
 */

export interface EventHubOptions {
  /** Most concurrent streams; one more is refused with 503. */
  maxStreams: number;
  /** Frames one stream may hold while its socket is not draining. */
  bufferEvents: number;
  /** Called with the reason when a stream is cut off or refused (a metric). */
  onDrop?: (reason: "slow_client" | "too_many_streams" | "hub_overflow") => void;
}

/** Blocks published and not yet fanned out; beyond it every stream is cut off (they would see a gap). */
export const MAX_PENDING_BLOCKS = 1024;

interface Pending {
  index: number;
  /** The block's tx hashes in order, hex, as the node computed them once. */
  txHashes: readonly string[];
}

/** One SSE frame: `id` is the index, `event: finalized`, data is JSON `{index, txHashes}`. */
export function finalizedFrame(index: number, txHashes: readonly string[]): string {
  return `id: ${index}\nevent: finalized\ndata: ${JSON.stringify({ index, txHashes })}\n\n`;
}

class Stream {
  readonly res: ServerResponse;
  readonly #queue: string[] = [];
  #waiting = false;
  closed = false;

  constructor(res: ServerResponse) {
    this.res = res;
    res.on("drain", () => this.#drain());
  }

  /** Writes or queues a frame; false when the queue is over `bufferEvents` (the caller cuts the stream off). */
  push(frame: string, bufferEvents: number): boolean {
    if (this.closed) return true;
    if (!this.#waiting) {
      this.#waiting = !this.res.write(frame);
      return true;
    }
    if (this.#queue.length >= bufferEvents) return false;
    this.#queue.push(frame);
    return true;
  }

  #drain(): void {
    this.#waiting = false;
    while (this.#queue.length > 0 && !this.#waiting) {
      this.#waiting = !this.res.write(this.#queue.shift()!);
    }
  }
}

export class EventHub {
  readonly #opts: EventHubOptions;
  readonly #streams = new Set<Stream>();
  #pending: Pending[] = [];
  #scheduled = false;

  constructor(opts: EventHubOptions) {
    if (!(opts.maxStreams >= 0 && opts.bufferEvents >= 1)) {
      throw new RangeError(`event hub: maxStreams ${opts.maxStreams}, bufferEvents ${opts.bufferEvents}`);
    }
    this.#opts = opts;
  }

  get streams(): number {
    return this.#streams.size;
  }

  /** True when one more stream fits under the cap. */
  hasRoom(): boolean {
    return this.#streams.size < this.#opts.maxStreams;
  }

  /** Takes over a response as an event stream; false (nothing written) when the cap is reached. */
  open(res: ServerResponse): boolean {
    if (!this.hasRoom()) {
      this.#opts.onDrop?.("too_many_streams");
      return false;
    }
    const stream = new Stream(res);
    this.#streams.add(stream);
    const forget = () => {
      stream.closed = true;
      this.#streams.delete(stream);
    };
    res.on("close", forget);
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    // The headers and a comment go out now, so the client knows it is subscribed.
    res.write(": finalized indexes with their tx hashes\n\n");
    return true;
  }

  /**
   * From the node's loop: a block was executed. O(1): one bounded enqueue,
   * nothing when no stream is open.
   */
  /** True while at least one stream is open (the runtime makes hex hashes only then). */
  get listening(): boolean {
    return this.#streams.size > 0;
  }

  publish(index: number, txHashes: readonly string[]): void {
    if (this.#streams.size === 0) return;
    if (this.#pending.length >= MAX_PENDING_BLOCKS) {
      // The fan-out fell this far behind: every stream would miss events.
      this.#pending = [];
      for (const s of [...this.#streams]) this.#cut(s, "hub_overflow");
      return;
    }
    this.#pending.push({ index, txHashes });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#fanOut());
    }
  }

  #fanOut(): void {
    this.#scheduled = false;
    const blocks = this.#pending;
    this.#pending = [];
    for (const b of blocks) {
      if (this.#streams.size === 0) return;
      const frame = finalizedFrame(b.index, b.txHashes);
      for (const s of this.#streams) {
        if (!s.push(frame, this.#opts.bufferEvents)) this.#cut(s, "slow_client");
      }
    }
  }

  #cut(s: Stream, reason: "slow_client" | "hub_overflow"): void {
    s.closed = true;
    this.#streams.delete(s);
    this.#opts.onDrop?.(reason);
    s.res.destroy();
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    for (const s of [...this.#streams]) {
      s.closed = true;
      this.#streams.delete(s);
      s.res.end();
    }
  }
}
