import { type EventLoopUtilization, performance } from "node:perf_hooks";

/** How often the event loop is sampled. */
export const LOOP_SAMPLE_MS = 20;
/** Delay: the worst of this many most recent samples (~200 ms). */
const DELAY_WINDOW_SAMPLES = 10;
/** Utilization: the share of wall time the loop was busy over this many samples (~500 ms). */
const BUSY_WINDOW_SAMPLES = 25;

/**
 * How the event loop is doing, for the API's shedding (issue 11). A timer
 * every LOOP_SAMPLE_MS notes how late it fired and the loop's utilization
 * (Node's eventLoopUtilization: the share of wall time spent running
 * callbacks rather than waiting for I/O).
 *
 * - `delayMs()`: the worst recent lateness, plus the time since the last
 *   tick, so a loop that is blocked right now reads as late before the
 *   timer can fire again;
 * - `busy()`: the share of the last ~500 ms the loop was busy. Many small
 *   requests (each parsed in a few ms) never make the loop late, but they
 *   take the CPU the protocol needs; this is what shows it.
 */
export class LoopMonitor {
  readonly #delays: number[] = [];
  readonly #elus: EventLoopUtilization[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastTickMs = 0;

  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastTickMs = performance.now();
    this.#elus.push(performance.eventLoopUtilization());
    this.#timer = setInterval(() => this.#tick(performance.now()), LOOP_SAMPLE_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(nowMs: number): void {
    const late = Math.max(0, nowMs - this.#lastTickMs - LOOP_SAMPLE_MS);
    this.#lastTickMs = nowMs;
    this.#delays.push(late);
    if (this.#delays.length > DELAY_WINDOW_SAMPLES) this.#delays.shift();
    this.#elus.push(performance.eventLoopUtilization());
    if (this.#elus.length > BUSY_WINDOW_SAMPLES) this.#elus.shift();
  }

  /** The worst recent delay in ms, counting a tick that is overdue right now; 0 when not sampling. */
  delayMs(nowMs: number = performance.now()): number {
    if (this.#timer === undefined) return 0;
    let worst = Math.max(0, nowMs - this.#lastTickMs - LOOP_SAMPLE_MS);
    for (const d of this.#delays) if (d > worst) worst = d;
    return worst;
  }

  /** Share (0..1) of the last ~500 ms the loop spent running callbacks; 0 when not sampling. */
  busy(): number {
    const oldest = this.#elus[0];
    if (this.#timer === undefined || oldest === undefined) return 0;
    return performance.eventLoopUtilization(performance.eventLoopUtilization(), oldest).utilization;
  }
}
