/**
 * `npm run bench`: a fresh 4-validator cluster under an open-loop sweep of
 * offered load, next to the machine's raw limits measured in the same run.
 *
 * Per step: offered and finalized tx/s, finality latency p50/p90/p99 (submit
 * to seen final), CPU (% of one core) and peak RSS per node from /proc.
 * Raw limits: libp2p stream throughput between two processes (node/net's
 * TCP + Noise + Yamux) and fsync latency of 4 KiB writes. The table ends with
 * finalized MB/s as a share of the raw stream MB/s. Results are printed and
 * written as JSON to bench-results/.
 *
 *   npm run bench                                   5 steps x 15 s (about 3 minutes)
 *   npm run bench -- --quick                        3 steps x 6 s (under 2 minutes)
 *   npm run bench -- --runs 3                       three fresh clusters, then the median of each cell
 *   npm run bench -- --profile                      also a CPU profile of node0 at the top rate
 *   npm run bench -- --rates 500,1000 --step-seconds 10 --drain 10 --out FILE
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatProfile, type ProfileSummary, readProfile, summarizeProfile } from "./bench/cpu-profile.ts";
import { ProcSampler } from "./bench/proc-sampler.ts";
import { measureFsync, measureStreamThroughput } from "./bench/raw-limits.ts";
import { type BenchRun, formatRun, medianRun, stepOf } from "./bench/report.ts";
import { LocalCluster, REPO_ROOT } from "./cluster/index.ts";
import { runLoad } from "./load.ts";

export interface BenchOptions {
  rates: number[];
  stepSeconds: number;
  drainSeconds: number;
  streamSeconds: number;
  runs: number;
  profile: boolean;
}

export const FULL: BenchOptions = {
  rates: [500, 1000, 2000, 4000, 8000],
  stepSeconds: 15,
  drainSeconds: 15,
  streamSeconds: 3,
  runs: 1,
  profile: false,
};
export const QUICK: BenchOptions = {
  rates: [500, 2000, 8000],
  stepSeconds: 6,
  drainSeconds: 10,
  streamSeconds: 2,
  runs: 1,
  profile: false,
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
      "step-seconds": { type: "string" },
      drain: { type: "string" },
      runs: { type: "string" },
      profile: { type: "boolean", default: false },
      out: { type: "string" },
    },
    allowPositionals: false,
  });
  const base = values.quick ? QUICK : FULL;
  const pos = (name: string, text: string | undefined, fallback: number, integer = false) => {
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!(v > 0) || (integer && !Number.isInteger(v)))
      throw new Error(`--${name} ${text}: expected a positive ${integer ? "integer" : "number"}`);
    return v;
  };
  return {
    rates: values.rates ? parseRates(values.rates) : base.rates,
    stepSeconds: pos("step-seconds", values["step-seconds"], base.stepSeconds),
    drainSeconds: pos("drain", values.drain, base.drainSeconds),
    streamSeconds: base.streamSeconds,
    runs: pos("runs", values.runs, 1, true),
    profile: values.profile ?? false,
    out: values.out,
  };
}

/** The cluster of one run: 4 validators, no observer. */
function createCluster(dir: string): Promise<LocalCluster> {
  return LocalCluster.create({ dir, validators: 4, chainId: "benchnet", extraSlots: 0 });
}

function apisOf(cluster: LocalCluster): string[] {
  return cluster.validators.map((n) => n.apiUrl);
}

