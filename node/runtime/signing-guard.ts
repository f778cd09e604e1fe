import {
  bytesEqual,
  type ConsensusMessage,
  compareViews,
  type DurableWrite,
  headerHash,
  type LaneBlock,
  type RecoveredState,
  type SafetyRecord,
  toHex,
  type View,
} from "../types/index.ts";

/** What the guard checks before a signed message reaches the network. */
export type SignedOutput =
  | { kind: "laneBlock"; block: LaneBlock }
  | { kind: "laneVote"; lane: number; number: number }
  | { kind: "consensus"; msg: ConsensusMessage }
  | { kind: "appVote"; index: number; appHash: Uint8Array }
  | { kind: "batchVote"; number: number; hash: Uint8Array };

/** Own lane headers remembered for the check; older ones are finalized long ago. */
const MAX_OWN_HEADERS = 8192;

/**
 * A second line of DESIGN principle 2, independent of the state machines:
 * a signed message leaves only when the record that prevents a conflicting
 * signature is durable. The machines already hold their votes until the
 * durable acknowledgement (their safety gate is the first line); the guard
 * re-checks each outgoing message against what storage has acknowledged: a
 * vote's view must be covered by the durable record and, at the recorded
 * view itself, be the recorded vote; a commit vote needs a durable lock at or
 * above its view; an own lane block must be the durable one; a lane or app
 * vote needs its block or app state durable. Votes for views below the record
 * pass (a vote released late, after the record moved on, is legitimate), and
 * a timeout's lockRound and a lane vote's header hash are not re-checked. A
 * machine bug in what is checked shows up as a held-back message and an
 * error. The high-availability mode will extend "durable" to a Redis quorum
 * here.
 */
export class SigningGuard {
  #safety: SafetyRecord | null;
  /** Per lane: next block number not yet durable. */
  readonly #laneNext: number[];
  /** Own lane: header hash (hex) of each durable block number. */
  readonly #ownHeaders = new Map<number, string>();
  readonly #ownLane: number | null;
  #appIndex: number;
  #appHash: Uint8Array;
  #attestation: { number: number; hash: Uint8Array } | null;

  constructor(recovered: RecoveredState, ownLane: number | null) {
    this.#safety = recovered.safety;
    this.#laneNext = recovered.lanes.map((l) => l.next);
    this.#ownLane = ownLane;
    if (ownLane !== null) {
      for (const b of recovered.lanes[ownLane]?.blocks ?? []) this.#rememberOwn(b);
    }
    this.#appIndex = recovered.app.executedIndex;
    this.#appHash = recovered.app.appHash;
    this.#attestation = recovered.attestation.record;
  }

  /** Called for every write once storage says it is durable. */
  noteDurable(w: DurableWrite): void {
    switch (w.kind) {
      case "safety":
        this.#safety = w.record;
        return;
      case "laneBlock": {
        const { lane, number } = w.block.header;
        this.#laneNext[lane] = Math.max(this.#laneNext[lane] ?? 0, number + 1);
        if (lane === this.#ownLane) this.#rememberOwn(w.block);
        return;
      }
      case "attestation":
        this.#attestation = w.record;
        return;
      case "appState":
        if (w.index >= this.#appIndex) {
          this.#appIndex = w.index;
          this.#appHash = w.appHash;
        }
        return;
      default:
        return;
    }
  }

  /** null when the message may leave; otherwise why it may not. */
  check(out: SignedOutput): string | null {
    switch (out.kind) {
      case "laneBlock": {
        const { lane, number } = out.block.header;
        const durable = this.#ownHeaders.get(number);
        if (durable === undefined) return `own lane block ${lane}/${number} is not durable`;
        return durable === toHex(headerHash(out.block.header))
          ? null
          : `own lane block ${lane}/${number} differs from the durable one`;
      }
      case "laneVote":
        return out.number < (this.#laneNext[out.lane] ?? 0)
          ? null
          : `lane vote ${out.lane}/${out.number} before its block is durable`;
      case "appVote":
        if (out.index > this.#appIndex) return `app vote for ${out.index} before its app state is durable`;
        if (out.index === this.#appIndex && !bytesEqual(out.appHash, this.#appHash)) {
          return `app vote for ${out.index} names a hash other than the durable one`;
        }
        return null;
      case "consensus":
        return this.#checkConsensus(out.msg);
      case "batchVote": {
        const r = this.#attestation;
        if (r === null || r.number !== out.number || !bytesEqual(r.hash, out.hash)) {
          return `batch vote for ${out.number} is not the durable attestation record (${r ? r.number : "none"})`;
        }
        return null;
      }
    }
  }

  #checkConsensus(m: ConsensusMessage): string | null {
    const s = this.#safety;
    switch (m.kind) {
      case "prepare":
      case "commit": {
        const recorded = m.kind === "prepare" ? s?.prepare : s?.commit;
        const { view, proposalHash } = m.msg.body;
        if (!recorded) return `${m.kind} vote at ${fmt(view)} with no durable record`;
        const c = compareViews(view, recorded.view);
        if (c > 0) return `${m.kind} vote at ${fmt(view)} beyond the durable record at ${fmt(recorded.view)}`;
        if (c === 0 && !bytesEqual(proposalHash, recorded.proposalHash)) {
          return `${m.kind} vote at ${fmt(view)} conflicts with the durable record`;
        }
        if (m.kind === "commit" && (!s?.lock || compareViews(s.lock.proposal.view, view) < 0)) {
          return `commit vote at ${fmt(view)} before its lock is durable`;
        }
        return null;
      }
      case "timeout": {
        const recorded = s?.timeout;
        const { view } = m.msg.body;
        if (!recorded) return `timeout vote at ${fmt(view)} with no durable record`;
        return compareViews(view, recorded.view) <= 0 ? null : `timeout vote at ${fmt(view)} beyond the durable record`;
      }
      default:
        // Proposals and certificate announcements: a second proposal in a
        // view cannot gather two quorums (honest nodes prepare once), and a
        // certificate carries others' signatures, not a new one of ours.
        return null;
    }
  }

  #rememberOwn(block: LaneBlock): void {
    this.#ownHeaders.set(block.header.number, toHex(headerHash(block.header)));
    if (this.#ownHeaders.size > MAX_OWN_HEADERS) {
      const oldest = this.#ownHeaders.keys().next().value;
      if (oldest !== undefined) this.#ownHeaders.delete(oldest);
    }
  }
}

function fmt(v: View): string {
  return `(${v.index}, ${v.round})`;
}
