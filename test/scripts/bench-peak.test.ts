import assert from "node:assert/strict";
import { test } from "node:test";
import {
  latencyRate,
  nextRate,
  PEAK_CRITERIA,
  type PeakPlan,
  peakOf,
  type RateStep,
  searchPeak,
  shortfall,
} from "../../scripts/bench/peak-search.ts";
import { parseIoWriteBytes } from "../../scripts/bench/proc-sampler.ts";
import {
  type BenchStep,
  cpuUsPerTx,
  diskBytesPerTx,
  formatPeak,
  formatRun,
  medianRun,
  peakReport,
} from "../../scripts/bench/report.ts";

const plan: PeakPlan = { startTps: 500, growth: 2, maxTps: 100_000, maxSteps: 10, refineSteps: 2 };

/** A model cluster that finalizes everything up to `capacity` tx/s with p99 `p99Ms`, and saturates beyond. */
function model(capacity: number, p99Ms = 400) {
  const offered: number[] = [];
  const measure = async (rate: number): Promise<RateStep> => {
    offered.push(rate);
    return {
      offeredTps: rate,
      finalizedTps: Math.min(rate, capacity),
      latencyMs: { p99: rate <= capacity ? p99Ms : 3000 },
    };
  };
  return { offered, measure };
}

test("a step keeps up with >= 95% finalized and p99 <= 1 s; otherwise the reason is named", () => {
  assert.equal(shortfall({ offeredTps: 1000, finalizedTps: 950, latencyMs: { p99: 1000 } }), undefined);
  assert.match(
    shortfall({ offeredTps: 1000, finalizedTps: 949, latencyMs: { p99: 10 } }) ?? "",
    /finalized 949 tx\/s < 95% of 1000/,
  );
  assert.match(
    shortfall({ offeredTps: 1000, finalizedTps: 1000, latencyMs: { p99: 1001 } }) ?? "",
    /p99 1001 ms > 1000 ms/,
  );
  assert.match(shortfall({ offeredTps: 1000, finalizedTps: 1000, latencyMs: { p99: undefined } }) ?? "", /no tx/);
  assert.equal(PEAK_CRITERIA.minFinalizedShare, 0.95);
});

test("the climb doubles until a step falls short, then bisects twice", async () => {
  const m = model(5000);
  const r = await searchPeak(plan, m.measure);
  // 500, 1000, 2000, 4000 keep up; 8000 does not; bisect 4000..8000 -> 6000 (bad), 4000..6000 -> 5000 (good).
  assert.deepEqual(m.offered, [500, 1000, 2000, 4000, 8000, 6000, 5000]);
  assert.equal(r.peak?.offeredTps, 5000);
  assert.equal(r.peak?.finalizedTps, 5000);
  assert.match(r.stoppedBecause, /at 8000 tx\/s offered: finalized 5000/);
  assert.equal(latencyRate(r.peak!), 4000);
});

test("p99 above 1 s ends the climb even when everything finalizes", async () => {
  const offered: number[] = [];
  const r = await searchPeak({ ...plan, refineSteps: 0 }, async (rate) => {
    offered.push(rate);
    return { offeredTps: rate, finalizedTps: rate, latencyMs: { p99: rate >= 2000 ? 1500 : 300 } };
  });
  assert.deepEqual(offered, [500, 1000, 2000]);
  assert.equal(r.peak?.offeredTps, 1000);
  assert.match(r.stoppedBecause, /p99 1500 ms > 1000 ms/);
});

test("the climb ends at maxSteps or maxTps, and when the first step already falls short", async () => {
  const a = model(1e9);
  const r = await searchPeak({ ...plan, maxSteps: 3 }, a.measure);
  assert.deepEqual(a.offered, [500, 1000, 2000]);
  assert.equal(r.peak?.offeredTps, 2000);
  assert.match(r.stoppedBecause, /every step kept up/);
  const b = model(1e9);
  await searchPeak({ ...plan, maxTps: 3000 }, b.measure);
  assert.deepEqual(b.offered, [500, 1000, 2000]);
});

