import { Session } from "node:inspector/promises";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * CPU profiles of the running node (GET /debug/cpu-profile), taken in
 * process through Node's inspector: no port is opened and the node is not
 * restarted, so the profile shows the node as it runs, with its code
 * already optimized. A profile of a restarted node (`node --cpu-prof`)
 * spends its first minutes compiling: on a loaded 2-core VM, V8's compiler
 * threads still took 11% of a node's CPU 30 s after a start, 4% after 80 s.
 *
 * One profile at a time: each costs the sampler's overhead while it runs.
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

  get running(): boolean {
    return this.#running;
  }

  /**
   * Samples this process for `seconds` and returns the profile. Throws
   * ProfilerBusy when one is already being taken; `signal` ends the wait
   * early (the node is stopping): the profile then covers the time until
   * then.
   */
  async take(seconds: number, signal?: AbortSignal): Promise<CpuProfileJson> {
    if (this.#running) throw new ProfilerBusy();
    this.#running = true;
    const session = new Session();
    try {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
      await session.post("Profiler.start");
      try {
        await sleep(seconds * 1000, undefined, signal === undefined ? {} : { signal });
      } catch {
        // Aborted: stop now and hand back what was sampled.
      }
      const { profile } = await session.post("Profiler.stop");
      return profile as CpuProfileJson;
    } finally {
      session.disconnect();
      this.#running = false;
    }
  }
}
