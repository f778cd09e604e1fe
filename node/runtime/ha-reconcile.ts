import type { Logger } from "pino";
import { type Committee, verifyLaneBlock, verifyPrepareQc } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import {
  type Lease,
  laneRecord,
  mergeSafety,
  type SignRecord,
  type SignState,
  SignStateConflict,
  SLOT,
  safetyChanged,
  safetyRecords,
  withDeadline,
} from "../ha/index.ts";
import type { SyncClientApi } from "../net/index.ts";
import { type GroupCommitWriter, recover, type Storage } from "../storage/index.ts";
import {
  bytesEqual,
  type CommitQc,
  codecs,
  type DurableWrite,
  headerHash,
  type LaneBlock,
  toHex,
} from "../types/index.ts";

/** How long a new leader waits for peers to serve what it lacks. */
const FETCH_TIMEOUT_MS = 10_000;
/** CommitQCs a new leader fetches at most before it signs; further behind, it catches up as a follower first. */
const MAX_COMMIT_QCS_TO_FETCH = 1024;

export type ReconcileResult =
  | { kind: "ok"; mergedSafety: boolean; ownBlocksAdded: number; commitQcsAdded: number }
  | { kind: "retry"; reason: string }
  | { kind: "conflict"; reason: string };

export interface ReconcileParts {
  lease: Lease;
  storage: Storage;
  writer: GroupCommitWriter;
  committee: Committee;
  verifyCache: VerifyCache;
  sync: SyncClientApi;
  ownLane: number;
  log: Logger;
  /** Where the running follower is: what to fetch before pausing it. */
  hint: { commitQcNext: number; ownLaneNext: number };
  /** Stops the follower and resolves once its writes are settled (nothing else writes after). */
  pause(): Promise<void>;
}

/**
 * A new leader's reconciliation (DESIGN section 14), before its first
 * signature. While the follower still runs: read the sign state from a
 * quorum (under the lease, so every earlier holder's released record is in
 * it), fetch the CommitQCs its votes build on and the own lane blocks it
 * lacks (from peers; those no peer has from the sign state's window). Then,
 * with the follower paused: merge the sign state into the local safety
 * record durably (never lowering), append what was fetched, and write the
 * merged state back to the quorum so Redis holds at least what the local
 * records say. `pause` is called only when the gathering succeeded.
 */
