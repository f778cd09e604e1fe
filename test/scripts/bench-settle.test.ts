/**
 * The bench's wait for a cluster to settle after an overloaded step
 * (scripts/bench/settle.ts): what counts as busy, the wait's loop on a
 * virtual clock, and the /proc probe on this very process.
 */
import assert from "node:assert/strict";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  ActivityProbe,
  busyReason,
  type NodeActivity,
  SETTLE_CRITERIA,
  type SettleCriteria,
  settle,
} from "../../scripts/bench/settle.ts";
import { FULL, parseBenchArgs, QUICK } from "../../scripts/bench.ts";

const quietNode = (name: string, over: Partial<NodeActivity> = {}): NodeActivity => ({
  name,
  cpuPercent: 6,
  writeBytesPerSecond: 20_000,
  finalizedIndex: 120,
  mempoolTxs: 0,
  ...over,
});

test("busyReason: quiet only when every node is idle, level with the others and holds no txs", () => {
  const quiet = [quietNode("node0"), quietNode("node1")];
  assert.equal(busyReason(quiet), undefined);
  assert.equal(busyReason([]), "no node to watch");
  assert.equal(
    busyReason([quietNode("node0"), quietNode("node1", { mempoolTxs: 42 })]),
    "node1: 42 txs in its mempool",
  );
  assert.equal(
    busyReason([quietNode("node0"), quietNode("node1", { finalizedIndex: 117 })]),
    "node1: 3 indexes behind",
  );
  assert.equal(busyReason([quietNode("node0", { cpuPercent: 40 })]), "node0: CPU 40% of a core");
  assert.equal(
    busyReason([quietNode("node0", { writeBytesPerSecond: 12_300_000 })]),
    "node0: writing 12.3 MB/s to disk",
  );
  assert.equal(busyReason([quietNode("node0", { cpuPercent: undefined })]), "node0: process not readable");
  assert.equal(busyReason([quietNode("node0", { finalizedIndex: undefined })]), "node0: no answer from /status");
  // At the bounds themselves a node is quiet.
  const c = SETTLE_CRITERIA;
  assert.equal(
    busyReason([quietNode("node0", { cpuPercent: c.maxCpuPercent, writeBytesPerSecond: c.maxWriteBytesPerSecond })]),
    undefined,
  );
});

/** A virtual clock: wait() advances it, nothing sleeps. */
function clock(): { wait: (ms: number) => Promise<void>; now: () => number } {
  let t = 0;
  return {
    wait: async (ms) => {
      t += ms;
    },
    now: () => t,
  };
}

test("settle: needs quietSamples quiet samples in a row; a busy one starts the count again", async () => {
  const busy = [quietNode("node0", { cpuPercent: 80 })];
  const quiet = [quietNode("node0")];
  const seq = [busy, quiet, quiet, busy, quiet, quiet, quiet, busy];
  let calls = 0;
  const c = clock();
  const r = await settle(async () => seq[calls++]!, SETTLE_CRITERIA, c.wait, c.now);
  assert.deepEqual(r, { settled: true, seconds: 7 });
  assert.equal(calls, 7);
});

test("settle: gives up at the timeout and says what was still busy", async () => {
  const criteria: SettleCriteria = { ...SETTLE_CRITERIA, timeoutMs: 10_000 };
  const c = clock();
  const r = await settle(async () => [quietNode("node2", { mempoolTxs: 9 })], criteria, c.wait, c.now);
  assert.equal(r.settled, false);
  assert.equal(r.seconds, 10);
  assert.equal(r.busy, "node2: 9 txs in its mempool");
});

test("ActivityProbe: CPU and disk writes of a real process between samples, with its status", async () => {
  const dir = mkdtempSync(join(tmpdir(), "settle-"));
  try {
    let status: { finalizedIndex: number; mempoolTxs: number } | null = { finalizedIndex: 7, mempoolTxs: 3 };
    const probe = new ActivityProbe([{ name: "self", pid: process.pid, status: async () => status }]);
    // Busy: 300 ms of a busy loop (some of it on a core, even on a loaded machine) and 2 MiB written and synced.
    const until = performance.now() + 300;
    while (performance.now() < until) Math.sqrt(Math.random());
    const fd = openSync(join(dir, "w"), "w");
    const chunk = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 8; i++) writeSync(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    const [busy] = await probe.sample();
    assert.equal(busy!.name, "self");
    assert.ok(busy!.cpuPercent !== undefined && busy!.cpuPercent > 10, `CPU ${busy!.cpuPercent}%`);
    assert.ok(busy!.writeBytesPerSecond !== undefined && busy!.writeBytesPerSecond > 0, "writes seen");
    assert.equal(busy!.finalizedIndex, 7);
    assert.equal(busy!.mempoolTxs, 3);
    // Idle: a pause with nothing running.
    await new Promise((r) => setTimeout(r, 300));
    status = null;
    const [idle] = await probe.sample();
    assert.ok(idle!.cpuPercent !== undefined && idle!.cpuPercent < busy!.cpuPercent, `idle CPU ${idle!.cpuPercent}%`);
    assert.ok(idle!.writeBytesPerSecond !== undefined && idle!.writeBytesPerSecond < busy!.writeBytesPerSecond!);
    assert.equal(idle!.finalizedIndex, undefined);
    // A node without a process is reported, not skipped.
    const [gone] = await new ActivityProbe([{ name: "gone", pid: undefined, status: async () => null }]).sample();
    assert.equal(busyReason([gone!]), "gone: process not readable");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bench --fresh: off by default (the cluster settles), on for --quick, on or off when asked", () => {
  assert.equal(FULL.fresh, false);
  assert.equal(parseBenchArgs([]).fresh, false);
  assert.equal(QUICK.fresh, true);
  assert.equal(parseBenchArgs(["--quick"]).fresh, true);
  assert.equal(parseBenchArgs(["--fresh"]).fresh, true);
  assert.equal(parseBenchArgs(["--quick", "--no-fresh"]).fresh, false);
});
