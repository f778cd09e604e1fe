import { type Anchor, codecs } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { utf8 } from "./keys.ts";
import { plain, type Space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

const KEY = utf8("anchor");

/**
 * The pruning anchor (`meta/anchor`): CommitQC(k) and AppQC(k) in one
 * record, so it is replaced atomically. k never decreases, and the
 * CommitQC(k) must already be in (or pruned from) the CommitQC WAL.
 */
export class AnchorStore {
  readonly #meta: Space;
  #current: Anchor | null;

  private constructor(meta: Space, current: Anchor | null) {
    this.#meta = meta;
    this.#current = current;
  }

  static async open(meta: Space): Promise<AnchorStore> {
    const raw = await meta.get(KEY);
    let current: Anchor | null = null;
    if (raw !== undefined) {
      try {
        current = codecs.anchor.decode(plain(raw));
      } catch (err) {
        throw new StorageError(`meta/anchor: ${(err as Error).message}`);
      }
    }
    return new AnchorStore(meta, current);
  }

  get current(): Anchor | null {
    return this.#current;
  }

  /** Index k of the anchor, 0 before the first. */
  get index(): number {
    return this.#current?.commitQc.proposal.view.index ?? 0;
  }

  put(ws: WriteSet, anchor: Anchor, commitQcNext: number): void {
    const k = anchor.commitQc.proposal.view.index;
    if (anchor.appQc.body.index !== k) {
      throw new StorageError(`meta/anchor: refused: CommitQC(${k}) paired with AppQC(${anchor.appQc.body.index})`);
    }
    if (k < this.index) throw new StorageError(`meta/anchor: refused: anchor ${k} is below the stored ${this.index}`);
    if (k >= commitQcNext) {
      throw new StorageError(`meta/anchor: refused: anchor ${k} is beyond the CommitQC WAL (next ${commitQcNext})`);
    }
    const before = this.#current;
    ws.put(this.#meta, KEY, codecs.anchor.encode(anchor));
    this.#current = anchor;
    ws.onUndo(() => {
      this.#current = before;
    });
  }
}
