/**
 * `npm run bench`: a fresh local cluster (4 validators by default) whose
 * peak the bench finds by itself, next to the machine's raw limits measured
 * in the same run.
 *
 * The climb (scripts/bench/peak-search.ts): open-loop steps of rising offered
 * load (start x growth^k) until a step finalizes less than 95% of what was
 * offered or its p99 passes 1 s, then a few bisections between the last good
 * and the first bad rate; then one more step at 80% of the peak for latency.
 * Per step: offered and finalized tx/s, finality latency p50/p90/p99 (submit
 * to seen final), and per node from /proc: CPU (% of one core over the offered
 * period), CPU µs per finalized tx and bytes written to disk per finalized tx
 * (/proc/<pid>/io write_bytes; both over the offered period and the drain),
 * peak RSS. Raw limits: libp2p stream throughput between two processes
 * (node/net's TCP + Noise + Yamux) and fsync latency of 4 KiB writes.
 * Results are printed and written as JSON to bench-results/.
 *
 *   npm run bench                                   climb from 500 tx/s, x2 per step, 15 s steps
 *   npm run bench -- --quick                        3 short steps, x3 per step (about a minute)
 *   npm run bench -- --validators 7                 a 7-validator cluster
 *   npm run bench -- --runs 3                       three fresh clusters, then the median
 *   npm run bench -- --profile                      also a CPU profile of node0 at the peak
 *   npm run bench -- --start-rate 1000 --growth 1.5 --max-rate 20000 --max-steps 8 --refine 2
 *   npm run bench -- --rates 500,1000 --step-seconds 10 --drain 10 --out FILE   (an explicit ladder)
 *   npm run bench -- --set node.heapGrowingPercent=0    config override for every node (repeatable)
 *   npm run bench -- --warmup 0                         no warm-up at the step's rate before a step that follows a pause (default 5 s)
 *   npm run bench -- --fresh                            a fresh cluster after an overloaded step and for the 80% step (young databases)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, MAX_CPU_PROFILE_SECONDS, parseSetFlags } from "../node/config/index.ts";
import { formatProfile, type ProfileSummary, readProfile, summarizeProfile } from "./bench/cpu-profile.ts";
import { fetchCpuProfile, profilingSets } from "./bench/node-profile.ts";
import { latencyRate, type PeakPlan, searchPeak, shortfall } from "./bench/peak-search.ts";
import { ProcSampler } from "./bench/proc-sampler.ts";
import { measureFsync, measureStreamThroughput } from "./bench/raw-limits.ts";
import { type BenchRun, type BenchStep, formatRun, medianRun, peakReport, stepOf } from "./bench/report.ts";
import { ActivityProbe, SETTLE_CRITERIA, settle } from "./bench/settle.ts";
import { helpExit, optionValue } from "./cli.ts";
import { LocalCluster, REPO_ROOT } from "./cluster/index.ts";
import { runLoad } from "./load.ts";

export interface BenchOptions extends PeakPlan {
  stepSeconds: number;
  drainSeconds: number;
  /**
   * Seconds of load at the coming step's own rate, not recorded (0 = none),
   * on every fresh cluster and after every pause to settle. A cluster
   * loaded at once with thousands of tx/s finalizes its first seconds at
   * several times the latency of later ones (JIT, the young generation
   * growing to its limit, LevelDB's first memtables; an idle node shrinks
   * its young generation again): without this, the step after a start or a
   * pause (the 80% step always) measures that as much as the rate.
   */
  warmupSeconds: number;
  /**
   * After a step that did not keep up, and before the 80% step, replace
   * the cluster by a fresh one instead of waiting until it settles
   * (scripts/bench/settle.ts). A fresh database flatters the step: LevelDB
   * has not begun to compact.
   */
  fresh: boolean;
  streamSeconds: number;
  runs: number;
  profile: boolean;
  validators: number;
  /**
   * `--set section.key=value` overrides for every node of every cluster.
   * The nodes never see the caller's VALIDATOR_* variables (scripts/cluster),
   * so this is how a run compares settings.
   */
  sets: readonly string[];
  /**
   * Send txs as `application/octet-stream` (length-prefixed) instead of
   * JSON: the intake a high-rate client uses.
   */
  binary: boolean;
}

