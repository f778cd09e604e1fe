import type { Logger } from "pino";
import { type Committee, verifyLaneBlock, verifyPrepareQc } from "../committee/index.ts";
import type { VerifyCache } from "../crypto/index.ts";
import {
  type Lease,
  laneRecord,
  mergeSafety,
  type SignRecord,
  SignStateConflict,
  SLOT,
  safetyChanged,
  safetyRecords,
} from "../ha/index.ts";
import type { SyncClientApi } from "../net/index.ts";
import { type GroupCommitWriter, recover, type Storage } from "../storage/index.ts";
import { bytesEqual, codecs, type DurableWrite, headerHash, type LaneBlock, toHex } from "../types/index.ts";

/** How long a new leader waits for peers to serve its own lane's missing blocks. */
const OWN_LANE_FETCH_TIMEOUT_MS = 5000;

export type ReconcileResult =
  | { kind: "ok"; mergedSafety: boolean; ownBlocksAdded: number }
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
}

/**
 * A new leader's reconciliation (DESIGN section 14), before its first
 * signature: read the sign state from a quorum (under the lease, so every
 * earlier holder's released record is in it), merge it into the local
 * safety record durably (never lowering), make the own lane hold every
 * block the validator signed (from peers, the last one from the sign state
 * itself), then write the merged state back to the quorum so Redis holds at
 * least what the local records now say.
 */
export async function reconcile(p: ReconcileParts): Promise<ReconcileResult> {
  const read = await p.lease.read();
  if (read.kind !== "ok") return { kind: "retry", reason: `sign state read: ${read.reason}` };
  const state = read.state;
  const local = await recover(p.storage, p.committee, p.verifyCache);

  // 1. Safety record: the higher of local and Redis per slot.
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
  const writes: DurableWrite[] = [];
  const changed = safetyChanged(local.safety, merged);
  if (changed) writes.push({ kind: "safety", record: merged });

  // 2. Own lane: every block up to the last one signed.
  const lane = local.lanes[p.ownLane]!;
  const own = state.get(SLOT.own);
  let lastOwn: LaneBlock | undefined = lane.blocks.at(-1);
  let added = 0;
  if (own !== undefined && own.a < lane.next) {
    const held = lane.blocks.find((b) => b.header.number === own.a);
    if (held !== undefined && toHex(headerHash(held.header)) !== own.tag) {
      return {
        kind: "conflict",
        reason: `own lane block ${own.a} here differs from the one the sign state records: this key signed two blocks at one number`,
      };
    }
  } else if (own !== undefined) {
    if (own.data === undefined)
      return { kind: "conflict", reason: "the sign state's own lane record carries no block" };
    const last = codecs.laneBlock.decode(own.data);
    if (toHex(headerHash(last.header)) !== own.tag || last.header.number !== own.a || last.header.lane !== p.ownLane) {
      return { kind: "conflict", reason: "the sign state's own lane block does not match its record" };
    }
    const check = verifyLaneBlock(p.committee, last, p.verifyCache);
    if (!check.ok) return { kind: "conflict", reason: `the sign state's own lane block is invalid: ${check.reason}` };
    let missing: LaneBlock[] = [];
    if (own.a > lane.next) {
      try {
        missing = await withTimeout(
          p.sync.fetchLaneBlocks(p.ownLane, lane.next, own.a - 1),
          OWN_LANE_FETCH_TIMEOUT_MS,
          "fetching the own lane's blocks",
        );
      } catch (err) {
        return { kind: "retry", reason: (err as Error).message };
      }
      if (missing.length !== own.a - lane.next) {
        return {
          kind: "retry",
          reason: `own lane blocks ${lane.next}..${own.a - 1} are not available from peers yet (got ${missing.length})`,
        };
      }
    }
    const parent = missing.at(-1) ?? lane.blocks.at(-1);
    if (parent !== undefined && !bytesEqual(headerHash(parent.header), last.header.parent)) {
      return { kind: "conflict", reason: `own lane block ${own.a} does not link to block ${own.a - 1} held here` };
    }
    for (const b of [...missing, last]) writes.push({ kind: "laneBlock", block: b });
    added = missing.length + 1;
    lastOwn = last;
  }
  if (writes.length > 0) await p.writer.submit(writes);

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
      ownBlocksAdded: added,
      prepare: merged.prepare ? `${merged.prepare.view.index}/${merged.prepare.view.round}` : null,
      ownLaneNext: lastOwn ? lastOwn.header.number + 1 : lane.next,
    },
    "reconciled with the sign state",
  );
  return { kind: "ok", mergedSafety: changed, ownBlocksAdded: added };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
