import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { areaOf, type CpuProfile, formatProfile, summarizeProfile } from "../../scripts/bench/cpu-profile.ts";
import { measureFsync, measureStreamThroughput } from "../../scripts/bench/raw-limits.ts";
import {
  type BenchRun,
  type BenchStep,
  formatRun,
  indexesOf,
  medianRun,
  ratio,
  stepOf,
  txsPerIndex,
} from "../../scripts/bench/report.ts";
import { FULL, parseBenchArgs, parseRates, QUICK } from "../../scripts/bench.ts";
import type { LoadResult } from "../../scripts/load.ts";

function step(offeredTps: number, finalizedTps: number, p50: number, cpu: number): BenchStep {
  return {
    offeredTps,
    sentTps: offeredTps,
    finalizedTps,
    finalizedMBps: (finalizedTps * 512) / 1e6,
    latencyMs: { p50, p90: p50 * 2, p99: p50 * 3 },
    rejectedTxs: 0,
    failedTxs: 0,
    unfinalizedTxs: 0,
    nodes: [
      { name: "node0", cpuPercent: cpu, maxRssMiB: 100 },
      { name: "node1", cpuPercent: cpu + 1, maxRssMiB: 110 },
    ],
    generatorCpuPercent: 10,
  };
}

function run(streamMBps: number, steps: BenchStep[]): BenchRun {
  return {
    raw: {
      stream: { seconds: 3, chunkBytes: 65536, bytes: streamMBps * 3e6, mbPerS: streamMBps },
      fsync: { writes: 300, blockBytes: 4096, latencyMs: { count: 300, p50: 0.5, p90: 1, p99: 2, max: 3, mean: 0.6 } },
    },
    steps,
  };
}

test("bench arguments: defaults, --quick, --rates, --validators, bad input", () => {
  assert.equal(parseBenchArgs([]).rates, undefined);
  assert.equal(parseBenchArgs([]).startTps, FULL.startTps);
  assert.equal(parseBenchArgs([]).validators, 4);
  const quick = parseBenchArgs(["--quick"]);
  assert.equal(quick.maxSteps, QUICK.maxSteps);
  assert.equal(quick.growth, QUICK.growth);
  // --quick stays about a minute: its steps and the 80% step, each with its drain, plus ~30 s of setup.
  assert.ok((QUICK.maxSteps + QUICK.refineSteps + 1) * (QUICK.stepSeconds + QUICK.drainSeconds) + 30 <= 75);
  const explicit = parseBenchArgs(["--rates", "100,200", "--runs", "3"]);
  assert.deepEqual(explicit.rates, [100, 200]);
  assert.equal(explicit.maxSteps, 2);
  assert.equal(parseBenchArgs(["--validators", "7"]).validators, 7);
  assert.throws(() => parseBenchArgs(["--validators", "3"]), /--validators 3/);
  assert.throws(() => parseBenchArgs(["--growth", "1"]), /--growth 1/);
  assert.throws(() => parseBenchArgs(["--refine=-1"]), /--refine -1/);
  assert.equal(parseBenchArgs(["--refine", "0"]).refineSteps, 0);
  assert.equal(parseBenchArgs(["--runs", "3"]).runs, 3);
  assert.deepEqual(parseRates(" 5, 10.5 "), [5, 10.5]);
  assert.throws(() => parseRates("5,x"), /--rates 5,x/);
  assert.throws(() => parseBenchArgs(["--runs", "1.5"]), /--runs 1.5/);
  assert.throws(() => parseBenchArgs(["--bogus"]));
  // --set: repeatable, checked against the config schema before any cluster starts.
  assert.deepEqual(parseBenchArgs([]).sets, []);
  const sets = ["node.heapGrowingPercent=0", "consensus.viewTimeoutMs=2000"];
  assert.deepEqual(parseBenchArgs(sets.flatMap((x) => ["--set", x])).sets, sets);
  assert.throws(() => parseBenchArgs(["--set", "node.heapGrowingPercent=5"]), /node\.heapGrowingPercent = 5/);
  assert.throws(() => parseBenchArgs(["--set", "node.nope=1"]), /node\.nope/);
  assert.throws(() => parseBenchArgs(["--set", "heapGrowingPercent"]), /section\.key=value/);
  // --warmup: seconds at the step's rate on each fresh cluster; 0 turns it off, --quick has none.
  assert.equal(parseBenchArgs([]).warmupSeconds, FULL.warmupSeconds);
  assert.ok(FULL.warmupSeconds > 0);
  assert.equal(QUICK.warmupSeconds, 0);
  assert.equal(parseBenchArgs(["--warmup", "0"]).warmupSeconds, 0);
  assert.equal(parseBenchArgs(["--warmup", "2.5"]).warmupSeconds, 2.5);
  assert.equal(parseBenchArgs(["--quick", "--warmup", "3"]).warmupSeconds, 3);
  for (const bad of ["-1", "x", "601", ""]) {
    assert.throws(() => parseBenchArgs([`--warmup=${bad}`]), new RegExp(`--warmup ${bad}: expected seconds`));
  }
  // --binary: the octet-stream intake instead of JSON.
  assert.equal(parseBenchArgs([]).binary, false);
  assert.equal(parseBenchArgs(["--binary"]).binary, true);
  assert.equal(parseBenchArgs(["--quick", "--binary"]).binary, true);
});