export const FULL: BenchOptions = {
  startTps: 500,
  growth: 2,
  maxTps: 100_000,
  maxSteps: 10,
  refineSteps: 2,
  stepSeconds: 15,
  drainSeconds: 15,
  warmupSeconds: 5,
  fresh: false,
  streamSeconds: 3,
  runs: 1,
  profile: false,
  validators: 4,
  sets: [],
  binary: false,
};
export const QUICK: BenchOptions = {
  startTps: 500,
  growth: 3,
  maxTps: 100_000,
  maxSteps: 3,
  refineSteps: 0,
  stepSeconds: 5,
  drainSeconds: 5,
  // --quick stays about a minute: its fresh clusters are not warmed at the step's rate.
  warmupSeconds: 0,
  // ... and does not wait for a cluster to settle (up to SETTLE_CRITERIA.timeoutMs): fresh clusters.
  fresh: true,
  streamSeconds: 2,
  runs: 1,
  profile: false,
  validators: 4,
  sets: [],
  binary: false,
};

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Parses `--rates 250,500`: positive numbers, ascending order kept as given. */
export function parseRates(text: string): number[] {
  const rates = text.split(",").map((s) => s.trim());
  if (rates.length === 0 || rates.some((r) => !/^\d+(\.\d+)?$/.test(r) || Number(r) <= 0)) {
    throw new Error(`--rates ${text}: expected comma-separated positive numbers, e.g. 250,500,1000`);
  }
  return rates.map(Number);
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions & { out: string | undefined } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      rates: { type: "string" },
      "start-rate": { type: "string" },
      growth: { type: "string" },
      "max-rate": { type: "string" },
      "max-steps": { type: "string" },
      refine: { type: "string" },
      validators: { type: "string" },
      "step-seconds": { type: "string" },
      drain: { type: "string" },
      warmup: { type: "string" },
      fresh: { type: "boolean" },
      runs: { type: "string" },
      profile: { type: "boolean", default: false },
      set: { type: "string", multiple: true },
      binary: { type: "boolean", default: false },
      out: { type: "string" },
    },
    allowPositionals: false,
    // --no-fresh: a --quick run that waits for its cluster to settle.
    allowNegative: true,
  });
  const base = values.quick ? QUICK : FULL;
  const pos = (name: string, text: string | undefined, fallback: number, integer = false) => {
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!(v > 0) || (integer && !Number.isInteger(v)))
      throw new Error(`--${name} ${text}: expected a positive ${integer ? "integer" : "number"}`);
    return v;
  };
  const growth = pos("growth", values.growth, base.growth);
  if (growth <= 1) throw new Error(`--growth ${values.growth}: expected a number above 1`);
  const validators = pos("validators", values.validators, base.validators, true);
  if (validators < 4 || validators > 16) throw new Error(`--validators ${validators}: expected 4 to 16`);
  const warmupText = values.warmup;
  if (warmupText !== undefined && !(/^\d+(\.\d+)?$/.test(warmupText) && Number(warmupText) <= 600)) {
    throw new Error(`--warmup ${warmupText}: expected seconds from 0 (none) to 600`);
  }
  const refineText = values.refine;
  if (refineText !== undefined && !/^\d+$/.test(refineText)) {
    throw new Error(`--refine ${refineText}: expected a whole number of bisections (0 = none)`);
  }
  const rates = values.rates ? parseRates(values.rates) : undefined;
  const sets = values.set ?? [];
  // Checked against the config schema now, not when the first cluster starts.
  loadConfig({ home: REPO_ROOT, file: null, env: {}, overrides: parseSetFlags(sets) });
  return {
    ...(rates ? { rates } : {}),
    startTps: pos("start-rate", values["start-rate"], base.startTps),
    growth,
    maxTps: pos("max-rate", values["max-rate"], base.maxTps),
    maxSteps: rates ? rates.length : pos("max-steps", values["max-steps"], base.maxSteps, true),
    refineSteps: refineText !== undefined ? Number(refineText) : base.refineSteps,
    validators,
    stepSeconds: pos("step-seconds", values["step-seconds"], base.stepSeconds),
    drainSeconds: pos("drain", values.drain, base.drainSeconds),
    warmupSeconds: warmupText !== undefined ? Number(warmupText) : base.warmupSeconds,
    fresh: values.fresh ?? base.fresh,
    streamSeconds: base.streamSeconds,
    runs: pos("runs", values.runs, 1, true),
    profile: values.profile ?? false,
    sets,
    binary: values.binary ?? false,
    out: values.out,
  };
}

