/**
 * High availability (DESIGN section 14): a lease on N independent
 * redis-servers with a fencing epoch, the sign-state quorum publish that
 * must succeed before a signed message leaves, and the quorum read a new
 * leader reconciles from. Knows `types`, never the state machines; the
 * runtime decides what to do with a role change.
 */

export { type CoordinatorOptions, HaCoordinator, type HaRole } from "./coordinator.ts";
export { withDeadline } from "./deadline.ts";
export { type HaOp, Lease, type LeaseOptions, type PublishOutcome, type ReadOutcome } from "./lease.ts";
export { fanOut } from "./quorum.ts";
export {
  highestPerSlot,
  laneRecord,
  mergeSafety,
  recordsOf,
  type SignRecord,
  type SignState,
  SignStateConflict,
  SLOT,
  safetyChanged,
  safetyRecords,
} from "./records.ts";
export { RedisNode, RedisOpError } from "./redis-node.ts";
