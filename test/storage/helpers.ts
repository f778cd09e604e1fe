/** Shared builders for storage tests: a memory database and a valid finalized history. */
import { MemoryLevel } from "memory-level";
import { GroupCommitWriter, openStorage, type Storage, WriteSet } from "../../node/storage/index.ts";
import {
  type Anchor,
  blockHash,
  type CommitQc,
  type DurableWrite,
  headerHash,
  type LaneBlock,
  type LaneRange,
  leafHash,
  merkleRoot,
  payloadTxs,
  proposalHash,
  type SafetyRecord,
  txHash,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { appQc, commitQc, globalBlockWrite, laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
import { type TestCommittee, testCommittee } from "../fixtures/committee.ts";

export const tc: TestCommittee = testCommittee(4);

export function memoryDb(): MemoryLevel<Uint8Array, Uint8Array> {
  return new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: "view", valueEncoding: "view" });
}

export async function openMemory(
  db = memoryDb(),
): Promise<{ db: MemoryLevel<Uint8Array, Uint8Array>; storage: Storage; writer: GroupCommitWriter }> {
  const storage = await openStorage(db, tc.committee);
  return { db, storage, writer: new GroupCommitWriter(storage) };
}

/**
 * A valid history: lane 0 has blocks 0..blocks-1; CommitQC(k) for k in
 * 1..indexes finalizes lane 0 block k-1 (other lanes empty).
 */
export function history(blocks: number, indexes: number): { lane0: LaneBlock[]; qcs: CommitQc[] } {
  const lane0 = laneChain(tc, 0, 0, blocks);
  const qcs: CommitQc[] = [];
  for (let k = 1; k <= indexes; k++) qcs.push(commitQc(tc, proposal({ index: k, round: 0 }, rangesAt(lane0, k))));
  return { lane0, qcs };
}

/** Ranges of CommitQC(k) in `history`: lane 0 block k-1, other lanes empty. */
export function rangesAt(lane0: LaneBlock[], k: number): LaneRange[] {
  return tc.signers.map((_, lane) =>
    lane === 0
      ? { lane, first: k - 1, next: k, lastHash: headerHash(lane0[k - 1]!.header) }
      : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
  );
}

export function anchorFor(qc: CommitQc): Anchor {
  return { commitQc: qc, appQc: appQc(tc, qc.proposal.view.index, new Uint8Array(32).fill(9)) };
}

/** Safety record after voting prepare and commit on `qc`'s proposal, locked on it. */
export function votedOn(qc: CommitQc): SafetyRecord {
  const body = { view: qc.proposal.view, proposalHash: proposalHash(qc.proposal) };
  return { prepare: body, commit: body, timeout: null, lock: prepareQc(tc, qc.proposal) };
}

/**
 * Stages writes through one store directly, bypassing the cross-store checks
 * of Storage.stage, and writes them: how tests lay down states that only a
 * bug or a damaged disk could produce.
 */
export async function writeRaw(storage: Storage, fn: (ws: WriteSet) => void): Promise<void> {
  const ws = new WriteSet();
  fn(ws);
  const batch = storage.db.batch();
  for (const op of ws.ops) {
    if (op.type === "put") batch.put(op.key, op.value, { sublevel: op.space });
    else batch.del(op.key, { sublevel: op.space });
  }
  await batch.write();
}

/**
 * Writes `indexes` finalized and executed indexes (history()): their
 * CommitQCs, then each global block with its app state.
 */
export async function writeExecutedChain(
  writer: GroupCommitWriter,
  indexes: number,
): Promise<ReturnType<typeof history>> {
  const h = history(indexes, indexes);
  await writer.submit(h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })));
  const writes: DurableWrite[] = [];
  h.qcs.forEach((qc, i) => {
    writes.push(globalBlockWrite({ index: i + 1, commitQc: qc, blocks: [h.lane0[i]!] }));
    writes.push({ kind: "appState", index: i + 1, appHash: new Uint8Array(32).fill(i + 1), puts: [], dels: [] });
  });
  await writer.submit(writes);
  return h;
}

/**
 * A chain of `indexes` executed indexes (history()) with global blocks, app
 * hashes, and batch 0 (indexes 1..batchEnd) closed: what retention may prune.
 */
export async function chainWithClosedBatch(indexes: number, batchEnd: number) {
  const { db, storage, writer } = await openMemory();
  const h = await writeExecutedChain(writer, indexes);
  const hashes = h.qcs.slice(0, batchEnd).map((qc) => blockHash(qc.proposal));
  const batch = {
    number: 0,
    firstIndex: 1,
    lastIndex: batchEnd,
    firstCreatedAtMs: h.qcs[0]!.proposal.createdAtMs,
    lastBlockHash: hashes[batchEnd - 1]!,
    appHash: new Uint8Array(32).fill(batchEnd),
    blocksRoot: merkleRoot(hashes.map((x, i) => leafHash(1 + i, x))),
  };
  await writer.submit([{ kind: "batch", batch, blockHashes: hashes }]);
  const txOf = (k: number) => txHash(payloadTxs(h.lane0[k - 1]!.payload)[0]!);
  return { db, storage, writer, h, txOf };
}
