import type { Committee } from "../committee/index.ts";
import { type VerifyCache, verifyMemberSignature } from "../crypto/index.ts";
import type {
  AppVote,
  BatchVoteMessage,
  ConsensusMessage,
  Evidence,
  LaneBlock,
  LaneVote,
  SignedMessage,
  SignedStatement,
} from "../types/index.ts";
import { bytesEqual, concatBytes } from "../types/index.ts";
import { domainOf, type EvidenceKind, isEvidenceKind, type Statement, statement } from "./rules.ts";

/** Slots remembered per kind (first statement seen for each); the oldest go first. */
export const MAX_SLOTS_PER_KIND = 4096;
/** Equivocations remembered as already reported, so each is reported once. */
const MAX_REPORTED = 4096;

/** What the detector looks at: messages as they reach the node's machines. */
export type Observed =
  | { kind: "laneBlock"; block: LaneBlock }
  | { kind: "syncLaneBlocks"; blocks: LaneBlock[] }
  | { kind: "laneVote"; vote: LaneVote }
  | { kind: "consensus"; msg: ConsensusMessage }
  | { kind: "appVote"; vote: AppVote }
  | { kind: "batchVote"; msg: BatchVoteMessage };

/** Any input with a kind; the ones listed in `Observed` carry signed messages. */
export type Input = { readonly kind: string; readonly [field: string]: unknown };

/** The signed messages an input carries (certificates are not one member's statement). */
export function signedIn(input: Input): SignedMessage[] {
  const i = input as Observed;
  switch (i.kind) {
    case "laneBlock":
      return [{ kind: "laneBlock", msg: i.block }];
    case "syncLaneBlocks":
      return i.blocks.map((b) => ({ kind: "laneBlock", msg: b }));
    case "laneVote":
      return [{ kind: "laneVote", msg: i.vote }];
    case "appVote":
      return [{ kind: "appVote", msg: i.vote }];
    case "batchVote":
      return [{ kind: "batchVote", msg: i.msg }];
    case "consensus": {
      const m = i.msg;
      if (m.kind === "commitQc" || m.kind === "timeoutQc") return [];
      return [m as SignedMessage];
    }
    default:
      return [];
  }
}

export function statementsOf(input: Input, committee: Committee): Statement[] {
  return signedIn(input)
    .map((m) => statement(m, committee))
    .filter((s) => committee.isMember(s.signer));
}

/** Where a kind's statements are kept: one entry per signer and slot. */
function slotKey(s: { signer: number; slot: string }): string {
  return `${s.signer}|${s.slot}`;
}

/**
 * A statement as a slot keeps it: body and signature copied into one buffer
 * of their own. A decoded message's fields are views into the frame it
 * arrived in (a network read of kilobytes, a whole lane block); a kept view
 * would pin that frame for as long as the slot lives. Measured before: at
 * 4,000 tx/s the slots pinned ~15 MiB of frames for ~100 KiB of statements.
 */
function kept(s: Statement): SignedStatement {
  const bytes = concatBytes(s.body, s.signature);
  return { body: bytes.subarray(0, s.body.byteLength), signature: bytes.subarray(s.body.byteLength) };
}

/**
 * Finds equivocation: two different, validly signed statements of one
 * member for one slot. Pure and bounded: the first statement of each slot is
 * kept (per kind, the oldest slots are forgotten first); on a different
 * second one, both signatures are checked and the pair is reported once.
 */
export class EquivocationDetector {
  readonly #committee: Committee;
  readonly #cache: VerifyCache | undefined;
  readonly #slots = new Map<EvidenceKind, Map<string, SignedStatement>>();
  readonly #reported = new Set<string>();

  constructor(committee: Committee, cache?: VerifyCache) {
    this.#committee = committee;
    this.#cache = cache;
  }

  /** Marks evidence known from before (recovered from disk) as reported. */
  known(evidence: Evidence[]): void {
    for (const e of evidence) this.#remember(`${e.kind}|${slotKey(e)}`);
  }

  /**
   * Whether `m` differs from the statement kept for its signer and slot, so
   * it would be evidence. The network edge asks before it drops a message
   * as redundant unchecked: such a one must be checked and observed.
   */
  conflicts(m: SignedMessage): boolean {
    const s = statement(m, this.#committee);
    const first = this.#slots.get(s.kind)?.get(slotKey(s));
    return first !== undefined && !bytesEqual(first.body, s.body);
  }

  observe(input: Input): Evidence[] {
    const out: Evidence[] = [];
    for (const s of statementsOf(input, this.#committee)) {
      const e = this.#check(s);
      if (e !== null) out.push(e);
    }
    return out;
  }

  #check(s: Statement): Evidence | null {
    if (!this.#committee.isMember(s.signer)) return null;
    let slots = this.#slots.get(s.kind);
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(s.kind, slots);
    }
    const key = slotKey(s);
    const first = slots.get(key);
    if (first === undefined) {
      if (slots.size >= MAX_SLOTS_PER_KIND) slots.delete(slots.keys().next().value!);
      slots.set(key, kept(s));
      return null;
    }
    if (bytesEqual(first.body, s.body)) return null;
    const reportKey = `${s.kind}|${key}`;
    if (this.#reported.has(reportKey)) return null;
    if (!this.#verifies(s.kind, s.signer, s)) return null;
    if (!this.#verifies(s.kind, s.signer, first)) {
      // The one kept first was forged (it never passed a signature check): keep the genuine one.
      slots.set(key, kept(s));
      return null;
    }
    this.#remember(reportKey);
    return { kind: s.kind, signer: s.signer, slot: s.slot, first, second: { body: s.body, signature: s.signature } };
  }

  #verifies(kind: EvidenceKind, signer: number, st: SignedStatement): boolean {
    const c = this.#committee;
    return verifyMemberSignature(c, signer, domainOf(kind), c.chainId, st.body, st.signature, this.#cache);
  }

  #remember(key: string): void {
    if (this.#reported.size >= MAX_REPORTED) this.#reported.delete(this.#reported.values().next().value!);
    this.#reported.add(key);
  }
}

/** Checks stored or received evidence: a known kind, two different bodies, both signed by the member. */
export function verifyEvidence(committee: Committee, e: Evidence, cache?: VerifyCache): string | null {
  if (!isEvidenceKind(e.kind)) return `unknown kind ${JSON.stringify(e.kind)}`;
  if (!committee.isMember(e.signer)) return `signer ${e.signer} is not a member`;
  if (bytesEqual(e.first.body, e.second.body)) return "the two statements are identical";
  for (const st of [e.first, e.second]) {
    if (!verifyMemberSignature(committee, e.signer, domainOf(e.kind), committee.chainId, st.body, st.signature, cache))
      return "a signature does not verify";
  }
  return null;
}
