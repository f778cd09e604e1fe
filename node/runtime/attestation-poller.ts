import type { Logger } from "pino";

/** Why one poll failed (metric label `kind`). */
export type PollErrorKind =
  | "unreachable"
  | "timeout"
  | "http_status"
  | "bad_response"
  | "backwards"
  | "genesis_mismatch";

export const POLL_ERROR_KINDS: readonly PollErrorKind[] = [
  "unreachable",
  "timeout",
  "http_status",
  "bad_response",
  "backwards",
  "genesis_mismatch",
];

/** The JSON of GET /attestation/status. */
export interface AttestationStatusJson {
  genesis: { chainId: string; genesisHash: string };
  nextBatchToAttest: number;
}

export interface PollerOptions {
  /** The main node's base URL (its HTTP API). */
  url: string;
  pollIntervalMs: number;
  /** A poll without a complete answer within this is abandoned. */
  requestTimeoutMs: number;
  /** Failed polls double the interval up to this. */
  maxBackoffMs: number;
  /** This node's genesis: a main node on another genesis is never followed. */
  genesis: { chainId: string; genesisHash: string };
  /** The next batch to attest moved forward (called only on change). */
  onStatus(next: number): void;
  /** One failed poll (already logged as a warning, or an error for the two that matter). */
  onError?(kind: PollErrorKind): void;
  /** The main node is on another genesis: attesting stops for good. */
  onStopped(reason: string): void;
  logger: Logger;
}

/** Largest status body read. */
const MAX_STATUS_BYTES = 16 * 1024;

