/**
 * The chaos runner (`npm run chaos`): 4 validators and an observer as real
 * processes under load, with seeded faults (kill -9, SIGSTOP/SIGCONT,
 * SIGTERM restarts, an observer wiped and resynced, network partitions in
 * Linux network namespaces) and the chain's invariants checked throughout
 * and at the end. See scripts/chaos.ts for the command.
 */
export { type Accepted, TxAccounting, type TxOutcome } from "./accounting.ts";
export { ChainChecker } from "./checker.ts";
export {
  apiAddress,
  chaosNamespaces,
  createTopology,
  destroyTopology,
  leftovers,
  linkAddress,
  NETNS_PREFIX,
  netnsUnavailable,
  removeStale,
  setLink,
  type Topology,
} from "./netns.ts";
export { type ChaosOptions, type ChaosResult, LAG0_DEADLINE_MS, runChaos } from "./runner.ts";
export { describeFault, FAULT_KINDS, type Fault, type FaultKind, makeSchedule, Prng } from "./schedule.ts";
