/**
 * Runs the deterministic simulator over many seeds:
 *   npm run sim -- --seeds 200 [--nodes 4] [--faults crash,partition,drop,twins] [--from 1] [--observers 0]
 *                  [--fault-ms 1000] [--liveness-ms 2000]
 * Prints one line per failing seed with the command that replays it, then
 * `N passed, N failed` (exit code 1 if any failed).
 */
import { parseArgs } from "node:util";
import { FAULTS, parseFaults } from "./sim-config.ts";
import { runSimulation } from "./simulation.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "20" },
    from: { type: "string", default: "1" },
    nodes: { type: "string", default: "4" },
    observers: { type: "string", default: "0" },
    faults: { type: "string", default: "crash,partition,drop" },
    "fault-ms": { type: "string", default: "1000" },
    "liveness-ms": { type: "string", default: "2000" },
    verbose: { type: "boolean", default: false },
  },
});

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

const seeds = int("seeds", values.seeds, 1);
const from = int("from", values.from, 0);
const nodes = int("nodes", values.nodes, 1);
const observers = int("observers", values.observers, 0);
const faultPhaseMs = int("fault-ms", values["fault-ms"], 200);
const livenessBoundMs = int("liveness-ms", values["liveness-ms"], 100);
const timing = `--observers ${observers} --fault-ms ${faultPhaseMs} --liveness-ms ${livenessBoundMs}`;
let faults: ReturnType<typeof parseFaults> = [];
try {
  faults = parseFaults(values.faults ?? "");
} catch (err) {
  process.stderr.write(`${(err as Error).message} (known: ${FAULTS.join(", ")})\n`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let longest = { events: 0, virtualMs: 0, seed: 0 };
const started = performance.now();
for (let seed = from; seed < from + seeds; seed++) {
  const r = await runSimulation({ seed, nodes, faults, observers, faultPhaseMs, livenessBoundMs });
  if (r.events > longest.events) longest = { events: r.events, virtualMs: r.virtualMs, seed };
  if (r.ok) passed++;
  else {
    failed++;
    const v = r.violations[0]!;
    process.stdout.write(
      `seed ${seed} FAILED (${v.invariant}: ${v.detail}) replay: npm run sim -- --seeds 1 --from ${seed} --nodes ${nodes} --faults ${faults.join(",") || "none"} ${timing}\n`,
    );
    if (values.verbose)
      for (const x of r.violations.slice(1)) process.stdout.write(`  also ${x.invariant}: ${x.detail}\n`);
  }
  if (values.verbose) process.stdout.write(`seed ${seed}: finalized ${r.finalized}, ${r.events} events\n`);
}
const minutes = (performance.now() - started) / 60_000;
process.stdout.write(
  `longest schedule: seed ${longest.seed}, ${longest.events} events, ${longest.virtualMs} virtual ms; ${(seeds / minutes).toFixed(0)} seeds/min\n`,
);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
