/**
 * The contract between the state machines and storage. A machine asks for a
 * record to be made durable with a `DurableWrite`; the runtime puts every
 * write of one event-loop turn into one synced LevelDB batch (group commit),
 * and tells the machine when it is durable. On start, storage reads it all
 * back as a `RecoveredState`. Storage knows these types, never the machines.
 */
import type { Evidence } from "./evidence.ts";
import type {
  Anchor,
  AttestationRecord,
  Batch,
  BatchQc,
  CommitQc,
  GlobalBlock,
  LaneBlock,
  SafetyRecord,
} from "./schema.ts";

export type DurableWrite =
  /** Append block `number` to lane `lane`'s WAL (only at the WAL's next). */
  | { kind: "laneBlock"; block: LaneBlock }
  /** Append CommitQC(k) to the CommitQC WAL (only at its next). */
  | { kind: "commitQc"; qc: CommitQc }
  /** Replace the consensus safety record (a lower lock is refused). */
  | { kind: "safety"; record: SafetyRecord }
  /**
   * Store finalized global block k and index its txs by hash. `voidLanes`:
   * lanes whose range execution voided (the owner equivocated; their txs
   * were not executed), indexed apart so tx status can say so. `txHashes`:
   * the block's tx hashes in order, 32 bytes each (txHashList), computed
   * once per node (by execution, or at admission for the own lane's txs);
   * storage indexes by them and does not hash again.
   */
  | { kind: "globalBlock"; block: GlobalBlock; voidLanes?: number[]; txHashes: Uint8Array }
  /**
   * Apply executed block k to the app state: set or delete keys, and record
   * executed index and app hash, all in the same batch.
   */
  | {
      kind: "appState";
      index: number;
      appHash: Uint8Array;
      puts: [key: Uint8Array, value: Uint8Array][];
      dels: Uint8Array[];
    }
  /** Replace the pruning anchor (CommitQC(k), AppQC(k)). */
  | { kind: "anchor"; anchor: Anchor }
  /** Drop lane `lane`'s WAL entries below `before`. */
  | { kind: "pruneLane"; lane: number; before: number }
  /**
   * Retention: drop finalized global blocks below `before` with their tx
   * index (`txHashLists`: their stored hash lists, first..before-1, read
   * beforehand) and move the chain's retention start to `before`.
   */
  | { kind: "pruneChain"; before: number; txHashLists: Uint8Array[] }
  /** Drop CommitQC WAL entries below index `before`. */
  | { kind: "pruneCommitQcs"; before: number }
  /** Replace the attestation record (a lower number, or another hash for the same number, is refused). */
  | { kind: "attestation"; record: AttestationRecord }
  /** Append closed batch n to the batch store (only at its next, after its last index is executed). */
  | { kind: "batch"; batch: Batch; blockHashes: Uint8Array[] }
  /** Append BatchQC(n) to the BatchQC WAL (only at its next: gap-free). */
  | { kind: "batchQc"; qc: BatchQc }
  /** Keep proof of a member's equivocation (bounded per kind and member; a duplicate is a no-op). */
  | { kind: "evidence"; evidence: Evidence };

export interface RecoveredLane {
  lane: number;
  /** First block number held (blocks below were pruned). */
  first: number;
  /** Next number to append; blocks first..next-1 are in `blocks`. */
  next: number;
  blocks: LaneBlock[];
}

export interface RecoveredState {
  /** Latest pruning anchor, or null before the first one. */
  anchor: Anchor | null;
  /** One entry per committee lane, in lane order. */
  lanes: RecoveredLane[];
  /** The contiguous CommitQC WAL, by index, from its first entry. */
  commitQcs: CommitQc[];
  /** Highest finalized index (0 before the first CommitQC). */
  finalizedIndex: number;
  safety: SafetyRecord | null;
  /**
   * No new vote at or below this index (0 = none): set when `validator
   * resync` carried the safety record over from damaged data, where later
   * votes may have been lost with the damage.
   */
  safetyFloorIndex?: number;
  /**
   * This validator signed its own lane's blocks below this number before
   * `validator resync` (0 = none): it signs no new own block below it, and
   * fetches those blocks from peers instead.
   */
  ownLaneFloor?: number;
  app: {
    /** Last index whose txs are applied to the app state (0 = none). */
    executedIndex: number;
    /** App hash after executedIndex (32 zero bytes at genesis). */
    appHash: Uint8Array;
  };
  /** Highest global block stored in the chain store (0 = none). */
  chainTip: number;
  attestation: RecoveredAttestation;
}

/** One executed index after the last stored batch, for rebuilding the open batch. */
export interface RecoveredExecuted {
  index: number;
  blockHash: Uint8Array;
  createdAtMs: number;
  appHash: Uint8Array;
}

export interface RecoveredAttestation {
  /** Last batch this node voted for, or null if it never voted. */
  record: AttestationRecord | null;
  /** Last closed batch stored (null before batch 0 closed). */
  lastBatch: Batch | null;
  /** Executed indexes after lastBatch's last index, in order (the open batch and any not yet stored). */
  executedAfter: RecoveredExecuted[];
  /** Next BatchQC number to store (BatchQCs 0..next-1 are held, gap-free). */
  batchQcNext: number;
}
