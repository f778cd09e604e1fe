import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { aggregate } from "../../node/crypto/index.ts";
import type { SyncError, SyncServerHandlers, SyncStatus } from "../../node/net/index.ts";
import {
  type BatchQc,
  batchVoteSigningBody,
  type CommitQc,
  codecs,
  DOMAINS,
  encodePayload,
  type GlobalBlock,
  headerHash,
  type LaneBlock,
  sha256,
} from "../../node/types/index.ts";
import {
  commitQc,
  globalBlock,
  Inbox,
  laneChain,
  netCommittee,
  startNode,
  stopAll,
  type TestNode,
  until,
} from "./fixtures.ts";

const c = netCommittee(4, 60);

/** A store-like server over in-memory arrays: lane -> blocks from 0, CommitQCs and global blocks from index 1. */
function arrayServer(
  lanes: Map<number, LaneBlock[]>,
  qcs: CommitQc[],
  globals: GlobalBlock[],
  batchQcs: BatchQc[] = [],
): SyncServerHandlers {
  const pick = <T>(items: T[], offset: number, first: number, last: number) =>
    items.slice(Math.max(0, first - offset), Math.max(0, last - offset + 1));
  return {
    status: (): SyncStatus => ({
      commitQcs: { first: 1, next: 1 + qcs.length },
      globalBlocks: { first: 1, next: 1 + globals.length },
      lanes: [...lanes].map(([lane, blocks]) => ({ lane, first: 0, next: blocks.length })),
      batchQcs: { first: 0, next: batchQcs.length },
      views: { highest: { index: 0, round: 0 }, bySigner: [] },
    }),
    batchQcs: (first, last) => pick(batchQcs, 0, first, last),
    commitQcs: (first, last) => pick(qcs, 1, first, last),
    laneBlocks: (lane, first, last) => pick(lanes.get(lane) ?? [], 0, first, last),
    globalBlocks: (first, last) => pick(globals, 1, first, last),
  };
}

const lane1 = laneChain(c, 1, 10);
const lane3 = laneChain(c, 3, 6, 4096);
const qcs = [1, 2, 3, 4, 5].map((k) => commitQc(c, k));
// Global block k finalizes lane 1 blocks 2(k-1)..2(k-1)+1.
const globals = [1, 2, 3].map((k) => globalBlock(c, k, [[], lane1.slice(2 * (k - 1), 2 * k)]));
function batchQc(number: number, signers = [0, 1, 2]): BatchQc {
  const body = { number, hash: sha256(new Uint8Array([number])) };
  const agg = aggregate(
    signers.map((s) => ({ signer: s, signature: c.signers[s]!.sign(DOMAINS.batchVote, batchVoteSigningBody(body)) })),
    c.committee.size,
  );
  return { body, signers: agg.signers, signatures: agg.signatures };
}
const batchQcs = [0, 1, 2, 3, 4, 5].map((n) => batchQc(n));
// BatchQC 1 with a signature that is not over its body.
const badBatchQcs = [batchQc(0), { ...batchQc(1), signatures: batchQc(2).signatures }];
// A lane whose block 1 was tampered with after signing.
const lane2 = laneChain(c, 2, 3);
lane2[1] = { ...lane2[1]!, payload: encodePayload([new Uint8Array([9, 9, 9])]) };

let v0: TestNode;
let v1: TestNode;
let v2: TestNode;
let silent: TestNode;
let observer: TestNode;

before(async () => {
  v0 = await startNode(c, {
    index: 0,
    inbox: new Inbox({
      ...arrayServer(
        new Map([
          [1, lane1],
          [3, lane3],
        ]),
        qcs,
        globals,
        batchQcs,
      ),
      // Retention pruned global block 1 here.
      globalBlocksFirst: () => 2,
    }),
    limits: { maxSyncItems: 4, maxSyncResponseBytes: 10_000 },
  });
  v2 = await startNode(c, {
    index: 2,
    inbox: new Inbox(arrayServer(new Map([[2, lane2]]), [], [], badBatchQcs)),
    limits: { maxSyncRequestsPerSecond: 3 },
  });
  // A peer that accepts sync streams and never answers.
  silent = await startNode(c, {
    index: null,
    inbox: new Inbox({ ...arrayServer(new Map(), [], []), status: () => new Promise<SyncStatus>(() => {}) }),
    limits: { syncTimeoutMs: 60_000 },
  });
  v1 = await startNode(c, {
    index: 1,
    peers: [...v0.net.addresses(), ...v2.net.addresses(), ...silent.net.addresses()],
    limits: { syncTimeoutMs: 1_000 },
  });
  observer = await startNode(c, { index: null, peers: v0.net.addresses() });
  await until("connections", () => v1.net.peers().length === 3 && observer.net.peers().length >= 1);
});

after(() => stopAll([v0, v1, v2, silent, observer]));

