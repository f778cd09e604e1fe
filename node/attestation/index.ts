/**
 * Batch attestation (DESIGN section 13), pure (sans-IO): batches of the
 * finalized chain, their commitments and Merkle proofs, attester votes and
 * gap-free BatchQCs.
 */
export { BatchBuilder, type BatchParams, batchLeaves, type ClosedBatch, type ExecutedBlock } from "./batches.ts";
export { AttestationMachine, type AttestationMachineOptions, MAX_HELD_BATCHES } from "./machine.ts";
export {
  type AttestationConfig,
  type AttestationCounters,
  type AttestationEffect,
  type AttestationInput,
  type AttestationSigned,
  VOTE_VERDICTS,
  type VoteVerdict,
} from "./types.ts";
