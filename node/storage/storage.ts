import pino, { type Logger } from "pino";
import type { Committee } from "../committee/index.ts";
import type { Anchor, Batch, BatchQc, CommitQc, DurableWrite, GlobalBlock, LaneBlock } from "../types/index.ts";
import { AnchorStore } from "./anchor-store.ts";
import { APP_HASH_DRAIN_PER_PRUNE, AppStore } from "./app-store.ts";
import { AttestationStore } from "./attestation-store.ts";
import { ChainStore, type TxLocation } from "./chain-store.ts";
import { CommitQcStore } from "./commit-qc-store.ts";
import { StorageError } from "./errors.ts";
import { EvidenceStore } from "./evidence-store.ts";
import { LaneStore } from "./lane-store.ts";
import { type LevelDb, space } from "./level.ts";
import { SafetyStore } from "./safety-store.ts";
import { migrateTxIndex } from "./tx-index-migration.ts";
import type { WriteSet } from "./write-set.ts";

export interface StorageOptions {
  logger?: Logger;
}

/** Most entries one range read returns (sync responses have their own, lower, bounds). */
export const MAX_RANGE_ENTRIES = 1024;

/**
 * All stores of one node over one database. The in-memory cursors of the
 * stores are the authority for validating new writes: writes staged in the
 * same turn validate against each other before any of them is durable.
 */
export class Storage {
  readonly db: LevelDb;
  readonly lanes: LaneStore;
  readonly commitQcs: CommitQcStore;
  readonly safety: SafetyStore;
  readonly anchor: AnchorStore;
  readonly chain: ChainStore;
  readonly app: AppStore;
  readonly evidence: EvidenceStore;
  readonly attestation: AttestationStore;
  readonly logger: Logger;

  constructor(parts: {
    db: LevelDb;
    lanes: LaneStore;
    commitQcs: CommitQcStore;
    safety: SafetyStore;
    anchor: AnchorStore;
    chain: ChainStore;
    app: AppStore;
    evidence: EvidenceStore;
    attestation: AttestationStore;
    logger: Logger;
  }) {
    this.db = parts.db;
    this.lanes = parts.lanes;
    this.commitQcs = parts.commitQcs;
    this.safety = parts.safety;
    this.anchor = parts.anchor;
    this.chain = parts.chain;
    this.app = parts.app;
    this.evidence = parts.evidence;
    this.attestation = parts.attestation;
    this.logger = parts.logger;
  }

  /**
   * Validates one write against the stores and stages it; throws
   * StorageError if refused. Besides each store's own rules, it refuses what
   * recovery would reject across stores: executing or storing beyond the
   * finalized index, and pruning past the pruning anchor.
   */
  stage(ws: WriteSet, w: DurableWrite): void {
    const finalized = this.commitQcs.wal.next - 1;
    switch (w.kind) {
      case "laneBlock":
        this.lanes.append(ws, w.block);
        return;
      case "commitQc":
        this.commitQcs.append(ws, w.qc);
        return;
      case "safety":
        this.safety.put(ws, w.record, this.commitQcs.wal.next);
        return;
      case "globalBlock":
        if (w.block.index > finalized) {
          throw new StorageError(
            `chain/block: refused: block ${w.block.index} is beyond the finalized index ${finalized}`,
          );
        }
        this.chain.put(ws, w.block, w.voidLanes ?? [], w.txHashes);
        return;
      case "appState":
        if (w.index > finalized) {
          throw new StorageError(`app/state: refused: index ${w.index} is beyond the finalized index ${finalized}`);
        }
        this.app.apply(ws, w);
        return;
      case "anchor":
        this.anchor.put(ws, w.anchor, this.commitQcs.wal.next);
        return;
      case "pruneLane": {
        const floor = this.anchor.current?.commitQc.proposal.ranges[w.lane]?.next ?? 0;
        if (w.before > floor) {
          throw new StorageError(
            `lane/${w.lane}: refused: pruning below ${w.before} passes the anchor's range end ${floor}`,
          );
        }
        this.lanes.prune(ws, w.lane, w.before);
        return;
      }
      case "pruneChain": {
        const limit = this.chainPruneLimit();
        if (w.before > limit) {
          throw new StorageError(
            `chain: refused: pruning below ${w.before} passes ${limit} (the executed index, the tip, or the open batch, whose blocks recovery reads)`,
          );
        }
        const chainFirst = this.chain.first;
        this.chain.prune(ws, w.before, w.txHashLists);
        // The app hashes of the pruned blocks go in the same batch, but not
        // the anchor's: recovery checks the anchor's AppQC against it (with
        // storage.retainIndexes below the anchor spacing, retention passes it).
        const anchorIndex = this.anchor.current?.appQc.body.index ?? w.before;
        this.app.pruneHashes(ws, Math.min(w.before, anchorIndex), w.before - chainFirst + APP_HASH_DRAIN_PER_PRUNE);
        return;
      }
      case "pruneCommitQcs":
        if (w.before > this.anchor.index) {
          throw new StorageError(`cqc: refused: pruning below ${w.before} passes the anchor ${this.anchor.index}`);
        }
        this.commitQcs.prune(ws, w.before);
        return;
      case "evidence":
        this.evidence.put(ws, w.evidence);
        return;
      case "attestation":
        this.attestation.putRecord(ws, w.record);
        return;
      case "batch":
        if (w.batch.lastIndex > this.app.executedIndex) {
          throw new StorageError(
            `batch/${w.batch.number}: refused: ends at index ${w.batch.lastIndex}, beyond the executed index ${this.app.executedIndex}`,
          );
        }
        this.attestation.appendBatch(ws, w.batch, w.blockHashes);
        return;
      case "batchQc":
        this.attestation.appendBatchQc(ws, w.qc);
        return;
      default:
        throw new StorageError(`unknown durable write ${JSON.stringify((w as { kind: unknown }).kind)}`);
    }
  }

