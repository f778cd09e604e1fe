import type { DurableWrite } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import type { Storage } from "./storage.ts";
import { type Op, WriteSet } from "./write-set.ts";

export interface GroupCommitOptions {
  /** Most requests waiting for the disk (open turn plus the batch in flight). */
  maxQueuedRequests?: number;
  /** Most bytes waiting for the disk (open turn plus the batch in flight). */
  maxQueuedBytes?: number;
  /** Called once when a batch fails: the node must stop. */
  onFatal?: (err: Error) => void;
}

export interface BatchStats {
  requests: number;
  ops: number;
  bytes: number;
  durationMs: number;
}

interface Pending {
  ops: Op[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export const DEFAULT_MAX_QUEUED_REQUESTS = 65_536;
export const DEFAULT_MAX_QUEUED_BYTES = 512 * 1024 * 1024;

/**
 * Group commit: every request submitted during one event-loop turn goes into
 * one chained batch written with `sync: true`; each request's promise
 * resolves when that batch is durable. One batch is in flight at a time, in
 * submission order, so a later acknowledgement never overtakes an earlier
 * write. A failed batch fails every request in it and every later one: the
 * in-memory cursors no longer match the disk, and the node must stop rather
 * than vote on a write that did not happen.
 */
export class GroupCommitWriter {
  readonly #storage: Storage;
  readonly #maxQueued: number;
  readonly #maxQueuedBytes: number;
  #queuedBytes = 0;
  readonly #onFatal: ((err: Error) => void) | undefined;
  #open: Pending[] = [];
  #inFlight = 0;
  #scheduled = false;
  #writing: Promise<void> | null = null;
  #failed: Error | null = null;
  #closed = false;
  /** Listeners for batch statistics (metrics); bounded to a few subscribers. */
  readonly #statsListeners: ((s: BatchStats) => void)[] = [];

  constructor(storage: Storage, opts: GroupCommitOptions = {}) {
    this.#storage = storage;
    this.#maxQueued = opts.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS;
    this.#maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#onFatal = opts.onFatal;
  }

  get failed(): Error | null {
    return this.#failed;
  }

  /** Requests not yet durable. */
  get queued(): number {
    return this.#open.length + this.#inFlight;
  }

  onBatch(listener: (s: BatchStats) => void): void {
    if (this.#statsListeners.length >= 8) throw new Error("too many batch listeners");
    this.#statsListeners.push(listener);
  }

  /**
   * Validates and stages `writes` as one request; resolves when they are
   * durable. A refused write (StorageError) rejects this request only and
   * stages none of its writes.
   */
  submit(writes: DurableWrite[]): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#closed) return Promise.reject(new StorageError("the writer is closed"));
    if (this.queued >= this.#maxQueued) {
      return Promise.reject(new StorageError(`write queue full (${this.#maxQueued} requests waiting for the disk)`));
    }
    const ws = new WriteSet();
    try {
      for (const w of writes) this.#storage.stage(ws, w);
    } catch (err) {
      ws.rollback();
      return Promise.reject(err);
    }
    if (this.#queuedBytes + ws.bytes > this.#maxQueuedBytes && this.queued > 0) {
      ws.rollback();
      return Promise.reject(new StorageError(`write queue full (${this.#queuedBytes} bytes waiting for the disk)`));
    }
    this.#queuedBytes += ws.bytes;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#open.push({ ops: ws.ops, bytes: ws.bytes, resolve, reject });
    this.#schedule();
    return promise;
  }

  /** Writes what is queued and waits for it; later submits are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#open.length > 0 || this.#writing) {
      if (this.#writing) await this.#writing.catch(() => {});
      else await this.#flush();
    }
    if (this.#failed) throw this.#failed;
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    // setImmediate runs after the current turn's I/O callbacks and microtasks:
    // everything submitted in this turn shares the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#writing || this.#open.length === 0 || this.#failed) return;
    const requests = this.#open;
    this.#open = [];
    this.#inFlight = requests.length;
    const started = performance.now();
    let ops = 0;
    const bytes = requests.reduce((n, r) => n + r.bytes, 0);
    try {
      // Building the batch can throw too (a closed database): same failure.
      const batch = this.#storage.db.batch();
      for (const r of requests) {
        for (const op of r.ops) {
          ops++;
          if (op.type === "put") batch.put(op.key, op.value, { sublevel: op.space });
          else batch.del(op.key, { sublevel: op.space });
        }
      }
      const syncWrite = { sync: true };
      this.#writing = batch.write(syncWrite);
      await this.#writing;
    } catch (cause) {
      const err = new StorageError(`durable write failed, the node must stop: ${(cause as Error).message}`);
      err.cause = cause;
      this.#fail(err, requests);
      return;
    } finally {
      this.#writing = null;
      this.#inFlight = 0;
      this.#queuedBytes -= bytes;
    }
    for (const r of requests) r.resolve();
    const stats = { requests: requests.length, ops, bytes, durationMs: performance.now() - started };
    for (const l of this.#statsListeners) l(stats);
    if (this.#open.length > 0) this.#schedule();
  }

  #fail(err: StorageError, requests: Pending[]): void {
    this.#failed = err;
    this.#storage.logger.fatal({ err }, "durable write failed");
    for (const r of requests) r.reject(err);
    for (const r of this.#open) r.reject(err);
    this.#open = [];
    this.#onFatal?.(err);
  }
}
