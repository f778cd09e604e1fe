import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { VerifyCache } from "../../node/crypto/index.ts";
import { laneSpaceName, openStorage, RecoveryError, recover, space, u64Key } from "../../node/storage/index.ts";
import { codecs, type DurableWrite, headerHash, type SafetyRecord } from "../../node/types/index.ts";
import { commitQc, globalBlockWrite, laneBlock, laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
import { anchorFor, history, memoryDb, openMemory, rangesAt, tc, votedOn, writeRaw } from "./helpers.ts";

type Db = ReturnType<typeof memoryDb>;

/**
 * A valid node history: lane 0 blocks 0..3 and lane 1 blocks 0..1; CommitQC 1..3;
 * anchor at 2 with the WALs pruned to it; executed and stored up to 2; voted and
 * locked at 3.
 */
async function validState(): Promise<{ db: Db; h: ReturnType<typeof history> }> {
  const { db, writer } = await openMemory();
  const h = history(4, 3);
  const writes: DurableWrite[] = [
    ...h.lane0.map((block) => ({ kind: "laneBlock" as const, block })),
    ...laneChain(tc, 1, 0, 2).map((block) => ({ kind: "laneBlock" as const, block })),
    ...h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })),
  ];
  await writer.submit(writes);
  await writer.submit([
    globalBlockWrite({ index: 1, commitQc: h.qcs[0]!, blocks: [h.lane0[0]!] }),
    globalBlockWrite({ index: 2, commitQc: h.qcs[1]!, blocks: [h.lane0[1]!] }),
    { kind: "appState", index: 1, appHash: new Uint8Array(32).fill(8), puts: [], dels: [] },
    { kind: "appState", index: 2, appHash: new Uint8Array(32).fill(9), puts: [], dels: [] },
    { kind: "anchor", anchor: anchorFor(h.qcs[1]!) },
    { kind: "pruneLane", lane: 0, before: 2 },
    { kind: "pruneCommitQcs", before: 2 },
    { kind: "safety", record: votedOn(h.qcs[2]!) },
  ]);
  await writer.close();
  return { db, h };
}

async function recoverDb(db: Db) {
  return recover(await openStorage(db, tc.committee), tc.committee, new VerifyCache(1000));
}

async function rejects(db: Db, keyRange: string | RegExp, problem: RegExp): Promise<void> {
  await assert.rejects(recoverDb(db), (err: unknown) => {
    assert.ok(err instanceof RecoveryError, `expected a RecoveryError, got ${err}`);
    if (typeof keyRange === "string") assert.equal(err.keyRange, keyRange);
    else assert.match(err.keyRange, keyRange);
    assert.match(err.message, problem);
    assert.match(err.message, /validator reset/);
    return true;
  });
}

test("recovery returns the whole validated state", async () => {
  const { db, h } = await validState();
  const s = await recoverDb(db);
  assert.equal(s.finalizedIndex, 3);
  assert.deepEqual(
    s.commitQcs.map((q) => q.proposal.view.index),
    [2, 3],
  );
  assert.equal(s.anchor?.commitQc.proposal.view.index, 2);
  assert.deepEqual(
    s.lanes.map((l) => [l.lane, l.first, l.next, l.blocks.length]),
    [
      [0, 2, 4, 2],
      [1, 0, 2, 2],
      [2, 0, 0, 0],
      [3, 0, 0, 0],
    ],
  );
  assert.deepEqual(s.lanes[0]!.blocks[0]!.header.parent, headerHash(h.lane0[1]!.header));
  assert.equal(s.safety?.lock?.proposal.view.index, 3);
  assert.equal(s.app.executedIndex, 2);
  assert.deepEqual(s.app.appHash, new Uint8Array(32).fill(9));
  assert.equal(s.chainTip, 2);
});

