import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** The API's bounds (config [api]). */
export interface ApiLimits {
  /** Open connections; beyond, new ones are dropped by the server. */
  maxConnections: number;
  /** Requests in flight on one connection (pipelined); beyond, the connection is closed. */
  maxInflightPerConnection: number;
  /** Requests in flight over all connections; beyond, 503. */
  maxInflight: number;
  /** Declared request-body bytes being received over all connections; beyond, 503 and close. */
  maxBodyBytesInFlight: number;
  /** A whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** Request headers must arrive within this. */
  headersTimeoutMs: number;
  /** A socket with no activity for this long is closed. */
  idleTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** GET /metrics is rendered at most once per this interval. */
  metricsCacheMs: number;
  /**
   * While the event loop runs later than this (ms) and the API is busy
   * (SHED_MIN_INFLIGHT requests in flight), requests get 503 (except GET
   * /health, GET /metrics and GET /debug/cpu-profile), so API work cannot
   * starve the protocol; 0 turns it off.
   */
  maxEventLoopDelayMs: number;
  /**
   * While the event loop is busier than this share (0..1) of the last ~500 ms
   * and the API is busy, requests get 503 likewise: many cheap requests never
   * make the loop late but take the CPU the protocol needs; 1 turns it off.
   */
  maxEventLoopUtilization: number;
}

/** What the API reads of the event loop (node/api/loop-delay.ts LoopMonitor). */
export interface LoopState {
  /** The worst recent lateness of the loop, in ms. */
  delayMs(): number;
  /** The share (0..1) of recent wall time the loop was busy. */
  busy(): number;
}

/**
 * Routes answered even while the event loop is late or busy: cheap, and what
 * an operator watches; and the CPU profile, which an operator wants most
 * when the node is busy (one at a time, loopback only: it cannot flood).
 */
const NEVER_SHED = new Set(["/health", "/metrics", "/debug/cpu-profile"]);
/**
 * Requests are shed for the event loop (late or busy) only while at least
 * this many are in flight: the API must be busy for the loop's state to be
 * its doing. A loop made
 * late by something else (another process taking the CPU, a GC pause) with
 * a few clients is not relieved by refusing them.
 */
export const SHED_MIN_INFLIGHT = 16;

/**
 * Admission of HTTP requests, before any body is read or any handler runs.
 * In-flight counts are released when the response is finished or the
 * connection is gone, whichever comes first. Pipelined requests are answered
 * in order by Node; a client that pipelines more than
 * maxInflightPerConnection without reading is disconnected, so it can never
 * make the node start unbounded work or hold unbounded responses.
 */
export class RequestBounds {
  readonly #limits: ApiLimits;
  readonly #maxBodyBytes: number;
  readonly #onRejected: (reason: string) => void;
  readonly #loop: LoopState;
  readonly #perSocket = new WeakMap<Socket, number>();
  #inflight = 0;
  #bodyBytes = 0;

  constructor(
    limits: ApiLimits,
    maxBodyBytes: number,
    onRejected: (reason: string) => void,
    /** The event loop's state (LoopMonitor); without it nothing is shed for the loop. */
    loop: LoopState = { delayMs: () => 0, busy: () => 0 },
  ) {
    this.#limits = limits;
    this.#maxBodyBytes = maxBodyBytes;
    this.#onRejected = onRejected;
    this.#loop = loop;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /** null: go on; "close": the connection was destroyed; otherwise the bound that answers 503. */
  admit(
    req: IncomingMessage,
    res: ServerResponse,
  ): null | "close" | "requests" | "body bytes" | "event loop delay" | "event loop busy" {
    const socket = req.socket as Socket | undefined;
    const onSocket = socket === undefined ? 0 : (this.#perSocket.get(socket) ?? 0);
    if (socket !== undefined && onSocket >= this.#limits.maxInflightPerConnection) {
      this.#onRejected("pipelined");
      socket.destroy();
      return "close";
    }
    if (this.#inflight >= this.#limits.maxInflight) {
      this.#onRejected("requests");
      return "requests";
    }
    if (this.#inflight >= SHED_MIN_INFLIGHT && !NEVER_SHED.has(pathOf(req.url))) {
      const { maxEventLoopDelayMs, maxEventLoopUtilization } = this.#limits;
      if (maxEventLoopDelayMs > 0 && this.#loop.delayMs() > maxEventLoopDelayMs) {
        this.#onRejected("event_loop_delay");
        return "event loop delay";
      }
      if (maxEventLoopUtilization < 1 && this.#loop.busy() > maxEventLoopUtilization) {
        this.#onRejected("event_loop_busy");
        return "event loop busy";
      }
    }
    const bodyBytes = this.#declaredBodyBytes(req);
    if (bodyBytes > 0 && this.#bodyBytes + bodyBytes > this.#limits.maxBodyBytesInFlight) {
      this.#onRejected("body_bytes");
      return "body bytes";
    }
    this.#inflight++;
    this.#bodyBytes += bodyBytes;
    if (socket !== undefined) this.#perSocket.set(socket, onSocket + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#inflight--;
      this.#bodyBytes -= bodyBytes;
      if (socket !== undefined) this.#perSocket.set(socket, Math.max(0, (this.#perSocket.get(socket) ?? 1) - 1));
    };
    res.once("finish", release);
    res.once("close", release);
    return null;
  }

  /** What receiving the body may hold: its declared length, or the body limit if chunked. */
  #declaredBodyBytes(req: IncomingMessage): number {
    if (req.method === "GET" || req.method === "HEAD") return 0;
    const raw = req.headers["content-length"];
    if (raw === undefined) return req.headers["transfer-encoding"] === undefined ? 0 : this.#maxBodyBytes;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n >= 0 ? Math.min(n, this.#maxBodyBytes) : this.#maxBodyBytes;
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return "";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}
