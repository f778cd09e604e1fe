import type { ConsensusConfig } from "./types.ts";

/**
 * The view timeout: the base timeout, doubled on each consecutive timeout
 * (so a slow network eventually gets views long enough to finish), capped.
 * Finalizing an index resets the streak.
 */
export function viewTimeoutMs(config: ConsensusConfig, consecutiveTimeouts: number): number {
  const grown = config.viewTimeoutMs * 2 ** Math.min(consecutiveTimeouts, 30);
  return Math.min(grown, config.maxViewTimeoutMs);
}
