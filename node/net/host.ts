import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub, StrictNoSign } from "@libp2p/gossipsub";
import { createTopicScoreParams } from "@libp2p/gossipsub/score";
import { identify } from "@libp2p/identify";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { createLibp2p } from "libp2p";
import { latin1, sha256 } from "../types/index.ts";
import { coalescedTcp } from "./coalesced-tcp.ts";
import { installLengthPrefixGuard } from "./length-prefix-guard.ts";
import type { NetLimits } from "./limits.ts";
import { allTopicStrings, type ProtocolIds } from "./protocols.ts";

export type Host = Libp2p<{ pubsub: GossipSub; identify: unknown; ping: unknown }>;

const encoder = new TextEncoder();
const SEP = new Uint8Array([0]);

/**
 * One libp2p 3 node: TCP (each tick's writes coalesced, coalesced-tcp.ts),
 * Noise, Yamux, identify, ping and gossipsub, tuned for a small committee
 * that must see every message:
 * - StrictNoSign with a content-hash message id: protocol messages carry
 *   their own validator signatures, gossipsub's per-message signing only
 *   costs throughput (LIMITS.md: ~2.5x).
 * - IDONTWANT off: in a small full mesh it is pure overhead (LIMITS.md).
 * - The connection monitor still pings but never aborts a connection whose
 *   ping queued behind megabytes of lane blocks (LIMITS.md pitfall).
 * - Invalid messages cost peer score on every topic, so a peer that keeps
 *   sending them is graylisted.
 */
export async function createHost(opts: {
  privateKey: PrivateKey;
  listen: string[];
  ids: ProtocolIds;
  limits: NetLimits;
  /** Peers never dialled (banned); their inbound connections are closed on connect (network.ts). */
  isBanned?: (peerId: string) => boolean;
}): Promise<Host> {
  installLengthPrefixGuard();
  const isBanned = opts.isBanned ?? (() => false);
  const { ids, limits } = opts;
  const topicScores = Object.fromEntries(
    allTopicStrings(ids).map((topicString) => [
      topicString,
      createTopicScoreParams({
        topicWeight: 1,
        // No positive or delivery-deficit terms: only invalid messages count.
        timeInMeshWeight: 0,
        firstMessageDeliveriesWeight: 0,
        meshMessageDeliveriesWeight: 0,
        meshFailurePenaltyWeight: 0,
        invalidMessageDeliveriesWeight: -10,
        invalidMessageDeliveriesDecay: 0.9,
      }),
    ]),
  );
  const node = await createLibp2p({
    privateKey: opts.privateKey,
    start: false,
    addresses: { listen: opts.listen },
    transports: [coalescedTcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: limits.maxConnections,
      inboundConnectionThreshold: limits.inboundConnectionsPerSecond,
      // Our own redialer keeps committee connections; libp2p's gives up after 5 tries.
      reconnectRetries: 0,
    },
    connectionMonitor: { abortConnectionOnPingFailure: false },
    connectionGater: {
      denyDialPeer: (peerId) => isBanned(peerId.toString()),
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        emitSelf: false,
        fallbackToFloodsub: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        allowedTopics: allTopicStrings(ids),
        msgIdFn: (msg) => sha256(encoder.encode(msg.topic), SEP, msg.data),
        // The id's key in gossipsub's seen and message caches, made for every
        // id of every IHAVE (each peer advertises each message to every peer
        // for 3 heartbeats). The default, base64 written in JavaScript, was
        // 9% of a loaded node's allocations; one character per byte, made
        // natively, is as exact and never leaves the process.
        msgIdToStrFn: latin1,
        maxInboundDataLength: limits.maxGossipFrameBytes,
        maxOutboundBufferSize: 4 * limits.maxGossipFrameBytes,
        idontwantMinDataSize: Number.MAX_SAFE_INTEGER,
        // No mesh: a publish goes to every subscribed peer at once (floodPublish)
        // and a received message is not forwarded. The committee is fully
        // connected, so a forward is only a duplicate: (n-1)^2 sends per message
        // instead of n-1 (9 vs 3 at n = 4, 36 vs 6 at n = 7). A peer that missed
        // a message (a link down) gets it from any neighbour's IHAVE/IWANT
        // gossip at the next heartbeat: IHAVE goes to every peer (gossipFactor
        // 1; the default picks 6 at random, which leaves an observer linked to
        // one validator of a larger committee unserved). The price: each
        // message id is advertised to every peer for 3 heartbeats (32 bytes each).
        D: 0,
        Dlo: 0,
        Dhi: 0,
        Dscore: 0,
        Dout: 0,
        gossipFactor: 1,
        scoreParams: {
          // Only invalid messages cost score (topic params above); IWANT
          // promises a neighbour could not keep while a link was down do not.
          behaviourPenaltyWeight: 0,
          topics: topicScores,
          // Local clusters and co-located validators share an IP: no colocation penalty.
          IPColocationFactorWeight: 0,
        },
      }),
    },
  });
  return node as unknown as Host;
}
