import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256, toHex } from "../../node/types/index.ts";
import { latencyTimeline, median, percentile, summarize } from "../../scripts/bench/stats.ts";
import { dueTxs, makeTx, planBatches, txHashHex } from "../../scripts/bench/txgen.ts";
import { positiveNumber } from "../../scripts/cli.ts";
import { formatTimeline, validateLoadOptions } from "../../scripts/load.ts";

test("percentile is nearest-rank", () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(xs, 50), 5);
  assert.equal(percentile(xs, 90), 9);
  assert.equal(percentile(xs, 99), 10);
  assert.equal(percentile(xs, 0), 1);
  assert.equal(percentile(xs, 100), 10);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), undefined);
  assert.throws(() => percentile(xs, 101), RangeError);
});

test("summarize sorts numerically and reports p50/p90/p99/max/mean", () => {
  const s = summarize([100, 9, 20, 3]);
  assert.deepEqual(s, { count: 4, p50: 9, p90: 100, p99: 100, max: 100, mean: 33 });
  assert.equal(summarize([]).p50, undefined);
});

test("median of defined values", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, undefined, 2, 3]), 2.5);
  assert.equal(median([undefined]), undefined);
});

test("latencyTimeline: latency by submit second, gaps kept, samples before the start in the first bucket", () => {
  const t0 = 10_000;
  const samples: [number, number][] = [
    [t0 + 2500, 300], // second 2
    [t0 + 100, 900], // second 0
    [t0 + 900, 1100],
    [t0 - 5, 50], // a clock read just before the start: second 0
    [t0 + 2999, 100],
  ];
  const at = samples.map((x) => x[0]);
  const lat = samples.map((x) => x[1]);
  const tl = latencyTimeline(at, lat, t0);
  assert.deepEqual(
    tl.map((b) => [b.fromS, b.finalized, b.p50Ms, b.p99Ms]),
    [
      [0, 3, 900, 1100],
      [1, 0, undefined, undefined],
      [2, 2, 100, 300],
    ],
  );
  assert.deepEqual(
    latencyTimeline(at, lat, t0, 2000).map((b) => b.finalized),
    [3, 2],
    "2 s buckets",
  );
  assert.deepEqual(latencyTimeline([], [], t0), []);
  assert.throws(() => latencyTimeline(at, lat, t0, 0), /positive/);
  assert.throws(() => latencyTimeline(at, lat.slice(1), t0), /5 submit times for 4 latencies/);
  const text = formatTimeline(tl);
  assert.match(text, /^latency by submit second:/);
  assert.match(text, /0 s +3 final +p50 +900 ms +p99 +1100 ms/);
  assert.match(text, /1 s +0 final +p50 +- +p99 +-/);
});

test("makeTx: exactly txBytes of key=value, unique per sequence number", () => {
  const a = makeTx("abcd1234", 0, 512);
  const b = makeTx("abcd1234", 1, 512);
  assert.equal(Buffer.byteLength(a), 512);
  assert.equal(Buffer.byteLength(b), 512);
  assert.match(a, /^load\.abcd1234\.0=v+$/);
  assert.notEqual(txHashHex(a), txHashHex(b));
  assert.throws(() => makeTx("abcd1234", 123, 16), RangeError);
});

test("txHashHex is the node's tx hash (SHA-256 of the tx bytes)", () => {
  const tx = makeTx("r", 5, 100);
  assert.equal(txHashHex(tx), toHex(sha256(new TextEncoder().encode(tx))));
});

test("dueTxs: open loop keeps the offered rate whatever the timer's lateness, capped at the total", () => {
  assert.equal(dueTxs(100, 0, 1000), 0);
  assert.equal(dueTxs(100, 55, 1000), 5);
  assert.equal(dueTxs(100, 1000, 1000), 100);
  assert.equal(dueTxs(100, 5000, 300), 300);
  assert.equal(dueTxs(100, -5, 300), 0);
});

test("planBatches spreads round-robin over targets and cuts requests at the batch limit", () => {
  const plan = planBatches(10, 17, 3, 2);
  assert.deepEqual(plan, [[[12, 15]], [[10, 13], [16]], [[11, 14]]]);
  const all = plan.flat(2).sort((a, b) => a - b);
  assert.deepEqual(all, [10, 11, 12, 13, 14, 15, 16]);
  assert.deepEqual(planBatches(0, 0, 2, 5), [[], []]);
});

test("load options are validated with clear messages", () => {
  assert.throws(() => validateLoadOptions({ apis: [], rateTps: 1, durationS: 1 }), /no API/);
  assert.throws(() => validateLoadOptions({ apis: ["http://x"], rateTps: 0, durationS: 1 }), /rate 0/);
  assert.throws(() => validateLoadOptions({ apis: ["http://x"], rateTps: 1, durationS: 1, txBytes: 10 }), /tx bytes/);
  validateLoadOptions({ apis: ["http://x"], rateTps: 50, durationS: 5 });
  assert.equal(positiveNumber("rate", "12.5", 1), 12.5);
  assert.equal(positiveNumber("rate", undefined, 7), 7);
  assert.throws(() => positiveNumber("rate", "-1", 1), /--rate -1: expected a positive number/);
});
