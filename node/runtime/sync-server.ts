import type { SyncServerHandlers, SyncStatus } from "../net/index.ts";
import type { Storage } from "../storage/index.ts";
import type { ViewsSeen } from "./views-seen.ts";

/** What this node serves to syncing peers, straight from storage (and the views it has seen). */
export function syncServerFor(storage: Storage, laneCount: number, views: ViewsSeen): SyncServerHandlers {
  return {
    status(): SyncStatus {
      const cqc = storage.commitQcs.wal;
      const tip = storage.chain.tip;
      return {
        commitQcs: { first: cqc.first, next: cqc.next },
        globalBlocks: tip === 0 ? { first: 0, next: 0 } : { first: storage.chain.first, next: tip + 1 },
        lanes: Array.from({ length: laneCount }, (_, lane) => {
          const wal = storage.lanes.wal(lane);
          return { lane, first: wal.first, next: wal.next };
        }),
        batchQcs: { first: storage.attestation.batchQcs.first, next: storage.attestation.batchQcs.next },
        views: { highest: views.highest, bySigner: [...views.bySigner] },
      };
    },
    commitQcs: (first, last) => storage.commitQcRange(first, last + 1),
    batchQcs: (first, last) => storage.batchQcRange(first, last + 1),
    laneBlocks: (lane, first, last) =>
      lane < laneCount ? storage.laneBlocks(lane, first, last + 1) : Promise.resolve([]),
    // Contiguous from `first`, as stored: one range read, no decode and
    // re-encode, and nothing read beyond the response bound.
    globalBlocks: (first, last, maxBytes) => storage.encodedGlobalBlocks(first, last, maxBytes),
    globalBlocksFirst: () => storage.chain.first,
  };
}
