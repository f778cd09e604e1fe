import { type CommitQc, codecs } from "../types/index.ts";
import { IndexedWal } from "./indexed-wal.ts";
import { type LevelDb, type Space, space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

/** The CommitQC WAL (`cqc/<index>`): CommitQC(k) at key k, from index 1. */
export class CommitQcStore {
  readonly wal: IndexedWal<CommitQc>;

  private constructor(wal: IndexedWal<CommitQc>) {
    this.wal = wal;
  }

  static async open(db: LevelDb, meta: Space): Promise<CommitQcStore> {
    return new CommitQcStore(await IndexedWal.open("cqc", space(db, ["cqc"]), meta, codecs.proposalQc, 1));
  }

  append(ws: WriteSet, qc: CommitQc): void {
    this.wal.append(ws, qc.proposal.view.index, qc);
  }

  /** Drops CommitQCs below `before`; past the WAL's end, skips ahead to it. */
  prune(ws: WriteSet, before: number): void {
    if (before <= this.wal.next) this.wal.truncateBefore(ws, before);
    else this.wal.truncateAll(ws, before);
  }

  /** Index of the last CommitQC written (0 before the first). */
  get lastIndex(): number {
    return this.wal.next - 1;
  }
}
