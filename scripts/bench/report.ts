import { THREAD_GROUPS, type ThreadGroup } from "../cluster/index.ts";
import { formatTable } from "../devnet/status.ts";
import type { LoadResult } from "../load.ts";
import type { NodeUsage } from "./proc-sampler.ts";
import type { FsyncResult, StreamResult } from "./raw-limits.ts";
import { median } from "./stats.ts";

/** One step of the offered-load sweep. */
export interface BenchStep {
  offeredTps: number;
  sentTps: number;
  finalizedTps: number;
  /** Txs seen final in this step (offered period and drain). */
  finalizedTxs?: number;
  /**
   * Global blocks (indexes) the event stream saw finalized in this step. At
   * low load the consensus runs as many indexes as it can (each new lane
   * certificate can start one), so a node's CPU per tx there is mostly
   * per-index and per-block work spread over few txs; txs per index shows it.
   */
  finalizedIndexes?: number;
  finalizedMBps: number;
  latencyMs: { p50: number | undefined; p90: number | undefined; p99: number | undefined };
  rejectedTxs: number;
  failedTxs: number;
  unfinalizedTxs: number;
  nodes: NodeUsage[];
  /** The load generator's own CPU, % of one core. */
  generatorCpuPercent: number | undefined;
  load?: LoadResult;
}

export interface BenchRun {
  raw: { stream: StreamResult; fsync: FsyncResult };
  /** The climbing steps, in the order measured. */
  steps: BenchStep[];
  /** The peak search's verdict; absent in runs from before the search. */
  peak?: PeakReport;
  /** Seconds each wait for the cluster to settle took (scripts/bench/settle.ts); absent when it never waited. */
  settleSeconds?: number[];
}

/** What the bench found: the peak and the latency at 80% of it. */
export interface PeakReport {
  validators: number;
  /** Highest finalized tx/s of a step that kept up; undefined when no step did. */
  peakTps: number | undefined;
  peakOfferedTps: number | undefined;
  stoppedBecause: string;
  /** The extra step at 80% of the peak. */
  atEighty: BenchStep | undefined;
  /**
   * Per node, at the peak step: CPU µs per finalized tx, bytes written to
   * disk per finalized tx, the CPU's split by thread group; highest RSS over
   * all steps.
   */
  nodes: {
    name: string;
    cpuUsPerTx: number | undefined;
    diskBytesPerTx: number | undefined;
    maxRssMiB: number | undefined;
    cpuShareByThread?: Record<ThreadGroup, number> | undefined;
  }[];
}

/** CPU µs one node spent per finalized tx over a step (offered period and drain). */
export function cpuUsPerTx(cpuSeconds: number | undefined, finalizedTxs: number | undefined): number | undefined {
  if (cpuSeconds === undefined || finalizedTxs === undefined || finalizedTxs <= 0) return undefined;
  return (cpuSeconds * 1e6) / finalizedTxs;
}

/** Finalized txs per finalized index over a step. */
export function txsPerIndex(step: BenchStep): number | undefined {
  const { finalizedTxs, finalizedIndexes } = step;
  if (finalizedTxs === undefined || finalizedIndexes === undefined || finalizedIndexes <= 0) return undefined;
  return finalizedTxs / finalizedIndexes;
}

/** Indexes in a load's finalized range (0 when its event stream saw none). */
export function indexesOf(load: LoadResult): number {
  const { fromIndex, toIndex } = load.blocks;
  return fromIndex > 0 && toIndex >= fromIndex ? toIndex - fromIndex + 1 : 0;
}

/** Bytes one node wrote to disk per finalized tx over a step. */
export function diskBytesPerTx(writeBytes: number | undefined, finalizedTxs: number | undefined): number | undefined {
  if (writeBytes === undefined || finalizedTxs === undefined || finalizedTxs <= 0) return undefined;
  return writeBytes / finalizedTxs;
}

/** The peak report from the climb, its peak step, and the 80% step. */
export function peakReport(
  validators: number,
  steps: readonly BenchStep[],
  peak: BenchStep | undefined,
  atEighty: BenchStep | undefined,
  stoppedBecause: string,
): PeakReport {
  const names = steps[0]?.nodes.map((n) => n.name) ?? [];
  const all = atEighty ? [...steps, atEighty] : steps;
  return {
    validators,
    peakTps: peak?.finalizedTps,
    peakOfferedTps: peak?.offeredTps,
    stoppedBecause,
    atEighty,
    nodes: names.map((name) => {
      const at = peak?.nodes.find((n) => n.name === name);
      const rss = all.map((s) => s.nodes.find((n) => n.name === name)?.maxRssMiB).filter((v) => v !== undefined);
      return {
        name,
        cpuUsPerTx: cpuUsPerTx(at?.cpuSeconds, peak?.finalizedTxs),
        diskBytesPerTx: diskBytesPerTx(at?.writeBytes, peak?.finalizedTxs),
        maxRssMiB: rss.length > 0 ? Math.max(...rss) : undefined,
        cpuShareByThread: at?.cpuShareByThread,
      };
    }),
  };
}