test("medianRun takes each cell's median over the runs", () => {
  const runs = [
    run(30, [step(100, 90, 500, 20), step(1000, 700, 900, 50)]),
    run(50, [step(100, 100, 700, 30), step(1000, 900, 1100, 70)]),
    run(40, [step(100, 95, 600, 25), step(1000, 800, 1000, 60)]),
  ];
  const m = medianRun(runs);
  assert.equal(m.raw.stream.mbPerS, 40);
  assert.deepEqual(
    m.steps.map((s) => [s.offeredTps, s.finalizedTps, s.latencyMs.p50, s.nodes[0]!.cpuPercent, s.nodes[1]!.cpuPercent]),
    [
      [100, 95, 600, 25, 26],
      [1000, 800, 1000, 60, 61],
    ],
  );
  assert.throws(() => medianRun([]), /no runs/);
});

test("formatRun prints a row per step, the raw limits and the ratio to the raw stream", () => {
  const r = run(40, [step(100, 95, 600, 25), step(1000, 800, 1000, 60)]);
  assert.equal(ratio(r.steps[1]!, r.raw.stream), (800 * 512) / 1e6 / 40);
  const text = formatRun(r, "title");
  const lines = text.split("\n");
  assert.equal(lines[0], "title");
  assert.match(lines[1]!, /^offered tx\/s\s+sent tx\/s\s+final tx\/s\s+final MB\/s\s+p50 ms\s+p90 ms\s+p99 ms/);
  assert.match(
    lines[3]!,
    /^1000\s+1000\s+800\s+0\.410\s+1000\s+2000\s+3000\s+0\s+0\s+-\s+60\/61\s+-\/-\s+-\/-\s+100\/110\s+10\s+1\.02%$/,
  );
  assert.match(text, /raw limits: libp2p stream .* 40\.0 MB\/s; fsync of 4096 B writes p50 0\.50 ms, p99 2\.00 ms/);
  assert.match(text, /peak: 800 tx\/s finalized = 0\.410 MB\/s .* = 1\.02% of the raw stream/);
});

test("txs per index: from the event stream's finalized range, in the table and through the median", () => {
  const load = (fromIndex: number, toIndex: number, finalizedTxs: number) =>
    ({
      offeredTps: 500,
      sentTps: 500,
      finalizedTps: 495,
      finalizedTxs,
      finalizedMBps: 0.25,
      latencyMs: { count: 1, p50: 90, p90: 150, p99: 200, max: 250, mean: 100 },
      rejectedTxs: 0,
      failedTxs: 0,
      unfinalizedTxs: 0,
      generatorCpuPercent: 8,
      blocks: { fromIndex, toIndex },
    }) as unknown as LoadResult;
  assert.equal(indexesOf(load(11, 410, 0)), 400);
  // No event seen (0..0), or a range that makes no sense: no indexes, no ratio.
  assert.equal(indexesOf(load(0, 0, 0)), 0);
  assert.equal(indexesOf(load(12, 11, 0)), 0);
  const low = stepOf(load(11, 410, 10_000), []);
  assert.equal(low.finalizedIndexes, 400);
  assert.equal(txsPerIndex(low), 25);
  assert.equal(txsPerIndex(stepOf(load(0, 0, 10_000), [])), undefined);
  assert.equal(txsPerIndex({ ...low, finalizedIndexes: undefined }), undefined);
  const rows = formatRun(run(40, [low]), "t").split("\n");
  assert.match(rows[1]!, /not final\s+txs\/index\s+CPU % per node/);
  assert.match(rows[2]!, /^500\s+500\s+495\s+0\.250\s+90\s+150\s+200\s+0\s+0\s+25\s/);
  const median = medianRun([
    run(40, [{ ...low, finalizedIndexes: 300 }]),
    run(40, [low]),
    run(40, [{ ...low, finalizedIndexes: 500 }]),
  ]);
  assert.equal(median.steps[0]!.finalizedIndexes, 400);
});

