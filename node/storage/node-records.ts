import type { View } from "../types/index.ts";
import { utf8 } from "./keys.ts";
import { type LevelDb, plain, space } from "./level.ts";

/**
 * Two small records about the database itself, next to the safety record in
 * `meta/` (issue 15), written by the runtime outside the group commit:
 *
 *   meta/genesis        sha256 (hex) of the genesis this database was created for
 *   meta/signing-floor  the signing floor {index, round} (JSON), once computed
 *
 * Neither is consensus state; both are read once at start.
 */
const GENESIS_KEY = utf8("genesis");
const FLOOR_KEY = utf8("signing-floor");

const meta = (db: LevelDb) => space(db, ["meta"]);

export async function readGenesisRecord(db: LevelDb): Promise<string | null> {
  const raw = await meta(db).get(GENESIS_KEY);
  return raw === undefined ? null : new TextDecoder().decode(plain(raw));
}

export async function writeGenesisRecord(db: LevelDb, genesisHash: string): Promise<void> {
  await meta(db).put(GENESIS_KEY, utf8(genesisHash), { sync: true } as object);
}

/** True when the database holds no key at all (a new or wiped database). */
export async function isEmptyDatabase(db: LevelDb): Promise<boolean> {
  for await (const _ of db.keys({ limit: 1 })) return false;
  return true;
}

export async function readSigningFloor(db: LevelDb): Promise<View | null> {
  const raw = await meta(db).get(FLOOR_KEY);
  if (raw === undefined) return null;
  const v = JSON.parse(new TextDecoder().decode(plain(raw))) as View;
  if (!Number.isSafeInteger(v.index) || !Number.isSafeInteger(v.round) || v.index < 0 || v.round < 0) {
    throw new Error(`meta/signing-floor holds ${JSON.stringify(v)}, not a view`);
  }
  return { index: v.index, round: v.round };
}

/** Synced before it returns: the floor is durable before consensus is told. */
export async function writeSigningFloor(db: LevelDb, floor: View): Promise<void> {
  await meta(db).put(FLOOR_KEY, utf8(JSON.stringify(floor)), { sync: true } as object);
}
