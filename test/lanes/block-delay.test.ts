import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockDelay } from "../../node/lanes/block-delay.ts";
import { type LanesEffect, LanesMachine } from "../../node/lanes/index.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

/** Finalized indexes every `intervalMs`, `count` of them from `startMs`; returns the time of the last. */
function finalizeEvery(d: BlockDelay, startMs: number, intervalMs: number, count: number, busy = true): number {
  let t = startMs;
  for (let i = 0; i < count; i++, t += intervalMs) d.finalized(t, busy);
  return t - intervalMs;
}

test("a fast chain keeps the least delay (lanes.maxBlockDelayMs)", () => {
  const d = new BlockDelay(100, 400);
  assert.equal(d.ms, 100, "before any index");
  let t = finalizeEvery(d, 0, 45, 50);
  assert.equal(d.ms, 100, "indexes every 45 ms: the floor");
  // Single indexes swing (17 to 120 ms) around a mean of 52 ms: still the floor.
  for (let i = 0; i < 200; i++) {
    t += [20, 80, 35, 120, 40, 17][i % 6]!;
    d.finalized(t, true);
    assert.equal(d.ms, 100, `index ${i}`);
  }
});

test("a slow chain: the delay is twice the interval between indexes, up to the cap", () => {
  const d = new BlockDelay(100, 400);
  finalizeEvery(d, 0, 150, 80);
  assert.ok(Math.abs(d.ms - 300) <= 2, `indexes every 150 ms: about 300, got ${d.ms}`);
  finalizeEvery(d, 20_000, 2_000, 40);
  assert.equal(d.ms, 400, "indexes every 2 s: the cap");
  finalizeEvery(d, 200_000, 50, 40);
  assert.equal(d.ms, 100, "fast again: back to the floor within a few dozen indexes");
});

test("between the floor and 1.5 times it, the delay stays at the floor", () => {
  const d = new BlockDelay(100, 400);
  finalizeEvery(d, 0, 70, 100);
  assert.equal(d.ms, 100, "indexes every 70 ms: twice that is 140, under 150");
  finalizeEvery(d, 20_000, 80, 100);
  assert.ok(d.ms >= 150 && d.ms <= 160, `indexes every 80 ms: about 160, got ${d.ms}`);
});

test("it adapts gradually: two slow indexes move it part of the way", () => {
  const d = new BlockDelay(100, 400);
  const t = finalizeEvery(d, 0, 40, 20);
  d.finalized(t + 400, true);
  d.finalized(t + 800, true);
  assert.ok(d.ms > 100 && d.ms < 400, `two 400 ms intervals after 40 ms ones: ${d.ms}`);
});

test("an idle pause measures nothing: the first blocks after it keep the delay of the busy chain", () => {
  const d = new BlockDelay(100, 400);
  // Busy at 45 ms intervals, then the last index of the burst leaves the node idle.
  const t = finalizeEvery(d, 0, 45, 30);
  d.finalized(t + 45, false);
  // An hour later the chain moves again.
  d.finalized(t + 3_600_000, true);
  assert.equal(d.ms, 100);
});

test("a cap at or below the floor keeps the delay fixed", () => {
  for (const cap of [0, 50, 100]) {
    const d = new BlockDelay(100, cap);
    finalizeEvery(d, 0, 5_000, 20);
    assert.equal(d.ms, 100, `cap ${cap}`);
  }
});

test("the lanes machine cuts a block that is not full after the adapted delay on a slow chain", () => {
  const tc = testCommittee(4);
  const config = {
    ...testProtocolConfig().lanes,
    maxBlockDelayMs: 50,
    maxAdaptiveBlockDelayMs: 400,
    sendWhenIdle: false,
  };
  const m = new LanesMachine({
    committee: tc.committee,
    me: 0,
    signer: tc.signers[0]!,
    config,
    recoveredLanes: tc.committee.members.map((_, lane) => ({ lane, first: 0, next: 0, blocks: [] })),
    finalizedRanges: null,
  });
  const blocksIn = (out: LanesEffect[]) => out.filter((e) => e.kind === "persist" && e.write.kind === "laneBlock");
  const tx = (s: string) => ({ kind: "tx" as const, tx: new TextEncoder().encode(s) });

  // A fast chain's delay: the block goes 50 ms after the first tx.
  m.step(tx("a=1"), 0);
  assert.equal(blocksIn(m.step({ kind: "timer" }, 49)).length, 0);
  assert.equal(blocksIn(m.step({ kind: "timer" }, 50)).length, 1);
  assert.equal(m.blockDelayMs, 50);

  // The chain slows down: indexes every 150 ms while own block 0 is not final (the node is busy).
  const noProgress = tc.committee.members.map((_, lane) => ({ lane, first: 0, next: 0, lastHash: new Uint8Array(32) }));
  let t = 100;
  for (let i = 0; i < 60; i++, t += 150) m.step({ kind: "finalized", ranges: noProgress }, t);
  assert.ok(m.blockDelayMs > 280 && m.blockDelayMs <= 300, `delay ${m.blockDelayMs}`);

  const sent = t;
  m.step(tx("b=2"), sent);
  assert.equal(blocksIn(m.step({ kind: "timer" }, sent + 50)).length, 0, "not after the fast chain's 50 ms");
  assert.equal(blocksIn(m.step({ kind: "timer" }, sent + m.blockDelayMs - 1)).length, 0);
  assert.equal(blocksIn(m.step({ kind: "timer" }, sent + m.blockDelayMs)).length, 1, "after the adapted delay");
});
