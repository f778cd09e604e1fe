/**
 * One table of signed-message rules (DESIGN sections 4-7): for each kind this
 * node signs or receives, who signs it, its domain, the body the signature
 * covers, what else must hold of it, how it links to its parent and which
 * view it belongs to. The network edge (net/validate.ts, net/sync-client.ts),
 * lanes' acceptance, recovery and execution's assembly use it instead of
 * restating the rules; the outbox (node/protocol/outbox.ts) has the matching
 * table of what in the durable record covers each kind before it leaves.
 *
 * Adding a signed kind (e.g. the batch vote): add it to `SignedMessage`
 * (node/types/signed.ts) and a row here; the compiler asks for both tables.
 */
import { rememberOwnSignature, type VerifyCache, verifyMemberSignature } from "../crypto/index.ts";
import {
  appVoteSigningBody,
  batchVoteSigningBody,
  bytesEqual,
  checkPayload,
  codecs,
  DOMAINS,
  type Domain,
  headerHash,
  type LaneBlock,
  laneBlockSigningBody,
  laneVoteSigningBody,
  payloadHash,
  phaseVoteSigningBody,
  proposalHash,
  type SignedKind,
  type SignedMessage,
  timeoutVoteSigningBody,
  toHex,
  type View,
  ZERO_HASH,
} from "../types/index.ts";
import type { Committee } from "./committee.ts";

export type SignedOf<K extends SignedKind> = Extract<SignedMessage, { kind: K }>["msg"];

/** Hashes the edge already computed, so nothing is hashed twice. */
export interface KnownHashes {
  /** payloadHash(block.payload), when the edge already computed it. */
  payloadHash?: Uint8Array;
}

export interface SignedRule<K extends SignedKind> {
  /** Signing domain: a signature made for one kind never verifies as another. */
  readonly domain: Domain;
  /** Who signs it, in words (for errors). */
  readonly signedBy: "lane owner" | "leader" | "voter";
  /** The committee member whose key must have signed it. */
  signer(m: SignedOf<K>, committee: Committee): number;
  /** The bytes the signature covers (domain and chain id aside). */
  body(m: SignedOf<K>): Uint8Array;
  signature(m: SignedOf<K>): Uint8Array;
  /** The view it belongs to (an app vote: its index, round 0); lane kinds belong to none. */
  view(m: SignedOf<K>): View | null;
  /**
   * The hash of what it links to: a lane block its parent header (zero for
   * block 0), a lane vote the header it certifies, a proposal the previous
   * CommitQC's proposal, a prepare/commit vote the proposal it votes for.
   * Null where there is no hash link (timeout and app votes).
   */
  parent(m: SignedOf<K>): Uint8Array | null;
  /** What must hold of it besides the signature: a reason, or null. */
  content(m: SignedOf<K>, committee: Committee, known: KnownHashes): string | null;
}

const none = () => null;

export const SIGNED: { readonly [K in SignedKind]: SignedRule<K> } = {
  laneBlock: {
    domain: DOMAINS.laneBlock,
    signedBy: "lane owner",
    signer: (b) => b.header.lane,
    body: laneBlockSigningBody,
    signature: (b) => b.signature,
    view: none,
    parent: laneParent,
    content: (b, _committee, known) => {
      // The payload's offsets were walked by the decoder (codecs.laneBlock); a
      // value built in memory is walked here.
      const count = checkPayload(b.payload);
      if (typeof count === "string") return `malformed payload: ${count}`;
      if (b.header.txCount !== count) return `header says ${b.header.txCount} txs, block has ${count}`;
      // The payload is hashed once: at the edge, or here.
      const actual = known.payloadHash ?? payloadHash(b.payload);
      return bytesEqual(actual, b.header.payloadHash) ? null : "payload hash does not match its transactions";
    },
  },
  laneVote: {
    domain: DOMAINS.laneVote,
    signedBy: "voter",
    signer: (v) => v.signer,
    body: (v) => laneVoteSigningBody(v.body),
    signature: (v) => v.signature,
    view: none,
    parent: (v) => v.body.headerHash,
    content: (v, committee) => (committee.isMember(v.body.lane) ? null : `lane ${v.body.lane} has no owner`),
  },
  proposal: {
    domain: DOMAINS.proposal,
    signedBy: "leader",
    signer: (pm, committee) => committee.leader(pm.proposal.view),
    body: (pm) => codecs.proposal.encode(pm.proposal),
    signature: (pm) => pm.signature,
    view: (pm) => pm.proposal.view,
    parent: (pm) => (pm.prevCommitQc === null ? null : proposalHash(pm.prevCommitQc.proposal)),
    content: none,
  },
  prepare: {
    domain: DOMAINS.prepare,
    signedBy: "voter",
    signer: (v) => v.signer,
    body: (v) => phaseVoteSigningBody(v.body),
    signature: (v) => v.signature,
    view: (v) => v.body.view,
    parent: (v) => v.body.proposalHash,
    content: none,
  },
  commit: {
    domain: DOMAINS.commit,
    signedBy: "voter",
    signer: (v) => v.signer,
    body: (v) => phaseVoteSigningBody(v.body),
    signature: (v) => v.signature,
    view: (v) => v.body.view,
    parent: (v) => v.body.proposalHash,
    content: none,
  },
  timeout: {
    domain: DOMAINS.timeout,
    signedBy: "voter",
    signer: (v) => v.signer,
    body: (v) => timeoutVoteSigningBody(v.body),
    signature: (v) => v.signature,
    view: (v) => v.body.view,
    parent: none,
    // Its carried lock is a certificate: the consensus machine checks it
    // against its own state.
    content: none,
  },
  appVote: {
    domain: DOMAINS.appVote,
    signedBy: "voter",
    signer: (v) => v.signer,
    body: (v) => appVoteSigningBody(v.body),
    signature: (v) => v.signature,
    view: (v) => ({ index: v.body.index, round: 0 }),
    parent: none,
    // Only checkpoint indexes are voted on (genesis params.appVoteEveryIndexes).
    content: (v, committee) =>
      committee.appVotesAt(v.body.index)
        ? null
        : `index ${v.body.index} is not an app-vote checkpoint (every ${committee.params.appVoteEveryIndexes ?? 1})`,
  },
  batchVote: {
    domain: DOMAINS.batchVote,
    signedBy: "voter",
    signer: (m) => m.vote.signer,
    body: (m) => batchVoteSigningBody(m.vote.body),
    signature: (m) => m.vote.signature,
    view: none,
    parent: none,
    // Only attesters (attester weight > 0 in genesis) sign batch votes.
    content: (m, committee) =>
      committee.attesters.isAttester(m.vote.signer) ? null : `member ${m.vote.signer} is not an attester`,
  },
};