export function stepOf(load: LoadResult, nodes: NodeUsage[]): BenchStep {
  return {
    offeredTps: load.offeredTps,
    sentTps: load.sentTps,
    finalizedTps: load.finalizedTps,
    finalizedTxs: load.finalizedTxs,
    finalizedIndexes: indexesOf(load),
    finalizedMBps: load.finalizedMBps,
    latencyMs: { p50: load.latencyMs.p50, p90: load.latencyMs.p90, p99: load.latencyMs.p99 },
    rejectedTxs: load.rejectedTxs,
    failedTxs: load.failedTxs,
    unfinalizedTxs: load.unfinalizedTxs,
    nodes,
    generatorCpuPercent: load.generatorCpuPercent,
    load,
  };
}

const num = (v: number | undefined, digits = 0) => (v === undefined ? "-" : v.toFixed(digits));

/** finalized payload MB/s over the raw libp2p stream MB/s of the same machine. */
export function ratio(step: BenchStep, raw: StreamResult): number | undefined {
  return raw.mbPerS > 0 ? step.finalizedMBps / raw.mbPerS : undefined;
}

export function formatRun(run: BenchRun, title: string): string {
  const { stream, fsync } = run.raw;
  const header = [
    "offered tx/s",
    "sent tx/s",
    "final tx/s",
    "final MB/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "503s",
    "not final",
    "txs/index",
    "CPU % per node",
    "CPU us/tx per node",
    "disk B/tx per node",
    "RSS MiB per node",
    "loadgen CPU %",
    "final/stream",
  ];
  const rows = run.steps.map((s) => [
    num(s.offeredTps),
    num(s.sentTps),
    num(s.finalizedTps),
    num(s.finalizedMBps, 3),
    num(s.latencyMs.p50),
    num(s.latencyMs.p90),
    num(s.latencyMs.p99),
    num(s.rejectedTxs),
    num(s.unfinalizedTxs),
    num(txsPerIndex(s)),
    s.nodes.map((n) => num(n.cpuPercent)).join("/"),
    s.nodes.map((n) => num(cpuUsPerTx(n.cpuSeconds, s.finalizedTxs))).join("/"),
    s.nodes.map((n) => num(diskBytesPerTx(n.writeBytes, s.finalizedTxs))).join("/"),
    s.nodes.map((n) => num(n.maxRssMiB)).join("/"),
    num(s.generatorCpuPercent),
    `${num((ratio(s, stream) ?? 0) * 100, 2)}%`,
  ]);
  const best = run.steps.reduce<BenchStep | undefined>(
    (b, s) => (!b || s.finalizedTps > b.finalizedTps ? s : b),
    undefined,
  );
  const lines = [
    title,
    formatTable(header, rows),
    `raw limits: libp2p stream (TCP+Noise+Yamux, 2 processes, ${stream.chunkBytes / 1024} KiB writes) ${num(stream.mbPerS, 1)} MB/s; ` +
      `fsync of ${fsync.blockBytes} B writes p50 ${num(fsync.latencyMs.p50, 2)} ms, p99 ${num(fsync.latencyMs.p99, 2)} ms (${fsync.writes} writes)`,
  ];
  if (run.peak) {
    lines.push(formatPeak(run.peak));
  } else if (best) {
    lines.push(
      `peak: ${num(best.finalizedTps)} tx/s finalized = ${num(best.finalizedMBps, 3)} MB/s of tx payload = ` +
        `${num((ratio(best, stream) ?? 0) * 100, 2)}% of the raw stream (x3 on the wire: each lane block is pushed to 3 peers)`,
    );
  }
  return lines.join("\n");
}

/** How the report names the thread groups (scripts/cluster/proc.ts). */
const THREAD_LABELS: Record<ThreadGroup, string> = {
  main: "event loop",
  pool: "libuv pool (LevelDB, fsync)",
  v8: "V8 workers (GC, compiler)",
  other: "other",
};

