import { type Anchor, bytesEqual, codecs, headerHash, type LaneBlock, toHex, ZERO_HASH } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { IndexedWal } from "./indexed-wal.ts";
import { laneSpaceName } from "./keys.ts";
import { type LevelDb, type Space, space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

/**
 * One WAL per committee lane (`lane/<lane>/<number>`). Appends must chain:
 * block m's parent is the header hash of block m-1 when that block is known
 * (block 0's parent is zero). A WAL emptied by pruning takes the hash from
 * the pruning anchor; one pruned past the anchor accepts the next block's
 * parent as given.
 */
export class LaneStore {
  readonly wals: readonly IndexedWal<LaneBlock>[];
  readonly #lastHash: (Uint8Array | null)[];

  private constructor(wals: IndexedWal<LaneBlock>[], lastHash: (Uint8Array | null)[]) {
    this.wals = wals;
    this.#lastHash = lastHash;
  }

  /**
   * `anchor` supplies the hash of a lane's last pruned block when its WAL
   * was emptied by pruning to the anchor's range end.
   */
  static async open(db: LevelDb, meta: Space, lanes: number, anchor: Anchor | null): Promise<LaneStore> {
    const wals: IndexedWal<LaneBlock>[] = [];
    const lastHash: (Uint8Array | null)[] = [];
    for (let lane = 0; lane < lanes; lane++) {
      const entries = space(db, ["lane", laneSpaceName(lane)]);
      const wal = await IndexedWal.open(`lane/${lane}`, entries, meta, codecs.laneBlock, 0);
      wals.push(wal);
      let hash: Uint8Array | null = wal.next === 0 ? ZERO_HASH : null;
      const range = anchor?.commitQc.proposal.ranges[lane];
      if (range !== undefined && range.next === wal.next && range.next > 0) hash = range.lastHash;
      if (!wal.damaged && wal.next > wal.first) {
        const last = await wal.get(wal.next - 1);
        hash = last === undefined ? null : headerHash(last.header);
      }
      lastHash.push(hash);
    }
    return new LaneStore(wals, lastHash);
  }

  wal(lane: number): IndexedWal<LaneBlock> {
    const wal = Number.isInteger(lane) ? this.wals[lane] : undefined;
    if (wal === undefined) throw new StorageError(`lane ${lane} is not a committee lane (${this.wals.length} lanes)`);
    return wal;
  }

  append(ws: WriteSet, block: LaneBlock): void {
    const { lane, number, parent } = block.header;
    const wal = this.wal(lane);
    const prev = this.#lastHash[lane]!;
    // The WAL rule first (gap, overwrite); a refused link rolls it back with the request.
    wal.append(ws, number, block);
    if (prev !== null && !bytesEqual(prev, parent)) {
      throw new StorageError(
        `lane/${lane}: block ${number} has parent ${toHex(parent).slice(0, 16)}, expected ${toHex(prev).slice(0, 16)}`,
      );
    }
    this.#lastHash[lane] = headerHash(block.header);
    ws.onUndo(() => {
      this.#lastHash[lane] = prev;
    });
  }

  /** Drops blocks below `before`; past the WAL's end, skips ahead to it. */
  prune(ws: WriteSet, lane: number, before: number): void {
    const wal = this.wal(lane);
    if (before <= wal.next) {
      wal.truncateBefore(ws, before);
      return;
    }
    const prev = this.#lastHash[lane]!;
    wal.truncateAll(ws, before);
    // Block before-1 was never held here: its hash is unknown.
    this.#lastHash[lane] = null;
    ws.onUndo(() => {
      this.#lastHash[lane] = prev;
    });
  }
}
