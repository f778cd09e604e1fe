import {
  bytesEqual,
  compareViews,
  type DurableWrite,
  type PrepareQc,
  type SafetyRecord,
  type View,
} from "../types/index.ts";

/** What the gate allows for a vote this node is about to sign. */
export type GateDecision =
  /** Never signed for this slot: persist the record, then send. */
  | "new"
  /** The identical vote is on durable record: re-sending it is safe. */
  | "resend"
  /** The identical vote waits for its record to become durable. */
  | "pending"
  /** A different vote in this slot, or a later one, is on record. */
  | "barred";

/**
 * The signing floor (issue 15), a separate input to the gate: after a start
 * without a trustworthy safety record the node may have signed in views it
 * no longer remembers. "hold" bars every vote (the floor is not known yet);
 * a view bars every vote at or below it; null bars nothing. The runtime
 * computes it from what peers have seen and makes it durable before it is
 * set here, so the gate itself stays pure.
 */
export type SigningFloor = View | "hold" | null;

const EMPTY: SafetyRecord = { prepare: null, commit: null, timeout: null, lock: null };

/**
 * The safety record gate (DESIGN sections 1.2 and 6). Every prepare, commit
 * and timeout vote is decided here: a new vote first changes the record, and
 * the machine persists it with the vote as its release (the outbox sends the
 * vote once the write is durable). After a crash the recovered record bars
 * every view at or below it, except for the identical vote. This is what
 * makes "kill -9 at any instant" unable to produce two different signatures
 * for one slot.
 */
export class SafetyGate {
  /** The record including writes not yet durable: what we have committed to. */
  #record: SafetyRecord;
  /** The latest record known durable. */
  #durable: SafetyRecord;
  /** Records written and not yet durable, by write number, in write order. */
  #pending = new Map<number, SafetyRecord>();
  #signingFloor: SigningFloor;

  /** No new vote at or below this index: a record carried over by `validator resync` may be stale. */
  readonly #floorIndex: number;

  constructor(recovered: SafetyRecord | null, floor: SigningFloor = null, floorIndex = 0) {
    this.#record = recovered ?? EMPTY;
    this.#durable = this.#record;
    this.#signingFloor = floor;
    this.#floorIndex = floorIndex;
  }

  get signingFloor(): SigningFloor {
    return this.#signingFloor;
  }

  setSigningFloor(floor: SigningFloor): void {
    this.#signingFloor = floor;
  }

  /** True when the signing floor bars every vote at `view`. */
  belowSigningFloor(view: View): boolean {
    const f = this.#signingFloor;
    return f === "hold" || (f !== null && compareViews(view, f) <= 0);
  }

  get record(): SafetyRecord {
    return this.#record;
  }

  get durable(): SafetyRecord {
    return this.#durable;
  }

  get lock(): PrepareQc | null {
    return this.#record.lock;
  }

  /** True once a timeout vote at this view (or later) is decided. */
  timedOutAt(view: View): boolean {
    const t = this.#record.timeout;
    return t !== null && compareViews(t.view, view) >= 0;
  }

  prepare(view: View, proposalHash: Uint8Array): GateDecision {
    if (this.timedOutAt(view) || this.belowSigningFloor(view)) return "barred";
    return this.#floor(view, this.#phase(this.#record.prepare, this.#durable.prepare, view, proposalHash));
  }

  commit(view: View, proposalHash: Uint8Array): GateDecision {
    if (this.timedOutAt(view) || this.belowSigningFloor(view)) return "barred";
    return this.#floor(view, this.#phase(this.#record.commit, this.#durable.commit, view, proposalHash));
  }

  timeout(view: View, lockRound: number | null): GateDecision {
    if (this.belowSigningFloor(view)) return "barred";
    const t = this.#record.timeout;
    if (t === null || compareViews(t.view, view) < 0) return this.#floor(view, "new");
    if (compareViews(t.view, view) > 0 || t.lockRound !== lockRound) return "barred";
    const d = this.#durable.timeout;
    return d !== null && compareViews(d.view, view) === 0 ? "resend" : "pending";
  }

  #floor(view: View, decision: GateDecision): GateDecision {
    return decision === "new" && view.index <= this.#floorIndex ? "barred" : decision;
  }

  #phase(
    recorded: SafetyRecord["prepare"],
    durable: SafetyRecord["prepare"],
    view: View,
    hash: Uint8Array,
  ): GateDecision {
    if (recorded === null || compareViews(recorded.view, view) < 0) return "new";
    if (compareViews(recorded.view, view) > 0 || !bytesEqual(recorded.proposalHash, hash)) return "barred";
    return durable !== null && compareViews(durable.view, view) === 0 ? "resend" : "pending";
  }

  /**
   * Commits to a new record and returns the write (machine write number
   * `id`). The lock never regresses: a lower one passed in is ignored.
   */
  write(id: number, change: Partial<SafetyRecord>): DurableWrite {
    const next: SafetyRecord = { ...this.#record, ...change };
    if (change.lock !== undefined && !isHigherLock(change.lock, this.#record.lock)) next.lock = this.#record.lock;
    this.#record = next;
    this.#pending.set(id, next);
    return { kind: "safety", record: next };
  }

  /** The write `id` is durable (and, writes being durable in order, every one before it). */
  durableAck(id: number): void {
    if (!this.#pending.has(id)) return;
    for (const [key, record] of this.#pending) {
      this.#pending.delete(key);
      this.#durable = record;
      if (key === id) break;
    }
  }
}

/** A lock is higher when its view is; null is the lowest. */
export function isHigherLock(candidate: PrepareQc | null, current: PrepareQc | null): boolean {
  if (candidate === null) return false;
  return current === null || compareViews(candidate.proposal.view, current.proposal.view) > 0;
}