test("CPU profile summary: self time per function and per area, idle excluded from shares", () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)", "") },
      { id: 2, callFrame: frame("(idle)", "") },
      { id: 3, callFrame: frame("verify", "file:///r/node/crypto/ed25519.ts") },
      { id: 4, callFrame: frame("decrypt", "file:///r/node_modules/@chainsafe/libp2p-noise/dist/x.js") },
      { id: 5, callFrame: frame("(garbage collector)", "") },
    ],
    samples: [2, 3, 3, 4, 5, 3, 2],
    timeDeltas: [1000, 1000, 1000, 2000, 1000, 1000, 3000],
    startTime: 0,
    endTime: 10_000,
  };
  const s = summarizeProfile(profile, 10);
  assert.equal(s.totalMs, 10);
  assert.equal(s.idleMs, 4);
  assert.equal(s.busyMs, 6);
  assert.deepEqual(
    s.functions.map((f) => [f.name, f.area, f.selfMs]),
    [
      ["verify ed25519.ts:10", "node/crypto", 3],
      ["decrypt x.js:10", "@chainsafe/libp2p-noise", 2],
      ["(garbage collector)", "(garbage collector)", 1],
    ],
  );
  assert.deepEqual(
    s.ownInclusive.map((f) => [f.name, f.selfMs]),
    [["verify ed25519.ts:10", 3]],
  );
  assert.equal(s.areas[0]!.area, "node/crypto");
  assert.equal(s.areas[0]!.share, 0.5);
  assert.match(formatProfile(s), /50\.0%\s+3 ms\s+node\/crypto/);
  assert.equal(areaOf("node:internal/streams/x", "f"), "node:internal");
  // A window keeps the samples taken in it (sample times 1, 2, 3, 5, 6, 7, 10 ms): 2..6 ms holds 3, 3, 4.
  const w = summarizeProfile(profile, 10, { fromMs: 2, toMs: 6 });
  assert.deepEqual([w.totalMs, w.idleMs, w.busyMs], [4, 0, 4]);
  assert.deepEqual(
    w.functions.map((f) => [f.name, f.selfMs]),
    [
      ["verify ed25519.ts:10", 2],
      ["decrypt x.js:10", 2],
    ],
  );
  assert.match(formatProfile(w), /^profile: 0\.0-0\.0 s into the profile, 0\.0 s sampled/);
  assert.equal(areaOf("", "(program)"), "(program)");
  assert.equal(areaOf("wasm://wasm/20831a12", "f"), "(wasm)");
});

test("CPU profile summary: an unnamed native call (a binding, as an in-process profile shows it) counts for its caller", () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 13 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 5] },
      { id: 2, callFrame: frame("_put", "file:///r/node_modules/classic-level/chained-batch.js"), children: [3] },
      { id: 3, callFrame: frame("", ""), children: [4] },
      { id: 4, callFrame: frame("", "") },
      { id: 5, callFrame: frame("writev", "") },
    ],
    samples: [3, 4, 2, 5],
    timeDeltas: [1000, 2000, 1000, 4000],
    startTime: 0,
    endTime: 8000,
  };
  const s = summarizeProfile(profile, 10);
  assert.deepEqual(
    s.functions.map((f) => [f.name, f.area, f.selfMs]),
    [
      ["_put chained-batch.js:14", "classic-level", 4],
      ["writev", "(native)", 4],
    ],
  );
  assert.deepEqual(
    s.areas.map((a) => [a.area, a.selfMs]),
    [
      ["classic-level", 4],
      ["(native)", 4],
    ],
  );
});

test("measureFsync times write+fsync of 4 KiB blocks and removes its file", () => {
  const dir = mkdtempSync(join(tmpdir(), "fsync-"));
  try {
    const r = measureFsync(dir, 20);
    assert.equal(r.writes, 20);
    assert.equal(r.latencyMs.count, 20);
    assert.ok((r.latencyMs.p50 ?? -1) >= 0 && (r.latencyMs.p99 ?? -1) >= (r.latencyMs.p50 ?? 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("measureStreamThroughput moves bytes between two libp2p processes", async () => {
  const r = await measureStreamThroughput(1, 16 * 1024);
  assert.ok(r.bytes > 0, `received ${r.bytes} bytes`);
  assert.ok(r.mbPerS > 0);
});
