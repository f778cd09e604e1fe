/**
 * A local cluster for development: one entry point, one subcommand per action.
 *
 *   npm run devnet -- up [N] [--set section.key=value ...]   N validators (default 4) in the background
 *   npm run devnet -- up --ha                                 ... plus 3 redis-servers and a standby of node0
 *   npm run devnet -- failover                               kill -9 the HA instance that signs; the other takes over
 *   npm run devnet -- status [--json]                        one line per node: index, round, peers, lag
 *   npm run devnet -- logs I [--lines 50] [--no-follow] [--raw]
 *   npm run devnet -- kill I | stop I | restart I [--cpu-prof]
 *   npm run devnet -- join                                   an extra observer that syncs from the cluster
 *   npm run devnet -- load [--rate 200] [--duration 10] [--timeline]   open-loop 512 B txs over all validators
 *   npm run devnet -- down                                   stop every node, keep the data
 *   npm run devnet -- clean                                  down, then delete the devnet directory
 *
 * A devnet is a LocalCluster (scripts/cluster) whose nodes run in the
 * background. State lives in .devnet/ of the checkout (git-ignored; --dir or
 * $DEVNET_DIR for another): cluster.json (ports, nodes), homes/<node>,
 * logs/<node>.log, pids/<node>.pid. `up` picks a random free base port
 * (checked by binding every port the cluster and its joins need), so two
 * clusters on one machine do not collide by accident.
 */
import { Command, InvalidArgumentError } from "commander";
import { followLog } from "./cluster/index.ts";
import { clean, devnetDir, down, join, load, openDevnet, restartOne, stopOne, up } from "./devnet/cluster.ts";
import { failover } from "./devnet/ha.ts";
import { collectStatus, formatStatus } from "./devnet/status.ts";
import { formatLoadResult, formatTimeline } from "./load.ts";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

function positiveInt(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InvalidArgumentError("expected a positive integer");
  return Number(text);
}

