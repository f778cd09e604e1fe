/**
 * Issue 16 item 6: GET /txs/:hash must not call a tx final and executed when
 * its lane range was voided (the lane owner equivocated) and it never ran.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ExecutionEffect, ExecutionMachine, KvApp } from "../../node/execution/index.ts";
import { PendingTxs, txStatusOf } from "../../node/runtime/api-backend.ts";
import {
  type CommitQc,
  headerHash,
  type LaneBlock,
  payloadTxs,
  toHex,
  txHash,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { commitQc, globalBlockWrite, laneBlock, proposal } from "../fixtures/certs.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import { openMemory, tc } from "../storage/helpers.ts";

const DEFAULT_EXECUTION_CONFIG = testProtocolConfig().execution;

const enc = new TextEncoder();

function qcAt(index: number, lane0: { first: number; next: number; last: LaneBlock }): CommitQc {
  const ranges = tc.signers.map((_, lane) =>
    lane === 0
      ? { lane, first: lane0.first, next: lane0.next, lastHash: headerHash(lane0.last.header) }
      : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
  );
  return commitQc(tc, proposal({ index, round: 0 }, ranges));
}

test("a tx of a voided lane range is reported voided, not finalized (issue 16 item 6)", async () => {
  // Lane 0's owner signed two blocks at number 0: index 1 finalizes a0, then
  // a LaneQC formed on b1, whose parent is the other block b0. Index 2's
  // range for lane 0 does not link to the finalized tip: execution voids it.
  const a0 = laneBlock(tc, 0, 0, ZERO_HASH, [enc.encode("kept=1")]);
  const b0 = laneBlock(tc, 0, 0, ZERO_HASH, [enc.encode("other=1")]);
  const b1 = laneBlock(tc, 0, 1, headerHash(b0.header), [enc.encode("lost=1")]);
  const qc1 = qcAt(1, { first: 0, next: 1, last: a0 });
  const qc2 = qcAt(2, { first: 1, next: 2, last: b1 });
  const held = [a0, b1];
  const m = new ExecutionMachine({
    committee: tc.committee,
    me: 1,
    signer: tc.signers[1]!,
    config: DEFAULT_EXECUTION_CONFIG,
    app: new KvApp(),
    recovered: { commitQcs: [qc1, qc2], anchor: null, app: { executedIndex: 0, appHash: ZERO_HASH }, chainTip: 0 },
    lookup: (lane, n) => held.find((b) => b.header.lane === lane && b.header.number === n),
  });
  const writes = m
    .start(0)
    .filter((e): e is Extract<ExecutionEffect, { kind: "persist" }> => e.kind === "persist")
    .map((e) => e.write);
  assert.equal(m.counters.voidRanges, 1, "execution voided lane 0's range at index 2");
  assert.deepEqual(
    writes.map((w) => (w.kind === "globalBlock" ? `${w.kind}:${w.block.index}:${w.voidLanes}` : w.kind)),
    ["globalBlock:1:", "appState", "globalBlock:2:0", "appState"],
  );

  const { storage, writer } = await openMemory();
  await writer.submit([
    { kind: "commitQc", qc: qc1 },
    { kind: "commitQc", qc: qc2 },
  ]);
  await writer.submit(writes);
  const pending = new PendingTxs(16);

  const kept = await txStatusOf(storage, pending, txHash(payloadTxs(a0.payload)[0]!));
  assert.deepEqual(kept, { hash: toHex(txHash(payloadTxs(a0.payload)[0]!)), status: "finalized", index: 1 });
  const lost = await txStatusOf(storage, pending, txHash(payloadTxs(b1.payload)[0]!));
  assert.equal(lost?.status, "voided");
  assert.equal(lost?.index, 2);
  assert.match(lost?.reason ?? "", /not executed/);
  // And indeed it did not run: the app has the executed key, not the voided one.
  assert.ok(await storage.appGet(enc.encode("kv/kept")));
  assert.equal(await storage.appGet(enc.encode("kv/lost")), undefined);

  // Unknown and pending are as before.
  const unknown = enc.encode("never=1");
  assert.equal(await txStatusOf(storage, pending, txHash(unknown)), null);
  pending.add(toHex(txHash(unknown)), 0);
  assert.equal((await txStatusOf(storage, pending, txHash(unknown)))?.status, "pending");
  await writer.close();
});

test("a tx voided in one block and executed in a later one is finalized; storage refuses a bogus void lane", async () => {
  const tx = enc.encode("again=1");
  const b0 = laneBlock(tc, 0, 0, ZERO_HASH, [enc.encode("x=1")]);
  const fork = laneBlock(tc, 0, 0, ZERO_HASH, [enc.encode("y=1")]);
  const v1 = laneBlock(tc, 0, 1, headerHash(fork.header), [tx]);
  // Resubmitted, it lands in the lane's next block, which chains on the voided range's tip.
  const e2 = laneBlock(tc, 0, 2, headerHash(v1.header), [tx]);
  const qc1 = qcAt(1, { first: 0, next: 1, last: b0 });
  const qc2 = qcAt(2, { first: 1, next: 2, last: v1 });
  const qc3 = qcAt(3, { first: 2, next: 3, last: e2 });
  const { storage, writer } = await openMemory();
  await writer.submit([qc1, qc2, qc3].map((qc) => ({ kind: "commitQc" as const, qc })));
  await assert.rejects(
    writer.submit([globalBlockWrite({ index: 1, commitQc: qc1, blocks: [b0] }, [7])]),
    /voids lane 7/,
  );
  await writer.submit([
    globalBlockWrite({ index: 1, commitQc: qc1, blocks: [b0] }),
    globalBlockWrite({ index: 2, commitQc: qc2, blocks: [v1] }, [0]),
  ]);
  assert.equal((await txStatusOf(storage, new PendingTxs(1), txHash(tx)))?.status, "voided");
  await writer.submit([globalBlockWrite({ index: 3, commitQc: qc3, blocks: [e2] })]);
  assert.deepEqual(await txStatusOf(storage, new PendingTxs(1), txHash(tx)), {
    hash: toHex(txHash(tx)),
    status: "finalized",
    index: 3,
  });
  await writer.close();
});
