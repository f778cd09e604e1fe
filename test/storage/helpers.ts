/** Shared builders for storage tests: a memory database and a valid finalized history. */
import { MemoryLevel } from "memory-level";
import { GroupCommitWriter, openStorage, type Storage, WriteSet } from "../../node/storage/index.ts";
import {
  type Anchor,
  type CommitQc,
  headerHash,
  type LaneBlock,
  type LaneRange,
  proposalHash,
  type SafetyRecord,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { appQc, commitQc, laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
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
