import { peerIdFromString } from "@libp2p/peer-id";
import type { Logger } from "pino";
import type { Committee } from "../committee/index.ts";
import { type KeyPair, libp2pPrivateKey, peerIdOf, VerifyCache } from "../crypto/index.ts";
import { WARN_WINDOW_MS, WarnLimiter } from "../observability/index.ts";
import type {
  AppVote,
  BatchVoteMessage,
  ConsensusMessage,
  HaAnnouncement,
  LaneBlock,
  LaneQc,
  LaneVote,
} from "../types/index.ts";
import { codecs } from "../types/index.ts";
import { Gossip } from "./gossip.ts";
import { createHost, type Host } from "./host.ts";
import { type NetLimits, resolveLimits } from "./limits.ts";
import { NetMetrics, type NetMetricsSink, type SharedTopic } from "./metrics.ts";
import { PeerGuard } from "./peer-guard.ts";
import { protocolIds } from "./protocols.ts";
import { handlePushStream, PushSender } from "./push.ts";
import { parsePeerAddress, Redialer } from "./redialer.ts";
import { SyncClient, type SyncClientApi } from "./sync-client.ts";
import { SyncServer, type SyncServerHandlers } from "./sync-server.ts";

/** Called only with decoded messages whose signatures have been checked. */
export interface NetworkHandlers {
  onLaneBlock(block: LaneBlock, fromPeer: string): void;
  onLaneVote(vote: LaneVote): void;
  onLaneQc(qc: LaneQc): void;
  onConsensus(msg: ConsensusMessage): void;
  onAppVote(vote: AppVote): void;
  onBatchVote(msg: BatchVoteMessage): void;
  /** Optional: lane votes it calls redundant are ignored (not penalized) before their signature is checked. */
  isRedundantLaneVote?(vote: LaneVote): boolean;
  /** Optional: announced LaneQCs it calls redundant are ignored (not penalized) unchecked. */
  isRedundantLaneQc?(qc: LaneQc): boolean;
  /** Optional: consensus messages it calls redundant (a member's, or certificates) are ignored (not penalized) unchecked. */
  isRedundantConsensus?(m: ConsensusMessage): boolean;
  /** Served to syncing peers; omit to serve nothing (requests answered "unavailable"). */
  syncServer?: SyncServerHandlers;
}