test("status describes what a peer holds", async () => {
  const s = await v1.net.sync.status(v0.net.peerId);
  assert.deepEqual(s.commitQcs, { first: 1, next: 6 });
  assert.deepEqual(
    s.lanes.map((l) => [l.lane, l.next]),
    [
      [1, 10],
      [3, 6],
    ],
  );
});

test("BatchQCs are served by range (from batch 0), each verified against the attesters", async () => {
  const s = await v1.net.sync.status(v0.net.peerId);
  assert.deepEqual(s.batchQcs, { first: 0, next: 6 });
  const got = await v1.net.sync.fetchBatchQcs(1, 5);
  // v0 serves at most 4 items; v2's BatchQC 1 does not verify and is never taken.
  assert.deepEqual(
    got.map((q) => q.body.number),
    [1, 2, 3, 4],
  );
  assert.deepEqual(codecs.batchQc.encode(got[0]!), codecs.batchQc.encode(batchQcs[1]!));
  assert.deepEqual(await v1.net.sync.fetchBatchQcs(6, 9), []);
});

test("lane blocks are served by range, verified and linked, bounded by the server's item count", async () => {
  const got = await v1.net.sync.fetchLaneBlocks(1, 2, 9);
  assert.deepEqual(
    got.map((b) => b.header.number),
    [2, 3, 4, 5],
  );
  assert.deepEqual(headerHash(got[3]!.header), headerHash(lane1[5]!.header));
});

test("a response stops after the item that crosses the server's byte bound", async () => {
  // Blocks of ~4.2 KiB against a 10,000-byte bound: the third crosses it.
  const got = await v1.net.sync.fetchLaneBlocks(3, 0, 5);
  assert.deepEqual(
    got.map((b) => b.header.number),
    [0, 1, 2],
  );
});

test("CommitQCs and global blocks are served and their certificates verified", async () => {
  const got = await v1.net.sync.fetchCommitQcs(1, 3);
  assert.deepEqual(
    got.map((q) => q.proposal.view.index),
    [1, 2, 3],
  );
  const blocks = await v1.net.sync.fetchGlobalBlocks(2, 3);
  assert.deepEqual(
    blocks.map((g) => [g.index, g.blocks.map((b) => b.header.number)]),
    [
      [2, [2, 3]],
      [3, [4, 5]],
    ],
  );
});

test("global blocks below the server's retention start get a clear 'pruned' answer", async () => {
  const before = v0.net.metrics.syncCount("globalBlocks", "server", "pruned");
  const errors = v1.net.metrics.syncCount("globalBlocks", "client", "error");
  // Its status still claims block 1 (a stale status): the request itself gets the answer.
  assert.deepEqual(await v1.net.sync.fetchGlobalBlocks(1, 2), []);
  assert.equal(v0.net.metrics.syncCount("globalBlocks", "server", "pruned"), before + 1);
  assert.ok(
    v1.net.metrics.syncCount("globalBlocks", "client", "error") > errors,
    "the client saw an answer, not a timeout",
  );
});

test("a tampered response is rejected and counted; nobody else has it, so the answer is empty", async () => {
  const before = v1.net.metrics.syncCount("laneBlocks", "client", "invalid");
  assert.deepEqual(await v1.net.sync.fetchLaneBlocks(2, 0, 2), []);
  assert.equal(v1.net.metrics.syncCount("laneBlocks", "client", "invalid"), before + 1);
});

test("a peer over its request rate is refused", async () => {
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => v1.net.sync.status(v2.net.peerId)));
  const limited = results.filter((r) => r.status === "rejected" && (r.reason as SyncError).outcome === "limited");
  assert.ok(limited.length >= 1, "at least one request was rate limited");
  assert.ok(v2.net.metrics.syncCount("status", "server", "limited") >= 1);
});

test("a silent peer times out instead of hanging the caller", async () => {
  await assert.rejects(v1.net.sync.status(silent.net.peerId), (err: SyncError) => err.outcome === "timeout");
  assert.ok(v1.net.metrics.syncCount("status", "client", "timeout") >= 1);
  // A range nobody holds: the members say so, the silent peer times out, the caller gets [].
  assert.deepEqual(await v1.net.sync.fetchLaneBlocks(1, 100, 105), []);
});

test("an observer can sync from validators", async () => {
  const got = await observer.net.sync.fetchCommitQcs(4, 5);
  assert.deepEqual(
    got.map((q) => q.proposal.view.index),
    [4, 5],
  );
  assert.ok(v0.net.metrics.syncCount("commitQcs", "server", "ok") >= 2);
});

test("bad ranges are refused before anything is sent", async () => {
  await assert.rejects(v1.net.sync.fetchLaneBlocks(1, 5, 2), /invalid sync range/);
  await assert.rejects(v1.net.sync.fetchLaneBlocks(9, 0, 1), /not a committee lane/);
});