/** One fresh cluster: raw limits, warm-up, the sweep. */
async function benchRun(opts: BenchOptions, cluster: LocalCluster, runNo: number): Promise<BenchRun> {
  say(`run ${runNo}: raw limits`);
  const fsync = measureFsync(cluster.dir);
  const stream = await measureStreamThroughput(opts.streamSeconds);
  say(`run ${runNo}: starting a fresh 4-validator cluster in ${cluster.dir}`);
  await cluster.startAll(cluster.validators);
  // Every validator has its 3 peers, so the cluster can finalize.
  await cluster.waitConnected(cluster.validators);
  const apis = apisOf(cluster);
  // Warm-up: JIT, connections, first blocks; not recorded.
  await runLoad({ apis, rateTps: Math.min(200, opts.rates[0] ?? 200), durationS: 2, drainS: 10 });
  const steps = [];
  for (const rate of opts.rates) {
    const pids = new Map(cluster.validators.map((n) => [n.name, n.pid ?? -1]));
    const sampler = new ProcSampler(pids);
    sampler.start();
    const load = await runLoad({
      apis,
      rateTps: rate,
      durationS: opts.stepSeconds,
      drainS: opts.drainSeconds,
      onOfferEnd: () => sampler.end(),
    });
    const step = stepOf(load, sampler.stop());
    steps.push(step);
    say(
      `  ${rate} tx/s offered: ${step.finalizedTps.toFixed(0)} tx/s final, p50 ${step.latencyMs.p50?.toFixed(0)} ms, p99 ${step.latencyMs.p99?.toFixed(0)} ms, 503s ${step.rejectedTxs}`,
    );
  }
  return { raw: { stream, fsync }, steps };
}

/** Restarts node0 under --cpu-prof, loads the cluster at `rate`, stops node0 and summarizes its profile. */
async function profileNode0(
  cluster: LocalCluster,
  rate: number,
  seconds: number,
  keepAs: string,
): Promise<ProfileSummary> {
  const dir = cluster.layout.profilesDir;
  rmSync(dir, { recursive: true, force: true });
  const node0 = cluster.node("node0");
  await cluster.restart(node0, { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] });
  await cluster.waitConnected(cluster.validators);
  await runLoad({ apis: apisOf(cluster), rateTps: rate, durationS: seconds, drainS: 5 });
  await cluster.stop(node0, 30_000);
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length === 0) throw new Error(`node0 wrote no profile into ${dir}`);
  const newest = files.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
  // The cluster directory is removed after the run: keep the profile beside the results.
  copyFileSync(newest, keepAs);
  say(`profile: ${keepAs}`);
  return summarizeProfile(readProfile(keepAs), 25);
}

const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--profile] [--rates 500,1000] [--step-seconds S] [--drain S] [--out FILE]
  (default: rates ${FULL.rates.join(",")} tx/s, ${FULL.stepSeconds} s per step; --quick: ${QUICK.rates.join(",")} tx/s, ${QUICK.stepSeconds} s per step)
`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  let opts: ReturnType<typeof parseBenchArgs>;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const resultsDir = join(REPO_ROOT, "bench-results");
  const clusterDir = join(resultsDir, `cluster-${process.pid}`);
  const started = new Date();
  say(
    `bench: rates ${opts.rates.join(", ")} tx/s, ${opts.stepSeconds} s per step, ${opts.runs} run(s); ` +
      `${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
  );
  const runs: BenchRun[] = [];
  let profile: ProfileSummary | undefined;
  for (let i = 1; i <= opts.runs; i++) {
    const cluster = await createCluster(clusterDir);
    // Interrupted (Ctrl-C): the nodes die with us and the directory goes.
    const undo = cluster.stopOnExit();
    try {
      const run = await benchRun(opts, cluster, i);
      runs.push(run);
      say(formatRun(run, `\nrun ${i} of ${opts.runs}`));
      if (opts.profile && i === opts.runs) {
        const keepAs = join(resultsDir, `node0-${started.toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
        profile = await profileNode0(cluster, opts.rates.at(-1)!, Math.max(10, opts.stepSeconds), keepAs);
      }
    } finally {
      await cluster.destroy({ signal: "SIGTERM" });
      undo();
    }
  }
  const summary = runs.length > 1 ? medianRun(runs) : runs[0]!;
  if (runs.length > 1) say(formatRun(summary, `\nmedian of ${runs.length} runs (each cell on its own)`));
  if (profile) say(`\nCPU profile of node0 at ${opts.rates.at(-1)} tx/s offered\n${formatProfile(profile)}`);
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
