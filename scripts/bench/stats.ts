/** Percentiles and summaries for latency samples. */

/**
 * Nearest-rank percentile of an ascending array: the smallest value with at
 * least p% of the samples at or below it. undefined for no samples.
 */
export function percentile(sortedAsc: readonly number[], p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0..100`);
  const n = sortedAsc.length;
  if (n === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedAsc[rank - 1];
}

export interface LatencySummary {
  count: number;
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  mean: number | undefined;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const arr = Array.from(sorted);
  const sum = arr.reduce((a, b) => a + b, 0);
  return {
    count: arr.length,
    p50: percentile(arr, 50),
    p90: percentile(arr, 90),
    p99: percentile(arr, 99),
    max: arr.length > 0 ? arr[arr.length - 1] : undefined,
    mean: arr.length > 0 ? sum / arr.length : undefined,
  };
}

/** Median of the defined values (mean of the middle two for an even count); undefined when none. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid] : ((xs[mid - 1] ?? 0) + (xs[mid] ?? 0)) / 2;
}

/** Latency of the txs submitted in one stretch of a load (by submit time). */
export interface TimelineBucket {
  /** Start of the stretch, in seconds from the load's start. */
  fromS: number;
  finalized: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
}

/**
 * Finality latency by submit time, in buckets of `bucketMs` from `startMs`:
 * tx i was submitted at `submittedAtMs[i]` and took `latencyMs[i]` (any
 * order). One number for a whole run hides how it got there: a fresh
 * cluster's first seconds at a high rate (JIT, heap growth) or one slow
 * stretch can set a run's p99 alone. Empty buckets between samples are
 * kept, so a stall shows as a gap.
 */
export function latencyTimeline(
  submittedAtMs: readonly number[],
  latencyMs: readonly number[],
  startMs: number,
  bucketMs = 1000,
): TimelineBucket[] {
  if (!(bucketMs > 0)) throw new RangeError(`bucket ${bucketMs} ms: expected a positive duration`);
  if (submittedAtMs.length !== latencyMs.length) {
    throw new RangeError(`${submittedAtMs.length} submit times for ${latencyMs.length} latencies`);
  }
  const buckets: number[][] = [];
  for (let k = 0; k < submittedAtMs.length; k++) {
    const i = Math.max(0, Math.floor((submittedAtMs[k]! - startMs) / bucketMs));
    const bucket = buckets[i] ?? [];
    bucket.push(latencyMs[k]!);
    buckets[i] = bucket;
  }
  const out: TimelineBucket[] = [];
  for (let i = 0; i < buckets.length; i++) {
    const sorted = Array.from(Float64Array.from(buckets[i] ?? []).sort());
    out.push({
      fromS: (i * bucketMs) / 1000,
      finalized: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
    });
  }
  return out;
}
