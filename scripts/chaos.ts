/**
 * Chaos on real processes (issue 16): 4 validators and an observer under
 * load, with faults drawn from the seed: kill -9, SIGSTOP/SIGCONT, SIGTERM
 * restarts, the observer wiped and resynced, and network partitions.
 *
 *   npm run chaos -- --seconds 60 --seed 7 [--rate 40] [--keep] [--no-netns] [--lag-deadline-ms 5000]
 *
 * Partitions need Linux network namespaces (root and iproute2): each node
 * runs in its own namespace with a veth link to every other node, and a
 * partition cuts links (`ip link set down`). The runner makes the
 * namespaces (named vch<pid>-*), runs itself inside their hub namespace to
 * reach the nodes' APIs, and removes them at the end, on SIGINT/SIGTERM and
 * on a crash; stale ones of a runner that died are removed at start. Where
 * namespaces are not available it says why and runs on 127.0.0.1 without
 * partitions.
 *
 * Invariants, throughout and at the end: identical block and app hashes at
 * every index on every node; every accepted tx final (unless its request
 * was sent to a node that then lost its process, by kill -9, a SIGTERM
 * restart or a wipe: counted as lost with its mempool), once final at the
 * same index everywhere; no equivocation
 * (GET /evidence, or the vote journal where that route does not exist);
 * every node back at the tip within 5 s of the last heal (--lag-deadline-ms;
 * the test suite's run uses a liveness bound there). Progress goes to
 * stderr, one summary line to stdout; the exit code is 1 on a violation
 * (the cluster's logs are kept then), 2 on a usage error.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  createTopology,
  destroyTopology,
  leftovers,
  netnsUnavailable,
  removeStale,
  runChaos,
  type Topology,
} from "./chaos/index.ts";
import { helpExit, usageExit } from "./cli.ts";

const NODES = 5;
const SELF = fileURLToPath(import.meta.url);

const USAGE = `usage: npm run chaos -- --seconds S --seed N [--rate TPS] [--keep] [--no-netns] [--lag-deadline-ms MS]
  4 validators and an observer under load (--rate, default 40 tx/s), each in its own network namespace;
  faults from the seed (kill -9, SIGSTOP/SIGCONT, SIGTERM restarts, an observer wiped, partitions);
  invariants checked throughout and at the end; one summary line; exit 1 on a violation, 2 on a usage error.
  --seconds 20..3600 (default 60)   --seed N (default: from the clock, printed)
  --lag-deadline-ms: every node back at the tip within this of the last heal (default 5000)
  --keep: keep the cluster's logs   --no-netns: all nodes on 127.0.0.1, partitions skipped
`;

function usage(msg: string): never {
  return usageExit("chaos", USAGE, msg);
}

helpExit(USAGE);

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      seconds: { type: "string", default: "60" },
      seed: { type: "string" },
      rate: { type: "string", default: "40" },
      "lag-deadline-ms": { type: "string", default: "5000" },
      keep: { type: "boolean", default: false },
      "no-netns": { type: "boolean", default: false },
      /** Internal: this process runs inside the hub namespace of the given prefix. */
      inner: { type: "string" },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  usage((err as Error).message);
}
const args = parsed.values;
const seconds = Number(args.seconds);
const seed = args.seed === undefined ? Date.now() % 1_000_000 : Number(args.seed);
const rate = Number(args.rate);
if (!Number.isInteger(seconds) || seconds < 20 || seconds > 3600) usage("--seconds: an integer from 20 to 3600");
if (!Number.isInteger(seed) || seed < 0) usage("--seed: a non-negative integer");
if (!(rate > 0 && rate <= 5000)) usage("--rate: tx/s, more than 0 and at most 5000");
const lagDeadlineMs = Number(args["lag-deadline-ms"]);
if (!Number.isInteger(lagDeadlineMs) || lagDeadlineMs < 1000 || lagDeadlineMs > 120_000)
  usage("--lag-deadline-ms: an integer from 1000 to 120000");

const log = (line: string) => process.stderr.write(`${line}\n`);

async function runHere(topology: Topology | null, noPartitionsReason?: string): Promise<number> {
  const r = await runChaos({
    seconds,
    seed,
    rateTps: rate,
    lagDeadlineMs,
    topology,
    keep: args.keep,
    log,
    ...(noPartitionsReason !== undefined && { noPartitionsReason }),
  });
  for (const v of r.violations.slice(0, 20)) log(`  violation: ${v}`);
  if (!r.ok || args.keep) log(`  cluster logs kept in ${r.dir}`);
  process.stdout.write(`${r.summary}\n`);
  return r.ok ? 0 : 1;
}

/** Outside the namespaces: make them, run this script again inside the hub, always remove them. */
async function runInNamespaces(): Promise<number> {
  const removed = removeStale();
  if (removed.length > 0)
    log(`chaos: removed ${removed.length} stale namespaces of an earlier run: ${removed.join(" ")}`);
  const topology = createTopology(NODES);
  const cleanup = () => destroyTopology(topology);
  process.once("exit", cleanup);
  try {
    const argv = [
      ...process.execArgv,
      SELF,
      ...process.argv.slice(2),
      "--seed",
      String(seed),
      "--inner",
      topology.prefix,
    ];
    const child = spawn("ip", ["netns", "exec", topology.hub, process.execPath, ...argv], { stdio: "inherit" });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise<number>((resolve) => {
      child.once("exit", (c, signal) => resolve(c ?? (signal === null ? 1 : 130)));
    });
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
    return code;
  } finally {
    cleanup();
    process.off("exit", cleanup);
    const left = leftovers(topology.prefix);
    if (left.length > 0) log(`chaos: could not remove namespaces ${left.join(" ")}`);
  }
}

let code: number;
if (args.inner !== undefined) {
  const prefix = args.inner;
  code = await runHere({
    prefix,
    hub: `${prefix}-hub`,
    nodes: Array.from({ length: NODES }, (_, i) => `${prefix}-n${i}`),
  });
} else if (args["no-netns"]) {
  code = await runHere(null, "--no-netns");
} else {
  const why = netnsUnavailable();
  if (why === null) code = await runInNamespaces();
  else {
    log(`chaos: network namespaces are not available here (${why}): partitions skipped`);
    code = await runHere(null, why);
  }
}
process.exit(code);
