import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockDelay } from "../../node/lanes/block-delay.ts";
import type { LanesEffect } from "../../node/lanes/index.ts";
import type { LaneRange } from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import { freshLanes } from "../fixtures/lanes.ts";

/** The own lane blocks a step cut (each persisted before it is pushed). */
const blocksCut = (out: LanesEffect[]) => out.filter((e) => e.kind === "persist" && e.write.kind === "laneBlock");
const tx = (s: string) => ({ kind: "tx" as const, tx: new TextEncoder().encode(s) });

/** `count` indexes that each took consensus `ms` here. */
function samples(d: BlockDelay, ms: number, count: number): void {
  for (let i = 0; i < count; i++) d.sample(ms);
}

test("a chain whose consensus is fast keeps lanes.maxBlockDelayMs", () => {
  const d = new BlockDelay(100, 400);
  assert.equal(d.ms, 100, "before any index");
  // 4 validators: 16 ms per index at 500 tx/s, 26 ms at 3,000, single ones up to ~90.
  for (let i = 0; i < 300; i++) {
    d.sample([16, 26, 12, 45, 20, 90][i % 6]!);
    assert.equal(d.ms, 100, `index ${i}`);
  }
});

test("slow consensus: the delay is twice the smoothed time per index, rounded up to the floor times a power of two, up to the cap", () => {
  const d = new BlockDelay(100, 400);
  samples(d, 90, 80);
  assert.equal(d.ms, 200, "90 ms per index: twice is about 180, on the 200 ms grid");
  samples(d, 1_000, 80);
  assert.equal(d.ms, 400, "a second per index: the cap");
  samples(d, 20, 30);
  assert.equal(d.ms, 100, "fast again: back at the floor within a few dozen indexes");
  const odd = new BlockDelay(100, 300);
  samples(odd, 1_000, 80);
  assert.equal(odd.ms, 300, "a cap that is no power-of-two multiple of the floor still caps");
});

test("a block that is not full is cut at the grid's first tick after its oldest tx", () => {
  const d = new BlockDelay(100, 400);
  assert.equal(d.cutAtMs(1_234, 1_250), 1_300);
  assert.equal(d.cutAtMs(1_201, 1_201), 1_300, "so the oldest waits at most the delay");
  assert.equal(d.cutAtMs(1_300, 1_300), 1_400, "a tx on a tick waits for the next one");
  assert.equal(d.cutAtMs(1_234, 1_234 + 5_000), 1_300, "a tick long past is due at once");
  // The wall clock stepped back an hour after the tx came: cut now, not an hour later.
  assert.equal(d.cutAtMs(3_600_000, 1_000), 1_000);
  // Validators whose delays differ (measured consensus times differ a little) still share ticks.
  const slow = new BlockDelay(100, 400);
  samples(slow, 1_000, 80);
  assert.equal(slow.ms, 400);
  for (const t of [0, 399, 400, 1_234, 99_999]) {
    const tick = slow.cutAtMs(t, t);
    assert.equal(tick % 400, 0);
    assert.equal(tick % d.ms, 0, `the 400 ms grid's tick ${tick} is one of the 100 ms grid's`);
  }
});

test("the delay moves gradually: a few slow indexes move it part of the way", () => {
  const d = new BlockDelay(100, 400);
  samples(d, 20, 30);
  samples(d, 150, 3);
  assert.ok(d.ms > 100 && d.ms < 300, `three 150 ms indexes after 20 ms ones: ${d.ms}`);
});

test("one stalled index weighs no more than a time that reaches the cap", () => {
  const d = new BlockDelay(100, 400);
  samples(d, 20, 50);
  d.sample(60_000);
  // 20 + (200 - 20) * 0.1 = 38 ms: twice that is still the floor.
  assert.equal(d.ms, 100);
  assert.ok(Math.abs(d.consensusMs - 38) < 0.5, `smoothed ${d.consensusMs}`);
});

test("nonsense samples are ignored", () => {
  const d = new BlockDelay(100, 400);
  samples(d, 90, 80);
  const before = d.ms;
  for (const bad of [Number.NaN, -5, Number.POSITIVE_INFINITY]) d.sample(bad);
  assert.equal(d.ms, before);
});

test("a lengthened delay is reported once, and once when it is back at the floor, not at every swing near it", () => {
  const d = new BlockDelay(100, 400);
  const changes: string[] = [];
  const feed = (ms: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const c = d.sample(ms);
      if (c !== null) changes.push(c);
    }
  };
  // Hovering between the floor and 1.5 times it (twice 60-70 ms): no report.
  feed(60, 40);
  feed(70, 40);
  assert.equal(d.ms, 200, "on the 200 ms grid");
  assert.deepEqual(changes, []);
  feed(120, 40);
  assert.deepEqual(changes, ["lengthened"]);
  // Down into the band and up again: still lengthened, nothing new.
  feed(65, 40);
  feed(120, 40);
  assert.deepEqual(changes, ["lengthened"]);
  feed(20, 40);
  assert.deepEqual(changes, ["lengthened", "restored"]);
  assert.equal(d.ms, 100);
});

