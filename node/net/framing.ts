import type { Stream } from "@libp2p/interface";
import { Uint8ArrayList } from "uint8arraylist";

/**
 * Length-prefixed frames (unsigned LEB128 varint length, then the bytes) on a
 * libp2p 3 stream. Reading is event driven and synchronous, so a frame is
 * handled inside the muxer's data callback and yamux's window update follows
 * the work: a slow receiver slows its sender. Writing respects `send()`
 * returning false by waiting for drain.
 */

const MAX_VARINT_BYTES = 5; // enough for lengths below 2^35; we cap far below

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

export function encodeFrame(payload: Uint8Array): Uint8ArrayList {
  const header: number[] = [];
  let n = payload.byteLength;
  while (n >= 0x80) {
    header.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  header.push(n);
  return new Uint8ArrayList(Uint8Array.from(header), payload);
}

/** Incremental decoder: feed chunks, get whole frames. */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly #buffer = new Uint8ArrayList();

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  get bufferedBytes(): number {
    return this.#buffer.byteLength;
  }

  /** Appends a chunk and returns every complete frame; throws FrameError on an oversize or malformed length. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.#buffer.append(chunk);
    const frames: Uint8Array[] = [];
    for (;;) {
      const header = this.#readLength();
      if (header === undefined) break;
      const { length, headerBytes } = header;
      if (this.#buffer.byteLength < headerBytes + length) break;
      frames.push(this.#buffer.subarray(headerBytes, headerBytes + length));
      this.#buffer.consume(headerBytes + length);
    }
    return frames;
  }

  #readLength(): { length: number; headerBytes: number } | undefined {
    let length = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (i >= this.#buffer.byteLength) return undefined;
      const b = this.#buffer.get(i);
      length += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw new FrameError("non-minimal frame length");
        if (length > this.maxFrameBytes) {
          throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
        }
        return { length, headerBytes: i + 1 };
      }
    }
    throw new FrameError("frame length varint is too long");
  }
}

/**
 * Calls `onFrame` for every frame arriving on the stream, synchronously in the
 * stream's message event. A throw from `onFrame` or a framing error aborts the
 * stream. `onEnd` runs once when the stream ends or closes for any reason.
 */
export function readFrames(
  stream: Stream,
  maxFrameBytes: number,
  onFrame: (frame: Uint8Array) => void,
  onEnd: (err?: Error) => void,
): void {
  const decoder = new FrameDecoder(maxFrameBytes);
  // Bound what the stream may buffer while we are not listening (one frame plus headroom).
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, maxFrameBytes + 64 * 1024);
  let ended = false;
  const finish = (err?: Error) => {
    if (ended) return;
    ended = true;
    stream.removeEventListener("message", onMessage);
    onEnd(err);
  };
  const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
    if (ended) return;
    try {
      for (const frame of decoder.push(evt.data)) {
        onFrame(frame);
        if (ended) return;
      }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      stream.abort(e);
      finish(e);
    }
  };
  stream.addEventListener("message", onMessage);
  // Deferred: yamux processes a FIN flag before the data of the same frame.
  stream.addEventListener("remoteCloseWrite", () => queueMicrotask(() => finish()), { once: true });
  stream.addEventListener("close", (evt) => finish(evt.error), { once: true });
}

/** Writes one frame, waiting for the stream to drain when its buffer is full. */
export async function writeFrame(stream: Stream, payload: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (!stream.send(encodeFrame(payload))) await waitForDrain(stream, signal);
}

/**
 * Resolves when the stream can take more data; rejects when it closes or the
 * signal aborts. Not `stream.onDrain()`: in @libp2p/utils 7.4 its promise is
 * created once per stream and never renewed, so after the first drain it
 * resolves at once and backpressure is silently lost.
 */
export function waitForDrain(stream: Stream, signal?: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve();
  if (stream.status !== "open") return Promise.reject(new Error(`stream is ${stream.status}`));
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      stream.removeEventListener("drain", onDrain);
      stream.removeEventListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = (evt: { error?: Error }) => {
      cleanup();
      reject(evt.error ?? new Error("stream closed while waiting for drain"));
    };
    const onAbort = () => {
      cleanup();
      reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted while waiting for drain"));
    };
    if (signal?.aborted) return onAbort();
    stream.addEventListener("drain", onDrain);
    stream.addEventListener("close", onClose);
    signal?.addEventListener("abort", onAbort);
  });
}
