/**
 * A new HA leader's reconciliation (node/runtime/ha-reconcile.ts), the parts
 * that decide before the follower is paused: when peers no longer serve the
 * CommitQCs its sign state's votes build on, it gives up without pausing (a
 * pause rebuilds the protocol and would interrupt the catch-up it needs).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { Lease, SignState } from "../../node/ha/index.ts";
import type { SyncClientApi } from "../../node/net/index.ts";
import { type ReconcileParts, reconcile } from "../../node/runtime/ha-reconcile.ts";

function parts(state: SignState, served: (from: number, to: number) => number[], paused: { n: number }) {
  const asked: [number, number][] = [];
  const lease = { read: async () => ({ kind: "ok", state }) } as unknown as Lease;
  const sync = {
    fetchCommitQcs: async (from: number, to: number) => {
      asked.push([from, to]);
      return served(from, to).map((index) => ({ proposal: { view: { index, round: 0 } } }));
    },
  } as unknown as SyncClientApi;
  const p = {
    lease,
    sync,
    ownLane: 0,
    log: pino({ level: "silent" }),
    hint: { commitQcNext: 426, ownLaneNext: 0 },
    pause: async () => {
      paused.n++;
      // Past the gathering the test has what it asserts: stop here.
      throw new Error("paused");
    },
  } as unknown as ReconcileParts;
  return { p, asked };
}

const votedAt442: SignState = new Map([["prepare", { slot: "prepare", a: 442, b: 0, tag: "aa" }]]);

test("CommitQCs pruned at every peer: retry without pausing the follower", async () => {
  const paused = { n: 0 };
  const { p, asked } = parts(votedAt442, () => [], paused);
  const out = await reconcile(p);
  assert.deepEqual(out, { kind: "retry", reason: "CommitQCs 426..441 are not served by peers yet" });
  assert.equal(paused.n, 0, "the follower keeps running (and catching up)");
  assert.deepEqual(asked, [[426, 441]]);
});

test("CommitQCs served only in part: retry without pausing, naming what is missing", async () => {
  const paused = { n: 0 };
  // The first answer stops at 430; the next request from 431 finds nothing.
  const { p } = parts(votedAt442, (from) => (from === 426 ? [426, 427, 428, 429, 430] : []), paused);
  const out = await reconcile(p);
  assert.deepEqual(out, { kind: "retry", reason: "CommitQCs 431..441 are not served by peers yet" });
  assert.equal(paused.n, 0);
});

test("every CommitQC served: the gathering ends and the follower is paused to apply", async () => {
  const paused = { n: 0 };
  const all = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const { p } = parts(votedAt442, all, paused);
  await assert.rejects(reconcile(p), /paused/);
  assert.equal(paused.n, 1);
});
