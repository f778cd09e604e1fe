/**
 * Network counters. The net layer keeps plain counters (readable in tests and
 * by the status line) and forwards every event to an optional sink, which the
 * observability module binds to prom-client. No prom-client import here: the
 * registry belongs to the runtime.
 *
 * Binding to node/observability's metrics (done by the runtime):
 *   message(topic, verdict)       -> gossipMessages.inc({ topic, verdict })
 *   sync(kind, role, outcome)     -> syncRequests.inc({ kind, direction: role, outcome })
 *   peers(connected)              -> peers.set(connected)
 *   push("dropped", n)            -> dropped.inc({ queue: "push" }, n)
 */

/** The topics every node subscribes to. */
export type SharedTopic = "lane_vote" | "lane_qc" | "consensus" | "app_vote" | "batch_vote" | "ha_announce";
/** Every topic, for metrics: the shared ones and a lane owner's own vote topic (`lane_vote_owner`, one per lane). */
export type Topic = SharedTopic | "lane_vote_owner";
export type Verdict = "accept" | "ignore" | "reject";
export type SyncKind = "status" | "commitQcs" | "laneBlocks" | "globalBlocks" | "batchQcs";
export type SyncRole = "client" | "server";
export type SyncOutcome = "ok" | "error" | "timeout" | "limited" | "invalid" | "pruned";
export type PushEvent = "sent" | "received" | "dropped" | "rejected";

export interface NetMetricsSink {
  message?(topic: Topic, verdict: Verdict, reason: string): void;
  push?(event: PushEvent, count: number): void;
  sync?(kind: SyncKind, role: SyncRole, outcome: SyncOutcome): void;
  peers?(connected: number, committeeConnected: number): void;
  /** A peer was disconnected and banned. */
  banned?(): void;
  /** A warning line was not written (one source over its rate). */
  warningSuppressed?(): void;
}

export interface NetMetricsSnapshot {
  /** `${topic}/${verdict}` -> count. */
  messages: Record<string, number>;
  /** `${topic}/${verdict}/${reason}` -> count (reasons are a short fixed set). */
  reasons: Record<string, number>;
  push: Record<PushEvent, number>;
  /** `${kind}/${role}/${outcome}` -> count. */
  sync: Record<string, number>;
  peers: { connected: number; committeeConnected: number };
}

export class NetMetrics {
  readonly #sink: NetMetricsSink | undefined;
  readonly #messages = new Map<string, number>();
  readonly #reasons = new Map<string, number>();
  readonly #sync = new Map<string, number>();
  readonly #push: Record<PushEvent, number> = { sent: 0, received: 0, dropped: 0, rejected: 0 };
  #peers = { connected: 0, committeeConnected: 0 };
  #banned = 0;
  #warningsSuppressed = 0;

  constructor(sink?: NetMetricsSink) {
    this.#sink = sink;
  }

  message(topic: Topic, verdict: Verdict, reason: string): void {
    bump(this.#messages, `${topic}/${verdict}`);
    bump(this.#reasons, `${topic}/${verdict}/${reason}`);
    this.#sink?.message?.(topic, verdict, reason);
  }

  pushEvent(event: PushEvent, count = 1): void {
    this.#push[event] += count;
    this.#sink?.push?.(event, count);
  }

  syncEvent(kind: SyncKind, role: SyncRole, outcome: SyncOutcome): void {
    bump(this.#sync, `${kind}/${role}/${outcome}`);
    this.#sink?.sync?.(kind, role, outcome);
  }

  peerBanned(): void {
    this.#banned++;
    this.#sink?.banned?.();
  }

  warningSuppressed(): void {
    this.#warningsSuppressed++;
    this.#sink?.warningSuppressed?.();
  }

  get banned(): number {
    return this.#banned;
  }

  /** Warning lines the network's rate limiters counted instead of writing. */
  get warningsSuppressed(): number {
    return this.#warningsSuppressed;
  }

  setPeers(connected: number, committeeConnected: number): void {
    this.#peers = { connected, committeeConnected };
    this.#sink?.peers?.(connected, committeeConnected);
  }

  /** Count of one topic and verdict (0 when never seen). */
  messages(topic: Topic, verdict: Verdict): number {
    return this.#messages.get(`${topic}/${verdict}`) ?? 0;
  }

  reason(topic: Topic, verdict: Verdict, reason: string): number {
    return this.#reasons.get(`${topic}/${verdict}/${reason}`) ?? 0;
  }

  syncCount(kind: SyncKind, role: SyncRole, outcome: SyncOutcome): number {
    return this.#sync.get(`${kind}/${role}/${outcome}`) ?? 0;
  }

  snapshot(): NetMetricsSnapshot {
    return {
      messages: Object.fromEntries(this.#messages),
      reasons: Object.fromEntries(this.#reasons),
      push: { ...this.#push },
      sync: Object.fromEntries(this.#sync),
      peers: { ...this.#peers },
    };
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