test("when the first step falls short the climb steps down, then bisects", async () => {
  const c = model(100);
  const rc = await searchPeak(plan, c.measure);
  // 500, 250, 125 fall short; 63 keeps up; bisect 63..125 -> 94 (good), 94..125 -> 110 (bad); two bisections done.
  assert.deepEqual(c.offered, [500, 250, 125, 63, 94, 110]);
  assert.equal(rc.peak?.offeredTps, 94);
  // Nothing keeps up at all: the descent ends within maxSteps + refineSteps steps, without a peak.
  const dead = model(0);
  const rd = await searchPeak({ ...plan, maxSteps: 3, refineSteps: 0 }, dead.measure);
  assert.deepEqual(dead.offered, [500, 250, 125]);
  assert.equal(rd.peak, undefined);
});

test("an explicit ladder is followed as given; bisection stops when good and bad are within 5%", () => {
  const ladder = { ...plan, rates: [300, 700, 900], maxSteps: 3, refineSteps: 0 };
  const ok = (r: number): RateStep => ({ offeredTps: r, finalizedTps: r, latencyMs: { p99: 100 } });
  assert.equal(nextRate(ladder, []), 300);
  assert.equal(nextRate(ladder, [ok(300)]), 700);
  assert.equal(nextRate(ladder, [ok(300), ok(700), ok(900)]), undefined);
  const bad = (r: number): RateStep => ({ offeredTps: r, finalizedTps: r / 2, latencyMs: { p99: 100 } });
  assert.equal(nextRate({ ...plan, refineSteps: 5 }, [ok(1000), bad(1040)]), undefined);
  assert.equal(nextRate({ ...plan, refineSteps: 5 }, [ok(1000), bad(2000)]), 1500);
  // The peak is the best finalized rate among steps that kept up, not the last one measured.
  assert.equal(peakOf([ok(1000), bad(2000), ok(1500)])?.offeredTps, 1500);
});

function benchStep(
  offeredTps: number,
  finalizedTps: number,
  finalizedTxs: number,
  cpuSeconds: number,
  writeBytes: number,
): BenchStep {
  return {
    offeredTps,
    sentTps: offeredTps,
    finalizedTps,
    finalizedTxs,
    finalizedMBps: (finalizedTps * 512) / 1e6,
    latencyMs: { p50: 100, p90: 200, p99: 300 },
    rejectedTxs: 0,
    failedTxs: 0,
    unfinalizedTxs: 0,
    nodes: [
      { name: "node0", cpuPercent: 40, maxRssMiB: 200, cpuSeconds, writeBytes },
      { name: "node1", cpuPercent: 50, maxRssMiB: 250, cpuSeconds: cpuSeconds * 2, writeBytes: writeBytes * 2 },
    ],
    generatorCpuPercent: 5,
  };
}

