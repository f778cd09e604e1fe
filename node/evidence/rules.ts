import { type Committee, SIGNED, type SignedOf, type SignedRule } from "../committee/index.ts";
import type { Domain, SignedKind, SignedMessage } from "../types/index.ts";

/** One member's signature on one slot, as the detector compares them. */
export interface Statement {
  kind: EvidenceKind;
  signer: number;
  /** What the signer may sign only once; two different bodies for it are equivocation. */
  slot: string;
  body: Uint8Array;
  signature: Uint8Array;
}

const view = (v: { index: number; round: number }) => `view ${v.index}/${v.round}`;

/**
 * The registry of evidence: for every signed kind, what one member may sign
 * only once. Signer, signed bytes, signature and domain come from the
 * signed-message rules (committee/signed.ts SIGNED), so a new signed kind
 * (e.g. batch votes) is one entry here, and the type makes it required.
 */
export const EVIDENCE_SLOTS: { readonly [K in SignedKind]: (m: SignedOf<K>) => string } = {
  laneBlock: (b) => `lane ${b.header.lane} block ${b.header.number}`,
  laneVote: (v) => `lane ${v.body.lane} block ${v.body.number}`,
  proposal: (pm) => view(pm.proposal.view),
  prepare: (v) => view(v.body.view),
  commit: (v) => view(v.body.view),
  timeout: (v) => view(v.body.view),
  appVote: (v) => `index ${v.body.index}`,
  batchVote: (m) => `batch ${m.vote.body.number}`,
};

export type EvidenceKind = SignedKind;
export const EVIDENCE_KINDS = Object.keys(EVIDENCE_SLOTS) as EvidenceKind[];

/** The statement a signed message makes. */
export function statement(m: SignedMessage, committee: Committee): Statement {
  const r = SIGNED[m.kind] as SignedRule<typeof m.kind>;
  const msg = m.msg as never;
  return {
    kind: m.kind,
    signer: r.signer(msg, committee),
    slot: (EVIDENCE_SLOTS[m.kind] as (x: never) => string)(msg),
    body: r.body(msg),
    signature: r.signature(msg),
  };
}

export function isEvidenceKind(kind: string): kind is EvidenceKind {
  return Object.hasOwn(EVIDENCE_SLOTS, kind);
}

export function domainOf(kind: EvidenceKind): Domain {
  return SIGNED[kind].domain;
}
