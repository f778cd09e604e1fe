import { TopicValidatorResult } from "@libp2p/gossipsub";
import type { Logger } from "pino";
import {
  type AppVote,
  type BatchVoteMessage,
  type ConsensusMessage,
  codecs,
  consensusMessageCodec,
  type HaAnnouncement,
  type LaneQc,
  type LaneVote,
} from "../types/index.ts";
import { openGossip, PublishGenerations, sealGossip } from "./gossip-envelope.ts";
import type { Host } from "./host.ts";
import type { NetMetrics, SharedTopic, Topic } from "./metrics.ts";
import { type ProtocolIds, TOPICS } from "./protocols.ts";
import { checkGossip, type GossipValue, type ValidationContext } from "./validate.ts";

export interface GossipHandlers {
  onLaneVote(vote: LaneVote): void;
  onLaneQc(qc: LaneQc): void;
  onConsensus(msg: ConsensusMessage): void;
  onAppVote(vote: AppVote): void;
  onBatchVote(msg: BatchVoteMessage): void;
  onHaAnnouncement(a: HaAnnouncement): void;
}

/** A rate-limited warning (WarnLimiter.warn): lines of one key beyond a burst are only counted. */
export type Warn = (key: string, data: Record<string, unknown>, msg: string) => void;

const VERDICT = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
} as const;

/**
 * The three gossip topics. Validation happens in gossipsub's topic validator
 * (so a rejected message is neither delivered nor forwarded and costs its
 * sender peer score); the decoded value is remembered by the message's data
 * buffer so the delivery does not decode twice.
 */
export class Gossip {
  readonly #host: Host;
  readonly #ids: ProtocolIds;
  readonly #ctx: ValidationContext;
  readonly #handlers: GossipHandlers;
  readonly #metrics: NetMetrics;
  readonly #log: Logger;
  /** Decoded values between validation and delivery; keyed weakly so it cannot grow. */
  readonly #validated = new WeakMap<Uint8Array, GossipValue>();
  /** Subscribed topic string -> our topic name. */
  readonly #subscribed = new Map<string, Topic>();
  readonly #loopback: boolean;
  /** Called with the sending peer of every rejected message. */
  onReject: (peer: string, topic: Topic, reason: string) => void = () => {};
  /** Re-publish generations (see gossip-envelope.ts): a re-send gets past gossipsub's seen cache. */
  readonly #generations = new PublishGenerations();
  /** Warnings go through the network's rate limiter (a key per kind of event). */
  readonly #warn: Warn;

  constructor(
    host: Host,
    ids: ProtocolIds,
    ctx: ValidationContext,
    handlers: GossipHandlers,
    metrics: NetMetrics,
    log: Logger,
    loopback = true,
    warn: Warn = (_key, data, msg) => log.warn(data, msg),
  ) {
    this.#warn = warn;
    this.#loopback = loopback;
    this.#host = host;
    this.#ids = ids;
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#metrics = metrics;
    this.#log = log;
  }

  start(): void {
    for (const t of TOPICS) this.#subscribe(t, this.#ids.topic[t]);
    // A lane owner's own vote topic: the other members' votes on its blocks.
    const own = this.#ctx.ownLane;
    if (own !== undefined && own !== null) this.#subscribe("lane_vote_owner", this.#ids.laneVoteTo[own]!);
    const pubsub = this.#host.services.pubsub;
    pubsub.addEventListener("message", (evt) => {
      const t = this.#subscribed.get(evt.detail.topic);
      if (t === undefined) return;
      const data = evt.detail.data;
      let value = this.#validated.get(data);
      if (value === undefined) {
        // Not the buffer we validated (should not happen): validate again rather than trust it.
        const payload = openGossip(data);
        const again = payload === null ? null : checkGossip(t, payload, this.#ctx);
        if (again?.verdict !== "accept") return;
        value = again.value;
      }
      this.#deliver(value);
    });
  }

  #subscribe(t: Topic, topicString: string): void {
    const pubsub = this.#host.services.pubsub;
    this.#subscribed.set(topicString, t);
    pubsub.topicValidators.set(topicString, (peer, msg) => {
      const payload = openGossip(msg.data);
      const result =
        payload === null ? ({ verdict: "reject", reason: "decode" } as const) : checkGossip(t, payload, this.#ctx);
      if (result.verdict === "accept") {
        this.#metrics.message(t, "accept", "ok");
        this.#validated.set(msg.data, result.value);
      } else {
        this.#metrics.message(t, result.verdict, result.reason);
        if (result.verdict === "reject") {
          this.#log.debug({ topic: t, peer: peer.toString(), reason: result.reason }, "rejected gossip message");
          this.onReject(peer.toString(), t, result.reason);
        }
      }
      return VERDICT[result.verdict];
    });
    pubsub.subscribe(topicString);
  }

  /** A vote to every member (the owner's own vote, where voters certify from it: lanes/vote-routing.ts). */
  publishLaneVote(vote: LaneVote): Promise<void> {
    return this.#publish("lane_vote", codecs.laneVote.encode(vote), { topic: "lane_vote", value: vote });
  }

  /** A vote to its lane's owner only: on the topic only the owner (each of its HA instances) subscribes to. */
  sendLaneVote(vote: LaneVote): Promise<void> {
    const topicString = this.#ids.laneVoteTo[vote.body.lane];
    if (topicString === undefined) return Promise.resolve();
    return this.#publish(
      "lane_vote_owner",
      codecs.laneVote.encode(vote),
      { topic: "lane_vote_owner", value: vote },
      topicString,
    );
  }