class PollError extends Error {
  readonly kind: PollErrorKind;
  constructor(kind: PollErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/**
 * Polls the main node's GET /attestation/status every pollIntervalMs
 * (DESIGN section 13). What it publishes is monotonic (a status that moves
 * backwards is logged as an error and ignored) and genesis-fixed (a main
 * node on another genesis stops attesting, with an error naming both); it
 * notifies only when the next batch changes. A request ends within
 * requestTimeoutMs whatever the main node does (refuses, accepts TCP and
 * never answers, answers slowly); errors back off exponentially up to
 * maxBackoffMs. An unreachable or half-alive main node costs only time.
 */
export class AttestationPoller {
  readonly #opts: PollerOptions;
  readonly #statusUrl: string;
  #published: number | null = null;
  #failures = 0;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: AbortController | null = null;
  #stopped = false;
  #polls = 0;

  constructor(opts: PollerOptions) {
    this.#opts = opts;
    this.#statusUrl = new URL("attestation/status", opts.url.endsWith("/") ? opts.url : `${opts.url}/`).toString();
  }

  /** The last status published (null before the first). */
  get published(): number | null {
    return this.#published;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Polls completed (answered or failed). */
  get polls(): number {
    return this.#polls;
  }

  start(): void {
    if (this.#stopped || this.#timer !== null) return;
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#inFlight?.abort();
  }

  /** One poll now (tests); resolves when it is handled. */
  async pollOnce(): Promise<void> {
    if (this.#stopped) return;
    try {
      const status = await this.#fetch();
      this.#accept(status);
      this.#failures = 0;
    } catch (err) {
      this.#failures++;
      const e = err instanceof PollError ? err : new PollError("bad_response", (err as Error).message);
      this.#fail(e);
    } finally {
      this.#polls++;
    }
  }

  /** The delay before the next poll: the interval, doubled per consecutive failure up to the cap. */
  nextDelayMs(): number {
    const { pollIntervalMs, maxBackoffMs } = this.#opts;
    if (this.#failures === 0) return pollIntervalMs;
    return Math.min(maxBackoffMs, pollIntervalMs * 2 ** Math.min(this.#failures, 30));
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.pollOnce().then(() => this.#schedule(this.nextDelayMs()));
    }, delayMs);
    this.#timer.unref();
  }

  async #fetch(): Promise<AttestationStatusJson> {
    const ctl = new AbortController();
    this.#inFlight = ctl;
    const timer = setTimeout(
      () => ctl.abort(new PollError("timeout", `no answer within ${this.#opts.requestTimeoutMs} ms`)),
      this.#opts.requestTimeoutMs,
    );
    try {
      let res: Response;
      try {
        res = await fetch(this.#statusUrl, { signal: ctl.signal, headers: { accept: "application/json" } });
      } catch (err) {
        throw this.#networkError(ctl, err);
      }
      let text: string;
      try {
        text = await readCapped(res, MAX_STATUS_BYTES);
      } catch (err) {
        throw this.#networkError(ctl, err);
      }
      if (res.status !== 200) throw new PollError("http_status", `HTTP ${res.status}: ${text.slice(0, 200)}`);
      return parseStatus(text);
    } finally {
      clearTimeout(timer);
      this.#inFlight = null;
    }
  }

  #networkError(ctl: AbortController, err: unknown): PollError {
    if (err instanceof PollError) return err;
    if (ctl.signal.aborted && ctl.signal.reason instanceof PollError) return ctl.signal.reason;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return new PollError("unreachable", cause?.code ?? cause?.message ?? (err as Error).message);
  }

  #accept(s: AttestationStatusJson): void {
    const mine = this.#opts.genesis;
    if (s.genesis.chainId !== mine.chainId || s.genesis.genesisHash !== mine.genesisHash) {
      const reason =
        `the main node ${this.#opts.url} is on another genesis (chain ${s.genesis.chainId}, genesis hash ${s.genesis.genesisHash}) ` +
        `than this node (chain ${mine.chainId}, genesis hash ${mine.genesisHash}): attesting stopped`;
      this.#opts.logger.error({ main: s.genesis, local: mine }, reason);
      this.#opts.onError?.("genesis_mismatch");
      this.stop();
      this.#opts.onStopped(reason);
      return;
    }
    const next = s.nextBatchToAttest;
    if (this.#published !== null && next < this.#published) {
      this.#opts.logger.error(
        { published: this.#published, received: next, url: this.#statusUrl },
        "the main node's attestation status moved backwards; ignored",
      );
      this.#opts.onError?.("backwards");
      return;
    }
    if (next === this.#published) return;
    this.#published = next;
    this.#opts.onStatus(next);
  }

  #fail(e: PollError): void {
    if (e.kind === "genesis_mismatch") return;
    this.#opts.logger.warn(
      { kind: e.kind, err: e.message, url: this.#statusUrl, failures: this.#failures, retryInMs: this.nextDelayMs() },
      "attestation status poll failed",
    );
    this.#opts.onError?.(e.kind);
  }
}

/** Reads at most `max` bytes of a body; more is a bad response. */
async function readCapped(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > max) {
      await reader.cancel();
      throw new PollError("bad_response", `status body exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const HEX32 = /^[0-9a-f]{64}$/;

/** Validates the status JSON; anything else is a bad response. */
export function parseStatus(text: string): AttestationStatusJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PollError("bad_response", `not JSON: ${text.slice(0, 100)}`);
  }
  const o = v as { genesis?: { chainId?: unknown; genesisHash?: unknown }; nextBatchToAttest?: unknown };
  const g = o?.genesis;
  if (
    typeof o !== "object" ||
    o === null ||
    typeof g !== "object" ||
    g === null ||
    typeof g.chainId !== "string" ||
    typeof g.genesisHash !== "string" ||
    !HEX32.test(g.genesisHash) ||
    typeof o.nextBatchToAttest !== "number" ||
    !Number.isSafeInteger(o.nextBatchToAttest) ||
    o.nextBatchToAttest < 0
  ) {
    throw new PollError(
      "bad_response",
      `expected {genesis: {chainId, genesisHash}, nextBatchToAttest}, got ${text.slice(0, 200)}`,
    );
  }
  return {
    genesis: { chainId: g.chainId, genesisHash: g.genesisHash },
    nextBatchToAttest: o.nextBatchToAttest,
  };
}
