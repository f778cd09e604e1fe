import { CLOCK_TICKS_PER_SECOND, sampleProcess } from "../cluster/index.ts";

export interface NodeUsage {
  name: string;
  /** CPU time over the window as a share of one core (100 = one core busy). */
  cpuPercent: number | undefined;
  /** Highest RSS seen in the window, MiB. */
  maxRssMiB: number | undefined;
}

/**
 * Samples CPU ticks and RSS of the cluster's processes once a second
 * (/proc/<pid>/stat and /proc/<pid>/status), between mark("start") and
 * mark("end").
 */
export class ProcSampler {
  readonly #pids: ReadonlyMap<string, number>;
  readonly #timer: NodeJS.Timeout;
  readonly #maxRss = new Map<string, number>();
  #start: { at: number; ticks: Map<string, number> } | undefined;
  #end: { at: number; ticks: Map<string, number> } | undefined;

  constructor(pids: ReadonlyMap<string, number>, periodMs = 1000) {
    this.#pids = pids;
    this.#timer = setInterval(() => this.#sample(), periodMs);
    this.#timer.unref();
  }

  #sample(): Map<string, number> {
    const ticks = new Map<string, number>();
    for (const [name, pid] of this.#pids) {
      const s = sampleProcess(pid);
      if (!s) continue;
      ticks.set(name, s.cpuTicks);
      if (this.#start && !this.#end) this.#maxRss.set(name, Math.max(this.#maxRss.get(name) ?? 0, s.rssBytes));
    }
    return ticks;
  }

  start(): void {
    this.#start = { at: performance.now(), ticks: new Map() };
    this.#start.ticks = this.#sample();
  }

  end(): void {
    this.#sample();
    this.#end = { at: performance.now(), ticks: this.#sample() };
  }

  stop(): NodeUsage[] {
    clearInterval(this.#timer);
    const seconds = this.#start && this.#end ? (this.#end.at - this.#start.at) / 1000 : 0;
    return [...this.#pids.keys()].map((name) => {
      const a = this.#start?.ticks.get(name);
      const b = this.#end?.ticks.get(name);
      const rss = this.#maxRss.get(name);
      return {
        name,
        cpuPercent:
          a !== undefined && b !== undefined && seconds > 0
            ? ((b - a) / CLOCK_TICKS_PER_SECOND / seconds) * 100
            : undefined,
        maxRssMiB: rss !== undefined ? rss / (1024 * 1024) : undefined,
      };
    });
  }
}
