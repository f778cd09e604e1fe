/**
 * The signing floor keeper (issue 15), with fake peers: it waits for enough
 * answering weight and for the catch-up, then sets (H.index + 1, 0) durably
 * before the protocol hears of it; it signs at once when no peer has seen
 * this key sign; and it caps what a lying peer can claim.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryLevel } from "memory-level";
import pino from "pino";
import type { SigningFloor } from "../../node/consensus/index.ts";
import type { PeerInfo, SyncClientApi, SyncStatus } from "../../node/net/index.ts";
import { SigningFloorKeeper } from "../../node/runtime/signing-floor.ts";
import { readSigningFloor } from "../../node/storage/index.ts";
import type { View } from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4);
const none = { index: 0, round: 0 };

function status(finalized: number, highest: View, mine: View, ownLaneNext = 0): SyncStatus {
  return {
    commitQcs: { first: 1, next: finalized + 1 },
    globalBlocks: { first: 1, next: finalized + 1 },
    lanes: [0, 1, 2, 3].map((lane) => ({ lane, first: 0, next: lane === 1 ? ownLaneNext : 0 })),
    batchQcs: { first: 0, next: 0 },
    views: { highest, bySigner: [none, mine, none, none] },
  };
}

function setup(
  answers: Map<string, SyncStatus>,
  opts: { optIn?: boolean; finalized?: number; ownLane?: number; committee?: typeof tc.committee } = {},
) {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: "view", valueEncoding: "view" });
  const floors: SigningFloor[] = [];
  const fetched: string[] = [];
  const progress = {
    finalizedIndex: opts.finalized ?? 0,
    view: { index: 1, round: 0 },
    ownLaneNext: opts.ownLane ?? 0,
  };
  const peers: PeerInfo[] = [...answers.keys()].map((peerId, i) => ({
    peerId,
    addrs: [],
    validatorIndex: [0, 2, 3, 4, 5, 6][i]!,
  }));
  const sync = {
    status: async (peer?: string) => {
      const s = answers.get(peer ?? "");
      if (!s) throw new Error("no answer");
      return s;
    },
  } as unknown as SyncClientApi;
  const keeper = new SigningFloorKeeper({
    committee: opts.committee ?? tc.committee,
    me: 1,
    db,
    stored: null,
    check: true,
    why: "started without a safety record",
    optIn: opts.optIn ?? false,
    log: pino({ level: process.env.DBG ? "debug" : "silent" }),
    sync: () => sync,
    peers: () => peers,
    progress: () => progress,
    fetchOwnLane: (from, to) => fetched.push(`lane ${from}..${to}`),
    fetchCommitQcs: (from) => fetched.push(`cqc ${from}`),
    setFloor: (f) => floors.push(f),
  });
  return { db, keeper, floors, fetched, progress };
}

const waitFor = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
};

test("holds, catches up, then sets the floor at (H.index + 1, 0) durably and lifts it once the chain passes", async () => {
  const answers = new Map([
    ["a", status(7, { index: 8, round: 2 }, { index: 8, round: 1 }, 5)],
    ["b", status(7, { index: 8, round: 1 }, none, 5)],
  ]);
  const { db, keeper, floors, fetched, progress } = setup(answers, { finalized: 3, ownLane: 2 });
  assert.equal(keeper.initialFloor, "hold");
  assert.equal(keeper.json.state, "syncing");
  keeper.start();
  try {
    await waitFor(() => fetched.includes("cqc 4"));
    assert.deepEqual(floors, [], "no floor before the catch-up");
    progress.finalizedIndex = 5; // within two indexes of the peers: caught up
    await waitFor(() => fetched.includes("lane 2..5"));
    assert.deepEqual(floors, [], "no floor before the own lane is caught up");
    progress.ownLaneNext = 5;
    await waitFor(() => floors.length > 0);
    assert.deepEqual(floors, [{ index: 9, round: 0 }]);
    assert.deepEqual(await readSigningFloor(db), { index: 9, round: 0 }, "durable before the protocol heard of it");
    assert.equal(keeper.json.state, "held");
    progress.view = { index: 9, round: 1 };
    await waitFor(() => keeper.json.state === "active");
    assert.deepEqual(keeper.json.floor, { index: 9, round: 0 });
  } finally {
    keeper.stop();
  }
});

test("waits for answers of weight max(W - Q + 1, others - f) before it decides", async () => {
  const { keeper, floors } = setup(new Map([["a", status(0, { index: 1, round: 0 }, { index: 1, round: 0 })]]));
  keeper.start();
  await new Promise((r) => setTimeout(r, 2500));
  keeper.stop();
  assert.deepEqual(floors, [], "one peer of weight 1 cannot cover every quorum of 4");
  assert.equal(keeper.json.state, "syncing");
});

test("no peer has seen this key sign: it signs at once (a new validator, or a new chain) unless doubleSignCheck", async () => {
  const answers = new Map([
    ["a", status(2, { index: 3, round: 0 }, none)],
    ["b", status(2, { index: 3, round: 0 }, none)],
  ]);
  const fresh = setup(answers, { finalized: 2 });
  fresh.keeper.start();
  await waitFor(() => fresh.floors.length > 0);
  fresh.keeper.stop();
  assert.deepEqual(fresh.floors, [null]);
  assert.equal(fresh.keeper.json.state, "active");

  const optIn = setup(answers, { finalized: 2, optIn: true });
  optIn.keeper.start();
  await waitFor(() => optIn.floors.length > 0);
  optIn.keeper.stop();
  assert.deepEqual(optIn.floors, [{ index: 4, round: 0 }]);
});

test("a peer claiming a view far beyond the finalized chain is capped", async () => {
  const answers = new Map([
    ["a", status(5, { index: 1_000_000, round: 0 }, { index: 5, round: 0 })],
    ["b", status(5, { index: 6, round: 0 }, none)],
  ]);
  const { keeper, floors } = setup(answers, { finalized: 5 });
  keeper.start();
  await waitFor(() => floors.length > 0);
  keeper.stop();
  assert.deepEqual(floors, [{ index: 8, round: 0 }], "H capped at (finalized + 2, 0)");
});

test("7 validators (f = 2): answers of weight 3 are not enough (an f+1 set could all be silent); 4 are", async () => {
  const c7 = testCommittee(7).committee;
  const answer = status(3, { index: 4, round: 1 }, { index: 4, round: 0 });
  const three = setup(new Map(["a", "b", "c"].map((p) => [p, answer])), { finalized: 3, committee: c7 });
  three.keeper.start();
  await new Promise((r) => setTimeout(r, 2500));
  three.keeper.stop();
  assert.deepEqual(three.floors, []);
  const four = setup(new Map(["a", "b", "c", "d"].map((p) => [p, answer])), { finalized: 3, committee: c7 });
  four.keeper.start();
  await waitFor(() => four.floors.length > 0);
  four.keeper.stop();
  assert.deepEqual(four.floors, [{ index: 5, round: 0 }]);
});