test("report math: CPU us and disk bytes per finalized tx per node, max RSS over all steps", () => {
  assert.equal(cpuUsPerTx(0.58, 10_000), 58);
  assert.equal(cpuUsPerTx(1, 0), undefined);
  assert.equal(cpuUsPerTx(undefined, 10), undefined);
  assert.equal(diskBytesPerTx(5_120_000, 10_000), 512);
  assert.equal(diskBytesPerTx(5, undefined), undefined);
  const s1 = benchStep(1000, 1000, 15_000, 0.9, 15_000_000);
  const s2 = benchStep(2000, 1900, 28_500, 2.85, 57_000_000);
  const eighty = benchStep(1520, 1520, 22_800, 1, 1);
  eighty.nodes[1]!.maxRssMiB = 300;
  const p = peakReport(4, [s1, s2], s2, eighty, "at 4000 tx/s offered: p99 1500 ms > 1000 ms");
  assert.equal(p.peakTps, 1900);
  assert.equal(p.peakOfferedTps, 2000);
  assert.deepEqual(
    p.nodes.map((n) => [n.name, n.cpuUsPerTx, n.diskBytesPerTx, n.maxRssMiB]),
    [
      ["node0", 100, 2000, 200],
      ["node1", 200, 4000, 300],
    ],
  );
  const text = formatPeak(p);
  assert.match(text, /CPU by thread at the peak, % of each node's: event loop -\/-; libuv pool/, "no split measured");
  s2.nodes[0]!.cpuShareByThread = { main: 60, pool: 22, v8: 18, other: 0 };
  s2.nodes[1]!.cpuShareByThread = { main: 70, pool: 20, v8: 9, other: 1 };
  assert.match(
    formatPeak(peakReport(4, [s1, s2], s2, eighty, "x")),
    /CPU by thread at the peak, % of each node's: event loop 60\/70; libuv pool \(LevelDB, fsync\) 22\/20; V8 workers \(GC, compiler\) 18\/9; other 0\/1/,
  );
  assert.match(text, /peak \(4 validators\): 1900 tx\/s finalized at 2000 offered; stopped at 4000/);
  assert.match(text, /at 80% of the peak \(1520 offered, 1520 final\): p50 100 ms, p99 300 ms/);
  assert.match(text, /CPU 100\/200 us\/finalized tx; disk 2000\/4000 B written\/finalized tx; max RSS 200\/300 MiB/);
  const none = formatPeak(peakReport(7, [s1], undefined, undefined, "at 500 tx/s offered: no tx was seen final"));
  assert.match(none, /peak \(7 validators\): none/);
  assert.match(none, /at 80% of the peak: not measured/);
});

test("the run table shows CPU us/tx and disk B/tx per node; the median run keeps the median peak", () => {
  const raw = {
    stream: { seconds: 3, chunkBytes: 65536, bytes: 1, mbPerS: 40 },
    fsync: { writes: 1, blockBytes: 4096, latencyMs: { count: 1, p50: 1, p90: 1, p99: 1, max: 1, mean: 1 } },
  };
  const s = benchStep(1000, 1000, 15_000, 0.9, 15_000_000);
  const mk = (peakTps: number, steps: BenchStep[]) => ({
    raw,
    steps,
    peak: { ...peakReport(4, steps, steps[0], undefined, "x"), peakTps },
  });
  const text = formatRun(mk(1000, [s]), "t");
  assert.match(text, /CPU us\/tx per node\s+disk B\/tx per node/);
  assert.match(text, /\s60\/120\s+1000\/2000\s/);
  assert.match(text, /peak \(4 validators\): 1000 tx\/s/);
  const other = benchStep(3000, 2000, 1, 1, 1);
  const m = medianRun([mk(1000, [s]), mk(3000, [s, other]), mk(2000, [s])]);
  assert.equal(m.peak?.peakTps, 2000);
  assert.equal(m.steps.length, 1); // only the steps every run measured at the same rate
});

test("the median run keeps each thread group's median share (each group on its own, like every cell)", () => {
  const raw = {
    stream: { seconds: 3, chunkBytes: 65536, bytes: 1, mbPerS: 40 },
    fsync: { writes: 1, blockBytes: 4096, latencyMs: { count: 1, p50: 1, p90: 1, p99: 1, max: 1, mean: 1 } },
  };
  const withShares = (main: number) => {
    const s = benchStep(1000, 1000, 15_000, 0.9, 15_000_000);
    s.nodes[0]!.cpuShareByThread = { main, pool: 100 - main, v8: 0, other: 0 };
    return { raw, steps: [s] };
  };
  const m = medianRun([withShares(50), withShares(70), withShares(60)]);
  assert.deepEqual(m.steps[0]!.nodes[0]!.cpuShareByThread, { main: 60, pool: 40, v8: 0, other: 0 });
  assert.equal(m.steps[0]!.nodes[1]!.cpuShareByThread, undefined);
});

test("write_bytes is read from /proc/<pid>/io", () => {
  assert.equal(
    parseIoWriteBytes("rchar: 1\nwchar: 2\nread_bytes: 0\nwrite_bytes: 40960\ncancelled_write_bytes: 0\n"),
    40960,
  );
  assert.equal(parseIoWriteBytes("rchar: 1\n"), undefined);
});