function positiveNumber(text: string): number {
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(v > 0)) throw new InvalidArgumentError("expected a positive number");
  return v;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function buildProgram(): Command {
  const program = new Command("devnet")
    .description("run a local cluster of validator nodes in the background")
    .option("--dir <dir>", "devnet directory (default: $DEVNET_DIR, else .devnet in the checkout)")
    .exitOverride()
    .showHelpAfterError();
  const dirOf = (): string => devnetDir(program.opts<{ dir?: string }>().dir, process.env);

  program
    .command("up")
    .argument("[validators]", "number of validators of a new devnet (default 4)", positiveInt)
    .option("--set <section.key=value>", "config override for every node of a new devnet (repeatable)", collect)
    .option("--ha", "high availability: 3 redis-servers and a standby instance (standby0) of node0")
    .description("create a devnet of N validators and start it, or start the stopped nodes of an existing one")
    .action(async (validators: number | undefined, opts: { set?: string[]; ha?: boolean }) => {
      const dir = dirOf();
      const res = await up(dir, {
        ...(validators !== undefined && { validators }),
        sets: opts.set ?? [],
        ha: opts.ha === true,
      });
      const s = res.cluster.state;
      out(
        `${res.created ? "created" : "resumed"} devnet in ${dir}: ${s.nodes.length} nodes, chain ${s.chainId}, ports ${s.basePort}..${s.basePort + 2 * s.nodes.length - 1}`,
      );
      for (const n of s.nodes) {
        const started = res.started.find((x) => x.name === n.name);
        out(
          `  ${n.name.padEnd(10)} p2p ${n.p2pPort}  api http://127.0.0.1:${n.apiPort}  ${started ? `started pid ${started.pid}` : "already running"}`,
        );
      }
    });

  program
    .command("status")
    .option("--json", "print the rows as JSON")
    .description("one line per node: finalized index, round, peers, lag behind the highest node")
    .action(async (opts: { json?: boolean }) => {
      const rows = await collectStatus(openDevnet(dirOf()));
      out(opts.json ? JSON.stringify(rows, null, 2) : formatStatus(rows));
    });

  program
    .command("logs")
    .argument("<node>", "node position (0, 1, ...) or name (node2, observer0)")
    .option("--lines <n>", "lines of history to show first", positiveInt, 20)
    .option("--no-follow", "print and exit instead of following")
    .option("--raw", "print the JSON lines as they are")
    .description("follow a node's log, pretty-printed")
    .action(async (which: string, opts: { lines: number; follow: boolean; raw?: boolean }) => {
      const node = openDevnet(dirOf()).node(which);
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      await followLog(node.logFile, {
        lines: opts.lines,
        follow: opts.follow,
        pretty: !opts.raw,
        colorize: process.stdout.isTTY === true,
        signal: stop.signal,
        write: (t) => process.stdout.write(t),
      });
    });

  for (const [name, signal, what] of [
    ["kill", "SIGKILL", "SIGKILL a node (a crash: nothing is flushed)"],
    ["stop", "SIGTERM", "stop a node cleanly (SIGTERM)"],
  ] as const) {
    program
      .command(name)
      .argument("<node>", "node position (0, 1, ...) or name")
      .description(what)
      .action(async (which: string) => {
        const { node, outcome } = await stopOne(dirOf(), which, signal);
        out(`${node.name}: ${outcome}`);
      });
  }

  program
    .command("restart")
    .argument("<node>", "node position (0, 1, ...) or name")
    .option("--cpu-prof", "run it under node --cpu-prof (the profile is written to <dir>/profiles when it stops)")
    .description("stop a node if it runs, then start it again from its data")
    .action(async (which: string, opts: { cpuProf?: boolean }) => {
      const dir = dirOf();
      const nodeArgs = opts.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${openDevnet(dir).layout.profilesDir}`] : [];
      const { node, stopped, pid } = await restartOne(dir, which, { nodeArgs });
      out(`${node.name}: ${stopped === "not running" ? "was not running" : stopped}; started pid ${pid}`);
    });

  program
    .command("join")
    .description("start an extra observer node that syncs from the running cluster")
    .action(async () => {
      const { node, peerId, pid } = await join(dirOf());
      out(`${node.name} joined: pid ${pid}, p2p ${node.p2pPort}, api http://127.0.0.1:${node.apiPort}, peer ${peerId}`);
      out("it syncs the chain from the validators; watch its lag with: npm run devnet -- status");
    });

  program
    .command("load")
    .option("--rate <tx/s>", "offered load", positiveNumber, 200)
    .option("--duration <s>", "seconds of load", positiveNumber, 10)
    .option("--tx-bytes <n>", "size of each key=value tx", positiveInt, 512)
    .option("--drain <s>", "seconds to wait for the last txs to finalize", positiveNumber, 15)
    .option("--json", "print the result as JSON (the timeline included)")
    .option("--timeline", "also print the latency by submit second (p50, p99)")
    .description("submit txs at a fixed rate to every validator and measure submit-to-final latency")
    .action(
      async (opts: {
        rate: number;
        duration: number;
        txBytes: number;
        drain: number;
        json?: boolean;
        timeline?: boolean;
      }) => {
        const { result, down: stopped } = await load(dirOf(), {
          rateTps: opts.rate,
          durationS: opts.duration,
          txBytes: opts.txBytes,
          drainS: opts.drain,
        });
        if (stopped.length > 0) out(`not sending to stopped validators: ${stopped.join(", ")}`);
        out(opts.json ? JSON.stringify(result) : formatLoadResult(result));
        if (opts.timeline && !opts.json) out(formatTimeline(result.timeline));
      },
    );

  program
    .command("failover")
    .description(
      "HA devnet: kill -9 the instance of node0 that signs now; the standby takes over; restart the killed one",
    )
    .action(async () => {
      const dir = dirOf();
      const r = await failover(dir, openDevnet(dir));
      out(
        `killed ${r.killed}; ${r.leader} leads at epoch ${r.epoch} after ${r.takeoverMs} ms; ${r.killed} restarted as the standby`,
      );
    });

  program
    .command("down")
    .description("stop every node (SIGTERM); keys, config and data stay")
    .action(async () => {
      for (const { name, outcome } of await down(dirOf())) out(`${name}: ${outcome}`);
    });

  program
    .command("clean")
    .description("stop every node and delete the devnet directory")
    .action(async () => {
      const dir = dirOf();
      await clean(dir);
      out(`removed ${dir}`);
    });

  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string; exitCode?: number };
    if (e.code?.startsWith("commander.")) {
      return e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
    }
    process.stderr.write(`devnet: ${e.message}\n`);
    return 1;
  }
}

if (import.meta.main) {
  // Output piped into `head` and the like: a closed pipe ends the command quietly.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv);
}
