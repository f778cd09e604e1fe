/** How often the event loop's delay is sampled. */
export const LOOP_DELAY_SAMPLE_MS = 20;
/** The delay reported is the worst sample of this many most recent ones (~200 ms). */
const WINDOW_SAMPLES = 10;

/**
 * The event loop's current delay: a timer every LOOP_DELAY_SAMPLE_MS notes
 * how late it fired; `currentMs` is the worst of the last WINDOW_SAMPLES
 * (plus the time since the last tick, so a loop that is blocked right now
 * reads as late even before the timer can fire again). The API sheds
 * requests while it is above a bound, so that HTTP work cannot take the
 * protocol's share of the loop (issue 11).
 */
export class LoopDelay {
  readonly #samples: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastTickMs = 0;

  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastTickMs = performance.now();
    this.#timer = setInterval(() => this.#tick(performance.now()), LOOP_DELAY_SAMPLE_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One timer firing at `nowMs`. */
  #tick(nowMs: number): void {
    const late = Math.max(0, nowMs - this.#lastTickMs - LOOP_DELAY_SAMPLE_MS);
    this.#lastTickMs = nowMs;
    this.#samples.push(late);
    if (this.#samples.length > WINDOW_SAMPLES) this.#samples.shift();
  }

  /** The worst recent delay in ms, counting a tick that is overdue right now; 0 when not sampling. */
  currentMs(nowMs: number = performance.now()): number {
    if (this.#timer === undefined) return 0;
    const overdue = Math.max(0, nowMs - this.#lastTickMs - LOOP_DELAY_SAMPLE_MS);
    let worst = overdue;
    for (const s of this.#samples) if (s > worst) worst = s;
    return worst;
  }
}
