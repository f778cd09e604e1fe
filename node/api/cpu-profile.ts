import type { Session } from "node:inspector/promises";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * CPU profiles of the running node (GET /debug/cpu-profile), taken in
 * process through Node's inspector: no port is opened and the node is not
 * restarted, so the profile shows the node as it runs, its code already
 * optimized (a node just started spends its first minutes under load
 * compiling: README "Benchmark").
 *
 * One profile at a time: each costs the sampler's overhead while it runs,
 * and the answer is built on the event loop when it ends.
 */

/** V8's sampling interval, the same as `node --cpu-prof`'s default. */
const SAMPLING_INTERVAL_US = 1000;

/** A V8 CPU profile as the inspector returns it (a `.cpuprofile` file's content). */
export interface CpuProfileJson {
  nodes: unknown[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export class ProfilerBusy extends Error {
  constructor() {
    super("a CPU profile is being taken; ask again when it has ended");
  }
}

export class CpuProfiler {
  #running = false;

  /**
   * Starts sampling this process for `seconds`; the promise gives the
   * profile. Throws ProfilerBusy at once (not through the promise) while
   * another profile runs. `signal` ends the profile early (the client left,
   * the node is stopping): it then covers the time until then.
   */
  take(seconds: number, signal: AbortSignal): Promise<CpuProfileJson> {
    if (this.#running) throw new ProfilerBusy();
    this.#running = true;
    return this.#sample(seconds, signal).finally(() => {
      this.#running = false;
    });
  }

  async #sample(seconds: number, signal: AbortSignal): Promise<CpuProfileJson> {
    // Loaded when first used: a Node built without the inspector still runs the node.
    const { Session } = await import("node:inspector/promises");
    const session: Session = new Session();
    session.connect();
    try {
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
      await session.post("Profiler.start");
      try {
        await sleep(seconds * 1000, undefined, { signal });
      } catch {
        // Aborted: stop now and hand back what was sampled.
      }
      const { profile } = await session.post("Profiler.stop");
      return profile as CpuProfileJson;
    } finally {
      // Also stops a profile that a failed step left running.
      session.disconnect();
    }
  }
}
