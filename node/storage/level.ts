/**
 * The database types storage works over. Any abstract-level database fits:
 * a ClassicLevel at <home>/data in production, a MemoryLevel in the
 * simulator. Every key space is a sublevel with byte keys and byte values.
 */
import type { AbstractLevel, AbstractSublevel } from "abstract-level";

// biome-ignore lint/suspicious/noExplicitAny: storage accepts any abstract-level database
export type LevelDb = AbstractLevel<any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: the sublevel's storage format is the database's
export type Space = AbstractSublevel<LevelDb, any, Uint8Array, Uint8Array>;

const BYTES = { keyEncoding: "view", valueEncoding: "view" } as const;

/** A byte-keyed sublevel at `path` (nested names, e.g. ["lane", "00003"]). */
export function space(db: LevelDb, path: string[]): Space {
  return db.sublevel<Uint8Array, Uint8Array>(path, BYTES) as Space;
}

/**
 * A plain Uint8Array view of bytes read back. Some backends hand out
 * Buffers; decoded values would then hold Buffers, which compare unequal to
 * Uint8Arrays in deep equality checks in the machines and tests.
 */
export function plain(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
}

/**
 * Iterator options for whole-space scans (recovery's checks, the scrub):
 * classic-level's `fillCache: false` keeps them from evicting the hot data
 * from LevelDB's block cache; other backends ignore it.
 */
export const SCAN = { reverse: false, fillCache: false };
