import type { Logger } from "pino";

/** Lines one key may log per window before the rest are only counted. */
export const WARN_BURST = 5;
export const WARN_WINDOW_MS = 10_000;
/** Keys tracked at once (a key is e.g. one peer and one message); the oldest go first. */
const MAX_KEYS = 1024;

/**
 * Rate-limited warnings: what one source (a peer, a member, one kind of
 * event) can make this node write is bounded. Per key, the first WARN_BURST
 * lines of a window are logged; the rest are counted (`onSuppressed`, a
 * metric) and summed up in one line when the key logs again in a later
 * window, or at the latest on `flush()` (the status timer).
 */
export class WarnLimiter {
  readonly #log: Logger;
  readonly #onSuppressed: (key: string) => void;
  readonly #keys = new Map<string, { windowAtMs: number; logged: number; suppressed: number; msg: string }>();

  constructor(log: Logger, onSuppressed: (key: string) => void = () => {}) {
    this.#log = log;
    this.#onSuppressed = onSuppressed;
  }

  warn(key: string, data: Record<string, unknown>, msg: string, nowMs = Date.now()): void {
    let s = this.#keys.get(key);
    if (s === undefined) {
      if (this.#keys.size >= MAX_KEYS) {
        const oldest = this.#keys.keys().next().value!;
        this.#summarize(oldest);
        this.#keys.delete(oldest);
      }
      s = { windowAtMs: nowMs, logged: 0, suppressed: 0, msg };
      this.#keys.set(key, s);
    }
    if (nowMs - s.windowAtMs >= WARN_WINDOW_MS) {
      this.#summarize(key);
      s.windowAtMs = nowMs;
      s.logged = 0;
    }
    if (s.logged < WARN_BURST) {
      s.logged++;
      this.#log.warn(data, msg);
      return;
    }
    s.suppressed++;
    this.#onSuppressed(key);
  }

  /** Writes the summary line of every key whose window is over. */
  flush(nowMs = Date.now()): void {
    for (const [key, s] of this.#keys) {
      if (nowMs - s.windowAtMs < WARN_WINDOW_MS) continue;
      this.#summarize(key);
      this.#keys.delete(key);
    }
  }

  #summarize(key: string): void {
    const s = this.#keys.get(key);
    if (s === undefined || s.suppressed === 0) return;
    this.#log.warn(
      { key, suppressed: s.suppressed, windowMs: WARN_WINDOW_MS },
      `${s.msg} (and ${s.suppressed} more like it, not logged)`,
    );
    s.suppressed = 0;
  }
}
