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
  steps: BenchStep[];
}

export function stepOf(load: LoadResult, nodes: NodeUsage[]): BenchStep {
  return {
    offeredTps: load.offeredTps,
    sentTps: load.sentTps,
    finalizedTps: load.finalizedTps,
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
    "CPU % per node",
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
    s.nodes.map((n) => num(n.cpuPercent)).join("/"),
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
  if (best) {
    lines.push(
      `peak: ${num(best.finalizedTps)} tx/s finalized = ${num(best.finalizedMBps, 3)} MB/s of tx payload = ` +
        `${num((ratio(best, stream) ?? 0) * 100, 2)}% of the raw stream (x3 on the wire: each lane block is pushed to 3 peers)`,
    );
  }
  return lines.join("\n");
}

function medianUsage(runs: readonly BenchRun[], step: number): NodeUsage[] {
  const names = runs[0]?.steps[step]?.nodes.map((n) => n.name) ?? [];
  return names.map((name, i) => ({
    name,
    cpuPercent: median(runs.map((r) => r.steps[step]?.nodes[i]?.cpuPercent)),
    maxRssMiB: median(runs.map((r) => r.steps[step]?.nodes[i]?.maxRssMiB)),
  }));
}

/** Cell by cell median of runs with the same sweep (each cell's median on its own). */
export function medianRun(runs: readonly BenchRun[]): BenchRun {
  const first = runs[0];
  if (!first) throw new Error("no runs");
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
    steps: first.steps.map((s, i) => ({
      offeredTps: s.offeredTps,
      sentTps: m((r) => r.steps[i]?.sentTps),
      finalizedTps: m((r) => r.steps[i]?.finalizedTps),
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
