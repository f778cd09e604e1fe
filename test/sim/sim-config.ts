import type { ProtocolConfig } from "../../node/protocol/index.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

/** Faults a simulation can mix. */
export const FAULTS = ["crash", "partition", "drop", "twins", "wipe", "early-vote", "byzantine"] as const;
export type Fault = (typeof FAULTS)[number];

export function parseFaults(list: string): Fault[] {
  if (list === "" || list === "none") return [];
  return list.split(",").map((f) => {
    if (!(FAULTS as readonly string[]).includes(f))
      throw new Error(`unknown fault ${JSON.stringify(f)}; use ${FAULTS.join(", ")}`);
    return f as Fault;
  });
}

/**
 * The simulator's overrides of the shipped defaults, applied through the
 * config loader (so the schema checks them) on top of config/default.toml;
 * every other setting is what production runs.
 *
 * Time scaling: virtual links take 1-60 ms, against the tens to hundreds of
 * ms a real cluster sees under load, so every timer is shortened about 7x
 * (view timeout 1000 -> 150 ms and its cap 8000 -> 1200 ms, keeping the 8x
 * ratio; retransmit 500 -> 150; fetch retries 200 -> 100) and lane blocks
 * are cut a little sooner (100 -> 40 ms, and the adaptive cap 400 -> 160,
 * keeping its 4x ratio). Growth (2) is unchanged.
 * Size scaling: a smaller mempool (10000 -> 2000 txs) and an anchor every 8
 * indexes instead of 16, so short runs still prune and recover from anchors.
 * Batch attestation: re-push 2000 -> 150 ms, vote window 16 -> 8; which
 * node is the main node the simulator sets per node (the shipped default,
 * an empty mainNodeUrl, would make every node its own main node).
 */
export const SIM_OVERRIDES: readonly string[] = [
  "consensus.viewTimeoutMs=150",
  "consensus.maxViewTimeoutMs=1200",
  "consensus.fetchRetryMs=100",
  "lanes.maxBlockDelayMs=40",
  "lanes.maxAdaptiveBlockDelayMs=160",
  "lanes.retransmitMs=150",
  "lanes.mempoolMaxTxs=2000",
  "execution.anchorEveryIndexes=8",
  "execution.fetchRetryMs=100",
  // Attestation: re-push 2000 -> 150 ms, and a smaller vote window.
  "attestation.repushMs=150",
  "attestation.voteWindow=8",
];

/** Protocol settings of every simulated node: the defaults through the loader, with SIM_OVERRIDES. */
export const SIM_PROTOCOL_CONFIG: ProtocolConfig = testProtocolConfig(SIM_OVERRIDES, "simulator scaling");

export const SIM_PARAMS = { laneWindow: 32, maxBlocksPerLane: 16, batchMaxIndexes: 4, batchMaxMs: 200 };

/** How often attesters poll the simulated main node's status. */
export const SIM_POLL_MS = 100;
