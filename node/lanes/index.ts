/** The availability layer (DESIGN section 5): a pure state machine. */
export { checkLaneBlockIntrinsic } from "./acceptance.ts";
export { LaneVoteAggregator } from "./lane-qc.ts";
export { LanesMachine, type LanesMachineOptions } from "./machine.ts";
export { Mempool } from "./mempool.ts";
export type {
  LanesConfig,
  LanesCounters,
  LanesEffect,
  LanesInput,
} from "./types.ts";
export { votersCertifyAlone } from "./vote-routing.ts";
