import { type AttestationRecord, type Batch, type BatchQc, bytesEqual, codecs, toHex } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { IndexedWal } from "./indexed-wal.ts";
import { u64Key, utf8 } from "./keys.ts";

import { type LevelDb, plain, type Space, space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

const RECORD_KEY = utf8("attestation");

/**
 * Batch attestation's durable state (DESIGN section 13):
 *
 *   meta/attestation   the attestation record {n, hash}: the last batch this
 *                      attester voted for. Written (and synced) before the
 *                      vote leaves; refuses a lower number or a second hash
 *                      for the same number, like the safety record.
 *   batch/<n>          closed batch n (boundaries, hashes, Merkle root), gap-free
 *   batchhash/<n>      the global block hashes of batch n, 32 bytes each (inclusion proofs)
 *   bqc/<n>            BatchQC(n), gap-free: n only after n-1
 */
export class AttestationStore {
  readonly #meta: Space;
  readonly #hashes: Space;
  readonly batches: IndexedWal<Batch>;
  readonly batchQcs: IndexedWal<BatchQc>;
  #record: AttestationRecord | null;
  /** Last batch appended (in memory, for the link check), or null. */
  #lastBatch: Batch | null;

  private constructor(
    meta: Space,
    hashes: Space,
    batches: IndexedWal<Batch>,
    batchQcs: IndexedWal<BatchQc>,
    record: AttestationRecord | null,
    lastBatch: Batch | null,
  ) {
    this.#meta = meta;
    this.#hashes = hashes;
    this.batches = batches;
    this.batchQcs = batchQcs;
    this.#record = record;
    this.#lastBatch = lastBatch;
  }

  static async open(db: LevelDb, meta: Space): Promise<AttestationStore> {
    const raw = await meta.get(RECORD_KEY);
    let record: AttestationRecord | null = null;
    if (raw !== undefined) {
      try {
        record = codecs.attestationRecord.decode(plain(raw));
      } catch (err) {
        throw new StorageError(`meta/attestation: ${(err as Error).message}`);
      }
    }
    const batches = await IndexedWal.open("batch", space(db, ["batch"]), meta, codecs.batch, 0);
    const batchQcs = await IndexedWal.open("bqc", space(db, ["bqc"]), meta, codecs.batchQc, 0);
    let lastBatch: Batch | null = null;
    if (!batches.damaged && batches.next > batches.first) lastBatch = (await batches.get(batches.next - 1)) ?? null;
    return new AttestationStore(meta, space(db, ["batchhash"]), batches, batchQcs, record, lastBatch);
  }

  get record(): AttestationRecord | null {
    return this.#record;
  }

  get lastBatch(): Batch | null {
    return this.#lastBatch;
  }

  /** Replaces the attestation record; `batchesNext` is the batch store's next number. */
  putRecord(ws: WriteSet, record: AttestationRecord): void {
    const cur = this.#record;
    if (cur !== null && record.number < cur.number) {
      throw new StorageError(`meta/attestation: refused: batch ${record.number} is below the recorded ${cur.number}`);
    }
    if (cur !== null && record.number === cur.number && !bytesEqual(record.hash, cur.hash)) {
      throw new StorageError(
        `meta/attestation: refused: a second hash for batch ${record.number} (recorded ${toHex(cur.hash)}, new ${toHex(record.hash)})`,
      );
    }
    if (record.number >= this.batches.next) {
      throw new StorageError(
        `meta/attestation: refused: batch ${record.number} is not closed here (batch store next ${this.batches.next})`,
      );
    }
    ws.put(this.#meta, RECORD_KEY, codecs.attestationRecord.encode(record));
    this.#record = record;
    ws.onUndo(() => {
      this.#record = cur;
    });
  }

  /** Appends closed batch n: only at the store's next, starting right after the previous batch. */
  appendBatch(ws: WriteSet, batch: Batch, blockHashes: Uint8Array[]): void {
    const prev = this.#lastBatch;
    const count = batch.lastIndex - batch.firstIndex + 1;
    if (blockHashes.length !== count || blockHashes.some((h) => h.byteLength !== 32)) {
      throw new StorageError(`batch/${batch.number}: refused: ${blockHashes.length} block hashes for ${count} indexes`);
    }
    const expectedFirst = prev === null ? 1 : prev.lastIndex + 1;
    if (batch.firstIndex !== expectedFirst || batch.lastIndex < batch.firstIndex) {
      throw new StorageError(
        `batch/${batch.number}: refused: indexes ${batch.firstIndex}..${batch.lastIndex}, expected to start at ${expectedFirst}`,
      );
    }
    this.batches.append(ws, batch.number, batch);
    ws.put(this.#hashes, u64Key(batch.number), Buffer.concat(blockHashes));
    this.#lastBatch = batch;
    ws.onUndo(() => {
      this.#lastBatch = prev;
    });
  }

  /** The block hashes of stored batch n, or undefined. */
  async blockHashes(n: number): Promise<Uint8Array[] | undefined> {
    if (!Number.isSafeInteger(n) || n < this.batches.first || n >= this.batches.next) return undefined;
    const raw = await this.#hashes.get(u64Key(n));
    if (raw === undefined || raw.byteLength % 32 !== 0) return undefined;
    const bytes = plain(raw);
    return Array.from({ length: bytes.byteLength / 32 }, (_, i) => bytes.slice(32 * i, 32 * i + 32));
  }

  /** Appends BatchQC(n): only at the WAL's next (gap-free), and only for a batch stored here. */
  appendBatchQc(ws: WriteSet, qc: BatchQc): void {
    const n = qc.body.number;
    if (n >= this.batches.next) {
      throw new StorageError(
        `bqc/${n}: refused: batch ${n} is not stored here (batch store next ${this.batches.next})`,
      );
    }
    this.batchQcs.append(ws, n, qc);
  }
}
