/** LevelDB storage: indexed WALs, stores, group commit, recovery. */
export { AnchorStore } from "./anchor-store.ts";
export { type AppStateWrite, AppStore, MAX_APP_KEY_BYTES } from "./app-store.ts";
export { ChainStore, type TxLocation } from "./chain-store.ts";
export { CommitQcStore } from "./commit-qc-store.ts";
export { RESET_REMEDY, RecoveryError, StorageError } from "./errors.ts";
export {
  type BatchStats,
  DEFAULT_MAX_QUEUED_REQUESTS,
  type GroupCommitOptions,
  GroupCommitWriter,
} from "./group-commit.ts";
export { type EntryCodec, IndexedWal, type WalDamage, type WalReplay } from "./indexed-wal.ts";
export { laneSpaceName, readU64Key, u64Key } from "./keys.ts";
export { LaneStore } from "./lane-store.ts";
export { type LevelDb, type Space, space } from "./level.ts";
export { recover } from "./recover.ts";
export { refusal as safetyRefusal, SafetyStore } from "./safety-store.ts";
export { MAX_RANGE_ENTRIES, openStorage, Storage, type StorageOptions } from "./storage.ts";
export { type Op, WriteSet } from "./write-set.ts";