test("a lane WAL emptied by pruning to the anchor still checks the next parent", async () => {
  const { db, h } = await validState();
  let { storage, writer } = await openMemory(db);
  await writer.submit([{ kind: "commitQc", qc: commitQc(tc, proposal({ index: 4, round: 0 }, rangesAt(h.lane0, 4))) }]);
  await writer.submit([
    { kind: "anchor", anchor: anchorFor((await storage.commitQc(4))!) },
    { kind: "pruneLane", lane: 0, before: 4 },
  ]);
  ({ storage, writer } = await openMemory(db));
  assert.equal(storage.lanes.wal(0).first, 4);
  await assert.rejects(
    writer.submit([{ kind: "laneBlock", block: laneBlock(tc, 0, 4, new Uint8Array(32)) }]),
    /parent/,
  );
  await writer.submit([{ kind: "laneBlock", block: laneBlock(tc, 0, 4, headerHash(h.lane0[3]!.header)) }]);
  assert.equal((await recoverDb(db)).lanes[0]!.next, 5);
});

test("an empty database recovers to genesis", async () => {
  const s = await recoverDb(memoryDb());
  assert.equal(s.finalizedIndex, 0);
  assert.equal(s.anchor, null);
  assert.equal(s.safety, null);
  assert.equal(s.lanes.length, 4);
  assert.deepEqual(s.app.appHash, new Uint8Array(32));
});

test("rejects a gap: entries after a hole in a lane WAL", async () => {
  const { db } = await validState();
  await space(db, ["lane", laneSpaceName(1)]).put(
    u64Key(3),
    codecs.laneBlock.encode(laneBlock(tc, 1, 3, new Uint8Array(32))),
  );
  await rejects(db, "lane/1/3", /outside the contiguous run 0\.\.1/);
});

test("rejects a gap: a lost entry under the WAL cursor", async () => {
  const { db } = await validState();
  await space(db, ["cqc"]).del(u64Key(3));
  await rejects(db, "cqc/3", /missing below the WAL cursor 4/);
});

test("rejects a gap after the anchor", async () => {
  const { db } = await validState();
  const storage = await openStorage(db, tc.committee);
  await writeRaw(storage, (ws) => storage.lanes.prune(ws, 0, 3));
  await rejects(db, "lane/0/2", /missing after the anchor's range/);
});

test("rejects a lane block whose parent does not match", async () => {
  const { db } = await validState();
  await space(db, ["lane", laneSpaceName(1)]).put(
    u64Key(2),
    codecs.laneBlock.encode(laneBlock(tc, 1, 2, new Uint8Array(32))),
  );
  await rejects(db, "lane/1/2", /parent 0000000000000000 does not match/);
});

test("rejects a lane block not signed by its owner", async () => {
  const { db } = await validState();
  const [b0] = laneChain(tc, 1, 0, 1);
  const forged = { ...b0!, signature: tc.signers[2]!.sign("lane_block", codecs.laneBlockHeader.encode(b0!.header)) };
  await space(db, ["lane", laneSpaceName(1)]).put(u64Key(0), codecs.laneBlock.encode(forged));
  await rejects(db, "lane/1/0", /invalid signature of lane owner 1/);
});

test("rejects a CommitQC that does not verify", async () => {
  const { db, h } = await validState();
  const weak = commitQc(tc, proposal({ index: 4, round: 0 }, rangesAt(h.lane0, 4)), [0, 1]);
  await space(db, ["cqc"]).put(u64Key(4), codecs.proposalQc.encode(weak));
  await rejects(db, "cqc/4", /CommitQC 4\/0: signers' weight 2 is below the threshold 3/);
});

test("rejects CommitQCs whose lane ranges do not follow each other", async () => {
  const { db, h } = await validState();
  const ranges = rangesAt(h.lane0, 4).map((r) => (r.lane === 0 ? { ...r, first: 2 } : r));
  await space(db, ["cqc"]).put(
    u64Key(4),
    codecs.proposalQc.encode(commitQc(tc, proposal({ index: 4, round: 0 }, ranges))),
  );
  await rejects(db, "cqc/4", /lane 0 range starts at 2, the previous CommitQC ended at 3/);
});

test("accepts, and reports, a lane WAL on another branch than the finalized one (the owner equivocated)", async () => {
  const { db } = await openMemory();
  const { writer } = await openMemory(db);
  const h = history(2, 2);
  const other = laneBlock(tc, 0, 1, headerHash(h.lane0[0]!.header), [new Uint8Array([42])]);
  await writer.submit([
    { kind: "laneBlock", block: h.lane0[0]! },
    { kind: "laneBlock", block: other },
    ...h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })),
  ]);
  // Both blocks carry the owner's signature: the owner signed two blocks at number 1,
  // and an honest node that kept the branch it saw first must still be able to restart.
  const warnings: { lane: number; number: number; index: number; msg: string }[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  const state = await recover(await openStorage(db, tc.committee, { logger }), tc.committee);
  assert.equal(state.lanes[0]!.next, 2);
  assert.deepEqual(headerHash(state.lanes[0]!.blocks[1]!.header), headerHash(other.header));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.msg, /equivocation/);
  assert.deepEqual([warnings[0]!.lane, warnings[0]!.number, warnings[0]!.index], [0, 1, 2]);
});