/** The cluster of one run: `validators` validators with the run's overrides, no observer. */
function createCluster(dir: string, validators: number, sets: readonly string[]): Promise<LocalCluster> {
  return LocalCluster.create({ dir, validators, chainId: "benchnet", extraSlots: 0, sets });
}

function apisOf(cluster: LocalCluster): string[] {
  return cluster.validators.map((n) => n.apiUrl);
}

/** One load step at `rate` with /proc sampling of every validator. */
async function measureStep(opts: BenchOptions, cluster: LocalCluster, rate: number, label = ""): Promise<BenchStep> {
  const pids = new Map(cluster.validators.map((n) => [n.name, n.pid ?? -1]));
  const sampler = new ProcSampler(pids);
  sampler.start();
  const load = await runLoad({
    apis: apisOf(cluster),
    rateTps: rate,
    durationS: opts.stepSeconds,
    drainS: opts.drainSeconds,
    binary: opts.binary,
    onOfferEnd: () => sampler.end(),
  });
  const step = stepOf(load, sampler.stop());
  say(
    `  ${label}${rate} tx/s offered: ${step.finalizedTps.toFixed(0)} tx/s final, p50 ${step.latencyMs.p50?.toFixed(0)} ms, p99 ${step.latencyMs.p99?.toFixed(0)} ms, 503s ${step.rejectedTxs}`,
  );
  return step;
}

/**
 * The cluster a run measures on. An overloaded step leaves a backlog (full
 * mempools, nodes behind, LevelDB compaction debt: disk bytes per tx doubled
 * in the steps after one) that would be charged to the next, lower rate, so
 * after such a step, and before the 80% step, the cluster is left to settle
 * until every node is quiet (scripts/bench/settle.ts): the next step then
 * runs on the database the climb built. With --fresh, or when it does not
 * settle in time, it is replaced by a fresh cluster instead.
 */
class ClusterSlot {
  readonly dir: string;
  readonly #opts: BenchOptions;
  #current: { cluster: LocalCluster; undo: () => void } | undefined;
  /** The next step follows a start or a pause: warm the cluster at its rate first. */
  #paused = false;
  /** Clusters started so far in this run. */
  started = 0;
  /** Seconds each wait to settle took, in order. */
  readonly settleSeconds: number[] = [];

  constructor(dir: string, opts: BenchOptions) {
    this.dir = dir;
    this.#opts = opts;
  }

  /**
   * The running cluster for a step at `rate`. If there is none, a fresh one
   * is started, connected and loaded briefly at a low rate (connections,
   * first blocks). After a start or a pause to settle it is warmed for
   * `warmupSeconds` at `rate` itself. Neither load is recorded.
   */
  async get(rate: number): Promise<LocalCluster> {
    if (this.#current === undefined) await this.#startFresh();
    const cluster = this.#current!.cluster;
    if (this.#paused && this.#opts.warmupSeconds > 0) {
      const warm = await runLoad({
        apis: apisOf(cluster),
        rateTps: rate,
        durationS: this.#opts.warmupSeconds,
        drainS: this.#opts.drainSeconds,
        binary: this.#opts.binary,
      });
      const ms = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(0));
      say(
        `  warmed up at ${rate} tx/s for ${this.#opts.warmupSeconds} s (not recorded): p50 ${ms(warm.latencyMs.p50)} ms, p99 ${ms(warm.latencyMs.p99)} ms`,
      );
    }
    this.#paused = false;
    return cluster;
  }

  async #startFresh(): Promise<void> {
    const cluster = await createCluster(this.dir, this.#opts.validators, [
      ...profilingSets(this.#opts.profile),
      ...this.#opts.sets,
    ]);
    // Interrupted (Ctrl-C): the nodes die with us and the directory goes.
    const undo = cluster.stopOnExit();
    this.#current = { cluster, undo };
    this.started++;
    say(`  a fresh ${this.#opts.validators}-validator cluster in ${cluster.dir}`);
    await cluster.startAll(cluster.validators);
    // Every validator has all its peers, so the cluster can finalize.
    await cluster.waitConnected(cluster.validators);
    // Warm-up: JIT, connections, first blocks; not recorded.
    await runLoad({
      apis: apisOf(cluster),
      rateTps: Math.min(200, this.#opts.startTps),
      durationS: 2,
      drainS: 10,
      binary: this.#opts.binary,
    });
    this.#paused = true;
  }

