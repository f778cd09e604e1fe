import type { Logger } from "pino";
import type { Committee } from "../committee/index.ts";
import type { SigningFloor } from "../consensus/index.ts";
import type { PeerInfo, SyncClientApi, SyncStatus } from "../net/index.ts";
import { type LevelDb, writeSigningFloor } from "../storage/index.ts";
import { compareViews, type View } from "../types/index.ts";

/** How often the keeper asks peers while it holds signing. */
export const FLOOR_POLL_MS = 1000;
/** At most one "still waiting" log line per this interval. */
const WAIT_LOG_MS = 10_000;
/**
 * Caught up means within this many indexes of what the answering peers have
 * finalized: on a busy chain a node following live traffic is always an
 * index or two behind at the instant it asks, and the floor comes from the
 * peers' views, not from this node's own state.
 */
const CAUGHT_UP_SLACK = 2;

/** What `/status` and the status line show about double-sign protection. */
export interface SigningStateJson {
  /**
   * observer: never signs. syncing: signing held, the floor is not known yet
   * (catching up, asking peers). held: the floor is known and the chain has
   * not passed it yet. active: signing.
   */
  state: "observer" | "syncing" | "held" | "active";
  /** Highest view this node refuses to sign in, or null. */
  floor: { index: number; round: number } | null;
  /** Why, in words. */
  reason: string;
}

export interface FloorKeeperParts {
  committee: Committee;
  me: number;
  db: LevelDb;
  /** The durable floor read at start (meta/signing-floor), or null. */
  stored: View | null;
  /** True when the node must ask its peers before it signs (issue 15). */
  check: boolean;
  /** Why the check runs (empty safety record, or node.doubleSignCheck). */
  why: string;
  /** node.doubleSignCheck: set the floor even when no peer has seen this key sign. */
  optIn: boolean;
  log: Logger;
  sync: () => SyncClientApi | null;
  peers: () => PeerInfo[];
  /** The node's own progress, read from the protocol. */
  progress: () => { finalizedIndex: number; view: View; ownLaneNext: number };
  /** Ask peers for own lane blocks from..to-1. */
  fetchOwnLane(from: number, to: number): void;
  /** Ask peers for CommitQCs from `from` on. */
  fetchCommitQcs(from: number): void;
  /** Hands the (durable) floor to the protocol. */
  setFloor(floor: SigningFloor): void;
}

/** One peer's answer, reduced to what the floor needs. */
interface PeerViews {
  weight: number;
  finalized: number;
  ownLaneNext: number;
  highest: View;
  mine: View;
}

function maxView(a: View, b: View): View {
  return compareViews(a, b) >= 0 ? a : b;
}

const fmt = (v: View) => `(${v.index}, ${v.round})`;

/**
 * Double-sign protection for a validator that starts without a trustworthy
 * safety record (issue 15; DESIGN section 6). It is the I/O half of the
 * signing floor: the consensus safety gate bars every vote at or below the
 * floor it is given (pure), and this keeper decides that floor:
 *
 * 1. Until the floor is known, the gate holds every vote ("hold"), and the
 *    runtime keeps admitted transactions from the lanes machine, so no own
 *    lane block is produced.
 * 2. It catches up: the finalized index reaches what the answering peers
 *    have finalized, and the own lane reaches the highest own block any of
 *    them holds (the old incarnation's blocks are adopted, never re-signed
 *    differently: a block that no peer held at that moment was received by
 *    nobody and cannot be in any certificate or evidence).
 * 3. It reads H, the highest view in which any answering peer has seen a
 *    consensus message, and sets the floor to (H.index + 1, 0), durably,
 *    before the gate is told.
 *
 * Why (H.index + 1, 0) is enough. A validator enters view (k, r) with r > 0
 * only through a TimeoutQC(k, r-1), or f+1 timeout votes at round >= r, and
 * enters (k, 0) only through CommitQC(k-1). Each needs votes of weight >= Q
 * (resp. f+1) from other members, whose signers saw those votes themselves.
 * The keeper waits for answers from other validators of weight at least
 * max(W - Q + 1, others - f) (others = W minus its own weight): the weight
 * that does not answer is then below both Q - own weight and f + 1, so at
 * least one answering peer signed any quorum, and any f+1 timeout votes, the
 * old incarnation acted on, and H covers that view. So the
 * old incarnation was at most one step past H: (H.index, H.round + 1) after
 * a TimeoutQC, or (H.index + 1, 0) after a CommitQC it assembled first (a
 * commit or timeout vote it signed there, or a proposal as leader). Every
 * such view is at or below (H.index + 1, 0) in view order. The old process is
 * gone before this one asks (it holds the home's lock while it runs), and the
 * question comes only after the catch-up, seconds later, so every message it
 * handed to the network has arrived or is lost for good.
 *
 * A node whose peers have seen no message signed by its key (a new
 * validator, or every validator of a new chain starting at slightly
 * different times) has nothing to protect and signs at once, unless
 * node.doubleSignCheck asks for the floor regardless. A single-validator
 * chain has no peer to ask: the keeper says so and signs.
 */
