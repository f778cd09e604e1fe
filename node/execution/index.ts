/** Execution, app votes, pruning (DESIGN section 7): a pure state machine. */
export { type App, type AppWrites, KvApp, type TxResult } from "./app.ts";
export { AppVoteBook, MAX_APP_VOTE_INDEXES } from "./app-votes.ts";
export { type Assembly, assembleGlobalBlock, type BlockLookup } from "./assembly.ts";
export { ExecutionMachine, type ExecutionMachineOptions, MAX_PENDING as MAX_PENDING_EXECUTION } from "./machine.ts";
export type {
  ExecutionConfig,
  ExecutionCounters,
  ExecutionEffect,
  ExecutionInput,
} from "./types.ts";
