import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256, toHex } from "../../node/types/index.ts";
import { median, percentile, summarize } from "../../scripts/bench/stats.ts";
import { dueTxs, makeTx, planBatches, txHashHex } from "../../scripts/bench/txgen.ts";
import { positiveNumber, validateLoadOptions } from "../../scripts/load.ts";

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
