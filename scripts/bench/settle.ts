/**
 * Settling a cluster after a step that did not keep up: wait until every
 * node is quiet again before the next step is measured on the same cluster.
 *
 * An overloaded step leaves a backlog: txs still in mempools, nodes behind
 * the others, and LevelDB compaction debt (level-0 tables that the next
 * step's writes would pay for: disk bytes per tx doubled in the steps after
 * one). The backlog clears once the cluster has finalized what it holds and
 * LevelDB has compacted, and both show as CPU and disk writes. Waiting for
 * that keeps the database the climb built, where a fresh cluster would
 * measure the next step on a young database that has not begun to compact,
 * which flatters it.
 */
import { CLOCK_TICKS_PER_SECOND, sampleProcess, sleep } from "../cluster/index.ts";
import { readWriteBytes } from "./proc-sampler.ts";

export interface SettleCriteria {
  /**
   * Most CPU per node over one sample, % of one core. An idle node uses
   * about 6% (the scrubber, retransmits, app votes); one finalizing a
   * backlog or compacting, tens.
   */
  maxCpuPercent: number;
  /** Most bytes a node may write to storage per second (a compaction writes several MB/s). */
  maxWriteBytesPerSecond: number;
  /** Consecutive quiet samples that count as settled. */
  quietSamples: number;
  sampleMs: number;
  /** Give up after this long (the bench then starts a fresh cluster). */
  timeoutMs: number;
}

export const SETTLE_CRITERIA: SettleCriteria = {
  maxCpuPercent: 15,
  maxWriteBytesPerSecond: 1024 * 1024,
  quietSamples: 3,
  sampleMs: 1000,
  timeoutMs: 180_000,
};

/** One node over one sample interval. */
export interface NodeActivity {
  name: string;
  /** CPU over the interval, % of one core; undefined when its process could not be read. */
  cpuPercent: number | undefined;
  writeBytesPerSecond: number | undefined;
  /** From GET /status; undefined when it did not answer. */
  finalizedIndex: number | undefined;
  mempoolTxs: number | undefined;
}

/** Why the cluster is not settled yet, or undefined when every node is quiet and level with the others. */
export function busyReason(nodes: readonly NodeActivity[], c: SettleCriteria = SETTLE_CRITERIA): string | undefined {
  if (nodes.length === 0) return "no node to watch";
  const top = Math.max(...nodes.map((n) => n.finalizedIndex ?? Number.NEGATIVE_INFINITY));
  for (const n of nodes) {
    if (n.cpuPercent === undefined || n.writeBytesPerSecond === undefined) return `${n.name}: process not readable`;
    if (n.finalizedIndex === undefined || n.mempoolTxs === undefined) return `${n.name}: no answer from /status`;
    if (n.mempoolTxs > 0) return `${n.name}: ${n.mempoolTxs} txs in its mempool`;
    if (n.finalizedIndex < top) return `${n.name}: ${top - n.finalizedIndex} indexes behind`;
    if (n.cpuPercent > c.maxCpuPercent) return `${n.name}: CPU ${n.cpuPercent.toFixed(0)}% of a core`;
    if (n.writeBytesPerSecond > c.maxWriteBytesPerSecond) {
      return `${n.name}: writing ${(n.writeBytesPerSecond / 1e6).toFixed(1)} MB/s to disk`;
    }
  }
  return undefined;
}

/** What settle watches: a node's process and its status. */
export interface WatchedNode {
  name: string;
  pid: number | undefined;
  status(): Promise<{ finalizedIndex: number; mempoolTxs: number } | null>;
}

/** CPU and disk writes per node between one call and the next, from /proc, with each node's status. */
export class ActivityProbe {
  readonly #nodes: readonly WatchedNode[];
  #last = new Map<string, { atMs: number; ticks: number; writes: number }>();

  constructor(nodes: readonly WatchedNode[]) {
    this.#nodes = nodes;
    this.#mark();
  }

  #mark(): Map<string, { atMs: number; ticks: number; writes: number }> {
    const out = new Map<string, { atMs: number; ticks: number; writes: number }>();
    for (const n of this.#nodes) {
      const pid = n.pid;
      const s = pid === undefined ? undefined : sampleProcess(pid);
      const w = pid === undefined ? undefined : readWriteBytes(pid);
      if (s !== undefined && w !== undefined)
        out.set(n.name, { atMs: performance.now(), ticks: s.cpuTicks, writes: w });
    }
    const previous = this.#last;
    this.#last = out;
    return previous;
  }

  /** Activity since the previous call (or since construction). */
  async sample(): Promise<NodeActivity[]> {
    const from = this.#mark();
    const to = this.#last;
    return Promise.all(
      this.#nodes.map(async (n) => {
        const a = from.get(n.name);
        const b = to.get(n.name);
        const seconds = a !== undefined && b !== undefined ? (b.atMs - a.atMs) / 1000 : 0;
        const status = await n.status();
        return {
          name: n.name,
          cpuPercent:
            a && b && seconds > 0 ? ((b.ticks - a.ticks) / CLOCK_TICKS_PER_SECOND / seconds) * 100 : undefined,
          writeBytesPerSecond: a && b && seconds > 0 ? (b.writes - a.writes) / seconds : undefined,
          finalizedIndex: status?.finalizedIndex,
          mempoolTxs: status?.mempoolTxs,
        };
      }),
    );
  }
}

export interface SettleResult {
  settled: boolean;
  seconds: number;
  /** When not settled: what was still busy at the deadline. */
  busy?: string;
}

/**
 * Samples every `sampleMs` until `quietSamples` samples in a row find the
 * cluster quiet (busyReason), or `timeoutMs` passes.
 */
export async function settle(
  sample: () => Promise<readonly NodeActivity[]>,
  c: SettleCriteria = SETTLE_CRITERIA,
  wait: (ms: number) => Promise<void> = sleep,
  nowMs: () => number = () => performance.now(),
): Promise<SettleResult> {
  const start = nowMs();
  let quiet = 0;
  let busy: string | undefined = "not sampled";
  while (nowMs() - start < c.timeoutMs) {
    await wait(c.sampleMs);
    busy = busyReason(await sample(), c);
    quiet = busy === undefined ? quiet + 1 : 0;
    if (quiet >= c.quietSamples) return { settled: true, seconds: (nowMs() - start) / 1000 };
  }
  return { settled: false, seconds: (nowMs() - start) / 1000, busy: busy ?? "not quiet long enough" };
}
