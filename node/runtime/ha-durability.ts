import type { OutboxPersist } from "../protocol/index.ts";
import type { GroupCommitWriter } from "../storage/index.ts";
import type { DurableWrite } from "../types/index.ts";
import type { Durability } from "./durability.ts";

/**
 * The HA mode's durability hook (DESIGN sections 10 and 14): a batch counts
 * as durable when the Redis quorum publish of the sign state its writes
 * carry AND the local group commit have both acknowledged it. `publish`
 * resolves at once when this instance is not leading (a follower signs
 * nothing), and rejects with the term's end when the lease is lost.
 */
export class HaDurability implements Durability {
  readonly #writer: GroupCommitWriter;
  readonly #publish: (writes: readonly DurableWrite[]) => Promise<void>;
  #localIdle: Promise<unknown> = Promise.resolve();

  constructor(writer: GroupCommitWriter, publish: (writes: readonly DurableWrite[]) => Promise<void>) {
    this.#writer = writer;
    this.#publish = publish;
  }

  /**
   * The quorum first, then the local group commit: the local records of a
   * leader never hold a record that Redis lacks. A write whose publish was
   * fenced (never released) is therefore never in the local safety record
   * either, where it would contradict a successor's signature at the same
   * slot when this instance leads again. The cost is one Redis round trip
   * before the fsync instead of beside it.
   */
  commit(batch: readonly OutboxPersist[]): Promise<void> {
    const writes = batch.map((p) => p.write);
    const local = this.#publish(writes).then(() => this.#writer.submit(writes));
    this.#localIdle = Promise.all([this.#localIdle, local.catch(() => {})]);
    return local;
  }

  /** Settles when every local write submitted so far has settled (before a role change rebuilds). */
  localIdle(): Promise<unknown> {
    return this.#localIdle;
  }
}