test("a floor below 1 ms counts as 1 ms (the grid divides by it)", () => {
  const d = new BlockDelay(0, 0);
  assert.equal(d.ms, 1);
  assert.equal(d.cutAtMs(41, 41), 42);
});

test("a cap at or below the floor keeps the delay fixed", () => {
  for (const cap of [1, 50, 100]) {
    const d = new BlockDelay(100, cap);
    samples(d, 5_000, 50);
    assert.equal(d.ms, 100, `cap ${cap}`);
  }
});

test("the lanes machine cuts a block that is not full after the longer delay while consensus is slow", () => {
  const tc = testCommittee(4);
  const config = {
    ...testProtocolConfig().lanes,
    maxBlockDelayMs: 50,
    maxAdaptiveBlockDelayMs: 400,
    sendWhenIdle: false,
  };
  const m = freshLanes(tc, 0, config);

  m.step(tx("a=1"), 0);
  assert.equal(blocksCut(m.step({ kind: "timer" }, 49)).length, 0);
  assert.equal(blocksCut(m.step({ kind: "timer" }, 50)).length, 1, "fast consensus: after maxBlockDelayMs");
  assert.equal(m.blockDelayMs, 50);

  const nothingNew: LaneRange[] = tc.committee.members.map((_, lane) => ({
    lane,
    first: 0,
    next: 0,
    lastHash: new Uint8Array(32),
  }));
  // A finality without a measurement (catch-up, a round change) moves nothing.
  for (let i = 0; i < 50; i++) m.step({ kind: "finalized", ranges: nothingNew }, 100 + i);
  assert.equal(m.blockDelayMs, 50);
  // Indexes that took consensus 150 ms each.
  const events: LanesEffect[] = [];
  for (let i = 0; i < 60; i++) {
    events.push(...m.step({ kind: "finalized", ranges: nothingNew, consensusMs: 150 }, 200 + i));
  }
  // Twice 150 is 300: on the grid of 50 times a power of two, 400.
  assert.equal(m.blockDelayMs, 400);
  const logged = events.filter((e) => e.kind === "event");
  assert.equal(logged.length, 1, "one log line when the delay lengthens");
  assert.ok(logged[0]?.kind === "event" && logged[0].level === "info" && /wait longer/.test(logged[0].msg));

  const sent = 1_210;
  m.step(tx("b=2"), sent);
  assert.equal(blocksCut(m.step({ kind: "timer" }, sent + 50)).length, 0, "not after the fast chain's 50 ms");
  assert.equal(blocksCut(m.step({ kind: "timer" }, 1_599)).length, 0);
  assert.equal(blocksCut(m.step({ kind: "timer" }, 1_600)).length, 1, "at the next tick of the 400 ms grid");
});

test("two validators whose txs came at different moments of one period cut their blocks on the same tick", () => {
  const tc = testCommittee(4);
  const config = { ...testProtocolConfig().lanes, maxBlockDelayMs: 100, sendWhenIdle: false };
  const timerAt = (out: LanesEffect[]) => out.find((e) => e.kind === "setTimer");
  const early = freshLanes(tc, 0, config);
  const late = freshLanes(tc, 1, config);
  // Both have run a while (their retransmit timers are not due).
  early.step({ kind: "timer" }, 10_000);
  late.step({ kind: "timer" }, 10_000);
  const t1 = timerAt(early.step(tx("a=1"), 10_005));
  const t2 = timerAt(late.step(tx("b=1"), 10_090));
  assert.ok(t1?.kind === "setTimer" && t2?.kind === "setTimer");
  assert.deepEqual([t1.deadlineMs, t2.deadlineMs], [10_100, 10_100], "both wake at the tick");
  assert.equal(blocksCut(early.step({ kind: "timer" }, 10_099)).length, 0);
  assert.equal(blocksCut(early.step({ kind: "timer" }, 10_100)).length, 1, "95 ms after its tx");
  assert.equal(blocksCut(late.step({ kind: "timer" }, 10_100)).length, 1, "10 ms after its tx");
});

test("a wall clock stepped back does not hold the own lane's block until it catches up", () => {
  const tc = testCommittee(4);
  const config = { ...testProtocolConfig().lanes, maxBlockDelayMs: 100, sendWhenIdle: false };
  const m = freshLanes(tc, 0, config);
  m.step({ kind: "timer" }, 50_000);
  m.step(tx("a=1"), 50_010);
  // An NTP correction moves the clock 20 s back before the tick at 50,100.
  assert.equal(blocksCut(m.step({ kind: "timer" }, 30_000)).length, 1, "cut at once");
});
