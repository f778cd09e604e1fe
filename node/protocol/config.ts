import type { Config } from "../config/index.ts";
import type { ProtocolConfig } from "./types.ts";

/**
 * The protocol machines' settings, every one from the node's config (whose
 * defaults are config/default.toml); protocol-wide ones are in genesis. The
 * machines have no defaults of their own: the runtime, the simulator and the
 * tests all build their settings here, from a loaded Config.
 */
export function protocolConfig(config: Config): ProtocolConfig {
  return {
    lanes: {
      maxBlockBytes: config.lanes.maxBlockBytes,
      maxBlockDelayMs: config.lanes.maxBlockDelayMs,
      maxAdaptiveBlockDelayMs: config.lanes.maxAdaptiveBlockDelayMs,
      maxWindowBytes: config.lanes.maxWindowBytes,
      sendWhenIdle: config.lanes.sendWhenIdle,
      mempoolMaxTxs: config.lanes.mempoolMaxTxs,
      mempoolMaxBytes: config.lanes.mempoolMaxBytes,
      maxBufferedAhead: config.lanes.maxBufferedAhead,
      retransmitMs: config.lanes.retransmitMs,
    },
    consensus: {
      viewTimeoutMs: config.consensus.viewTimeoutMs,
      maxViewTimeoutMs: config.consensus.maxViewTimeoutMs,
      viewTimeoutGrowth: config.consensus.viewTimeoutGrowth,
      fetchRetryMs: config.consensus.fetchRetryMs,
      proposeGatherMs: config.consensus.proposeGatherMs,
    },
    execution: {
      anchorEveryIndexes: config.execution.anchorEveryIndexes,
      fetchRetryMs: config.execution.fetchRetryMs,
    },
    attestation: {
      voteWindow: config.attestation.voteWindow,
      repushMs: config.attestation.repushMs,
      // The main node has no main node to poll: it attests its own next BatchQC.
      mainNode: config.attestation.mainNodeUrl === "",
    },
  };
}
