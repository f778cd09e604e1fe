import { MAX_CONSENSUS_MESSAGE_BYTES } from "../types/index.ts";

/**
 * Every bound of the network layer, with defaults sized for a committee of a
 * few dozen validators. From config `[p2p]`: maxMessageBytes ->
 * maxGossipFrameBytes, redialMaxBackoffMs -> redialMaxMs; the rest keep
 * their defaults unless the runtime sets them.
 */
export interface NetLimits {
  /** Largest message accepted on the `consensus` topic (proposals carry QCs). */
  maxConsensusMessageBytes: number;
  /** Largest gossipsub RPC frame read from a peer (a few messages batched). */
  maxGossipFrameBytes: number;
  /** Lane blocks queued per peer on the push protocol; the oldest is dropped beyond it. */
  maxPushQueueBlocks: number;
  /** Bytes queued per peer on the push protocol; the oldest is dropped beyond it. */
  maxPushQueueBytes: number;
  /** Items in one sync response. */
  maxSyncItems: number;
  /** Bytes in one sync response (the server stops after the item that crosses it). */
  maxSyncResponseBytes: number;
  /** Sync requests a peer may have in flight at this server. */
  maxSyncInflightPerPeer: number;
  /** Sync requests per second a peer may make (token bucket, burst of the same size). */
  maxSyncRequestsPerSecond: number;
  /** Sync requests this server has in flight over all peers. */
  maxSyncInflight: number;
  /** Bytes of sync responses this server holds (read, not yet written) over all peers. */
  maxSyncInflightBytes: number;
  /** Percent of both global sync budgets only committee members may use (0-100). */
  syncReservedPercent: number;
  /** A peer that sent an invalid message is disconnected and refused for this long. */
  banMs: number;
  /** A sync request is abandoned (client) or its stream aborted (server) after this long. */
  syncTimeoutMs: number;
  /** Peer statuses are cached this long before a fetch asks again. */
  syncStatusTtlMs: number;
  /** Redial backoff: first delay, doubled per failure up to the cap. */
  redialMinMs: number;
  redialMaxMs: number;
  /** Connections the host keeps (committee members are never pruned). */
  maxConnections: number;
  /** Inbound connections per second from one IP (a local cluster shares 127.0.0.1). */
  inboundConnectionsPerSecond: number;
}

export const DEFAULT_NET_LIMITS: NetLimits = {
  maxConsensusMessageBytes: 1024 * 1024,
  maxGossipFrameBytes: 2 * 1024 * 1024,
  maxPushQueueBlocks: 256,
  maxPushQueueBytes: 64 * 1024 * 1024,
  maxSyncItems: 256,
  maxSyncResponseBytes: 16 * 1024 * 1024,
  maxSyncInflightPerPeer: 4,
  maxSyncRequestsPerSecond: 50,
  maxSyncInflight: 32,
  maxSyncInflightBytes: 128 * 1024 * 1024,
  syncReservedPercent: 50,
  banMs: 600_000,
  syncTimeoutMs: 10_000,
  syncStatusTtlMs: 2_000,
  redialMinMs: 250,
  redialMaxMs: 10_000,
  maxConnections: 300,
  inboundConnectionsPerSecond: 100,
};

/** Merges overrides onto the defaults and rejects values outside what the code can honour. */
export function resolveLimits(overrides: Partial<NetLimits> = {}): NetLimits {
  const limits = { ...DEFAULT_NET_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(limits)) {
    if (key === "syncReservedPercent") {
      if (!Number.isInteger(value) || value < 0 || value > 100)
        throw new Error(`net limit syncReservedPercent must be an integer 0-100, got ${String(value)}`);
      continue;
    }
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`net limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (limits.maxConsensusMessageBytes > MAX_CONSENSUS_MESSAGE_BYTES) {
    throw new Error(
      `net limit maxConsensusMessageBytes ${limits.maxConsensusMessageBytes} exceeds the protocol limit ${MAX_CONSENSUS_MESSAGE_BYTES}`,
    );
  }
  if (limits.maxGossipFrameBytes < limits.maxConsensusMessageBytes + 1024) {
    throw new Error("net limit maxGossipFrameBytes must exceed maxConsensusMessageBytes by at least 1 KiB of framing");
  }
  if (limits.maxSyncInflightBytes < limits.maxSyncResponseBytes)
    throw new Error("net limit maxSyncInflightBytes must be at least maxSyncResponseBytes");
  if (limits.redialMaxMs < limits.redialMinMs) throw new Error("net limit redialMaxMs must be >= redialMinMs");
  return limits;
}
