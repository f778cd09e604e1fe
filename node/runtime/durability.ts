import type { OutboxPersist } from "../protocol/index.ts";
import type { GroupCommitWriter } from "../storage/index.ts";

/**
 * The durability hook: the one place where the runtime decides that a write
 * counts as durable. The protocol's outbox releases a signed message only
 * after `durable(id)` for the write that covers it, so "durable" here is the
 * whole of DESIGN principle 2 as far as I/O is concerned.
 *
 * Contract of `commit(batch)`:
 * - `batch` is the `persist` effects of one loop turn, in persist order. Each
 *   carries the write and the signed messages it will release (`signed`),
 *   from which the HA mode derives the sign-state record to publish (safety
 *   record delta, own lane block number and hash, app vote, batch vote). The
 *   hook never sends those messages: the outbox does, once released.
 * - It resolves only when every write of the batch counts as durable. Local
 *   mode: the group commit's synced LevelDB batch is on disk. HA mode
 *   (DESIGN section 14): the local group commit AND the Redis quorum publish
 *   of the batch's sign state have both acknowledged it.
 * - It rejects when any write cannot be made durable (a failed batch; in HA
 *   mode FENCED, CONFLICT or no quorum). The runtime then stops the node, and
 *   the messages those writes hold are never released.
 * - Batches may complete in any order: the runtime reports `durable(id)` in
 *   persist order, a batch only after every earlier one.
 */
export interface Durability {
  commit(batch: readonly OutboxPersist[]): Promise<void>;
}

/** Local mode: durable = the group commit's synced batch. */
export class LocalDurability implements Durability {
  readonly #writer: GroupCommitWriter;

  constructor(writer: GroupCommitWriter) {
    this.#writer = writer;
  }

  commit(batch: readonly OutboxPersist[]): Promise<void> {
    return this.#writer.submit(batch.map((p) => p.write));
  }
}

/**
 * Runs batches through a durability hook and reports each batch's writes
 * durable in submit order, whatever order the hook completes them in (the
 * outbox relies on persist order). After a failure nothing more is reported.
 */
export class DurableReporter {
  readonly #hook: Durability;
  readonly #report: (batch: readonly OutboxPersist[]) => void;
  readonly #fail: (err: Error) => void;
  #last: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(hook: Durability, report: (batch: readonly OutboxPersist[]) => void, fail: (err: Error) => void) {
    this.#hook = hook;
    this.#report = report;
    this.#fail = fail;
  }

  submit(batch: readonly OutboxPersist[]): void {
    const done = this.#hook.commit(batch);
    this.#last = Promise.all([this.#last, done]).then(
      () => {
        if (!this.#failed) this.#report(batch);
      },
      (err: Error) => {
        if (this.#failed) return;
        this.#failed = true;
        this.#fail(err);
      },
    );
  }
}