function rule<K extends SignedKind>(kind: K): SignedRule<K> {
  return SIGNED[kind] as SignedRule<K>;
}

export type SignedCheck =
  | { ok: true }
  | { ok: false; code: "non_member" | "bad_content" | "bad_signature"; reason: string };

/**
 * The one verification of a signed message: its signer is a member, its
 * content holds, and the signature verifies under the kind's domain (through
 * the shared cache).
 */
export function verifySigned(
  committee: Committee,
  m: SignedMessage,
  cache?: VerifyCache,
  known: KnownHashes = {},
): SignedCheck {
  const r = rule(m.kind);
  const msg = m.msg as never;
  const signer = r.signer(msg, committee);
  if (!committee.isMember(signer))
    return { ok: false, code: "non_member", reason: `${r.signedBy} ${signer} is not a committee member` };
  const content = r.content(msg, committee, known);
  if (content !== null) return { ok: false, code: "bad_content", reason: content };
  const ok = verifyMemberSignature(
    committee,
    signer,
    r.domain,
    committee.chainId,
    r.body(msg),
    r.signature(msg),
    cache,
  );
  return ok
    ? { ok: true }
    : { ok: false, code: "bad_signature", reason: `invalid signature of ${r.signedBy} ${signer}` };
}

/** The node's own signature, as it leaves: later checks of it are cache hits. */
export function rememberOwnSigned(committee: Committee, m: SignedMessage, cache: VerifyCache): void {
  const r = rule(m.kind);
  const msg = m.msg as never;
  rememberOwnSignature(
    committee,
    r.signer(msg, committee),
    r.domain,
    committee.chainId,
    r.body(msg),
    r.signature(msg),
    cache,
  );
}

/** The header hash lane block m names as its parent: block m-1's (zero for block 0). */
export function laneParent(block: LaneBlock): Uint8Array {
  return block.header.parent;
}

/** Lane block `block` links to the block whose header hash is `parentHash`. */
export function linksToParent(block: LaneBlock, parentHash: Uint8Array): boolean {
  return bytesEqual(laneParent(block), parentHash);
}

/**
 * A run of lane blocks: numbers first, first+1, ... of one lane, each linking
 * to the one before. `parent` is the header hash the first must name (null
 * when unknown, e.g. pruned; block 0's is always zero); `last`, when given,
 * the header hash the run must end at (a certified range's lastHash).
 * Returns the reason of the first break, or null.
 */
export function checkLaneChain(
  blocks: readonly LaneBlock[],
  run: { lane: number; first: number; parent?: Uint8Array | null; last?: Uint8Array },
): string | null {
  let prev = run.first === 0 ? ZERO_HASH : (run.parent ?? null);
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    const n = run.first + i;
    if (b.header.lane !== run.lane || b.header.number !== n) return `expected lane ${run.lane} block ${n}`;
    if (prev !== null && !linksToParent(b, prev)) {
      return `lane ${run.lane} block ${n}: parent ${toHex(b.header.parent).slice(0, 16)} does not match the previous header ${toHex(prev).slice(0, 16)}`;
    }
    prev = headerHash(b.header);
  }
  if (run.last !== undefined && blocks.length > 0 && !bytesEqual(prev!, run.last))
    return `lane ${run.lane} does not end at the certified header ${toHex(run.last).slice(0, 16)}`;
  return null;
}
