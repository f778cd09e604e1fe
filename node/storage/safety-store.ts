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
import { utf8 } from "./keys.ts";
import { plain, type Space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

const KEY = utf8("safety");

/**
 * The consensus safety record (`meta/safety`). The store itself refuses a
 * record that would let the node contradict an earlier signature: a lower or
 * conflicting lock, a vote record that moves back to an earlier view, or a
 * different vote in the same view.
 */
export class SafetyStore {
  readonly #meta: Space;
  #current: SafetyRecord | null;

  private constructor(meta: Space, current: SafetyRecord | null) {
    this.#meta = meta;
    this.#current = current;
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
    return new SafetyStore(meta, current);
  }

  get current(): SafetyRecord | null {
    return this.#current;
  }

  put(ws: WriteSet, record: SafetyRecord): void {
    const problem = this.#current === null ? null : refusal(this.#current, record);
    if (problem !== null) throw new StorageError(`meta/safety: refused: ${problem}`);
    const before = this.#current;
    ws.put(this.#meta, KEY, codecs.safetyRecord.encode(record));
    this.#current = record;
    ws.onUndo(() => {
      this.#current = before;
    });
  }
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
