import { codecs, txHashAt, txHashList } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { readU64, u64Key } from "./keys.ts";
import { type LevelDb, plain, SCAN, space } from "./level.ts";

/** Blocks migrated per write batch. */
const MIGRATE_BATCH_BLOCKS = 64;

/**
 * Databases written before the per-block tx index kept one key per executed
 * tx, `chain/tx/<hash>` -> (index, position). This rebuilds the current
 * layout from the stored blocks once, at open: `chain/txs/<index>` (the
 * block's hash list) and `chain/txk/<hash prefix><index>` for every tx the
 * old index held at that block (executed; voided-range records in
 * `chain/void` keep their layout), then deletes the old keys. Returns the
 * number of blocks migrated (0 when there is nothing to do). A crash in the
 * middle leaves the old keys, so the next open resumes.
 */
export async function migrateTxIndex(db: LevelDb): Promise<number> {
  const old = space(db, ["chain", "tx"]);
  let hasOld = false;
  for await (const _ of old.keys({ limit: 1 })) hasOld = true;
  if (!hasOld) return 0;
  const blocks = space(db, ["chain", "block"]);
  const lists = space(db, ["chain", "txs"]);
  const keys = space(db, ["chain", "txk"]);
  let migrated = 0;
  let batch = db.batch();
  for await (const [key, raw] of blocks.iterator(SCAN)) {
    const k = readU64(plain(key), 0);
    let block: ReturnType<typeof codecs.globalBlock.decode>;
    try {
      block = codecs.globalBlock.decode(plain(raw));
    } catch (err) {
      throw new StorageError(`chain/block/${k}: cannot migrate the tx index: ${(err as Error).message}`);
    }
    const list = txHashList(block.blocks);
    batch.put(u64Key(k), list, { sublevel: lists });
    const count = list.byteLength / 32;
    const locations = await old.getMany(Array.from({ length: count }, (_, i) => txHashAt(list, i)));
    // Last position first: a tx twice in the block keeps its first position.
    for (let p = count - 1; p >= 0; p--) {
      const loc = locations[p];
      if (loc === undefined || loc.byteLength !== 12) continue;
      const hash = txHashAt(list, p);
      const lookup = new Uint8Array(16);
      lookup.set(hash.subarray(0, 8));
      lookup.set(u64Key(k), 8);
      const pos = new Uint8Array(4);
      new DataView(pos.buffer).setUint32(0, p);
      batch.put(lookup, pos, { sublevel: keys });
    }
    migrated++;
    if (migrated % MIGRATE_BATCH_BLOCKS === 0) {
      await batch.write();
      batch = db.batch();
    }
  }
  await batch.write();
  await old.clear();
  return migrated;
}
