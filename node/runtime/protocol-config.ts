import type { Config } from "../config/index.ts";
import { DEFAULT_CONSENSUS_CONFIG } from "../consensus/index.ts";
import { DEFAULT_EXECUTION_CONFIG } from "../execution/index.ts";
import { DEFAULT_LANES_CONFIG } from "../lanes/index.ts";
import type { ProtocolConfig } from "../protocol/index.ts";

/** The protocol machines' settings from the node's config (protocol-wide ones are in genesis). */
export function protocolConfig(config: Config): ProtocolConfig {
  return {
    lanes: {
      ...DEFAULT_LANES_CONFIG,
      maxBlockBytes: config.lanes.maxBlockBytes,
      maxBlockDelayMs: config.lanes.maxBlockDelayMs,
      mempoolMaxTxs: config.lanes.mempoolMaxTxs,
      mempoolMaxBytes: config.lanes.mempoolMaxBytes,
    },
    consensus: {
      ...DEFAULT_CONSENSUS_CONFIG,
      viewTimeoutMs: config.consensus.viewTimeoutMs,
      maxViewTimeoutMs: config.consensus.maxViewTimeoutMs,
      viewTimeoutGrowth: config.consensus.viewTimeoutGrowth,
    },
    execution: { ...DEFAULT_EXECUTION_CONFIG },
    attestation: {
      voteWindow: config.attestation.voteWindow,
      repushMs: config.attestation.repushMs,
      mainNode: config.attestation.mainNodeUrl === "",
    },
  };
}