  /**
   * Clears the backlog before the next step: waits until the cluster
   * settles, or (--fresh, or not settled within the bound) discards it so
   * the next get() starts a fresh one.
   */
  async clearBacklog(why: string): Promise<void> {
    const c = this.#current;
    if (c === undefined) return;
    if (this.#opts.fresh) {
      await this.discard();
      return;
    }
    const probe = new ActivityProbe(c.cluster.validators);
    const result = await settle(() => probe.sample(), SETTLE_CRITERIA);
    if (result.settled) {
      this.settleSeconds.push(result.seconds);
      this.#paused = true;
      say(`  ${why}: settled in ${result.seconds.toFixed(0)} s (mempools empty, nodes level, CPU and disk quiet)`);
      return;
    }
    say(`  ${why}: not settled after ${result.seconds.toFixed(0)} s (${result.busy}); a fresh cluster instead`);
    await this.discard();
  }

  async discard(): Promise<void> {
    const c = this.#current;
    this.#current = undefined;
    if (c === undefined) return;
    try {
      await c.cluster.destroy({ signal: "SIGTERM" });
    } finally {
      c.undo();
    }
  }
}

/** One run: raw limits, the climb to the peak, the step at 80% of it (the backlog cleared after overloaded steps and before the 80% step). */
async function benchRun(opts: BenchOptions, slot: ClusterSlot, runNo: number): Promise<BenchRun> {
  say(`run ${runNo}: raw limits`);
  const fsync = measureFsync(slot.dir);
  const stream = await measureStreamThroughput(opts.streamSeconds);
  say(`run ${runNo}: the climb`);
  const climb = await searchPeak(opts, async (rate) => {
    const step = await measureStep(opts, await slot.get(rate), rate);
    if (shortfall(step) !== undefined) await slot.clearBacklog(`after ${rate} tx/s`);
    return step;
  });
  say(`  climb stopped: ${climb.stoppedBecause}`);
  // Before the 80% step the backlog is cleared in any case: after a climb
  // whose every step kept up, the cluster still carries the highest step's.
  const eighty = climb.peak ? latencyRate(climb.peak) : undefined;
  if (eighty !== undefined) await slot.clearBacklog(`before the 80% step`);
  const atEighty =
    eighty !== undefined ? await measureStep(opts, await slot.get(eighty), eighty, "80% of the peak: ") : undefined;
  return {
    raw: { stream, fsync },
    steps: climb.steps,
    peak: peakReport(opts.validators, climb.steps, climb.peak, atEighty, climb.stoppedBecause),
    ...(slot.settleSeconds.length > 0 && { settleSeconds: [...slot.settleSeconds] }),
  };
}

/**
 * Profiles node0 as it runs (GET /debug/cpu-profile: no restart, so its code
 * is as warm as its peers', README "Benchmark") over the first `seconds` of a
 * load at `rate`, keeps the profile as `keepAs` and summarizes it.
 */
async function profileNode0(
  cluster: LocalCluster,
  rate: number,
  seconds: number,
  keepAs: string,
  binary: boolean,
): Promise<ProfileSummary> {
  const cancel = new AbortController();
  const profile = fetchCpuProfile(cluster.node("node0").apiUrl, seconds, cancel.signal);
  // Its rejection is awaited after the load; until then this keeps it from counting as unhandled.
  profile.catch(() => {});
  try {
    await runLoad({ apis: apisOf(cluster), rateTps: rate, durationS: seconds, drainS: 5, binary });
  } catch (err) {
    // A load that failed leaves node0 profiling for nothing: disconnecting ends it.
    cancel.abort();
    throw err;
  }
  const json = await profile;
  mkdirSync(dirname(keepAs), { recursive: true });
  writeFileSync(keepAs, json);
  say(`profile: ${keepAs}`);
  return summarizeProfile(readProfile(keepAs), 25);
}

