/**
 * The bench's search for the peak: raise the offered rate step by step until
 * the cluster stops keeping up, then measure latency at 80% of the peak.
 *
 * A step keeps up when it finalizes at least `minFinalizedShare` (95%) of
 * the offered rate and its p99 is at most `maxP99Ms` (1 s). The peak is the
 * highest finalized rate of a step that kept up. After the first step that
 * does not keep up, up to `refineSteps` bisections between the last good and
 * the first bad offered rate narrow it down. When even the first step does
 * not keep up, the climb steps down (divides by the growth) until one does.
 */

export interface PeakCriteria {
  /** A step keeps up when finalized >= this share of offered (0.95). */
  minFinalizedShare: number;
  /** ... and its p99 is at most this (1000 ms). */
  maxP99Ms: number;
}

export const PEAK_CRITERIA: PeakCriteria = { minFinalizedShare: 0.95, maxP99Ms: 1000 };

export interface PeakPlan {
  /** First offered rate, tx/s. */
  startTps: number;
  /** Each next rate is the previous one times this (> 1). */
  growth: number;
  /** Never offer more than this. */
  maxTps: number;
  /** At most this many climbing steps (the 80% step is extra). */
  maxSteps: number;
  /** Bisections after the first step that did not keep up. */
  refineSteps: number;
  /** An explicit ladder instead of start x growth^k (from --rates). */
  rates?: readonly number[];
}

/** What the search needs of a measured step. */
export interface RateStep {
  offeredTps: number;
  finalizedTps: number;
  latencyMs: { p99: number | undefined };
}

/** Why a step did not keep up, or undefined when it did. */
export function shortfall(step: RateStep, c: PeakCriteria = PEAK_CRITERIA): string | undefined {
  if (step.finalizedTps < c.minFinalizedShare * step.offeredTps) {
    return `finalized ${step.finalizedTps.toFixed(0)} tx/s < ${(c.minFinalizedShare * 100).toFixed(0)}% of ${step.offeredTps} offered`;
  }
  if (step.latencyMs.p99 === undefined) return "no tx was seen final";
  if (step.latencyMs.p99 > c.maxP99Ms) return `p99 ${step.latencyMs.p99.toFixed(0)} ms > ${c.maxP99Ms} ms`;
  return undefined;
}

/**
 * The next offered rate given the steps so far (in the order measured), or
 * undefined when the search is over.
 */
export function nextRate(
  plan: PeakPlan,
  history: readonly RateStep[],
  c: PeakCriteria = PEAK_CRITERIA,
): number | undefined {
  if (history.length === 0) return plan.rates?.[0] ?? plan.startTps;
  const good = history.filter((s) => shortfall(s, c) === undefined).map((s) => s.offeredTps);
  const bad = history.filter((s) => shortfall(s, c) !== undefined).map((s) => s.offeredTps);
  if (bad.length === 0) {
    if (history.length >= plan.maxSteps) return undefined;
    const last = history[history.length - 1]!.offeredTps;
    const next = plan.rates ? plan.rates[history.length] : Math.round(last * plan.growth);
    if (next === undefined || next > plan.maxTps || next <= last) return undefined;
    return next;
  }
  if (history.length >= plan.maxSteps + plan.refineSteps) return undefined;
  const lowBad = Math.min(...bad);
  const goodBelow = good.filter((r) => r < lowBad);
  if (goodBelow.length === 0) {
    // Even the lowest rate so far did not keep up: step down by the growth factor.
    const down = Math.round(lowBad / plan.growth);
    return down >= 1 && down < lowBad ? down : undefined;
  }
  // Refining: bisect between the highest good rate below the lowest bad one,
  // at most refineSteps times after a good and a bad rate first bracketed the peak.
  const bracketedAt = history.findIndex((_, k) => {
    const seen = history.slice(0, k + 1);
    const b = seen.filter((s) => shortfall(s, c) !== undefined).map((s) => s.offeredTps);
    return b.length > 0 && seen.some((s) => shortfall(s, c) === undefined && s.offeredTps < Math.min(...b));
  });
  if (history.length - 1 - bracketedAt >= plan.refineSteps) return undefined;
  const highGood = Math.max(...goodBelow);
  const mid = Math.round((highGood + lowBad) / 2);
  // Too close to tell apart (within 5%): stop.
  if (lowBad - highGood <= 0.05 * lowBad || mid === highGood || mid === lowBad) return undefined;
  return mid;
}

export interface PeakResult<S extends RateStep> {
  /** Every climbing step, in the order measured. */
  steps: S[];
  /** The step that kept up with the highest finalized rate; undefined when none did. */
  peak: S | undefined;
  /** Why the climb stopped. */
  stoppedBecause: string;
}

/** Picks the peak from measured steps: the highest finalized rate among those that kept up. */
export function peakOf<S extends RateStep>(steps: readonly S[], c: PeakCriteria = PEAK_CRITERIA): S | undefined {
  let best: S | undefined;
  for (const s of steps) {
    if (shortfall(s, c) !== undefined) continue;
    if (!best || s.finalizedTps > best.finalizedTps) best = s;
  }
  return best;
}

/** The offered rate of the latency step: 80% of the peak's finalized rate, at least 1 tx/s. */
export function latencyRate(peak: RateStep, share = 0.8): number {
  return Math.max(1, Math.round(peak.finalizedTps * share));
}

/** Runs the climb with `measure` (one load step at the given offered rate). */
export async function searchPeak<S extends RateStep>(
  plan: PeakPlan,
  measure: (rateTps: number) => Promise<S>,
  c: PeakCriteria = PEAK_CRITERIA,
): Promise<PeakResult<S>> {
  const steps: S[] = [];
  for (;;) {
    const rate = nextRate(plan, steps, c);
    if (rate === undefined) break;
    steps.push(await measure(rate));
  }
  const bad = steps.find((s) => shortfall(s, c) !== undefined);
  const stoppedBecause = bad
    ? `at ${bad.offeredTps} tx/s offered: ${shortfall(bad, c)}`
    : `every step kept up (plan ends at ${steps.at(-1)?.offeredTps ?? 0} tx/s; raise --max-rate or --max-steps)`;
  return { steps, peak: peakOf(steps, c), stoppedBecause };
}
