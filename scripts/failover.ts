/**
 * Forced failovers of an HA validator (DESIGN section 14), real processes:
 *
 *   npm run failover -- --count 100            (alternating kill -9 / SIGSTOP past the lease)
 *   npm run failover -- --count 4 --no-fencing (negative control: shows a conflicting signature)
 *
 * Prints one line per failover and a JSON summary; exits 1 when a check fails
 * (a conflicting signature in the journals, equivocation evidence on any
 * node's GET /evidence, differing finalized hashes; with --no-fencing:
 * when no conflict shows).
 */
import { parseArgs } from "node:util";
import { runFailover } from "./failover/run.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "10" },
    "no-fencing": { type: "boolean", default: false },
    "lease-ttl-ms": { type: "string", default: "3000" },
    "load-tps": { type: "string", default: "40" },
    "keep-dir": { type: "boolean", default: false },
  },
});
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 1000) {
  process.stderr.write("--count must be an integer from 1 to 1000\n");
  process.exit(2);
}
const fencing = !values["no-fencing"];
const result = await runFailover({
  count,
  fencing,
  leaseTtlMs: Number(values["lease-ttl-ms"]),
  loadTps: Number(values["load-tps"]),
  keepDir: values["keep-dir"],
  stopAtConflict: !fencing,
  log: (line) => process.stdout.write(`${line}\n`),
});
const { failovers, ...summary } = result;
process.stdout.write(`${JSON.stringify({ ...summary, failovers: failovers.length }, null, 2)}\n`);
const ok = fencing
  ? result.conflicts.length === 0 && result.contentMismatches.length === 0 && result.evidence.length === 0
  : result.conflicts.length > 0;
process.exit(ok ? 0 : 1);
