/**
 * Certificate and signed-block checks against a committee. Storage (recovery)
 * and the protocol core both need them, and crypto cannot import committee,
 * so they live here. Each returns a reason instead of throwing: a bad
 * certificate is external input, not a bug.
 */
import { type CertCheck, type VerifyCache, verifyCertificate } from "../crypto/index.ts";
import {
  type AppQc,
  appVoteSigningBody,
  type BatchQc,
  type BatchVote,
  batchVoteSigningBody,
  compareViews,
  DOMAINS,
  type Domain,
  type LaneBlock,
  type LaneQc,
  laneVoteSigningBody,
  type PrepareQc,
  type ProposalQc,
  phaseVoteSigningBody,
  proposalQcVoteBody,
  type TimeoutQc,
  timeoutVoteSigningBody,
  viewKey,
} from "../types/index.ts";
import type { Committee } from "./committee.ts";
import { verifySigned } from "./signed.ts";

export type Check = { ok: true } | { ok: false; reason: string };

const OK: Check = { ok: true };

function fromCert(what: string, check: CertCheck): Check {
  return check.ok ? OK : { ok: false, reason: `${what}: ${check.reason}` };
}

function verifyProposalQc(committee: Committee, qc: ProposalQc, domain: Domain, what: string, cache?: VerifyCache) {
  return fromCert(
    `${what} ${viewKey(qc.proposal.view)}`,
    verifyCertificate(
      committee,
      {
        domain,
        chainId: committee.chainId,
        signers: qc.signers,
        signatures: qc.signatures,
        body: phaseVoteSigningBody(proposalQcVoteBody(qc)),
        threshold: committee.quorum,
      },
      cache,
    ),
  );
}

/** CommitQC: commit votes of weight >= Q on {view, proposalHash}. */
export function verifyCommitQc(committee: Committee, qc: ProposalQc, cache?: VerifyCache): Check {
  return verifyProposalQc(committee, qc, DOMAINS.commit, "CommitQC", cache);
}

/** PrepareQC (a lock): prepare votes of weight >= Q on {view, proposalHash}. */
export function verifyPrepareQc(committee: Committee, qc: PrepareQc, cache?: VerifyCache): Check {
  return verifyProposalQc(committee, qc, DOMAINS.prepare, "PrepareQC", cache);
}

/** AppQC: app votes of weight >= Q on {index, appHash}. */
export function verifyAppQc(committee: Committee, qc: AppQc, cache?: VerifyCache): Check {
  return fromCert(
    `AppQC ${qc.body.index}`,
    verifyCertificate(
      committee,
      {
        domain: DOMAINS.appVote,
        chainId: committee.chainId,
        signers: qc.signers,
        signatures: qc.signatures,
        body: appVoteSigningBody(qc.body),
        threshold: committee.quorum,
      },
      cache,
    ),
  );
}

/** BatchQC: batch votes of attester weight >= Qa on one {number, hash}. */
export function verifyBatchQc(committee: Committee, qc: BatchQc, cache?: VerifyCache): Check {
  return fromCert(
    `BatchQC ${qc.body.number}`,
    verifyCertificate(
      committee.attesters,
      {
        domain: DOMAINS.batchVote,
        chainId: committee.chainId,
        signers: qc.signers,
        signatures: qc.signatures,
        body: batchVoteSigningBody(qc.body),
        threshold: committee.attesters.quorum,
      },
      cache,
    ),
  );
}

/** One batch vote: its signer is an attester (weight > 0) and signed the body (the signed-kind table's rule). */
export function verifyBatchVote(committee: Committee, vote: BatchVote, cache?: VerifyCache): Check {
  const check = verifySigned(committee, { kind: "batchVote", msg: { vote, attempt: 0 } }, cache);
  return check.ok ? OK : { ok: false, reason: `batch vote ${vote.body.number}: ${check.reason}` };
}

/** LaneQC: lane votes of weight >= A on one header. */
export function verifyLaneQc(committee: Committee, qc: LaneQc, cache?: VerifyCache): Check {
  if (!committee.isMember(qc.body.lane)) return { ok: false, reason: `LaneQC for unknown lane ${qc.body.lane}` };
  return fromCert(
    `LaneQC ${qc.body.lane}/${qc.body.number}`,
    verifyCertificate(
      committee,
      {
        domain: DOMAINS.laneVote,
        chainId: committee.chainId,
        signers: qc.signers,
        signatures: qc.signatures,
        body: laneVoteSigningBody(qc.body),
        threshold: committee.availabilityQuorum,
      },
      cache,
    ),
  );
}

/**
 * A lane block: signed by its lane's owner (lane index == validator index),
 * the payload hash and tx count match its transactions (signed.ts's rules).
 */
export function verifyLaneBlock(committee: Committee, block: LaneBlock, cache?: VerifyCache): Check {
  const check = verifySigned(committee, { kind: "laneBlock", msg: block }, cache);
  return check.ok
    ? OK
    : { ok: false, reason: `lane block ${block.header.lane}/${block.header.number}: ${check.reason}` };
}

/**
 * TimeoutQC: each signer signed {view, its lockRound} under the timeout
 * domain, weight >= Q; highQc is present exactly when some lockRound is set,
 * and then is a valid PrepareQC at (view.index, max lockRound) with that
 * round at or below the timed-out round (a node that locked in round r and
 * then timed out in r reports lockRound r: exactly the lock that protects a
 * CommitQC formed in r).
 */
export function verifyTimeoutQc(committee: Committee, qc: TimeoutQc, cache?: VerifyCache): Check {
  const what = `TimeoutQC ${viewKey(qc.view)}`;
  if (qc.lockRounds.length !== qc.signatures.length) {
    return { ok: false, reason: `${what}: ${qc.lockRounds.length} lock rounds for ${qc.signatures.length} signatures` };
  }
  let maxLockRound: number | null = null;
  for (const r of qc.lockRounds) if (r !== null && (maxLockRound === null || r > maxLockRound)) maxLockRound = r;
  const cert = verifyCertificate(
    committee,
    {
      domain: DOMAINS.timeout,
      chainId: committee.chainId,
      signers: qc.signers,
      signatures: qc.signatures,
      body: (position) => timeoutVoteSigningBody({ view: qc.view, lockRound: qc.lockRounds[position] ?? null }),
      threshold: committee.quorum,
    },
    cache,
  );
  if (!cert.ok) return { ok: false, reason: `${what}: ${cert.reason}` };
  if (maxLockRound === null) {
    return qc.highQc === null ? OK : { ok: false, reason: `${what}: carries a highQc but no signer reported a lock` };
  }
  if (qc.highQc === null) return { ok: false, reason: `${what}: signers report lock round ${maxLockRound}, no highQc` };
  if (maxLockRound > qc.view.round) {
    return { ok: false, reason: `${what}: lock round ${maxLockRound} is above the timed-out round` };
  }
  const expected = { index: qc.view.index, round: maxLockRound };
  if (compareViews(qc.highQc.proposal.view, expected) !== 0) {
    return {
      ok: false,
      reason: `${what}: highQc is at ${viewKey(qc.highQc.proposal.view)}, expected ${viewKey(expected)}`,
    };
  }
  const high = verifyPrepareQc(committee, qc.highQc, cache);
  return high.ok ? OK : { ok: false, reason: `${what}: highQc: ${high.reason}` };
}