export class SigningFloorKeeper {
  readonly #p: FloorKeeperParts;
  #state: SigningStateJson["state"];
  #floor: View | null;
  #reason: string;
  #timer: NodeJS.Timeout | null = null;
  #asking = false;
  #stopped = false;
  #lastWaitLogMs = 0;

  constructor(parts: FloorKeeperParts) {
    this.#p = parts;
    this.#floor = parts.stored;
    if (!parts.check) {
      this.#state = "active";
      this.#reason = parts.stored ? "signing floor from an earlier check" : "safety record present";
    } else if (parts.committee.members.every((m) => m.index === parts.me)) {
      this.#state = "active";
      this.#reason = `${parts.why}, but this is a single-validator chain: no peer can tell what this key signed`;
    } else {
      this.#state = "syncing";
      this.#reason = `${parts.why}: syncing, then asking peers which views this key may have signed in`;
    }
  }

  /** The floor the protocol starts with. */
  get initialFloor(): SigningFloor {
    return this.#state === "syncing" ? "hold" : this.#floor;
  }

  /** Transactions wait (in the runtime) until the own lane is caught up and the floor is set. */
  get holding(): boolean {
    return this.#state === "syncing";
  }

  get json(): SigningStateJson {
    return { state: this.#state, floor: this.#floor, reason: this.#reason };
  }

  start(): void {
    if (this.#state === "syncing") {
      this.#p.log.warn({ reason: this.#reason }, "double-sign protection: signing held until the floor is known");
    } else if (this.#p.check) {
      this.#p.log.info({ reason: this.#reason }, "double-sign protection does not apply");
    }
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #arm(): void {
    if (this.#stopped || this.#state === "active") return;
    this.#timer = setTimeout(() => void this.#tick(), FLOOR_POLL_MS);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#asking) return;
    this.#asking = true;
    try {
      if (this.#state === "syncing") await this.#trySetFloor();
      else if (this.#state === "held") this.#checkPassed();
    } catch (err) {
      this.#p.log.warn({ err: (err as Error).message }, "double-sign protection: check failed; retrying");
    } finally {
      this.#asking = false;
      this.#arm();
    }
  }

  #checkPassed(): void {
    const { view } = this.#p.progress();
    if (this.#floor === null || compareViews(view, this.#floor) > 0) {
      this.#state = "active";
      this.#reason = `the chain passed the signing floor ${this.#floor ? fmt(this.#floor) : ""}`.trim();
      this.#p.log.warn({ view: fmt(view), floor: this.#floor }, "double-sign protection: signing resumed");
    }
  }

  async #trySetFloor(): Promise<void> {
    const answers = await this.#ask();
    const { committee, me } = this.#p;
    const others = committee.totalWeight - committee.weight(me);
    // See the class comment: every quorum and every f+1 set must contain an answering peer.
    const needed = Math.min(others, Math.max(committee.totalWeight - committee.quorum + 1, others - committee.f));
    const weight = answers.reduce((s, a) => s + a.weight, 0);
    if (weight < needed) {
      this.#waiting(`answers from validators of weight ${weight}; ${needed} needed`);
      return;
    }
    const own = this.#p.progress();
    const peerFinal = Math.max(...answers.map((a) => a.finalized));
    if (own.finalizedIndex < peerFinal - CAUGHT_UP_SLACK) {
      this.#waiting(`catching up: finalized ${own.finalizedIndex}, peers ${peerFinal}`);
      this.#p.fetchCommitQcs(own.finalizedIndex + 1);
      return;
    }
    const ownLaneNext = Math.max(...answers.map((a) => a.ownLaneNext));
    if (own.ownLaneNext < ownLaneNext) {
      this.#waiting(`fetching this validator's own lane: held ${own.ownLaneNext}, peers ${ownLaneNext}`);
      this.#p.fetchOwnLane(own.ownLaneNext, ownLaneNext);
      return;
    }
    // Honest peers only accept messages up to one index past what they
    // finalized: a higher claim is a lie and must not stall this node forever.
    const cap: View = { index: peerFinal + 2, round: 0 };
    let highest: View = { index: 0, round: 0 };
    let mine: View = { index: 0, round: 0 };
    for (const a of answers) {
      highest = maxView(highest, a.highest);
      mine = maxView(mine, a.mine);
    }
    if (compareViews(highest, cap) > 0) highest = cap;
    const seenMine = mine.index > 0;
    if (!seenMine && !this.#p.optIn) {
      this.#state = "active";
      this.#reason = "no peer has seen a message signed by this validator key: nothing it signed can conflict";
      this.#p.log.warn({ highestSeen: fmt(highest) }, `double-sign protection: ${this.#reason}; signing`);
      this.#p.setFloor(this.#floor);
      return;
    }
    let floor: View = { index: highest.index + 1, round: 0 };
    if (this.#floor !== null) floor = maxView(floor, this.#floor);
    await writeSigningFloor(this.#p.db, floor);
    this.#floor = floor;
    this.#state = "held";
    this.#reason = `peers have seen messages up to view ${fmt(highest)}; this key signs nothing at or below ${fmt(floor)}`;
    this.#p.setFloor(floor);
    this.#p.log.warn(
      { highestSeen: fmt(highest), highestSignedSeen: fmt(mine), floor: fmt(floor), peersAsked: answers.length },
      `double-sign protection: ${this.#reason}`,
    );
    this.#checkPassed();
  }

  #waiting(what: string): void {
    const now = Date.now();
    if (now - this.#lastWaitLogMs < WAIT_LOG_MS) return;
    this.#lastWaitLogMs = now;
    this.#p.log.info({ waiting: what }, "double-sign protection: signing held");
  }

  async #ask(): Promise<PeerViews[]> {
    const sync = this.#p.sync();
    if (sync === null) return [];
    const { committee, me } = this.#p;
    const peers = this.#p.peers();
    const settled = await Promise.allSettled(peers.map((p) => sync.status(p.peerId)));
    const out: PeerViews[] = [];
    settled.forEach((r, i) => {
      if (r.status !== "fulfilled") return;
      const peer = peers[i]!;
      out.push(reduce(r.value, peer.validatorIndex === null ? 0 : committee.weight(peer.validatorIndex), me));
    });
    return out;
  }
}

function reduce(s: SyncStatus, weight: number, me: number): PeerViews {
  return {
    weight,
    finalized: Math.max(s.commitQcs.next, s.globalBlocks.next) - 1,
    ownLaneNext: s.lanes.find((l) => l.lane === me)?.next ?? 0,
    highest: s.views.highest,
    mine: s.views.bySigner[me] ?? { index: 0, round: 0 },
  };
}
