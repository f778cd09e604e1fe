/**
 * node.maxSemiSpaceMiB. V8 sizes its young generation when the process
 * starts, from `--max-semi-space-size`; a running process cannot change it.
 * So `validator start` and `validator dev` re-execute themselves once with
 * the flag when it is missing (start-plan.ts decides, together with the other
 * start-up settings; v8-flag.ts holds the rule). A --max-semi-space-size of
 * the operator's, on Node's command line or in NODE_OPTIONS, always wins.
 *
 * Why: left to V8, on the measured host each semi-space grew to 64 MiB under
 * load and both stay resident, 128 MiB of a validator's RSS (README, "Memory").
 */
import type { V8FlagRun, V8FlagSetting } from "./v8-flag.ts";

export const SEMI_SPACE: V8FlagSetting<"semiSpaceMiB"> = {
  key: "node.maxSemiSpaceMiB",
  flag: "--max-semi-space-size",
  field: "semiSpaceMiB",
};

/** The young generation limit a process runs with (MiB per semi-space), and where it came from. */
export type SemiSpaceRun = V8FlagRun<"semiSpaceMiB">;
