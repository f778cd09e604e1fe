import type { Space } from "./level.ts";

export type Op =
  | { type: "put"; space: Space; key: Uint8Array; value: Uint8Array }
  | { type: "del"; space: Space; key: Uint8Array };

/**
 * The LevelDB operations of one request, plus how to undo the in-memory
 * cursor changes they made. Stores validate and stage into a write set; the
 * request either stages completely or not at all (rollback), so a refused
 * write never reaches the disk and never disturbs a neighbour in the batch.
 */
export class WriteSet {
  readonly ops: Op[] = [];
  bytes = 0;
  readonly #undo: (() => void)[] = [];

  put(space: Space, key: Uint8Array, value: Uint8Array): void {
    this.ops.push({ type: "put", space, key, value });
    this.bytes += key.byteLength + value.byteLength;
  }

  del(space: Space, key: Uint8Array): void {
    this.ops.push({ type: "del", space, key });
    this.bytes += key.byteLength;
  }

  /** Registers how to restore in-memory state if the request is refused. */
  onUndo(fn: () => void): void {
    this.#undo.push(fn);
  }

  rollback(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]!();
    this.#undo.length = 0;
    this.ops.length = 0;
    this.bytes = 0;
  }
}
