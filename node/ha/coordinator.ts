import type { Logger } from "pino";
import type { Lease } from "./lease.ts";

export type HaRole = "standby" | "reconciling" | "leader";

export interface CoordinatorOptions {
  lease: Lease;
  renewEveryMs: number;
  log: Logger;
  /**
   * The lease was won at `epoch`: reconcile and prepare to sign. Resolve
   * true to lead, false to give the lease back (it is retried later).
   */
  onAcquired(epoch: number): Promise<boolean>;
  /** The lease is gone (lapsed, refused, fenced): stop signing now. */
  onLost(reason: string): void;
  random?: () => number;
}

/**
 * Drives a Lease over time (DESIGN section 14): a standby tries to acquire
 * it every renewal period plus jitter; the holder renews every period and,
 * should its validity end without a quorum renewal, loses it at once (a
 * timer set at the validity's end, re-armed by every renewal).
 */
export class HaCoordinator {
  readonly #opts: CoordinatorOptions;
  readonly #lease: Lease;
  readonly #log: Logger;
  readonly #random: () => number;
  #role: HaRole = "standby";
  #stopped = true;
  #acquireTimer: NodeJS.Timeout | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  #validityTimer: NodeJS.Timeout | null = null;
  #renewing = false;
  /** Bumped at every loss, so a late acquire/renew result of an older term is ignored. */
  #term = 0;

  constructor(opts: CoordinatorOptions) {
    this.#opts = opts;
    this.#lease = opts.lease;
    this.#log = opts.log;
    this.#random = opts.random ?? Math.random;
  }

  get role(): HaRole {
    return this.#role;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#scheduleAcquire(0);
  }

  /** Stops the timers and gives the lease back (bounded by the per-server timeouts). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    if (this.#acquireTimer) clearTimeout(this.#acquireTimer);
    this.#acquireTimer = null;
    const held = this.#role !== "standby";
    this.#role = "standby";
    this.#term++;
    if (held) await this.#lease.release();
    this.#lease.close();
  }

  /** A write was fenced (or the runtime found another reason): drop the lease now. */
  lose(reason: string): void {
    if (this.#role === "standby") return;
    this.#term++;
    this.#role = "standby";
    this.#clearTimers();
    this.#lease.drop();
    this.#opts.onLost(reason);
    // Let a successor take over before trying again ourselves.
    this.#scheduleAcquire(this.#opts.renewEveryMs * (2 + this.#random()));
  }

  #scheduleAcquire(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#acquireTimer) clearTimeout(this.#acquireTimer);
    this.#acquireTimer = setTimeout(() => {
      this.#acquireTimer = null;
      void this.#tryAcquire();
    }, delayMs);
    this.#acquireTimer.unref();
  }

  async #tryAcquire(): Promise<void> {
    if (this.#stopped || this.#role !== "standby") return;
    let won: Awaited<ReturnType<Lease["acquire"]>> = null;
    try {
      won = await this.#lease.acquire();
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, "lease acquire failed");
    }
    if (this.#stopped) {
      if (won) await this.#lease.release();
      return;
    }
    if (won === null) {
      this.#scheduleAcquire(this.#opts.renewEveryMs * (1 + this.#random()));
      return;
    }
    const term = ++this.#term;
    this.#role = "reconciling";
    this.#armRenewal();
    let lead = false;
    try {
      lead = await this.#opts.onAcquired(won.epoch);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, "taking over failed");
    }
    if (term !== this.#term || this.#stopped) return; // lost meanwhile
    if (lead && this.#lease.held()) {
      this.#role = "leader";
      return;
    }
    this.#term++;
    this.#role = "standby";
    this.#clearTimers();
    await this.#lease.release();
    this.#scheduleAcquire(this.#opts.renewEveryMs * (2 + this.#random()));
  }

  #armRenewal(): void {
    this.#renewTimer = setInterval(() => void this.#renew(), this.#opts.renewEveryMs);
    this.#renewTimer.unref();
    this.#armValidity();
  }

  #armValidity(): void {
    if (this.#validityTimer) clearTimeout(this.#validityTimer);
    const term = this.#term;
    this.#validityTimer = setTimeout(
      () => {
        if (term !== this.#term) return;
        if (this.#lease.held()) this.#armValidity();
        else this.lose("lease lapsed: no quorum renewal before its validity ended");
      },
      Math.max(0, this.#lease.validUntilMs - Date.now()),
    );
    this.#validityTimer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#renewing || this.#role === "standby") return;
    this.#renewing = true;
    const term = this.#term;
    try {
      const r = await this.#lease.renew();
      if (term !== this.#term) return;
      if (r === "ok") this.#armValidity();
      else if (r === "lost") this.lose("lease refused by a quorum: another instance holds it or a higher epoch exists");
      else if (!this.#lease.held()) this.lose("lease lapsed: no quorum renewal before its validity ended");
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, "lease renewal failed");
    } finally {
      this.#renewing = false;
    }
  }

  #clearTimers(): void {
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    if (this.#validityTimer) clearTimeout(this.#validityTimer);
    this.#renewTimer = null;
    this.#validityTimer = null;
  }
}
