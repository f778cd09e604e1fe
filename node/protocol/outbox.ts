/**
 * The outbox (DESIGN sections 1.2 and 10): the one place that decides when a
 * message this node signed may leave. Pure, like the machines.
 *
 * Every signing machine emits `persist {id, write, release}` (a new signature
 * waits for `write`) or `resend {release}` (an identical re-send of a message
 * whose record is already durable). The outbox keeps a mirror of the durable
 * record (safety record, lane block hashes, app state), starting from what
 * recovery read and advancing only on `durable` acknowledgements. Each message
 * is checked against it in `#release` and only then handed out; a message the
 * durable record does not cover halts the node with an error that names the
 * message and the record. Nothing is ever dropped silently.
 *
 * Acknowledgements: `durable(id)` means write `id` and every write persisted
 * before it are durable (group commit completes in order; the runtime reports
 * in that order). For each write, in persist order, the outbox applies it to
 * the record, releases what it held, then hands the acknowledgement back to
 * the machine that asked for it (typed: owner + that machine's write number).
 *
 * A new signed kind (e.g. the batch vote): add it to `SignedMessage`
 * (types/signed.ts), give it a row in `RELEASE_RULES` below and in
 * committee/signed.ts's `SIGNED` (the compiler asks for both), teach
 * `DurableRecord.apply` its write if the record is a new write kind, add its
 * machine to `WriteOwner`, and route it to the network in ProtocolNode's
 * `#send` (which the compiler checks is exhaustive).
 */
import {
  type AttestationRecord,
  bytesEqual,
  compareViews,
  type DurableWrite,
  headerHash,
  type PersistEffect,
  proposalHash,
  type RecoveredState,
  type SafetyRecord,
  type SignedKind,
  type SignedMessage,
  toHex,
  type View,
  viewKey,
} from "../types/index.ts";

/** The machines that persist writes; an acknowledgement goes back to its owner. */
export type WriteOwner = "lanes" | "consensus" | "execution" | "attestation";

/** A write's id outside the protocol (runtime, simulator): a number the outbox hands out. */
export type WriteId = number & { readonly __writeId: true };

/** A `persist` effect as the outside world sees it. */
export interface OutboxPersist {
  kind: "persist";
  id: WriteId;
  write: DurableWrite;
  /**
   * The signed messages this write releases once durable. For the HA hook
   * only (it derives the sign-state record to publish from them): the runtime
   * never sends these; they come back as send effects once released.
   */
  signed: readonly SignedMessage[];
}

export type OutboxEvent =
  /** A signed message passed its check: send it. */
  | { kind: "release"; msg: SignedMessage }
  /** Write `id` of machine `owner` is durable. */
  | { kind: "ack"; owner: WriteOwner; id: number }
  /** A release contradicted the durable record: the node must stop. */
  | { kind: "halt"; reason: string };

/** What is durable, as far as releases are concerned. */
export class DurableRecord {
  safety: SafetyRecord | null;
  /** lane -> number -> header hash of the durable block. */
  readonly #lanes = new Map<number, Map<number, Uint8Array>>();
  appIndex: number;
  appHash: Uint8Array;
  /** The attestation record: the last batch this node voted for, and its hash. */
  attestation: AttestationRecord | null;

  constructor(recovered: Pick<RecoveredState, "safety" | "lanes" | "app" | "attestation">) {
    this.safety = recovered.safety;
    for (const lane of recovered.lanes) {
      const m = new Map<number, Uint8Array>();
      for (const b of lane.blocks) m.set(b.header.number, headerHash(b.header));
      this.#lanes.set(lane.lane, m);
    }
    this.appIndex = recovered.app.executedIndex;
    this.appHash = recovered.app.appHash;
    this.attestation = recovered.attestation.record;
  }

  laneBlockHash(lane: number, number: number): Uint8Array | undefined {
    return this.#lanes.get(lane)?.get(number);
  }

  /** Write `w` is durable. */
  apply(w: DurableWrite): void {
    switch (w.kind) {
      case "safety":
        this.safety = w.record;
        return;
      case "laneBlock": {
        const { lane, number } = w.block.header;
        const m = this.#lanes.get(lane) ?? new Map<number, Uint8Array>();
        this.#lanes.set(lane, m);
        m.set(number, headerHash(w.block.header));
        return;
      }
      case "pruneLane": {
        const m = this.#lanes.get(w.lane);
        if (m !== undefined) for (const n of m.keys()) if (n < w.before) m.delete(n);
        return;
      }
      case "attestation":
        this.attestation = w.record;
        return;
      case "appState":
        this.appIndex = w.index;
        this.appHash = w.appHash;
        return;
      default:
        return;
    }
  }
}