const USAGE = `usage: npm run bench -- [--quick] [--validators N] [--runs N] [--profile] [--start-rate R] [--growth X]
         [--max-rate R] [--max-steps N] [--refine N] [--rates 500,1000] [--step-seconds S] [--drain S] [--warmup S] [--out FILE]
         [--set section.key=value ...] [--binary] [--fresh]
  Climbs from --start-rate, x --growth per step, until a step finalizes < 95% of offered or its p99 > 1 s,
  bisects --refine times, then measures latency at 80% of the peak. After a step that did not keep up, and
  before the 80% step, it waits until the cluster settles (mempools empty, nodes level, CPU and disk quiet)
  and goes on with the same cluster and database.
  (default: from ${FULL.startTps} tx/s x${FULL.growth}, at most ${FULL.maxSteps} steps of ${FULL.stepSeconds} s, ${FULL.refineSteps} bisections;
   --quick: from ${QUICK.startTps} tx/s x${QUICK.growth}, ${QUICK.maxSteps} steps of ${QUICK.stepSeconds} s, no bisection)
  --set overrides a config key on every node (repeatable); the nodes ignore the shell's VALIDATOR_* variables.
  --warmup S loads the cluster for S s at the coming step's rate after a start or a pause to settle (default ${FULL.warmupSeconds}; --quick ${QUICK.warmupSeconds}).
  --fresh starts a fresh cluster instead of waiting for it to settle (the default of --quick; --no-fresh waits);
    a young database flatters the step.
  --binary sends the txs as application/octet-stream (length-prefixed) instead of JSON.
`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  helpExit(USAGE, argv);
  const opts = optionValue({ script: "bench", usage: USAGE }, () => parseBenchArgs(argv));
  const resultsDir = join(REPO_ROOT, "bench-results");
  const clusterDir = join(resultsDir, `cluster-${process.pid}`);
  const started = new Date();
  say(
    `bench: ${opts.validators} validators, ${opts.rates ? `rates ${opts.rates.join(", ")}` : `from ${opts.startTps} x${opts.growth}`} tx/s, ` +
      `${opts.stepSeconds} s per step, ${opts.runs} run(s)${opts.sets.length > 0 ? `, ${opts.sets.map((x) => `--set ${x}`).join(" ")}` : ""}` +
      `${opts.binary ? ", binary intake" : ""}${opts.fresh ? ", fresh clusters after overloaded steps" : ""}; ` +
      `${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
  );
  const runs: BenchRun[] = [];
  let profile: ProfileSummary | undefined;
  let profileRate = 0;
  for (let i = 1; i <= opts.runs; i++) {
    const slot = new ClusterSlot(clusterDir, opts);
    try {
      const run = await benchRun(opts, slot, i);
      runs.push(run);
      const settled =
        slot.settleSeconds.length === 0
          ? ""
          : `, settled ${slot.settleSeconds.length} time(s): ${slot.settleSeconds.map((x) => x.toFixed(0)).join(", ")} s`;
      say(
        formatRun(
          run,
          `\nrun ${i} of ${opts.runs} (${slot.started} fresh cluster${slot.started === 1 ? "" : "s"}${settled})`,
        ),
      );
      if (opts.profile && i === opts.runs) {
        const keepAs = join(resultsDir, `node0-${started.toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
        profileRate = run.peak?.peakOfferedTps ?? opts.startTps;
        profile = await profileNode0(
          await slot.get(profileRate),
          profileRate,
          Math.min(MAX_CPU_PROFILE_SECONDS, Math.max(10, opts.stepSeconds)),
          keepAs,
          opts.binary,
        );
      }
    } finally {
      await slot.discard();
    }
  }
  const summary = runs.length > 1 ? medianRun(runs) : runs[0]!;
  if (runs.length > 1) say(formatRun(summary, `\nmedian of ${runs.length} runs (each cell on its own)`));
  if (profile) say(`\nCPU profile of node0 at ${profileRate} tx/s offered (the peak)\n${formatProfile(profile)}`);
  mkdirSync(resultsDir, { recursive: true });
  const out = opts.out ?? join(resultsDir, `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
  const strip = (r: BenchRun) => ({ ...r, steps: r.steps.map(({ load: _load, ...s }) => s) });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        startedAt: started.toISOString(),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        options: opts,
        summary: strip(summary),
        runs: runs.map((r) => ({ ...r, steps: r.steps.map((s) => ({ ...s, load: s.load })) })),
        profile,
      },
      null,
      2,
    )}\n`,
  );
  say(`\nwritten: ${out}`);
}

if (import.meta.main) {
  main().catch((err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  });
}
