import type { ConsensusConfig } from "./types.ts";

/**
 * The view timeout: the base timeout, multiplied by viewTimeoutGrowth on each consecutive timeout
 * (so a slow network eventually gets views long enough to finish), capped.
 * Finalizing an index resets the streak.
 */
export function viewTimeoutMs(config: ConsensusConfig, consecutiveTimeouts: number): number {
  const grown = config.viewTimeoutMs * Math.max(1, config.viewTimeoutGrowth) ** Math.min(consecutiveTimeouts, 30);
  return Math.min(grown, config.maxViewTimeoutMs);
}
