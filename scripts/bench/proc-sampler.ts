import { readFileSync } from "node:fs";
import {
  CLOCK_TICKS_PER_SECOND,
  sampleProcess,
  sampleThreads,
  type ThreadGroup,
  type ThreadSample,
  threadShares,
} from "../cluster/index.ts";

export interface NodeUsage {
  name: string;
  /** CPU time over the offered window as a share of one core (100 = one core busy). */
  cpuPercent: number | undefined;
  /** Highest RSS seen in the window, MiB. */
  maxRssMiB: number | undefined;
  /** CPU time (user + system) from start() to stop(), offered period and drain, seconds. */
  cpuSeconds?: number | undefined;
  /** Bytes the process caused to be written to storage from start() to stop() (/proc/<pid>/io write_bytes). */
  writeBytes?: number | undefined;
  /**
   * Each thread group's share (%) of the process's CPU over the offered
   * window (/proc/<pid>/task; scripts/cluster threadShares): the event loop,
   * libuv's pool, V8's workers, the rest. Work on the pool and V8's threads
   * is invisible to a V8 CPU profile.
   */
  cpuShareByThread?: Record<ThreadGroup, number> | undefined;
}

/** write_bytes of /proc/<pid>/io: bytes this process caused to be sent to the storage layer. */
export function parseIoWriteBytes(ioText: string): number | undefined {
  const m = /^write_bytes:\s+(\d+)$/m.exec(ioText);
  return m ? Number(m[1]) : undefined;
}

export function readWriteBytes(pid: number): number | undefined {
  try {
    return parseIoWriteBytes(readFileSync(`/proc/${pid}/io`, "utf8"));
  } catch {
    return undefined;
  }
}

interface Mark {
  at: number;
  ticks: Map<string, number>;
  writes: Map<string, number>;
}

/**
 * Samples CPU ticks and RSS of the cluster's processes once a second
 * (/proc/<pid>/stat and /proc/<pid>/status) and their storage writes
 * (/proc/<pid>/io), between start(), end() (the offered period ends: CPU %)
 * and stop() (the drain ends too: CPU seconds and bytes written per step).
 */
export class ProcSampler {
  readonly #pids: ReadonlyMap<string, number>;
  readonly #timer: NodeJS.Timeout;
  readonly #maxRss = new Map<string, number>();
  #start: Mark | undefined;
  #end: Mark | undefined;
  #threadsAtStart = new Map<string, ThreadSample>();
  #threadsAtEnd = new Map<string, ThreadSample>();

  constructor(pids: ReadonlyMap<string, number>, periodMs = 1000) {
    this.#pids = pids;
    this.#timer = setInterval(() => this.#sample(), periodMs);
    this.#timer.unref();
  }

  #sample(): Mark {
    const ticks = new Map<string, number>();
    const writes = new Map<string, number>();
    for (const [name, pid] of this.#pids) {
      const s = sampleProcess(pid);
      if (!s) continue;
      ticks.set(name, s.cpuTicks);
      const w = readWriteBytes(pid);
      if (w !== undefined) writes.set(name, w);
      if (this.#start && !this.#end) this.#maxRss.set(name, Math.max(this.#maxRss.get(name) ?? 0, s.rssBytes));
    }
    return { at: performance.now(), ticks, writes };
  }

  start(): void {
    this.#start = { at: performance.now(), ticks: new Map(), writes: new Map() };
    this.#start = this.#sample();
    this.#threadsAtStart = this.#sampleThreads();
  }

  end(): void {
    this.#sample();
    this.#end = this.#sample();
    this.#threadsAtEnd = this.#sampleThreads();
  }

  /** Threads are read only at the window's two ends (each read is a file per thread). */
  #sampleThreads(): Map<string, ThreadSample> {
    const out = new Map<string, ThreadSample>();
    for (const [name, pid] of this.#pids) {
      const t = sampleThreads(pid);
      if (t !== undefined) out.set(name, t);
    }
    return out;
  }

  #shares(name: string): Record<ThreadGroup, number> | undefined {
    const from = this.#threadsAtStart.get(name);
    const to = this.#threadsAtEnd.get(name);
    return from !== undefined && to !== undefined ? threadShares(from, to) : undefined;
  }

  stop(): NodeUsage[] {
    clearInterval(this.#timer);
    const last = this.#sample();
    const seconds = this.#start && this.#end ? (this.#end.at - this.#start.at) / 1000 : 0;
    const delta = (from: Map<string, number> | undefined, to: Map<string, number> | undefined, name: string) => {
      const a = from?.get(name);
      const b = to?.get(name);
      return a !== undefined && b !== undefined ? b - a : undefined;
    };
    return [...this.#pids.keys()].map((name) => {
      const offerTicks = delta(this.#start?.ticks, this.#end?.ticks, name);
      const allTicks = delta(this.#start?.ticks, last.ticks, name);
      const rss = this.#maxRss.get(name);
      return {
        name,
        cpuPercent:
          offerTicks !== undefined && seconds > 0 ? (offerTicks / CLOCK_TICKS_PER_SECOND / seconds) * 100 : undefined,
        maxRssMiB: rss !== undefined ? rss / (1024 * 1024) : undefined,
        cpuSeconds: allTicks !== undefined ? allTicks / CLOCK_TICKS_PER_SECOND : undefined,
        writeBytes: delta(this.#start?.writes, last.writes, name),
        cpuShareByThread: this.#shares(name),
      };
    });
  }
}
