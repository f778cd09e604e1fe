/**
 * Measurement (not a test): how fast a node far behind catches up with a
 * live chain (issue 16 item 4).
 *
 *   node scripts/measure-catchup.ts [--indexes 30000] [--target observer|validator|both] [--rate 100]
 *                                   [--timeout 900] [--dir DIR] [--keep] [--build-only] [--in-process [--max-requests N]]
 *
 * Build (once per --dir; a later run with more --indexes extends it):
 * `validator testnet --validators 4 --observers 1`, then a history of
 * `--indexes` finalized indexes through the real protocol of the 4
 * validators (scripts/history); the observer holds nothing. Each run copies
 * those homes and starts the live validators as processes under
 * `scripts/load.ts` (`--rate` tx/s), so the chain keeps growing at its own
 * pace, then starts the target: the empty observer (4 validators live), or
 * validator 3 with its data deleted (a validator that far behind; validators
 * 0-2 live, a quorum, while it catches up; it signed nothing past the
 * history, so it cannot equivocate by forgetting). It polls
 * GET /status and GET /blocks/latest every second until the target has
 * executed up to the chain's finalized index (lag <= 2) or `--timeout` s
 * pass. It prints the target's catch-up rate (indexes executed per second of wall time and per CPU-second of its process: the machine may be shared), its peak RSS,
 * the chain's own rate meanwhile, and the rate per 30 s window.
 *
 * `--in-process` measures the node alone instead (no other process, no
 * network: what a shared machine does to the processes cannot blur it):
 * scripts/history catchUpInProcess runs the target's real protocol, storage
 * (LevelDB in a temp dir) and CatchUp against validator 0's stored history,
 * served by the real sync-server handlers, up to 300 indexes below its tip,
 * with those last 300 CommitQCs gossiped to it meanwhile as a live chain's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { parseSetFlags } from "../node/config/index.ts";
import { Signer } from "../node/crypto/index.ts";
import { protocolConfig } from "../node/protocol/index.ts";
import { loadNodeHome } from "../node/runtime/index.ts";
import { nodeLevelOptions, openStorage, writeBufferBytes } from "../node/storage/index.ts";
import type { CommitQc } from "../node/types/index.ts";
import { optionValue, parseScriptArgs, positiveInteger, usageExit } from "./cli.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  type ClusterNode,
  LocalCluster,
  REPO_ROOT,
  sampleProcess,
  sleep,
} from "./cluster/index.ts";
import { buildHistory, catchUpInProcess, historyNodeOf, skipFsync } from "./history/index.ts";

const SCRIPT = "measure-catchup";
const USAGE = `usage: node scripts/measure-catchup.ts [--indexes 30000] [--target observer|validator|both] [--rate 100]
                                   [--timeout 900] [--dir DIR] [--keep] [--build-only] [--in-process [--max-requests N]]
  How fast a node far behind catches up with a live chain: builds a history of --indexes indexes once per --dir,
  then starts the target against the live validators (loaded at --rate tx/s) until it reaches the tip or --timeout s.
  --in-process measures the node alone (no other process, no network).
`;
const args = parseScriptArgs({
  script: SCRIPT,
  usage: USAGE,
  options: {
    indexes: { type: "string", default: "30000" },
    target: { type: "string", default: "both" },
    rate: { type: "string", default: "100" },
    timeout: { type: "string", default: "900" },
    dir: { type: "string" },
    keep: { type: "boolean", default: false },
    "build-only": { type: "boolean", default: false },
    "in-process": { type: "boolean", default: false },
    /** In-process: stop after this many global-block requests (a crawl would make one per index). */
    "max-requests": { type: "string" },
  },
});
const [INDEXES, RATE, TIMEOUT_S] = optionValue({ script: SCRIPT, usage: USAGE }, () => [
  positiveInteger("indexes", args.indexes),
  positiveInteger("rate", args.rate),
  positiveInteger("timeout", args.timeout),
]);
const TARGETS = args.target === "both" ? ["observer", "validator"] : [args.target];
for (const t of TARGETS)
  if (t !== "observer" && t !== "validator") usageExit(SCRIPT, USAGE, `--target ${t}: observer, validator or both`);

const VALIDATORS = 4;
/** Validators that run the live chain while validator 3 catches up (a quorum of 4). */
const QUORUM = 3;
const WINDOW_S = 30;
const dir = args.dir ?? mkdtempSync(join(tmpdir(), "measure-catchup-"));
/** The cluster whose homes hold the history (copied for each run). */
const baseDir = join(dir, "base");
const builtFile = join(dir, "built.json");
const runDir = join(dir, "run");

