import assert from "node:assert/strict";
import { test } from "node:test";
import { openStorage, safetyInconsistency, safetyRefusal } from "../../node/storage/index.ts";
import { headerHash, payloadTxs, type SafetyRecord, txHash, txHashList, ZERO_HASH } from "../../node/types/index.ts";
import { globalBlockWrite, laneBlock, laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
import { anchorFor, history, openMemory, rangesAt, tc, votedOn, writeRaw } from "./helpers.ts";

test("lane store: blocks chain parent to child; other lanes and unknown lanes", async () => {
  const { storage, writer } = await openMemory();
  const [b0, b1, b2] = laneChain(tc, 1, 0, 3);
  await writer.submit([
    { kind: "laneBlock", block: b0! },
    { kind: "laneBlock", block: b1! },
  ]);
  const forged = laneBlock(tc, 1, 2, ZERO_HASH);
  await assert.rejects(writer.submit([{ kind: "laneBlock", block: forged }]), /lane\/1: block 2 has parent/);
  await assert.rejects(
    writer.submit([{ kind: "laneBlock", block: laneBlock(tc, 2, 0, headerHash(b0!.header)) }]),
    /parent/,
  );
  await assert.rejects(writer.submit([{ kind: "laneBlock", block: laneBlock(tc, 1, 3, ZERO_HASH) }]), /gap/);
  await writer.submit([{ kind: "laneBlock", block: b2! }]);
  const bad = { ...b2!, header: { ...b2!.header, lane: 7 } };
  await assert.rejects(writer.submit([{ kind: "laneBlock", block: bad }]), /not a committee lane/);
  assert.equal(storage.lanes.wal(1).next, 3);
  assert.deepEqual(
    (await storage.laneBlocks(1, 0, 10)).map((b) => b.header.number),
    [0, 1, 2],
  );
});

test("lane store: pruning past the end skips ahead and forgets the parent", async () => {
  const { storage, writer } = await openMemory();
  const chain = laneChain(tc, 0, 0, 3);
  await writer.submit(chain.map((block) => ({ kind: "laneBlock" as const, block })));
  // Storage refuses pruning past the anchor; the lane store itself allows skipping ahead.
  await assert.rejects(writer.submit([{ kind: "pruneLane", lane: 0, before: 2 }]), /passes the anchor's range end 0/);
  await writeRaw(storage, (ws) => storage.lanes.prune(ws, 0, 2));
  assert.equal(storage.lanes.wal(0).first, 2);
  await writeRaw(storage, (ws) => storage.lanes.prune(ws, 0, 5));
  assert.equal(storage.lanes.wal(0).first, 5);
  assert.equal(storage.lanes.wal(0).next, 5);
  await writer.submit([{ kind: "laneBlock", block: laneBlock(tc, 0, 5, new Uint8Array(32).fill(3)) }]);
  assert.equal(storage.lanes.wal(0).next, 6);
});

test("a request stages all of its writes or none", async () => {
  const { db, storage, writer } = await openMemory();
  const [b0, b1] = laneChain(tc, 0, 0, 2);
  await assert.rejects(
    writer.submit([
      { kind: "laneBlock", block: b0! },
      { kind: "laneBlock", block: b0! },
    ]),
    /no overwrite/,
  );
  assert.equal(storage.lanes.wal(0).next, 0);
  await writer.submit([
    { kind: "laneBlock", block: b0! },
    { kind: "laneBlock", block: b1! },
  ]);
  const reopened = await openStorage(db, tc.committee);
  assert.equal(reopened.lanes.wal(0).next, 2);
});

test("CommitQC WAL: index from the certificate, only at next, pruned with its cursor", async () => {
  const { db, storage, writer } = await openMemory();
  const { qcs } = history(4, 4);
  await assert.rejects(writer.submit([{ kind: "commitQc", qc: qcs[1]! }]), /gap/);
  await writer.submit(qcs.slice(0, 3).map((qc) => ({ kind: "commitQc" as const, qc })));
  await assert.rejects(writer.submit([{ kind: "commitQc", qc: qcs[2]! }]), /no overwrite/);
  await assert.rejects(writer.submit([{ kind: "pruneCommitQcs", before: 3 }]), /passes the anchor 0/);
  await writer.submit([
    { kind: "anchor", anchor: anchorFor(qcs[2]!) },
    { kind: "pruneCommitQcs", before: 3 },
  ]);
  assert.equal(storage.commitQcs.wal.first, 3);
  assert.equal((await storage.commitQc(3))?.proposal.view.index, 3);
  assert.equal(await storage.commitQc(2), undefined);
  const reopened = await openStorage(db, tc.committee);
  assert.equal(reopened.commitQcs.wal.first, 3);
  assert.equal(reopened.commitQcs.wal.next, 4);
});

test("safety store refuses a lower or different lock and vote records that move back", async () => {
  const { db, storage, writer } = await openMemory();
  const { qcs } = history(3, 3);
  const at2 = votedOn(qcs[1]!);
  // A record ahead of the CommitQC WAL is refused; staged in the same request it is fine.
  await assert.rejects(writer.submit([{ kind: "safety", record: at2 }]), /ahead of the CommitQC WAL \(next 1\)/);
  await writer.submit([
    { kind: "commitQc", qc: qcs[0]! },
    { kind: "safety", record: at2 },
  ]);
  await writer.submit(qcs.slice(1).map((qc) => ({ kind: "commitQc" as const, qc })));
  const noLock = { ...at2, lock: null };
  assert.match(String(safetyInconsistency(noLock, 4)), /lock \(none\) is behind the commit vote at 2\/0/);
  const at1 = votedOn(qcs[0]!);
  await assert.rejects(writer.submit([{ kind: "safety", record: at1 }]), /move back/);
  // Same votes, lower lock: refused inside the store, whoever the caller is.
  await assert.rejects(
    writer.submit([{ kind: "safety", record: { ...at2, lock: at1.lock } }]),
    /lower than the stored lock/,
  );
  await assert.rejects(writer.submit([{ kind: "safety", record: { ...at2, lock: null } }]), /would be erased/);
  const other = prepareQc(tc, proposal(qcs[1]!.proposal.view, rangesAt(history(3, 0).lane0, 3)));
  await assert.rejects(writer.submit([{ kind: "safety", record: { ...at2, lock: other } }]), /different lock/);
  const otherVote = { ...at2, prepare: { view: at2.prepare!.view, proposalHash: new Uint8Array(32).fill(1) } };
  await assert.rejects(writer.submit([{ kind: "safety", record: otherVote }]), /different prepare vote/);
  const timedOut: SafetyRecord = { ...at2, timeout: { view: { index: 2, round: 0 }, lockRound: 0 } };
  await writer.submit([{ kind: "safety", record: timedOut }]);
  const otherTimeout = { ...timedOut, timeout: { view: { index: 2, round: 0 }, lockRound: null } };
  await assert.rejects(writer.submit([{ kind: "safety", record: otherTimeout }]), /different timeout vote/);
  await writer.submit([{ kind: "safety", record: { ...votedOn(qcs[2]!), timeout: timedOut.timeout } }]);
  const reopened = await openStorage(db, tc.committee);
  assert.equal(reopened.safety.current?.lock?.proposal.view.index, 3);
  assert.equal(storage.safety.current?.lock?.proposal.view.index, 3);
  assert.equal(safetyRefusal(at2, at2), null);
});

test("anchor store: atomic pair, never lower, never beyond the CommitQC WAL", async () => {
  const { db, storage, writer } = await openMemory();
  const { qcs } = history(3, 3);
  await assert.rejects(writer.submit([{ kind: "anchor", anchor: anchorFor(qcs[0]!) }]), /beyond the CommitQC WAL/);
  await writer.submit(qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  const mismatched = { ...anchorFor(qcs[1]!), appQc: anchorFor(qcs[0]!).appQc };
  await assert.rejects(writer.submit([{ kind: "anchor", anchor: mismatched }]), /paired with AppQC\(1\)/);
  await writer.submit([{ kind: "anchor", anchor: anchorFor(qcs[1]!) }]);
  await assert.rejects(writer.submit([{ kind: "anchor", anchor: anchorFor(qcs[0]!) }]), /below the stored 2/);
  assert.equal((await openStorage(db, tc.committee)).anchor.index, 2);
  assert.equal(storage.latestAnchor()?.appQc.body.index, 2);
});

test("chain store: global blocks in index order, txs by hash", async () => {
  const { db, storage, writer } = await openMemory();
  const { lane0, qcs } = history(2, 2);
  const g1 = { index: 1, commitQc: qcs[0]!, blocks: [lane0[0]!] };
  const g2 = { index: 2, commitQc: qcs[1]!, blocks: [lane0[1]!] };
  await assert.rejects(writer.submit([globalBlockWrite(g1)]), /beyond the finalized index 0/);
  await writer.submit(qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  await assert.rejects(writer.submit([globalBlockWrite(g2)]), /expected 1/);
  await assert.rejects(writer.submit([globalBlockWrite({ ...g1, blocks: [] })]), /0 lane blocks/);
  const short = { kind: "globalBlock" as const, block: g1, txHashes: new Uint8Array(0) };
  await assert.rejects(writer.submit([short]), /has 1 txs, its hash list 0/);
  await writer.submit([globalBlockWrite(g1), globalBlockWrite(g2)]);
  assert.equal(storage.chain.tip, 2);
  assert.equal((await storage.globalBlock(2))?.blocks[0]?.header.number, 1);
  assert.deepEqual(await storage.txLocation(txHash(payloadTxs(lane0[1]!.payload)[0]!)), { index: 2, position: 0 });
  assert.equal(await storage.txLocation(new Uint8Array(32)), undefined);
  assert.deepEqual(await storage.chain.txHashes(2), txHashList(g2.blocks), "the block's hash list, stored once");
  assert.equal((await openStorage(db, tc.committee)).chain.tip, 2);
});

test("chain store: one hash list per block; a lookup confirms its candidate, so a shared hash prefix never answers wrongly", async () => {
  const { storage, writer } = await openMemory();
  const { lane0, qcs } = history(3, 3);
  await writer.submit(qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  // Hash lists as a (hypothetical) caller could give them: three hashes that share their first 8 bytes.
  const shared = (last: number) => {
    const h = new Uint8Array(32).fill(0xab);
    h[31] = last;
    return h;
  };
  const blocks = [0, 1, 2].map((i) => ({ index: i + 1, commitQc: qcs[i]!, blocks: [lane0[i]!] }));
  for (const [i, g] of blocks.entries()) {
    await writer.submit([{ kind: "globalBlock", block: g, txHashes: shared(i === 2 ? 0 : i + 1) }]);
  }
  // Blocks 1 and 3 hold hashes ..01 and ..00, block 2 holds ..02: each found where it is, the latest occurrence wins.
  assert.deepEqual(await storage.txLocation(shared(1)), { index: 1, position: 0 });
  assert.deepEqual(await storage.txLocation(shared(2)), { index: 2, position: 0 });
  assert.deepEqual(await storage.txLocation(shared(0)), { index: 3, position: 0 });
  assert.equal(await storage.txLocation(shared(9)), undefined, "same prefix, in no block");
  assert.deepEqual(await storage.chain.txHashes(2), shared(2));
  assert.equal(await storage.chain.txHashes(4), undefined);
});

test("app store: state, executed index and app hash move together", async () => {
  const { db, storage, writer } = await openMemory();
  const enc = (s: string) => new TextEncoder().encode(s);
  const hash1 = new Uint8Array(32).fill(1);
  await assert.rejects(
    writer.submit([{ kind: "appState", index: 1, appHash: hash1, puts: [], dels: [] }]),
    /beyond the finalized index 0/,
  );
  await writer.submit(history(2, 2).qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  await assert.rejects(
    writer.submit([{ kind: "appState", index: 2, appHash: hash1, puts: [], dels: [] }]),
    /expected 1/,
  );
  await writer.submit([{ kind: "appState", index: 1, appHash: hash1, puts: [[enc("a"), enc("1")]], dels: [] }]);
  await assert.rejects(
    writer.submit([{ kind: "appState", index: 2, appHash: hash1, puts: [[new Uint8Array(0), enc("x")]], dels: [] }]),
    /key of 0 bytes/,
  );
  assert.equal(storage.app.executedIndex, 1);
  const hash2 = new Uint8Array(32).fill(2);
  await writer.submit([{ kind: "appState", index: 2, appHash: hash2, puts: [[enc("b"), enc("2")]], dels: [enc("a")] }]);
  const reopened = await openStorage(db, tc.committee);
  assert.equal(reopened.app.executedIndex, 2);
  assert.deepEqual(reopened.app.appHash, hash2);
  assert.equal(await reopened.appGet(enc("a")), undefined);
  assert.deepEqual(await reopened.appGet(enc("b")), enc("2"));
  // The hash after each executed index stays readable (the API's per-block appHash).
  assert.deepEqual(await reopened.appHashAt(1), hash1);
  assert.deepEqual(await reopened.appHashAt(2), hash2);
  assert.equal(await reopened.appHashAt(3), undefined);
  assert.equal(await reopened.appHashAt(0), undefined);
});
