/**
 * LevelDB storage: indexed WALs, stores, group commit, recovery
 * (DESIGN section 8). Typical use by the runtime and the simulator:
 *
 *   const storage = await openStorage(new Level(join(home, "data"), BYTES), committee, { logger });
 *   const state = await recover(storage, committee, verifyCache); // throws RecoveryError: stop
 *   const writer = new GroupCommitWriter(storage, { onFatal: stopTheNode });
 *   await writer.submit(durableWrites); // resolves when durable; a refused write rejects alone
 *
 * The same calls work over a MemoryLevel. Key layout: see keys.ts.
 */
export { AnchorStore } from "./anchor-store.ts";
export { type AppStateWrite, AppStore, MAX_APP_KEY_BYTES } from "./app-store.ts";
export { AttestationStore } from "./attestation-store.ts";
export { ChainStore, type TxLocation } from "./chain-store.ts";
export { CommitQcStore } from "./commit-qc-store.ts";
export {
  type IntegrityFacts,
  RESET_REMEDY,
  RecoveryError,
  resyncCommand,
  StorageError,
  StorageIntegrityError,
} from "./errors.ts";
export { EvidenceStore, MAX_EVIDENCE_PER_MEMBER_KIND } from "./evidence-store.ts";
export {
  type BatchStats,
  DEFAULT_MAX_QUEUED_BYTES,
  DEFAULT_MAX_QUEUED_REQUESTS,
  type GroupCommitOptions,
  GroupCommitWriter,
} from "./group-commit.ts";
export { describeHolder, homeLockHolder, PID_FILE, removePidFile, writePidFile } from "./home-lock.ts";
export { type EntryCodec, IndexedWal, type WalDamage, type WalReplay } from "./indexed-wal.ts";
export {
  type ChainCheckReport,
  checkBlocks,
  checkChainData,
  type TxIndexSample,
  txIndexWindow,
} from "./integrity.ts";
export { describeDbKey, laneSpaceName, readU64Key, u64Key } from "./keys.ts";
export { LaneStore } from "./lane-store.ts";
export { type LevelDb, type Space, space } from "./level.ts";
export { listDbFiles, verifyTables } from "./leveldb-files.ts";
export { fileNumber, type LiveFiles, readLiveFiles } from "./leveldb-manifest.ts";
export { type LevelStats, parseLevelDbStats, readLevelDbStats } from "./leveldb-stats.ts";
export {
  isEmptyDatabase,
  readGenesisRecord,
  readSigningFloor,
  writeGenesisRecord,
  writeSigningFloor,
} from "./node-records.ts";
export {
  type ClassicDb,
  clearDamage,
  damageFile,
  nodeLevelOptions,
  type OpenDatabaseOptions,
  type OpenReport,
  openDatabase,
  recordDamage,
  writeBufferBytes,
} from "./open-db.ts";
export { DEFAULT_DEEP_CHECK_BLOCKS, divergedFromFinalized, type RecoverOptions, recover } from "./recover.ts";
export {
  databaseInUse,
  describeSafety,
  rebuildWithSafety,
  type SalvagedSafety,
  salvageSafetyRecord,
} from "./resync.ts";
export { inconsistency as safetyInconsistency, refusal as safetyRefusal, SafetyStore } from "./safety-store.ts";
export { MAX_RANGE_ENTRIES, openStorage, Storage, type StorageOptions } from "./storage.ts";
export { type Op, WriteSet } from "./write-set.ts";