const hex = (b: Uint8Array) => toHex(b).slice(0, 16);
const fmtVote = (v: { view: View; proposalHash: Uint8Array } | null | undefined) =>
  v ? `${viewKey(v.view)} ${hex(v.proposalHash)}` : "none";
const fmtLock = (s: SafetyRecord | null) =>
  s?.lock ? `${viewKey(s.lock.proposal.view)} ${hex(proposalHash(s.lock.proposal))}` : "none";
const notMe = (signer: number, me: number) => (signer === me ? null : `signer ${signer} is not this node (${me})`);

/** The durable record must name exactly this prepare/commit vote. */
function samePhaseVote(
  phase: "prepare" | "commit",
  body: { view: View; proposalHash: Uint8Array },
  s: SafetyRecord | null,
): string | null {
  const rec = s?.[phase] ?? null;
  if (rec !== null && compareViews(rec.view, body.view) === 0 && bytesEqual(rec.proposalHash, body.proposalHash))
    return null;
  return `the durable record's ${phase} is ${fmtVote(rec)}`;
}

interface ReleaseRule<K extends SignedKind> {
  /** The message in words, for the halt error. */
  describe(msg: SignedOf<K>): string;
  /** What in the durable record covers it: null, or the breach (naming the record). */
  check(msg: SignedOf<K>, record: DurableRecord, me: number): string | null;
}

type SignedOf<K extends SignedKind> = Extract<SignedMessage, { kind: K }>["msg"];

/**
 * One release rule per signed kind (DESIGN 1.2): what in the durable record
 * forbids a conflicting signature. Adding a signed kind adds a row here (the
 * compiler asks for it once the kind is in `SignedMessage`).
 */
const RELEASE_RULES: { readonly [K in SignedKind]: ReleaseRule<K> } = {
  laneBlock: {
    describe: (b) => `own lane block ${b.header.lane}/${b.header.number} ${hex(headerHash(b.header))}`,
    check: (block, record, me) => {
      const { lane, number } = block.header;
      if (lane !== me) return `it is lane ${lane}'s block, not this node's (${me})`;
      const durable = record.laneBlockHash(lane, number);
      if (durable !== undefined && bytesEqual(durable, headerHash(block.header))) return null;
      return `the durable own block ${lane}/${number} is ${durable ? hex(durable) : "none"}`;
    },
  },
  laneVote: {
    describe: (v) => `lane vote for ${v.body.lane}/${v.body.number} ${hex(v.body.headerHash)}`,
    check: (vote, record, me) => {
      const { lane, number, headerHash: h } = vote.body;
      const durable = record.laneBlockHash(lane, number);
      if (durable !== undefined && bytesEqual(durable, h)) return notMe(vote.signer, me);
      return `the durable block ${lane}/${number} is ${durable ? hex(durable) : "none"}`;
    },
  },
  proposal: {
    describe: (pm) => `proposal at ${viewKey(pm.proposal.view)} ${hex(proposalHash(pm.proposal))}`,
    // The leader's proposal leaves with its own prepare vote, in one record.
    check: (pm, record) =>
      samePhaseVote("prepare", { view: pm.proposal.view, proposalHash: proposalHash(pm.proposal) }, record.safety),
  },
  prepare: {
    describe: (v) => `prepare vote at ${fmtVote(v.body)}`,
    check: (vote, record, me) => notMe(vote.signer, me) ?? samePhaseVote("prepare", vote.body, record.safety),
  },
  commit: {
    describe: (v) => `commit vote at ${fmtVote(v.body)}`,
    check: (vote, record, me) => {
      const s = record.safety;
      const breach = notMe(vote.signer, me) ?? samePhaseVote("commit", vote.body, s);
      if (breach !== null) return breach;
      // Covered by a durable lock: at a higher view, or this very PrepareQC.
      const lock = s?.lock ?? null;
      const c = lock === null ? -1 : compareViews(lock.proposal.view, vote.body.view);
      if (c > 0 || (c === 0 && bytesEqual(proposalHash(lock!.proposal), vote.body.proposalHash))) return null;
      return `the durable lock is ${fmtLock(s)}`;
    },
  },
  timeout: {
    describe: (v) => `timeout vote at ${viewKey(v.body.view)} lockRound ${v.body.lockRound}`,
    check: (vote, record, me) => {
      const s = record.safety;
      const rec = s?.timeout ?? null;
      const { view, lockRound } = vote.body;
      if (rec === null || compareViews(rec.view, view) !== 0 || rec.lockRound !== lockRound) {
        return `the durable record's timeout is ${rec ? `${viewKey(rec.view)} lockRound ${rec.lockRound}` : "none"}`;
      }
      if (lockRound === null) return vote.lock === null ? notMe(vote.signer, me) : "it carries a lock but no lockRound";
      const carried = vote.lock?.proposal.view;
      const lock = s?.lock?.proposal.view;
      if (carried === undefined || carried.index !== view.index || carried.round !== lockRound)
        return `its carried lock does not match lockRound ${lockRound}`;
      if (lock === undefined || compareViews(lock, carried) < 0) return `the durable lock is ${fmtLock(s)}`;
      return notMe(vote.signer, me);
    },
  },
  batchVote: {
    describe: (m) => `batch vote for batch ${m.vote.body.number} ${hex(m.vote.body.hash)}`,
    check: (m, record, me) => {
      const r = record.attestation;
      // A re-push differs only in its attempt counter, outside the signature.
      if (r !== null && r.number === m.vote.body.number && bytesEqual(r.hash, m.vote.body.hash))
        return notMe(m.vote.signer, me);
      return `the durable attestation record is ${r ? `batch ${r.number} ${hex(r.hash)}` : "none"}`;
    },
  },
  appVote: {
    describe: (v) => `app vote for index ${v.body.index} ${hex(v.body.appHash)}`,
    check: (vote, record, me) => {
      const { index, appHash } = vote.body;
      if (index === record.appIndex && bytesEqual(appHash, record.appHash)) return notMe(vote.signer, me);
      return `the durable app state is index ${record.appIndex} hash ${hex(record.appHash)}`;
    },
  },
};