async function putSafety(db: Db, record: SafetyRecord): Promise<void> {
  await space(db, ["meta"]).put(new TextEncoder().encode("safety"), codecs.safetyRecord.encode(record));
}

test("rejects a lock behind the commit vote and the CommitQC WAL", async () => {
  const { db, h } = await validState();
  const record = votedOn(h.qcs[2]!);
  await putSafety(db, { ...record, lock: prepareQc(tc, h.qcs[1]!.proposal) });
  await rejects(db, "meta/safety", /the lock \(2\/0\) is behind the commit vote at 3\/0/);
});

test("rejects a lock that contradicts the CommitQC of its view", async () => {
  const { db, h } = await validState();
  const other = proposal({ index: 3, round: 0 }, rangesAt(h.lane0, 4));
  const body = { view: other.view, proposalHash: new Uint8Array(32) };
  await putSafety(db, {
    prepare: null,
    commit: null,
    timeout: { view: body.view, lockRound: 0 },
    lock: prepareQc(tc, other),
  });
  await rejects(db, "meta/safety, cqc/3", /contradicts the CommitQC of that view/);
});

test("rejects a safety record ahead of the CommitQC WAL (CommitQCs lost)", async () => {
  const { db, h } = await validState();
  const ahead = proposal({ index: 6, round: 0 }, rangesAt(h.lane0, 4));
  await putSafety(db, { ...votedOn(h.qcs[2]!), lock: prepareQc(tc, ahead), commit: null });
  await rejects(db, "meta/safety, cqc/4..cqc/5", /lock at 6\/0 is ahead of the CommitQC WAL/);
});

test("rejects a lock certificate that does not verify", async () => {
  const { db, h } = await validState();
  await putSafety(db, { ...votedOn(h.qcs[2]!), lock: commitQc(tc, h.qcs[2]!.proposal) });
  await rejects(db, "meta/safety", /PrepareQC 3\/0: invalid prepare signature/);
});

test("rejects an anchor beyond the CommitQC WAL", async () => {
  const { db, h } = await validState();
  const k5 = commitQc(tc, proposal({ index: 5, round: 0 }, rangesAt(h.lane0, 4)));
  await space(db, ["meta"]).put(new TextEncoder().encode("anchor"), codecs.anchor.encode(anchorFor(k5)));
  await rejects(db, "meta/anchor, cqc/4..cqc/5", /anchor is at index 5, beyond the CommitQC WAL \(next 4\)/);
});

test("rejects an anchor whose CommitQC differs from the WAL's", async () => {
  const { db, h } = await validState();
  const other = commitQc(tc, proposal({ index: 2, round: 1 }, rangesAt(h.lane0, 2)));
  await space(db, ["meta"]).put(new TextEncoder().encode("anchor"), codecs.anchor.encode(anchorFor(other)));
  await rejects(db, "meta/anchor, cqc/2", /differs from the WAL's/);
});

test("rejects pruned CommitQCs without an anchor", async () => {
  const { db, storage, writer } = await openMemory();
  const h = history(2, 2);
  await writer.submit(h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  await writeRaw(storage, (ws) => storage.commitQcs.prune(ws, 2));
  await rejects(db, "cqc/1", /no pruning anchor/);
});

test("rejects app state executed beyond the finalized index", async () => {
  const { db, storage } = await openMemory();
  await writeRaw(storage, (ws) => storage.app.apply(ws, { index: 1, appHash: new Uint8Array(32), puts: [], dels: [] }));
  await rejects(db, "app/state", /beyond the finalized index 0/);
});
