import type { Fault } from "./sim-config.ts";
import { runSimulation, type SimResult } from "./simulation.ts";

/** Runs seeds from..from+count-1 and returns the failures, each with its replay command. */
export async function failingSeeds(
  from: number,
  count: number,
  nodes: number,
  faults: Fault[],
  observers = 0,
): Promise<string[]> {
  const failures: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const r: SimResult = await runSimulation({ seed, nodes, faults, observers });
    if (!r.ok) {
      const v = r.violations[0]!;
      failures.push(
        `seed ${seed}: ${v.invariant}: ${v.detail} (replay: npm run sim -- --seeds 1 --from ${seed} --nodes ${nodes} --faults ${faults.join(",")} --observers ${observers})`,
      );
    }
  }
  return failures;
}
