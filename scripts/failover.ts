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
import { helpExit, usageExit } from "./cli.ts";
import { runFailover } from "./failover/run.ts";

const USAGE = `usage: npm run failover -- [--count N] [--no-fencing] [--lease-ttl-ms MS] [--load-tps TPS] [--keep-dir]
  An HA devnet (node0 as two instances behind 3 redis-servers) under load; each failover kill -9s or
  SIGSTOPs past the lease the instance that signs, checks that the standby takes over, restarts the other.
  --count 1..1000 (default 10)   --lease-ttl-ms 1500..60000 (default 3000)   --load-tps (default 40)
  --no-fencing: negative control, expects a conflicting signature   --keep-dir: keep the devnet's files
  Exit 0 when every check holds, 1 when one fails, 2 on a usage error.
`;

function usage(msg: string): never {
  return usageExit("failover", USAGE, msg);
}

helpExit(USAGE);

let values: {
  count: string;
  "no-fencing": boolean;
  "lease-ttl-ms": string;
  "load-tps": string;
  "keep-dir": boolean;
};
try {
  ({ values } = parseArgs({
    options: {
      count: { type: "string", default: "10" },
      "no-fencing": { type: "boolean", default: false },
      "lease-ttl-ms": { type: "string", default: "3000" },
      "load-tps": { type: "string", default: "40" },
      "keep-dir": { type: "boolean", default: false },
    },
  }));
} catch (err) {
  usage((err as Error).message);
}
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1 || count > 1000) usage("--count: an integer from 1 to 1000");
const leaseTtlMs = Number(values["lease-ttl-ms"]);
// The devnet renews every 500 ms, and the config requires a lease of at least three renewals.
if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 1500 || leaseTtlMs > 60_000)
  usage("--lease-ttl-ms: an integer from 1500 to 60000 (three renewals of 500 ms at least)");
const loadTps = Number(values["load-tps"]);
if (!(loadTps > 0 && loadTps <= 5000)) usage("--load-tps: tx/s, more than 0 and at most 5000");
const fencing = !values["no-fencing"];
const result = await runFailover({
  count,
  fencing,
  leaseTtlMs,
  loadTps,
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
