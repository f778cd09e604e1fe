import { DEFAULT_CONSENSUS_CONFIG } from "../../node/consensus/index.ts";
import { DEFAULT_EXECUTION_CONFIG } from "../../node/execution/index.ts";
import { DEFAULT_LANES_CONFIG } from "../../node/lanes/index.ts";
import type { ProtocolConfig } from "../../node/protocol/index.ts";

/** Faults a simulation can mix. */
export const FAULTS = ["crash", "partition", "drop", "twins", "wipe", "early-vote"] as const;
export type Fault = (typeof FAULTS)[number];

export function parseFaults(list: string): Fault[] {
  if (list === "" || list === "none") return [];
  return list.split(",").map((f) => {
    if (!(FAULTS as readonly string[]).includes(f))
      throw new Error(`unknown fault ${JSON.stringify(f)}; use ${FAULTS.join(", ")}`);
    return f as Fault;
  });
}

/** Protocol settings scaled to a virtual network of 1-60 ms links. */
export const SIM_PROTOCOL_CONFIG: ProtocolConfig = {
  lanes: { ...DEFAULT_LANES_CONFIG, maxBlockDelayMs: 40, retransmitMs: 150, mempoolMaxTxs: 2000 },
  consensus: { ...DEFAULT_CONSENSUS_CONFIG, viewTimeoutMs: 150, maxViewTimeoutMs: 1200, fetchRetryMs: 100 },
  execution: { ...DEFAULT_EXECUTION_CONFIG, anchorEveryIndexes: 8, fetchRetryMs: 100 },
};

export const SIM_PARAMS = { laneWindow: 32, maxBlocksPerLane: 16 };