export interface NetworkOptions {
  committee: Committee;
  /** The libp2p identity. For a validator its peer id must be the one genesis lists. */
  nodeKey: KeyPair;
  /** This node's committee index, or null for an observer (never pushes, never signs). */
  validatorIndex: number | null;
  /**
   * One instance of a validator in the HA mode (DESIGN section 14): its
   * peer id need not be the one genesis lists; peers learn it from its
   * signed announcement (publishHaAnnouncement).
   */
  haInstance?: boolean;
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/26656`. */
  listen: string[];
  /** Multiaddrs with `/p2p/<peerId>` to keep connected (committee members and bootstrap peers). */
  peers: string[];
  /** Must equal the committee's chain id when given (a cross-check of config against genesis). */
  chainId?: string;
  logger: Logger;
  limits?: Partial<NetLimits>;
  handlers: NetworkHandlers;
  metricsSink?: NetMetricsSink;
  /** Shared with the state machines so a vote checked here is free inside a certificate. */
  verifyCache?: VerifyCache;
  /**
   * Deliver own published and pushed messages to the local handlers (default
   * true). The runtime turns it off: its protocol driver feeds its own
   * messages back itself, without a round through the handlers.
   */
  loopback?: boolean;
}

export interface PeerInfo {
  peerId: string;
  /** Committee index of the peer, or null for an observer. */
  validatorIndex: number | null;
  addrs: string[];
}

export type PushPeerStatus = ReturnType<PushSender["state"]>;

export interface Network {
  readonly peerId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Multiaddrs this node listens on, with its `/p2p/` suffix (for tests and `status`). */
  addresses(): string[];
  /** A lane vote to every member (the owner's own vote: lanes/vote-routing.ts). */
  publishLaneVote(vote: LaneVote): Promise<void>;
  /** A lane vote to its lane's owner only (every HA instance of it). */
  sendLaneVote(vote: LaneVote): Promise<void>;
  /** An own lane's LaneQC to every member. */
  publishLaneQc(qc: LaneQc): Promise<void>;
  publishConsensus(msg: ConsensusMessage): Promise<void>;
  publishAppVote(vote: AppVote): Promise<void>;
  publishBatchVote(msg: BatchVoteMessage): Promise<void>;
  /** Writes an own lane block once to every other committee member (bounded queue per peer). */
  pushLaneBlock(block: LaneBlock): void;
  /** HA: announce (signed by the validator key) that this instance now signs for its validator. */
  publishHaAnnouncement(a: HaAnnouncement): Promise<void>;
  /** The peer id that signs for each committee member now (genesis, or the highest announced epoch). */
  activePeers(): { validator: number; peerId: string; epoch: number }[];
  sync: SyncClientApi;
  peers(): PeerInfo[];
  /** Per committee peer: blocks waiting in the push queue and the stream's state. */
  pushStatus(): PushPeerStatus[];
  metrics: NetMetrics;
  /** Peers known to be subscribed to a topic (the gossip reach of a publish). */
  topicPeers(topic: SharedTopic): string[];
  /** Peers subscribed to lane `lane`'s owner vote topic (its owner's instances). */
  laneOwnerPeers(lane: number): string[];
  /** Peers in gossipsub's mesh for a topic: none, by design (host.ts: nothing is forwarded). */
  meshPeers(topic: SharedTopic): string[];
  /** Gossipsub's score of a connected peer (negative once it sent invalid messages). */
  peerScore(peerId: string): number;
  /** True while a peer is kept out for having sent invalid messages. */
  isBanned(peerId: string): boolean;
  /** Bench and test hook: raw bytes onto a topic, no validation or loopback on this side. */
  publishRaw(topic: SharedTopic, data: Uint8Array): Promise<void>;
}

export async function createNetwork(opts: NetworkOptions): Promise<Network> {
  const { committee, handlers } = opts;
  const chainId = committee.chainId;
  if (opts.chainId !== undefined && opts.chainId !== chainId) {
    throw new Error(`configured chain id ${opts.chainId} differs from genesis chain id ${chainId}`);
  }
  const limits = resolveLimits(opts.limits);
  const ids = protocolIds(chainId, committee.size);
  const ownPeerId = peerIdOf(opts.nodeKey.publicKey);
  const index = opts.validatorIndex;
  if (index !== null) {
    const member = committee.member(index);
    if (member === undefined) throw new Error(`validator index ${index} is not in the committee of ${committee.size}`);
    if (member.peerId !== ownPeerId && opts.haInstance !== true) {
      throw new Error(
        `node key gives peer id ${ownPeerId} but genesis lists ${member.peerId} for validator ${index}: wrong node_key file?`,
      );
    }
  }
  for (const m of committee.members) {
    try {
      peerIdFromString(m.peerId);
    } catch {
      throw new Error(`genesis validator ${m.index} (${m.name}) has an invalid peer id ${JSON.stringify(m.peerId)}`);
    }
  }
  const log = opts.logger.child({ module: "net" });
  const metrics = new NetMetrics(opts.metricsSink);
  const cache = opts.verifyCache ?? new VerifyCache();
  const peerAddrs = opts.peers.map(parsePeerAddress);
  const loopback = opts.loopback ?? true;

  // Warnings one peer (or one kind of event) can cause are rate-limited (the suppressed ones are
  // counted); the summaries of ended windows are written on a timer while the network runs.
  const warnings = new WarnLimiter(log, () => metrics.warningSuppressed());
  let warningsTimer: NodeJS.Timeout | undefined;
  let hangUp = (_peer: string) => {};
  const guard = new PeerGuard({
    banMs: limits.banMs,
    hangUp: (peer) => hangUp(peer),
    onBan: () => metrics.peerBanned(),
    log: log.child({ part: "guard" }),
    onWarningSuppressed: () => metrics.warningSuppressed(),
  });
  const host: Host = await createHost({
    privateKey: libp2pPrivateKey(opts.nodeKey),
    listen: opts.listen,
    ids,
    limits,
    isBanned: (peer) => guard.isBanned(peer),
  });
  hangUp = (peer) => {
    host.hangUp(peerIdFromString(peer)).catch((err: Error) => log.debug({ peer, err: err.message }, "hang-up failed"));
  };
  const gossip = new Gossip(
    host,
    ids,
    {
      committee,
      chainId,
      maxConsensusMessageBytes: limits.maxConsensusMessageBytes,
      cache,
      isRedundantLaneVote: handlers.isRedundantLaneVote?.bind(handlers),
      isRedundantLaneQc: handlers.isRedundantLaneQc?.bind(handlers),
      isRedundantConsensus: handlers.isRedundantConsensus?.bind(handlers),
      ownLane: index,
    },
    {
      onLaneVote: (v) => handlers.onLaneVote(v),
      onLaneQc: (qc) => handlers.onLaneQc(qc),
      onConsensus: (m) => handlers.onConsensus(m),
      onAppVote: (v) => handlers.onAppVote(v),
      onBatchVote: (m) => handlers.onBatchVote(m),
      onHaAnnouncement: (a) => onHaAnnouncement(a),
    },
    metrics,
    log.child({ part: "gossip" }),
    loopback,
    (key, data, msg) => warnings.warn(key, data, msg),
  );
  gossip.onReject = (peer, topic, reason) => guard.rejected(peer, `gossip ${topic}: ${reason}`);
  const syncClient = new SyncClient(host, ids.sync, committee, cache, limits, metrics, log.child({ part: "sync" }));
  const unavailable: SyncServerHandlers = {
    status: () => ({
      commitQcs: { first: 0, next: 0 },
      globalBlocks: { first: 0, next: 0 },
      lanes: [],
      batchQcs: { first: 0, next: 0 },
      views: { highest: { index: 0, round: 0 }, bySigner: [] },
    }),
    commitQcs: () => [],
    laneBlocks: () => [],
    globalBlocks: () => [],
    batchQcs: () => [],
  };
  const syncServer = new SyncServer(
    handlers.syncServer ?? unavailable,
    limits,
    metrics,
    log.child({ part: "sync" }),
    (peer) => committee.indexOfPeerId(peer) !== undefined,
  );
  const redialer = new Redialer(host, limits, log.child({ part: "dial" }));
  for (const p of peerAddrs) if (p.peerId !== ownPeerId) redialer.add(peerIdFromString(p.peerId), [p.addr]);

  // The instance that signs for each member: genesis's peer id until an HA
  // announcement with a higher epoch names another (highest epoch wins).
  const active = new Map<number, { peerId: string; epoch: number }>(
    committee.members.map((m) => [m.index, { peerId: m.peerId, epoch: 0 }]),
  );
  const laneOfPeer = (peerId: string): number | undefined => {
    for (const [validator, a] of active) if (a.peerId === peerId) return validator;
    return undefined;
  };

  // Push targets: every other committee member's active instance, only when this node is a validator.
  const pushers = new Map<number, PushSender>();
  const newPusher = (peerId: string) =>
    new PushSender(host, ids.push, peerId, limits, metrics, log.child({ part: "push" }));
  for (const m of committee.members) {
    if (m.peerId === ownPeerId || m.index === index) continue;
    if (index !== null) {
      pushers.set(m.index, newPusher(m.peerId));
      redialer.add(peerIdFromString(m.peerId), []);
    }
  }

  const onHaAnnouncement = (a: HaAnnouncement) => {
    const { validator, epoch } = a.body;
    const peerId = peerIdOf(a.body.nodePublicKey);
    const cur = active.get(validator);
    if (cur === undefined || epoch <= cur.epoch) return;
    active.set(validator, { peerId, epoch });
    if (peerId === cur.peerId) return;
    log.info({ validator, peerId, epoch, previous: cur.peerId }, "validator's active instance changed");
    if (validator === index || peerId === ownPeerId) return;
    const old = pushers.get(validator);
    if (old !== undefined) {
      void old.stop();
      const next = newPusher(peerId);
      pushers.set(validator, next);
      redialer.add(peerIdFromString(peerId), []);
      next.kick();
    }
  };

  const updatePeers = () => {
    const peers = host.getPeers().map((p) => p.toString());
    metrics.setPeers(peers.length, peers.filter((p) => committee.indexOfPeerId(p) !== undefined).length);
  };

  // One lifecycle per instance: a restart is a new createNetwork() (as after a process restart).
  let state: "new" | "started" | "stopped" = "new";
  const network: Network = {
    peerId: ownPeerId,

    async start() {
      if (state !== "new") throw new Error(`network already ${state}: create a new one to restart`);
      state = "started";
      warningsTimer = setInterval(() => warnings.flush(), WARN_WINDOW_MS);
      warningsTimer.unref();
      await host.handle(
        ids.push,
        (stream, connection) =>
          handlePushStream(stream, connection, {
            committee,
            chainId,
            cache,
            metrics,
            log: log.child({ part: "push" }),
            laneOfPeer,
            onLaneBlock: (b, from) => handlers.onLaneBlock(b, from),
            onInvalid: (peer, validator, reason) => {
              warnings.warn(`push:${peer}`, { peer, validator, reason }, "invalid pushed lane block");
              guard.rejected(peer, `pushed lane block: ${reason}`);
            },
          }),
        { maxInboundStreams: 4, maxOutboundStreams: 4 },
      );
      await host.handle(ids.sync, (stream, connection) => syncServer.handle(stream, connection), {
        maxInboundStreams: limits.maxSyncInflightPerPeer + 2,
        maxOutboundStreams: 16,
      });
      host.addEventListener("peer:connect", (evt) => {
        const peer = evt.detail.toString();
        if (guard.isBanned(peer)) {
          hangUp(peer);
          return;
        }
        updatePeers();
        for (const p of pushers.values()) if (p.peerId.toString() === peer) p.kick();
      });
      host.addEventListener("peer:identify", (evt) => {
        redialer.learned(evt.detail.peerId.toString(), evt.detail.listenAddrs);
      });
      host.addEventListener("peer:disconnect", (evt) => {
        const peer = evt.detail.toString();
        updatePeers();
        syncClient.forgetPeer(peer);
        syncServer.forgetPeer(peer);
        redialer.disconnected(peer);
      });
      await host.start();
      gossip.start();
      // Committee peers are never pruned by the connection manager.
      for (const m of committee.members) {
        if (m.peerId === ownPeerId) continue;
        await host.peerStore.merge(peerIdFromString(m.peerId), { tags: { "validator-committee": { value: 100 } } });
      }
      redialer.start();
      // The runtime logs the one "network started" line operators read; this is its detail.
      log.debug(
        { peerId: ownPeerId, validator: index, listen: network.addresses(), peers: peerAddrs.length },
        "p2p host listening",
      );
    },

    async stop() {
      if (state !== "started") return;
      state = "stopped";
      clearInterval(warningsTimer);
      warnings.flush(Number.POSITIVE_INFINITY);
      redialer.stop();
      await Promise.all([...pushers.values()].map((p) => p.stop()));
      await host.stop();
      log.info("network stopped");
    },

    addresses() {
      return host.getMultiaddrs().map((a) => a.toString());
    },

    publishLaneVote: (vote) => gossip.publishLaneVote(vote),
    sendLaneVote: (vote) => gossip.sendLaneVote(vote),
    publishLaneQc: (qc) => gossip.publishLaneQc(qc),
    publishConsensus: (msg) => gossip.publishConsensus(msg),
    publishAppVote: (vote) => gossip.publishAppVote(vote),
    publishBatchVote: (msg) => gossip.publishBatchVote(msg),
    publishRaw: (topic, data) => gossip.publishRaw(topic, data),
    publishHaAnnouncement(a) {
      onHaAnnouncement(a);
      return gossip.publishHaAnnouncement(a);
    },
    activePeers: () => [...active].map(([validator, a]) => ({ validator, ...a })),

    pushLaneBlock(block) {
      if (index === null) throw new Error("an observer does not push lane blocks");
      if (block.header.lane !== index)
        throw new Error(`lane ${block.header.lane} is not this validator's lane ${index}`);
      // Encoded once, written to every peer's queue.
      const frame = codecs.laneBlock.encode(block);
      if (frame.byteLength > committee.params.maxLaneBlockBytes) {
        throw new Error(
          `lane block of ${frame.byteLength} bytes exceeds maxLaneBlockBytes ${committee.params.maxLaneBlockBytes}`,
        );
      }
      if (loopback) {
        queueMicrotask(() => {
          try {
            handlers.onLaneBlock(block, ownPeerId);
          } catch (err) {
            log.error({ err: (err as Error).message }, "lane block handler threw");
          }
        });
      }
      for (const p of pushers.values()) p.enqueue(frame);
    },

    sync: syncClient,

    peers() {
      const byPeer = new Map<string, string[]>();
      for (const c of host.getConnections()) {
        const id = c.remotePeer.toString();
        byPeer.set(id, [...(byPeer.get(id) ?? []), c.remoteAddr.toString()]);
      }
      return [...byPeer].map(([peerId, addrs]) => ({
        peerId,
        validatorIndex: committee.indexOfPeerId(peerId) ?? null,
        addrs,
      }));
    },

    pushStatus: () => [...pushers.values()].map((p) => p.state()),
    metrics,
    topicPeers: (topic) => host.services.pubsub.getSubscribers(ids.topic[topic]).map((p) => p.toString()),
    laneOwnerPeers: (lane) => host.services.pubsub.getSubscribers(ids.laneVoteTo[lane] ?? "").map((p) => p.toString()),
    // getMeshPeers is on the implementation class, not on the exported interface.
    meshPeers: (topic) =>
      (host.services.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(ids.topic[topic]),
    peerScore: (peerId) => gossip.score(peerId),
    isBanned: (peerId) => guard.isBanned(peerId),
  };
  return network;
}