  publishLaneQc(qc: LaneQc): Promise<void> {
    return this.#publish("lane_qc", codecs.laneQc.encode(qc), { topic: "lane_qc", value: qc });
  }

  publishConsensus(msg: ConsensusMessage): Promise<void> {
    return this.#publish("consensus", consensusMessageCodec.encode(msg), { topic: "consensus", value: msg });
  }

  publishAppVote(vote: AppVote): Promise<void> {
    return this.#publish("app_vote", codecs.appVote.encode(vote), { topic: "app_vote", value: vote });
  }

  /** A batch vote; each re-push carries a new attempt, so its bytes (and message id) are new. */
  publishBatchVote(msg: BatchVoteMessage): Promise<void> {
    return this.#publish("batch_vote", codecs.batchVoteMessage.encode(msg), { topic: "batch_vote", value: msg });
  }

  publishHaAnnouncement(a: HaAnnouncement): Promise<void> {
    return this.#publish("ha_announce", codecs.haAnnouncement.encode(a), { topic: "ha_announce", value: a });
  }

  /** Test and bench hook: publish raw message bytes (enveloped like any publish) on a topic without loopback. */
  publishRaw(topic: SharedTopic, data: Uint8Array): Promise<void> {
    return this.#send(topic, this.#ids.topic[topic], data);
  }

  /** Own messages skip the network: delivered to the local handler on a microtask, never re-entrantly. */
  async #publish(
    topic: Topic,
    data: Uint8Array,
    value: GossipValue,
    topicString = this.#ids.topic[topic as SharedTopic],
  ): Promise<void> {
    if (this.#loopback) queueMicrotask(() => this.#deliver(value));
    await this.#send(topic, topicString, data);
  }

  async #send(topic: Topic, topicString: string, data: Uint8Array): Promise<void> {
    const envelope = sealGossip(data, this.#generations.next(topicString, data));
    try {
      await this.#host.services.pubsub.publish(topicString, envelope);
    } catch (err) {
      // No backpressure and no retry here: the machines re-send what matters on
      // their timers, and the envelope's generation makes each re-send a new
      // gossip message (gossip-envelope.ts).
      // Rate-limited per topic: with no peers subscribed every publish fails, many times a second.
      this.#warn(`publish:${topic}`, { topic, err: (err as Error).message }, "gossip publish failed");
    }
  }

  #deliver(v: GossipValue): void {
    try {
      switch (v.topic) {
        case "lane_vote":
        case "lane_vote_owner":
          this.#handlers.onLaneVote(v.value);
          break;
        case "lane_qc":
          this.#handlers.onLaneQc(v.value);
          break;
        case "consensus":
          this.#handlers.onConsensus(v.value);
          break;
        case "app_vote":
          this.#handlers.onAppVote(v.value);
          break;
        case "batch_vote":
          this.#handlers.onBatchVote(v.value);
          break;
        case "ha_announce":
          this.#handlers.onHaAnnouncement(v.value);
          break;
      }
    } catch (err) {
      this.#log.error({ topic: v.topic, err: (err as Error).message }, "gossip handler threw");
    }
  }

  /** Gossipsub's score of a peer (negative after rejected messages). */
  score(peerId: string): number {
    // getScore is on the implementation class, not on the exported interface.
    const pubsub = this.#host.services.pubsub as unknown as { getScore(id: string): number };
    return pubsub.getScore(peerId);
  }
}
