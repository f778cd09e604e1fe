/**
 * Networking: a libp2p 3 host (TCP, Noise, Yamux, identify, ping, gossipsub),
 * the lane push protocol, the gossip topics and the sync protocol.
 *
 * The runtime calls `createNetwork(...)` and gets back publish/push
 * functions, the sync client and metrics. Handlers receive only decoded
 * messages whose signatures have been verified; the net layer never imports
 * a state machine.
 *
 * Verification split between this layer and the state machines:
 * - Here (before any handler runs): canonical decoding within the size bound
 *   of the topic or protocol; signer / lane is a committee member; the
 *   message's own signature under its domain (lane vote, app vote, prepare,
 *   commit, timeout vote, the view leader's proposal signature, the lane
 *   owner's lane block signature); a lane block's header commits to its
 *   transactions (txCount, payloadHash); pushed blocks belong to the pusher's
 *   own lane; the certificate of a CommitQC or TimeoutQC announcement
 *   (node/committee's verifyCommitQc / verifyTimeoutQc, highQc included);
 *   for sync responses also numbering, parent hash links and, for global
 *   blocks, the CommitQC and agreement with its ranges.
 * - In the state machines: certificates nested inside a message (LaneQCs,
 *   TimeoutQC and previous CommitQC inside a proposal, the lock inside a
 *   timeout vote), proposal validity and the
 *   reproposal rule, lane windows, ordering and equivocation. They must
 *   check those against their own state anyway.
 *
 * Own messages: publish*() and pushLaneBlock() deliver to the local handler
 * on a microtask (never re-entrantly, never through the network); gossipsub
 * runs with emitSelf off.
 */
export { createHost, type Host } from "./host.ts";
export { DEFAULT_NET_LIMITS, type NetLimits, resolveLimits } from "./limits.ts";
export {
  NetMetrics,
  type NetMetricsSink,
  type NetMetricsSnapshot,
  type PushEvent,
  type SharedTopic,
  type SyncKind,
  type SyncOutcome,
  type SyncRole,
  type Topic,
  type Verdict,
} from "./metrics.ts";
export {
  createNetwork,
  type Network,
  type NetworkHandlers,
  type NetworkOptions,
  type PeerInfo,
  type PushPeerStatus,
} from "./network.ts";
export { type ProtocolIds, protocolIds, TOPICS } from "./protocols.ts";
export { type SyncClientApi, SyncError } from "./sync-client.ts";
export type { SyncServerHandlers } from "./sync-server.ts";
export type { HeldRange, SyncStatus } from "./sync-wire.ts";
