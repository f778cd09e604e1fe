import {
  codecs,
  compareViews,
  type DurableWrite,
  headerHash,
  type LaneBlock,
  type ProposalQc,
  proposalHash,
  type SafetyRecord,
  toHex,
  type View,
} from "../types/index.ts";

/**
 * Sign-state records: what the leader writes to the Redis quorum before a
 * signed message may leave (DESIGN section 14). One slot per kind of
 * signature; its position (a, b) only rises; a second, different record at
 * the same position of one slot is a conflict.
 */
export interface SignRecord {
  slot: string;
  a: number;
  b: number;
  /** What was signed at this position (a hash, or a timeout's lock round). */
  tag: string;
  /** Bytes a successor needs (the lock's PrepareQC, the own lane's block). */
  data?: Uint8Array;
}

/** Highest record per slot, as read back from a quorum. */
export type SignState = Map<string, SignRecord>;

export const SLOT = {
  prepare: "prepare",
  commit: "commit",
  timeout: "timeout",
  lock: "lock",
  own: "own",
  app: "app",
  lane: (lane: number) => `lane/${lane}`,
} as const;

/**
 * The records a durable write carries, for the validator whose lane is
 * `ownLane`. Writes that never precede a signature of ours (CommitQCs,
 * global blocks, the anchor, pruning) carry none.
 */
export function recordsOf(w: DurableWrite, ownLane: number): SignRecord[] {
  switch (w.kind) {
    case "safety":
      return safetyRecords(w.record);
    case "laneBlock":
      return [laneRecord(w.block, ownLane)];
    case "appState":
      return [{ slot: SLOT.app, a: w.index, b: 0, tag: toHex(w.appHash) }];
    default:
      return [];
  }
}

export function safetyRecords(s: SafetyRecord): SignRecord[] {
  const out: SignRecord[] = [];
  if (s.prepare) out.push(viewRecord(SLOT.prepare, s.prepare.view, toHex(s.prepare.proposalHash)));
  if (s.commit) out.push(viewRecord(SLOT.commit, s.commit.view, toHex(s.commit.proposalHash)));
  if (s.timeout) out.push(viewRecord(SLOT.timeout, s.timeout.view, timeoutTag(s.timeout.lockRound)));
  if (s.lock) out.push(lockRecord(s.lock));
  return out;
}

export function laneRecord(block: LaneBlock, ownLane: number): SignRecord {
  const { lane, number } = block.header;
  const tag = toHex(headerHash(block.header));
  if (lane === ownLane) return { slot: SLOT.own, a: number, b: 0, tag, data: codecs.laneBlock.encode(block) };
  return { slot: SLOT.lane(lane), a: number, b: 0, tag };
}

function lockRecord(lock: ProposalQc): SignRecord {
  return {
    ...viewRecord(SLOT.lock, lock.proposal.view, toHex(proposalHash(lock.proposal))),
    data: codecs.proposalQc.encode(lock),
  };
}

function viewRecord(slot: string, v: View, tag: string): SignRecord {
  return { slot, a: v.index, b: v.round, tag };
}

function timeoutTag(lockRound: number | null | undefined): string {
  return lockRound === null || lockRound === undefined ? "-" : String(lockRound);
}

export function comparePositions(x: SignRecord, y: SignRecord): number {
  return x.a !== y.a ? x.a - y.a : x.b - y.b;
}

/** Keeps the higher record of a slot; equal positions must agree. */
export function mergeRecord(state: SignState, r: SignRecord): void {
  const cur = state.get(r.slot);
  if (cur === undefined || comparePositions(r, cur) > 0) {
    state.set(r.slot, r);
    return;
  }
  if (comparePositions(r, cur) === 0 && r.tag !== cur.tag) {
    throw new SignStateConflict(r.slot, cur, r);
  }
  if (comparePositions(r, cur) === 0 && cur.data === undefined && r.data !== undefined) state.set(r.slot, r);
}

export class SignStateConflict extends Error {
  override readonly name = "SignStateConflict";
  readonly slot: string;
  constructor(slot: string, a: SignRecord, b: SignRecord) {
    super(
      `sign state slot ${slot} holds two different records at position ${a.a}/${a.b}: ${a.tag} and ${b.tag}; ` +
        "this validator key signed twice (or a record is corrupt): do not sign until an operator has checked",
    );
    this.slot = slot;
  }
}

/**
 * The highest record per slot over several servers' states. Two different
 * records at the same highest position can both exist: a leader's write
 * that reached only a minority (so it was never released) and a later
 * leader's write at the same position elsewhere. The one more servers hold
 * wins (a released record was written on a quorum); a tie is a conflict.
 */
