import type { Committee } from "../committee/index.ts";
import {
  type AppVote,
  appVoteSigningBody,
  codecs,
  DOMAINS,
  type Domain,
  type LaneBlock,
  type LaneVote,
  laneBlockSigningBody,
  laneVoteSigningBody,
  type PhaseVote,
  type ProposalMessage,
  phaseVoteSigningBody,
  type TimeoutVote,
  timeoutVoteSigningBody,
} from "../types/index.ts";

/** One member's signature on one slot, as the detector compares them. */
export interface Statement {
  kind: EvidenceKind;
  signer: number;
  /** What the signer may sign only once; two different bodies for it are equivocation. */
  slot: string;
  body: Uint8Array;
  signature: Uint8Array;
}

interface EvidenceRule<M> {
  domain: Domain;
  statement(m: M, committee: Committee): Omit<Statement, "kind">;
}

function rule<M>(r: EvidenceRule<M>): EvidenceRule<M> {
  return r;
}

const phase = (domain: Domain) =>
  rule<PhaseVote>({
    domain,
    statement: (v) => ({
      signer: v.signer,
      slot: `view ${v.body.view.index}/${v.body.view.round}`,
      body: phaseVoteSigningBody(v.body),
      signature: v.signature,
    }),
  });

/**
 * Every signed kind whose double signing is equivocation: the signing domain
 * and what one member may sign only once. Adding a kind (e.g. batch votes)
 * is one entry here plus its line in `statementsOf` (detector.ts).
 */
export const EVIDENCE_RULES = {
  lane_block: rule<LaneBlock>({
    domain: DOMAINS.laneBlock,
    statement: (b) => ({
      signer: b.header.lane,
      slot: `lane ${b.header.lane} block ${b.header.number}`,
      body: laneBlockSigningBody(b),
      signature: b.signature,
    }),
  }),
  lane_vote: rule<LaneVote>({
    domain: DOMAINS.laneVote,
    statement: (v) => ({
      signer: v.signer,
      slot: `lane ${v.body.lane} block ${v.body.number}`,
      body: laneVoteSigningBody(v.body),
      signature: v.signature,
    }),
  }),
  proposal: rule<ProposalMessage>({
    domain: DOMAINS.proposal,
    statement: (pm, committee) => ({
      signer: committee.leader(pm.proposal.view),
      slot: `view ${pm.proposal.view.index}/${pm.proposal.view.round}`,
      body: codecs.proposal.encode(pm.proposal),
      signature: pm.signature,
    }),
  }),
  prepare: phase(DOMAINS.prepare),
  commit: phase(DOMAINS.commit),
  timeout: rule<TimeoutVote>({
    domain: DOMAINS.timeout,
    statement: (v) => ({
      signer: v.signer,
      slot: `view ${v.body.view.index}/${v.body.view.round}`,
      body: timeoutVoteSigningBody(v.body),
      signature: v.signature,
    }),
  }),
  app_vote: rule<AppVote>({
    domain: DOMAINS.appVote,
    statement: (v) => ({
      signer: v.signer,
      slot: `index ${v.body.index}`,
      body: appVoteSigningBody(v.body),
      signature: v.signature,
    }),
  }),
};

export type EvidenceKind = keyof typeof EVIDENCE_RULES;
export const EVIDENCE_KINDS = Object.keys(EVIDENCE_RULES) as EvidenceKind[];

/** A statement of `kind` for message `m`. */
export function statement<K extends EvidenceKind>(
  kind: K,
  m: Parameters<(typeof EVIDENCE_RULES)[K]["statement"]>[0],
  committee: Committee,
): Statement {
  const r = EVIDENCE_RULES[kind] as EvidenceRule<typeof m>;
  return { kind, ...r.statement(m, committee) };
}

export function isEvidenceKind(kind: string): kind is EvidenceKind {
  return Object.hasOwn(EVIDENCE_RULES, kind);
}

export function domainOf(kind: EvidenceKind): Domain {
  return EVIDENCE_RULES[kind].domain;
}