interface Built {
  finalized: number;
}

async function build(prev: Built | null): Promise<Built> {
  const cluster =
    prev === null
      ? await LocalCluster.create({
          dir: baseDir,
          validators: VALIDATORS,
          observers: 1,
          chainId: "catchup",
          extraSlots: 0,
        })
      : LocalCluster.open(baseDir);
  const nodes = [];
  for (const v of cluster.validators) {
    // A block as soon as a tx waits 1 ms: one lane block per lane per index.
    const home = loadNodeHome({
      home: v.home,
      env: {},
      overrides: parseSetFlags(["lanes.maxBlockDelayMs=1", "lanes.maxAdaptiveBlockDelayMs=1"]),
    });
    const db = new Level<Uint8Array, Uint8Array>(
      join(home.paths.dataDir, "db"),
      nodeLevelOptions(writeBufferBytes(home.config.storage)),
    );
    await db.open();
    skipFsync(db);
    nodes.push(historyNodeOf(home, db));
  }
  const built = await buildHistory({
    nodes,
    indexes: INDEXES,
    txsPerRefill: 4,
    progress: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    `built a history of ${built.finalized} indexes (${built.txs} txs) in ${built.seconds.toFixed(0)} s\n`,
  );
  const out = { finalized: built.finalized };
  writeFileSync(builtFile, JSON.stringify(out));
  return out;
}

/** The highest index the node has executed (its latest stored global block). */
async function executedOf(node: ClusterNode): Promise<number> {
  try {
    const r = await node.get("/blocks/latest");
    return r.status === 200 ? (r.body as { index: number }).index : 0;
  } catch {
    return 0;
  }
}

interface Sample {
  t: number;
  chain: number;
  target: number;
  /** CPU seconds the target process used so far. */
  cpuS: number;
  rssBytes: number;
}

async function run(built: Built, target: "observer" | "validator"): Promise<string> {
  rmSync(runDir, { recursive: true, force: true });
  cpSync(baseDir, runDir, { recursive: true });
  const cluster = LocalCluster.open(runDir);
  const undo = cluster.stopOnExit({ keepDir: true });
  const live = target === "observer" ? cluster.validators : cluster.validators.slice(0, QUORUM);
  const behind: ClusterNode = target === "observer" ? cluster.observers[0]! : cluster.validators[QUORUM]!;
  if (target === "validator") rmSync(join(behind.home, "data"), { recursive: true, force: true });
  let load: ChildProcess | null = null;
  try {
    await cluster.startAll(live);
    load = spawn(
      process.execPath,
      [
        join(REPO_ROOT, "scripts", "load.ts"),
        ...live.flatMap((n) => ["--api", n.apiUrl]),
        "--rate",
        String(RATE),
        "--duration",
        String(TIMEOUT_S + 120),
      ],
      { cwd: REPO_ROOT, stdio: "ignore" },
    );
    // Let the live chain get going before the target starts.
    await sleep(10_000);
    const t0 = performance.now();
    await cluster.startAndWait(behind, {}, 120_000);
    const samples: Sample[] = [];
    let caughtUp: Sample | null = null;
    while ((performance.now() - t0) / 1000 < TIMEOUT_S) {
      const chain = (await live[0]!.status())?.finalizedIndex ?? null;
      const executed = await executedOf(behind);
      const proc = behind.pid === undefined ? undefined : sampleProcess(behind.pid);
      const s: Sample = {
        t: (performance.now() - t0) / 1000,
        chain: chain ?? samples.at(-1)?.chain ?? 0,
        target: executed,
        cpuS: proc === undefined ? (samples.at(-1)?.cpuS ?? 0) : proc.cpuTicks / CLOCK_TICKS_PER_SECOND,
        rssBytes: proc?.rssBytes ?? 0,
      };
      samples.push(s);
      if (samples.length % 10 === 0) {
        process.stdout.write(`  ${target}: t=${s.t.toFixed(0)} s chain ${s.chain} target executed ${s.target}\n`);
      }
      if (chain !== null && executed >= chain - 2 && executed > built.finalized) {
        caughtUp = s;
        break;
      }
      await sleep(1000);
    }
    const first = samples[0]!;
    const last = caughtUp ?? samples.at(-1)!;
    const windows: string[] = [];
    for (let w = 0; w * WINDOW_S < last.t; w++) {
      const a = samples.find((s) => s.t >= w * WINDOW_S);
      const b = [...samples].reverse().find((s) => s.t <= (w + 1) * WINDOW_S);
      if (a && b && b.t > a.t) windows.push(((b.target - a.target) / (b.t - a.t)).toFixed(0));
    }
    const rate = last.target / last.t;
    // CPU from the first sample (the process up and serving), so start-up is not counted.
    const cpuS = last.cpuS - first.cpuS;
    const perCpu = (last.target - first.target) / (cpuS || 1);
    const maxRssMb = Math.max(...samples.map((x) => x.rssBytes)) / 2 ** 20;
    const chainRate = (last.chain - first.chain) / (last.t - first.t || 1);
    return (
      `${target} ${first.chain} behind at start: ` +
      (caughtUp
        ? `caught up (lag <= 2) after ${last.t.toFixed(1)} s at index ${last.target}`
        : `NOT caught up after ${last.t.toFixed(0)} s: executed ${last.target} of ${last.chain}`) +
      `; catch-up ${rate.toFixed(0)} indexes/s wall, ${perCpu.toFixed(0)} indexes per CPU-second of the target ` +
      `(${cpuS.toFixed(1)} CPU-s, max RSS ${maxRssMb.toFixed(0)} MiB), chain ${chainRate.toFixed(1)} indexes/s meanwhile; ` +
      `per ${WINDOW_S} s window: ${windows.join(" ")}`
    );
  } finally {
    if (load !== null && load.exitCode === null) load.kill("SIGTERM");
    await cluster.stopAll();
    undo();
  }
}

/** The live tail gossiped during an in-process run: more than consensus buffers (256). */
const LIVE_TAIL = 300;

async function runInProcess(target: "observer" | "validator"): Promise<string> {
  const cluster = LocalCluster.open(baseDir);
  const open = (path: string) =>
    new Level<Uint8Array, Uint8Array>(path, { keyEncoding: "view", valueEncoding: "view" });
  const sourceHome = loadNodeHome({ home: cluster.validators[0]!.home, env: {}, overrides: [] });
  const source = await openStorage(open(join(sourceHome.paths.dataDir, "db")), sourceHome.committee);
  const tip = source.chain.tip;
  const liveTail: CommitQc[] = [];
  for (let i = tip - LIVE_TAIL + 1; i <= tip; i++) liveTail.push((await source.globalBlock(i))!.commitQc);
  const home = loadNodeHome({
    home: target === "observer" ? cluster.observers[0]!.home : cluster.validators[QUORUM]!.home,
    env: {},
    overrides: [],
  });
  const scratch = mkdtempSync(join(tmpdir(), "catchup-target-"));
  try {
    const r = await catchUpInProcess({
      source,
      committee: home.committee,
      me: home.validatorIndex,
      signer: home.validatorKey ? new Signer(home.validatorKey.secretKey, home.committee.chainId) : null,
      config: protocolConfig(home.config),
      db: open(join(scratch, "db")),
      liveTail,
      target: tip - LIVE_TAIL,
      maxRequests: args["max-requests"] === undefined ? Number.MAX_SAFE_INTEGER : Number(args["max-requests"]),
    });
    const executed = r.protocol.execution.executedIndex;
    await r.storage.close();
    return (
      `${target} in-process, ${tip - LIVE_TAIL} behind with the last ${LIVE_TAIL} CommitQCs gossiped: executed ${executed} in ` +
      `${r.seconds.toFixed(1)} s, ${(executed / r.seconds).toFixed(0)} indexes/s wall, ` +
      `${(executed / r.cpuSeconds).toFixed(0)} indexes per CPU-second (${r.cpuSeconds.toFixed(1)} CPU-s); ` +
      `${r.requests} global-block requests, ${r.indexesFetched} indexes fetched`
    );
  } finally {
    await source.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  let built = existsSync(builtFile) ? (JSON.parse(readFileSync(builtFile, "utf8")) as Built) : null;
  if (built !== null && built.finalized >= INDEXES) {
    process.stdout.write(`reusing the history of ${built.finalized} indexes in ${baseDir}\n`);
  } else built = await build(built);
  if (args["build-only"]) process.exit(0);
  const results: string[] = [];
  for (const t of TARGETS) {
    const target = t as "observer" | "validator";
    results.push(args["in-process"] ? await runInProcess(target) : await run(built, target));
  }
  for (const line of results) process.stdout.write(`${line}\n`);
} finally {
  rmSync(runDir, { recursive: true, force: true });
  if (args.keep || args.dir !== undefined) process.stdout.write(`history kept in ${baseDir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