export function highestPerSlot(states: readonly SignState[]): SignState {
  const bySlot = new Map<string, SignRecord[]>();
  for (const st of states) for (const r of st.values()) bySlot.set(r.slot, [...(bySlot.get(r.slot) ?? []), r]);
  const out: SignState = new Map();
  for (const [slot, recs] of bySlot) {
    let top = recs[0]!;
    for (const r of recs) if (comparePositions(r, top) > 0) top = r;
    const atTop = recs.filter((r) => comparePositions(r, top) === 0);
    const count = new Map<string, SignRecord[]>();
    for (const r of atTop) count.set(r.tag, [...(count.get(r.tag) ?? []), r]);
    const ranked = [...count.values()].sort((x, y) => y.length - x.length);
    if (ranked.length > 1 && ranked[0]!.length === ranked[1]!.length) {
      throw new SignStateConflict(slot, ranked[0]![0]!, ranked[1]![0]!);
    }
    out.set(slot, ranked[0]!.find((r) => r.data !== undefined) ?? ranked[0]![0]!);
  }
  return out;
}

/** Parses the flat field/value reply of the READ script into records. */
export function parseSignState(fields: Buffer[]): SignState {
  const values = new Map<string, Buffer>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!.toString("latin1"), fields[i + 1]!);
  const out: SignState = new Map();
  for (const [field, value] of values) {
    if (field.includes("#")) continue;
    const m = /^(\d+):(\d+):(.*)$/s.exec(value.toString("latin1"));
    if (m === null) throw new Error(`sign state field ${field} is malformed: ${value.toString("latin1").slice(0, 80)}`);
    const data = values.get(`${field}#data`);
    out.set(field, {
      slot: field,
      a: Number(m[1]),
      b: Number(m[2]),
      tag: m[3]!,
      ...(data !== undefined ? { data: new Uint8Array(data) } : {}),
    });
  }
  return out;
}

/**
 * The local safety record raised to the sign state's: for each of prepare,
 * commit and timeout the higher view; the higher lock. A record at the same
 * view with other content throws SignStateConflict. Never lowers anything.
 */
export function mergeSafety(local: SafetyRecord | null, state: SignState): SafetyRecord {
  const out: SafetyRecord = {
    prepare: local?.prepare ?? null,
    commit: local?.commit ?? null,
    timeout: local?.timeout ?? null,
    lock: local?.lock ?? null,
  };
  const check = (slot: string, localRec: SignRecord | undefined) => {
    const remote = state.get(slot);
    if (remote === undefined) return undefined;
    if (localRec !== undefined) {
      const c = comparePositions(remote, localRec);
      if (c < 0) return undefined;
      if (c === 0) {
        if (remote.tag !== localRec.tag) throw new SignStateConflict(slot, localRec, remote);
        return undefined;
      }
    }
    return remote;
  };
  const local4 = new Map((local ? safetyRecords(local) : []).map((r) => [r.slot, r]));
  const p = check(SLOT.prepare, local4.get(SLOT.prepare));
  if (p) out.prepare = { view: { index: p.a, round: p.b }, proposalHash: hexBytes(p.tag) };
  const c = check(SLOT.commit, local4.get(SLOT.commit));
  if (c) out.commit = { view: { index: c.a, round: c.b }, proposalHash: hexBytes(c.tag) };
  const t = check(SLOT.timeout, local4.get(SLOT.timeout));
  if (t) out.timeout = { view: { index: t.a, round: t.b }, lockRound: t.tag === "-" ? null : Number(t.tag) };
  const l = check(SLOT.lock, local4.get(SLOT.lock));
  if (l) {
    if (l.data === undefined) throw new Error("sign state lock record carries no PrepareQC");
    const qc = codecs.proposalQc.decode(l.data);
    if (
      toHex(proposalHash(qc.proposal)) !== l.tag ||
      qc.proposal.view.index !== l.a ||
      qc.proposal.view.round !== l.b
    ) {
      throw new Error("sign state lock record does not match its PrepareQC");
    }
    if (out.lock === null || compareViews(qc.proposal.view, out.lock.proposal.view) > 0) out.lock = qc;
  }
  return out;
}

/** True when the merged record differs from the local one (a write is needed). */
export function safetyChanged(local: SafetyRecord | null, merged: SafetyRecord): boolean {
  const key = (s: SafetyRecord | null) =>
    JSON.stringify((s ? safetyRecords(s) : []).map((r) => [r.slot, r.a, r.b, r.tag]));
  return key(local) !== key(merged);
}

function hexBytes(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`sign state hash ${hex.slice(0, 80)} is not 32 bytes of hex`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}