  /**
   * The highest `before` a chain prune may use: the executed index and the
   * chain tip are kept, and so is every block after the last closed batch
   * (recovery rebuilds the open batch from them).
   */
  chainPruneLimit(): number {
    const openBatchFrom = (this.attestation.lastBatch?.lastIndex ?? 0) + 1;
    return Math.min(this.app.executedIndex, this.chain.tip, openBatchFrom);
  }

  // ---- read accessors (API, sync protocol) ----

  /** Lane blocks from..to-1 of `lane` that are held, at most `limit`. */
  laneBlocks(lane: number, from: number, to: number, limit = MAX_RANGE_ENTRIES): Promise<LaneBlock[]> {
    return this.lanes.wal(lane).range(from, to, Math.min(limit, MAX_RANGE_ENTRIES));
  }

  laneBlock(lane: number, number: number): Promise<LaneBlock | undefined> {
    return this.lanes.wal(lane).get(number);
  }

  commitQc(index: number): Promise<CommitQc | undefined> {
    return this.commitQcs.wal.get(index);
  }

  /** CommitQCs from..to-1 that are held, at most `limit`. */
  commitQcRange(from: number, to: number, limit = MAX_RANGE_ENTRIES): Promise<CommitQc[]> {
    return this.commitQcs.wal.range(from, to, Math.min(limit, MAX_RANGE_ENTRIES));
  }

  globalBlock(index: number): Promise<GlobalBlock | undefined> {
    return this.chain.block(index);
  }

  /** Encoded global blocks first..last (inclusive) that are held, contiguous from `first`. */
  encodedGlobalBlocks(first: number, last: number, maxBytes?: number): Promise<Uint8Array[]> {
    return this.chain.encodedRange(first, last, maxBytes);
  }

  txLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    return this.chain.txLocation(hash);
  }

  /** Where a tx of a voided lane range was finalized without being executed. */
  voidedTxLocation(hash: Uint8Array): Promise<TxLocation | undefined> {
    return this.chain.voidedTxLocation(hash);
  }

  appHashAt(index: number): Promise<Uint8Array | undefined> {
    return this.app.hashAt(index);
  }

  appGet(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.app.get(key);
  }

  batch(n: number): Promise<Batch | undefined> {
    return this.attestation.batches.get(n);
  }

  /** Hashes of the global blocks of batch n, in index order (for inclusion proofs). */
  batchBlockHashes(n: number): Promise<Uint8Array[] | undefined> {
    return this.attestation.blockHashes(n);
  }

  batchQc(n: number): Promise<BatchQc | undefined> {
    return this.attestation.batchQcs.get(n);
  }

  /** BatchQCs from..to-1 that are held, at most `limit`. */
  batchQcRange(from: number, to: number, limit = MAX_RANGE_ENTRIES): Promise<BatchQc[]> {
    return this.attestation.batchQcs.range(from, to, Math.min(limit, MAX_RANGE_ENTRIES));
  }

  latestAnchor(): Anchor | null {
    return this.anchor.current;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Opens (if needed) the database and loads every store's cursors. Works for
 * a ClassicLevel at <home>/data and for a MemoryLevel. Call `recover` next:
 * it validates what is on disk before anything is written.
 */
export async function openStorage(db: LevelDb, committee: Committee, opts: StorageOptions = {}): Promise<Storage> {
  const logger = (opts.logger ?? pino({ level: "silent" })).child({ module: "storage" });
  if (db.status !== "open") await db.open();
  const meta = space(db, ["meta"]);
  const anchor = await AnchorStore.open(meta);
  // A database of the one-key-per-tx index gets the per-block one (derived data only; once).
  const migrated = await migrateTxIndex(db);
  if (migrated > 0)
    logger.info({ blocks: migrated }, "tx index migrated to the per-block layout (chain/txs, chain/txk)");
  return new Storage({
    db,
    lanes: await LaneStore.open(db, meta, committee.size, anchor.current),
    commitQcs: await CommitQcStore.open(db, meta),
    safety: await SafetyStore.open(meta),
    anchor,
    chain: await ChainStore.open(db),
    app: await AppStore.open(db),
    evidence: await EvidenceStore.open(space(db, ["evidence"])),
    attestation: await AttestationStore.open(db, meta),
    logger,
  });
}
