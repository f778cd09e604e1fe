/** Two-phase fast finality with a persisted lock (DESIGN section 6): a pure state machine. */
export { ConsensusMachine, type ConsensusMachineOptions } from "./machine.ts";
export {
  checkProposal,
  type LaneTip,
  laneTips,
  type ProposalContext,
  rangesEqual,
  sameCut,
} from "./proposal-validity.ts";
export { buildProposal } from "./proposer.ts";
export { type GateDecision, isHigherLock, SafetyGate, type SigningFloor } from "./safety-gate.ts";
export { viewTimeoutMs } from "./timeouts.ts";
export type {
  ConsensusConfig,
  ConsensusCounters,
  ConsensusEffect,
  ConsensusInput,
} from "./types.ts";
export { MAX_ROUNDS_AHEAD, PhaseVoteBook, TimeoutVoteBook } from "./votes.ts";