/** The bench's headline: the peak, the latency at 80% of it, and the per-node costs at the peak. */
export function formatPeak(p: PeakReport): string {
  const e = p.atEighty;
  const per = (f: (n: PeakReport["nodes"][number]) => number | undefined, digits = 0) =>
    p.nodes.map((n) => num(f(n), digits)).join("/");
  return [
    p.peakTps === undefined
      ? `peak (${p.validators} validators): none, the first step did not keep up (${p.stoppedBecause})`
      : `peak (${p.validators} validators): ${num(p.peakTps)} tx/s finalized at ${num(p.peakOfferedTps)} offered; stopped ${p.stoppedBecause}`,
    e
      ? `at 80% of the peak (${num(e.offeredTps)} offered, ${num(e.finalizedTps)} final): p50 ${num(e.latencyMs.p50)} ms, p99 ${num(e.latencyMs.p99)} ms`
      : "at 80% of the peak: not measured",
    `per node at the peak: CPU ${per((n) => n.cpuUsPerTx)} us/finalized tx; disk ${per((n) => n.diskBytesPerTx)} B written/finalized tx; max RSS ${per((n) => n.maxRssMiB)} MiB (all steps)`,
    `CPU by thread at the peak, % of each node's: ${THREAD_GROUPS.map((g) => `${THREAD_LABELS[g]} ${per((n) => n.cpuShareByThread?.[g])}`).join("; ")}`,
  ].join("\n");
}

function medianUsage(runs: readonly BenchRun[], step: number): NodeUsage[] {
  const names = runs[0]?.steps[step]?.nodes.map((n) => n.name) ?? [];
  return names.map((name, i) => ({
    name,
    cpuPercent: median(runs.map((r) => r.steps[step]?.nodes[i]?.cpuPercent)),
    maxRssMiB: median(runs.map((r) => r.steps[step]?.nodes[i]?.maxRssMiB)),
    cpuSeconds: median(runs.map((r) => r.steps[step]?.nodes[i]?.cpuSeconds)),
    writeBytes: median(runs.map((r) => r.steps[step]?.nodes[i]?.writeBytes)),
    cpuShareByThread: medianShares(runs.map((r) => r.steps[step]?.nodes[i]?.cpuShareByThread)),
  }));
}

/**
 * Each group's median share over the runs that have one (undefined when
 * none has): each group on its own, like every other cell, so the medians
 * need not add up to 100.
 */
function medianShares(
  shares: readonly (Record<ThreadGroup, number> | undefined)[],
): Record<ThreadGroup, number> | undefined {
  const present = shares.filter((s) => s !== undefined);
  if (present.length === 0) return undefined;
  const out = { main: 0, pool: 0, v8: 0, other: 0 };
  for (const g of THREAD_GROUPS) out[g] = median(present.map((s) => s[g])) ?? 0;
  return out;
}

/**
 * Cell by cell median of runs (each cell's median on its own), over the
 * steps every run measured at the same offered rate (the climbs of the peak
 * search may part ways). The peak is the peak report of the run whose peak
 * is the median one (the lower middle for an even count).
 */
export function medianRun(runs: readonly BenchRun[]): BenchRun {
  const first = runs[0];
  if (!first) throw new Error("no runs");
  let common = 0;
  while (
    common < first.steps.length &&
    runs.every((r) => r.steps[common]?.offeredTps === first.steps[common]?.offeredTps)
  ) {
    common++;
  }
  const byPeak = runs
    .filter((r) => r.peak !== undefined)
    .sort((a, b) => (a.peak?.peakTps ?? -1) - (b.peak?.peakTps ?? -1));
  const peak = byPeak[Math.floor((byPeak.length - 1) / 2)]?.peak;
  const m = (f: (r: BenchRun) => number | undefined) => median(runs.map(f)) ?? 0;
  const md = (f: (r: BenchRun) => number | undefined) => median(runs.map(f));
  return {
    raw: {
      stream: { ...first.raw.stream, bytes: m((r) => r.raw.stream.bytes), mbPerS: m((r) => r.raw.stream.mbPerS) },
      fsync: {
        ...first.raw.fsync,
        latencyMs: {
          ...first.raw.fsync.latencyMs,
          p50: md((r) => r.raw.fsync.latencyMs.p50),
          p99: md((r) => r.raw.fsync.latencyMs.p99),
        },
      },
    },
    ...(peak ? { peak } : {}),
    steps: first.steps.slice(0, common).map((s, i) => ({
      offeredTps: s.offeredTps,
      sentTps: m((r) => r.steps[i]?.sentTps),
      finalizedTps: m((r) => r.steps[i]?.finalizedTps),
      finalizedTxs: md((r) => r.steps[i]?.finalizedTxs),
      finalizedIndexes: md((r) => r.steps[i]?.finalizedIndexes),
      finalizedMBps: m((r) => r.steps[i]?.finalizedMBps),
      latencyMs: {
        p50: md((r) => r.steps[i]?.latencyMs.p50),
        p90: md((r) => r.steps[i]?.latencyMs.p90),
        p99: md((r) => r.steps[i]?.latencyMs.p99),
      },
      rejectedTxs: m((r) => r.steps[i]?.rejectedTxs),
      failedTxs: m((r) => r.steps[i]?.failedTxs),
      unfinalizedTxs: m((r) => r.steps[i]?.unfinalizedTxs),
      nodes: medianUsage(runs, i),
      generatorCpuPercent: md((r) => r.steps[i]?.generatorCpuPercent),
    })),
  };
}