export async function reconcile(p: ReconcileParts): Promise<ReconcileResult> {
  const read = await p.lease.read();
  if (read.kind !== "ok") return { kind: "retry", reason: `sign state read: ${read.reason}` };
  const state = read.state;

  // 1. Gather, the follower running.
  const needIndex = highestVoteIndex(state);
  const qcs: CommitQc[] = [];
  if (needIndex > p.hint.commitQcNext) {
    const last = needIndex - 1;
    if (last - p.hint.commitQcNext + 1 > MAX_COMMIT_QCS_TO_FETCH) {
      return { kind: "retry", reason: `${last - p.hint.commitQcNext + 1} CommitQCs behind: catching up first` };
    }
    // A response holds a bounded number: ask again from where it stopped.
    const deadline = Date.now() + FETCH_TIMEOUT_MS;
    let from = p.hint.commitQcNext;
    while (from <= last && Date.now() < deadline) {
      let got: CommitQc[];
      try {
        got = await withDeadline(p.sync.fetchCommitQcs(from, last), FETCH_TIMEOUT_MS, () =>
          timedOut("fetching CommitQCs"),
        );
      } catch (err) {
        return { kind: "retry", reason: (err as Error).message };
      }
      if (got.length === 0) break;
      qcs.push(...got);
      from = got.at(-1)!.proposal.view.index + 1;
    }
    // Peers no longer hold them as CommitQCs (pruned below their anchor): the
    // follower must catch up from global blocks first. Said before pausing it,
    // so a retry does not interrupt that catch-up with a rebuild.
    if (from <= last) return { kind: "retry", reason: `CommitQCs ${from}..${last} are not served by peers yet` };
  }
  const own = state.get(SLOT.own);
  const fetched = new Map<number, LaneBlock>();
  if (own !== undefined && own.a >= p.hint.ownLaneNext) {
    const last = decodeOwn(own, p);
    if (typeof last === "string") return { kind: "conflict", reason: last };
    fetched.set(own.a, last);
    if (own.a > p.hint.ownLaneNext) {
      try {
        const blocks = await withDeadline(
          p.sync.fetchLaneBlocks(p.ownLane, p.hint.ownLaneNext, own.a - 1),
          FETCH_TIMEOUT_MS,
          () => timedOut("fetching the own lane's blocks"),
        );
        for (const b of blocks) fetched.set(b.header.number, b);
      } catch (err) {
        p.log.debug({ err: (err as Error).message }, "own lane blocks not served by peers; trying the sign state");
      }
      const missing: number[] = [];
      for (let n = p.hint.ownLaneNext; n < own.a; n++) if (!fetched.has(n)) missing.push(n);
      if (missing.length > 0) {
        const fromRedis = await p.lease.readOwnBlocks(missing);
        if (fromRedis === null) return { kind: "retry", reason: "own lane blocks: no quorum answered" };
        for (const [i, bytes] of fromRedis.entries()) {
          if (bytes === undefined) continue;
          const b = codecs.laneBlock.decode(bytes);
          const check = verifyLaneBlock(p.committee, b, p.verifyCache);
          if (check.ok && b.header.lane === p.ownLane && b.header.number === missing[i]) fetched.set(missing[i]!, b);
        }
      }
    }
  }

  // 2. Apply, the follower paused.
  await p.pause();
  const local = await recover(p.storage, p.committee, p.verifyCache);
  let merged: ReturnType<typeof mergeSafety>;
  try {
    merged = mergeSafety(local.safety, state);
  } catch (err) {
    if (err instanceof SignStateConflict) return { kind: "conflict", reason: err.message };
    throw err;
  }
  if (merged.lock && local.safety?.lock !== merged.lock) {
    const check = verifyPrepareQc(p.committee, merged.lock, p.verifyCache);
    if (!check.ok)
      return { kind: "conflict", reason: `the sign state's lock is not a valid PrepareQC: ${check.reason}` };
  }
  const cqcNext =
    local.commitQcs.length > 0 ? local.commitQcs.at(-1)!.proposal.view.index + 1 : local.finalizedIndex + 1;
  const newQcs = qcs.filter((qc) => qc.proposal.view.index >= cqcNext);
  for (const [i, qc] of newQcs.entries()) {
    if (qc.proposal.view.index !== cqcNext + i)
      return { kind: "retry", reason: "fetched CommitQCs do not continue the WAL" };
  }
  if (cqcNext + newQcs.length < highestVoteIndex(state)) {
    return { kind: "retry", reason: `CommitQCs up to ${highestVoteIndex(state) - 1} are not available yet` };
  }

  const lane = local.lanes[p.ownLane]!;
  let lastOwn: LaneBlock | undefined = lane.blocks.at(-1);
  const ownWrites: LaneBlock[] = [];
  if (own !== undefined && own.a < lane.next) {
    const held = lane.blocks.find((b) => b.header.number === own.a);
    if (held !== undefined && toHex(headerHash(held.header)) !== own.tag) {
      return {
        kind: "conflict",
        reason: `own lane block ${own.a} here differs from the one the sign state records: this key signed two blocks at one number`,
      };
    }
  } else if (own !== undefined) {
    let parent = lane.blocks.at(-1);
    for (let n = lane.next; n <= own.a; n++) {
      const b = fetched.get(n);
      if (b === undefined)
        return { kind: "retry", reason: `own lane block ${n} is not available from peers or the sign state` };
      if (parent !== undefined && !bytesEqual(headerHash(parent.header), b.header.parent)) {
        return { kind: "conflict", reason: `own lane block ${n} does not link to block ${n - 1} held here` };
      }
      ownWrites.push(b);
      parent = b;
    }
    lastOwn = parent;
  }
  const changed = safetyChanged(local.safety, merged);
  const writes: DurableWrite[] = [
    ...newQcs.map((qc): DurableWrite => ({ kind: "commitQc", qc })),
    ...ownWrites.map((block): DurableWrite => ({ kind: "laneBlock", block })),
  ];
  if (writes.length > 0) await p.writer.submit(writes);
  if (changed) await p.writer.submit([{ kind: "safety", record: merged }]);

  // 3. Redis holds at least what the local records say from now on.
  const snapshot: SignRecord[] = [...safetyRecords(merged)];
  if (lastOwn !== undefined) snapshot.push(laneRecord(lastOwn, p.ownLane));
  for (const l of local.lanes) {
    const b = l.blocks.at(-1);
    if (l.lane !== p.ownLane && b !== undefined) snapshot.push(laneRecord(b, p.ownLane));
  }
  if (local.app.executedIndex > 0) {
    snapshot.push({ slot: SLOT.app, a: local.app.executedIndex, b: 0, tag: toHex(local.app.appHash) });
  }
  if (snapshot.length > 0) {
    const out = await p.lease.publish(snapshot);
    if (out.kind === "conflict") {
      return {
        kind: "conflict",
        reason: `sign state slot ${out.slot} holds ${out.stored}, which this node contradicts`,
      };
    }
    if (out.kind !== "ok") return { kind: "retry", reason: `publishing the reconciled state: ${out.reason}` };
  }
  p.log.info(
    {
      mergedSafety: changed,
      ownBlocksAdded: ownWrites.length,
      commitQcsAdded: newQcs.length,
      prepare: merged.prepare ? `${merged.prepare.view.index}/${merged.prepare.view.round}` : null,
      ownLaneNext: lastOwn ? lastOwn.header.number + 1 : lane.next,
    },
    "reconciled with the sign state",
  );
  return { kind: "ok", mergedSafety: changed, ownBlocksAdded: ownWrites.length, commitQcsAdded: newQcs.length };
}

/** The highest index any vote or lock of the sign state is at (0 when none). */
function highestVoteIndex(state: SignState): number {
  let max = 0;
  for (const slot of [SLOT.prepare, SLOT.commit, SLOT.timeout, SLOT.lock]) max = Math.max(max, state.get(slot)?.a ?? 0);
  return max;
}

function decodeOwn(own: SignRecord, p: ReconcileParts): LaneBlock | string {
  if (own.data === undefined) return "the sign state's own lane record carries no block";
  const last = codecs.laneBlock.decode(own.data);
  if (toHex(headerHash(last.header)) !== own.tag || last.header.number !== own.a || last.header.lane !== p.ownLane) {
    return "the sign state's own lane block does not match its record";
  }
  const check = verifyLaneBlock(p.committee, last, p.verifyCache);
  return check.ok ? last : `the sign state's own lane block is invalid: ${check.reason}`;
}

const timedOut = (what: string) => new Error(`${what} timed out after ${FETCH_TIMEOUT_MS} ms`);