interface Pending {
  owner: WriteOwner;
  id: number;
  write: DurableWrite;
  release: readonly SignedMessage[];
}

export class Outbox {
  readonly #me: number | null;
  readonly #record: DurableRecord;
  /**
   * Writes not yet durable, in persist order. Bounded by the group-commit
   * writer (storage/group-commit.ts, DEFAULT_MAX_QUEUED_REQUESTS and _BYTES): a write beyond that
   * bound is refused and stops the node, so this map cannot outgrow it. The
   * runtime exports its size as validator_outbox_pending_writes.
   */
  readonly #pending = new Map<WriteId, Pending>();
  #nextId = 0;
  #halted: string | null = null;

  constructor(me: number | null, recovered: Pick<RecoveredState, "safety" | "lanes" | "app" | "attestation">) {
    this.#me = me;
    this.#record = new DurableRecord(recovered);
  }

  get halted(): string | null {
    return this.#halted;
  }

  /** Writes waiting for their durable acknowledgement. */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  /** A machine's write: held until `durable` names it (or a later write). */
  persist(owner: WriteOwner, e: PersistEffect): OutboxPersist {
    const id = this.#nextId++ as WriteId;
    this.#pending.set(id, { owner, id: e.id, write: e.write, release: e.release });
    return { kind: "persist", id, write: e.write, signed: e.release };
  }

  /** Identical re-sends: checked against the durable record now. */
  resend(msgs: readonly SignedMessage[]): OutboxEvent[] {
    const out: OutboxEvent[] = [];
    for (const msg of msgs) if (!this.#release(msg, out)) break;
    return out;
  }

  /** Write `id`, and every write persisted before it, is durable. */
  durable(id: WriteId): OutboxEvent[] {
    const out: OutboxEvent[] = [];
    if (!this.#pending.has(id)) return out; // already acknowledged through a later write
    for (const [key, p] of this.#pending) {
      if (this.#halted !== null) return out;
      this.#pending.delete(key);
      this.#record.apply(p.write);
      for (const msg of p.release) if (!this.#release(msg, out)) return out;
      out.push({ kind: "ack", owner: p.owner, id: p.id });
      if (key === id) break;
    }
    return out;
  }

  /**
   * THE release function: every signed message leaves the node through here,
   * and only if the durable record covers it. A breach halts the node.
   */
  #release(msg: SignedMessage, out: OutboxEvent[]): boolean {
    if (this.#halted !== null) return false;
    const rule = RELEASE_RULES[msg.kind] as ReleaseRule<SignedKind>;
    const breach = this.#me === null ? "an observer never signs" : rule.check(msg.msg, this.#record, this.#me);
    if (breach === null) {
      out.push({ kind: "release", msg });
      return true;
    }
    this.#halted = `outbox: ${rule.describe(msg.msg)} is not covered by the durable record (${breach}); a machine released a signature before its record was durable, so the node stops rather than send it`;
    out.push({ kind: "halt", reason: this.#halted });
    return false;
  }
}
