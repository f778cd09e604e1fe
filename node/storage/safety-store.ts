import {
  bytesEqual,
  codecs,
  compareViews,
  proposalHash,
  type SafetyRecord,
  type View,
  viewKey,
} from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { readU64, utf8, writeU64 } from "./keys.ts";
import { plain, type Space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

const KEY = utf8("safety");
/** Written by `validator resync`: the safety record was carried over into rebuilt chain data. */
const CARRIED_KEY = utf8("resync");
/** Vote floor index u64 ++ own lane's signed next number u64. */
const CARRIED_BYTES = 16;

/**
 * The consensus safety record (`meta/safety`). The store itself refuses a
 * record that would let the node contradict an earlier signature: a lower or
 * conflicting lock, a vote record that moves back to an earlier view, or a
 * different vote in the same view.
 */
export class SafetyStore {
  readonly #meta: Space;
  #current: SafetyRecord | null;
  #carriedIndex: number;
  #carriedOwnLaneNext: number;

  private constructor(meta: Space, current: SafetyRecord | null, carried: { index: number; ownLaneNext: number }) {
    this.#meta = meta;
    this.#current = current;
    this.#carriedIndex = carried.index;
    this.#carriedOwnLaneNext = carried.ownLaneNext;
  }

  static async open(meta: Space): Promise<SafetyStore> {
    const raw = await meta.get(KEY);
    let current: SafetyRecord | null = null;
    if (raw !== undefined) {
      try {
        current = codecs.safetyRecord.decode(plain(raw));
      } catch (err) {
        throw new StorageError(`meta/safety: ${(err as Error).message}`);
      }
    }
    const carried = await meta.get(CARRIED_KEY);
    if (carried !== undefined && carried.byteLength !== CARRIED_BYTES) throw new StorageError("meta/resync is corrupt");
    return new SafetyStore(meta, current, {
      index: carried === undefined ? 0 : readU64(carried, 0),
      ownLaneNext: carried === undefined ? 0 : readU64(carried, 8),
    });
  }

  get current(): SafetyRecord | null {
    return this.#current;
  }

  /**
   * The vote floor written by `validator resync` (0 if none): at least the
   * highest index of the carried record. The rebuilt CommitQC WAL starts
   * empty, so the carried votes and lock may be ahead of it; consensus casts
   * no new vote at or below the floor.
   */
  get carriedIndex(): number {
    return this.#carriedIndex;
  }

  /** Written by `validator resync`: this validator signed its own lane's blocks up to this number - 1. */
  get carriedOwnLaneNext(): number {
    return this.#carriedOwnLaneNext;
  }

  /**
   * Writes a safety record carried over from damaged chain data into a
   * fresh database (`validator resync`), and the floor: no new vote at or
   * below max(floorIndex, the record's highest index).
   */
  carry(ws: WriteSet, record: SafetyRecord | null, floorIndex: number, ownLaneNext = 0): void {
    if (this.#current !== null) throw new StorageError("meta/safety: refused: a record is already held");
    const problem = record === null ? null : inconsistency(record, Number.MAX_SAFE_INTEGER);
    if (problem !== null) throw new StorageError(`meta/safety: refused: ${problem}`);
    const index = Math.max(floorIndex, record === null ? 0 : highestIndex(record));
    const raw = new Uint8Array(CARRIED_BYTES);
    writeU64(raw, 0, index);
    writeU64(raw, 8, ownLaneNext);
    if (record !== null) ws.put(this.#meta, KEY, codecs.safetyRecord.encode(record));
    ws.put(this.#meta, CARRIED_KEY, raw);
    this.#current = record;
    this.#carriedIndex = index;
    this.#carriedOwnLaneNext = ownLaneNext;
  }

  /**
   * Replaces the record. `commitQcNext` is the CommitQC WAL's next index: a
   * node votes at index k only once CommitQC(k-1) is durable (or staged in
   * the same batch), so no view in the record may be above it.
   */
  put(ws: WriteSet, record: SafetyRecord, commitQcNext: number): void {
    const problem =
      (this.#current === null ? null : refusal(this.#current, record)) ??
      inconsistency(record, Math.max(commitQcNext, this.#carriedIndex));
    if (problem !== null) throw new StorageError(`meta/safety: refused: ${problem}`);
    const before = this.#current;
    ws.put(this.#meta, KEY, codecs.safetyRecord.encode(record));
    this.#current = record;
    ws.onUndo(() => {
      this.#current = before;
    });
  }
}

/** The highest index any vote or the lock of `record` names. */
export function highestIndex(record: SafetyRecord): number {
  return Math.max(
    record.prepare?.view.index ?? 0,
    record.commit?.view.index ?? 0,
    record.timeout?.view.index ?? 0,
    record.lock?.proposal.view.index ?? 0,
  );
}

/** Why `record` cannot be valid on its own, or null. Recovery rejects the same. */
export function inconsistency(record: SafetyRecord, commitQcNext: number): string | null {
  const views: [string, View | undefined][] = [
    ["prepare vote", record.prepare?.view],
    ["commit vote", record.commit?.view],
    ["timeout vote", record.timeout?.view],
    ["lock", record.lock?.proposal.view],
  ];
  for (const [what, view] of views) {
    if (view !== undefined && view.index > commitQcNext) {
      return `the ${what} at ${viewKey(view)} is ahead of the CommitQC WAL (next ${commitQcNext})`;
    }
  }
  if (record.commit) {
    const lock = record.lock;
    const order = lock === null ? -1 : compareViews(lock.proposal.view, record.commit.view);
    if (order < 0) {
      return `the lock (${lock ? viewKey(lock.proposal.view) : "none"}) is behind the commit vote at ${viewKey(record.commit.view)}`;
    }
    if (order === 0 && !bytesEqual(proposalHash(lock!.proposal), record.commit.proposalHash)) {
      return `the lock and the commit vote at ${viewKey(record.commit.view)} name different proposals`;
    }
  }
  return null;
}

function backwards(what: string, from: View | undefined, to: View | undefined): string | null {
  if (from === undefined) return null;
  if (to === undefined) return `${what} vote record at ${viewKey(from)} would be erased`;
  if (compareViews(to, from) < 0) return `${what} vote record would move back from ${viewKey(from)} to ${viewKey(to)}`;
  return null;
}

/** Why `next` may not replace `cur`, or null if it may. */
export function refusal(cur: SafetyRecord, next: SafetyRecord): string | null {
  for (const phase of ["prepare", "commit"] as const) {
    const a = cur[phase];
    const b = next[phase];
    const moved = backwards(phase, a?.view, b?.view);
    if (moved) return moved;
    if (a && b && compareViews(a.view, b.view) === 0 && !bytesEqual(a.proposalHash, b.proposalHash)) {
      return `a different ${phase} vote at ${viewKey(a.view)}`;
    }
  }
  const moved = backwards("timeout", cur.timeout?.view, next.timeout?.view);
  if (moved) return moved;
  if (
    cur.timeout &&
    next.timeout &&
    compareViews(cur.timeout.view, next.timeout.view) === 0 &&
    cur.timeout.lockRound !== next.timeout.lockRound
  ) {
    return `a different timeout vote at ${viewKey(cur.timeout.view)}`;
  }
  if (cur.lock) {
    if (!next.lock) return `the lock at ${viewKey(cur.lock.proposal.view)} would be erased`;
    const order = compareViews(next.lock.proposal.view, cur.lock.proposal.view);
    if (order < 0) {
      return `lock ${viewKey(next.lock.proposal.view)} is lower than the stored lock ${viewKey(cur.lock.proposal.view)}`;
    }
    if (order === 0 && !bytesEqual(proposalHash(next.lock.proposal), proposalHash(cur.lock.proposal))) {
      return `a different lock at ${viewKey(cur.lock.proposal.view)}`;
    }
  }
  return null;
}
