/** Builders for consensus machine tests over a 4-validator committee (f = 1, Q = 3). */
import { type ConsensusEffect, ConsensusMachine } from "../../node/consensus/index.ts";
import {
  type CommitQc,
  type ConsensusMessage,
  codecs,
  DOMAINS,
  headerHash,
  type LaneQc,
  type LaneRange,
  type PhaseVote,
  type PrepareQc,
  type Proposal,
  type ProposalMessage,
  phaseVoteSigningBody,
  proposalHash,
  type SafetyRecord,
  type SignedMessage,
  type TimeoutQc,
  type TimeoutVote,
  timeoutVoteSigningBody,
  type View,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { laneChain, laneQc } from "../fixtures/certs.ts";
import { type TestCommittee, testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

export const tc: TestCommittee = testCommittee(4);
export const committee = tc.committee;

/** Lane 0 holds blocks 0..1, certified; the other lanes are empty. */
export const chain0 = laneChain(tc, 0, 0, 2);
export const qc0: LaneQc = laneQc(tc, chain0[1]!, [0, 1]);

export function rangesWithLane0(next: number, lastHash: Uint8Array): LaneRange[] {
  return committee.members.map((_, lane) =>
    lane === 0 ? { lane, first: 0, next, lastHash } : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
  );
}

export const cutA = rangesWithLane0(2, headerHash(chain0[1]!.header));
export const cutB = rangesWithLane0(1, headerHash(chain0[0]!.header));
export const qcB: LaneQc = laneQc(tc, chain0[0]!, [0, 1]);

/** `commitQcs`: the recovered chain of CommitQCs (the last one's index is the finalized index). */
export function machine(me: number, safety: SafetyRecord | null = null, commitQcs: CommitQc[] = []): ConsensusMachine {
  const finalizedIndex = commitQcs.at(-1)?.proposal.view.index ?? 0;
  return new ConsensusMachine({
    committee,
    me,
    signer: tc.signers[me]!,
    config: testProtocolConfig().consensus,
    recovered: { commitQcs, anchor: null, finalizedIndex, safety },
  });
}

/** A proposal message signed by the view's leader. */
export function proposalMsg(
  view: View,
  ranges: LaneRange[],
  opts: { laneQcs?: LaneQc[]; timeoutQc?: TimeoutQc | null; createdAtMs?: number } = {},
): ProposalMessage {
  const proposal: Proposal = { view, createdAtMs: opts.createdAtMs ?? 1000, ranges };
  const leader = committee.leader(view);
  return {
    proposal,
    signature: tc.signers[leader]!.sign(DOMAINS.proposal, codecs.proposal.encode(proposal)),
    laneQcs: opts.laneQcs ?? [qc0],
    timeoutQc: opts.timeoutQc ?? null,
    prevCommitQc: null,
  };
}

export function phaseVote(kind: "prepare" | "commit", signer: number, p: Proposal): ConsensusMessage {
  const body = { view: p.view, proposalHash: proposalHash(p) };
  const msg: PhaseVote = {
    body,
    signer,
    signature: tc.signers[signer]!.sign(
      kind === "prepare" ? DOMAINS.prepare : DOMAINS.commit,
      phaseVoteSigningBody(body),
    ),
  };
  return { kind, msg };
}

export function timeoutVote(signer: number, view: View, lock: PrepareQc | null): ConsensusMessage {
  const body = { view, lockRound: lock?.proposal.view.round ?? null };
  const msg: TimeoutVote = {
    body,
    signer,
    signature: tc.signers[signer]!.sign(DOMAINS.timeout, timeoutVoteSigningBody(body)),
    lock,
  };
  return { kind: "timeout", msg };
}

export function persists(effects: ConsensusEffect[]) {
  return effects.filter((e): e is Extract<ConsensusEffect, { kind: "persist" }> => e.kind === "persist");
}

/**
 * Messages that leave at once: certificates, and identical re-sends (which the
 * outbox checks against the durable record). Not the releases of a persist.
 */
export function broadcasts(effects: ConsensusEffect[], kind?: ConsensusMessage["kind"]): ConsensusMessage[] {
  return effects
    .flatMap((e): ConsensusMessage[] =>
      e.kind === "broadcast" ? [e.msg] : e.kind === "resend" ? e.release.map(asConsensus) : [],
    )
    .filter((m) => kind === undefined || m.kind === kind);
}

function asConsensus(m: SignedMessage): ConsensusMessage {
  if (m.kind === "laneBlock" || m.kind === "laneVote" || m.kind === "appVote" || m.kind === "batchVote")
    throw new Error(`consensus released a ${m.kind}`);
  return m;
}

/**
 * Acknowledges every persist in `effects` as durable, as the outbox does:
 * returns each write's releases (as messages that leave now) and what the machine does on
 * the acknowledgement.
 */
export function ackAll(m: ConsensusMachine, effects: ConsensusEffect[], nowMs = 0): ConsensusEffect[] {
  return persists(effects).flatMap((p) => [
    // The releases, in the shape `broadcasts()` reads (what now leaves).
    ...p.release.map((msg): ConsensusEffect => ({ kind: "resend", release: [msg] })),
    ...m.step({ kind: "durable", id: p.id }, nowMs),
  ]);
}
