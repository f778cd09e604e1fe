import type { Logger } from "pino";
import { WarnLimiter } from "../observability/index.ts";

/**
 * Invalid messages (gossip rejects, bad pushed blocks) that get a peer banned
 * within one ban window: the first. Every reject is for a message that is
 * invalid whatever this node's state (undecodable, oversize against a chain
 * or protocol limit, a non-member or wrong signer, a bad signature or
 * certificate, a payload not matching its header, a pushed block of another
 * lane); messages the node merely cannot use (other views, unknown HA
 * instances) are ignored, never rejected. Gossipsub forwards a message only
 * after its own validation, so an honest relay never forwards one that is
 * rejected here: one reject means a faulty or hostile peer (as CometBFT
 * stops a peer on its first invalid message).
 */
export const REJECTS_BEFORE_BAN = 1;
/** Peers tracked (reject counts and bans); the oldest entries go first. */
const MAX_TRACKED_PEERS = 4096;

/**
 * Keeps out peers that send invalid messages. Gossipsub's score only stops
 * forwarding to a graylisted peer; this disconnects it and refuses its
 * connections (inbound and dials) for `banMs`, from its first invalid
 * message (see REJECTS_BEFORE_BAN).
 */
export class PeerGuard {
  readonly #banMs: number;
  readonly #hangUp: (peer: string) => void;
  readonly #onBan: (peer: string) => void;
  readonly #warn: WarnLimiter;
  readonly #rejects = new Map<string, { count: number; sinceMs: number }>();
  readonly #bannedUntil = new Map<string, number>();

  constructor(opts: {
    banMs: number;
    hangUp: (peer: string) => void;
    onBan?: (peer: string) => void;
    log: Logger;
    /** A ban warning beyond the limiter's burst was only counted. */
    onWarningSuppressed?: () => void;
  }) {
    this.#banMs = opts.banMs;
    this.#hangUp = opts.hangUp;
    this.#onBan = opts.onBan ?? (() => {});
    this.#warn = new WarnLimiter(opts.log, opts.onWarningSuppressed);
  }

  /** A peer sent an invalid message; bans it once it has sent REJECTS_BEFORE_BAN in a window. */
  rejected(peer: string, what: string, nowMs = Date.now()): void {
    let r = this.#rejects.get(peer);
    if (r === undefined || nowMs - r.sinceMs > this.#banMs) {
      if (r === undefined && this.#rejects.size >= MAX_TRACKED_PEERS)
        this.#rejects.delete(this.#rejects.keys().next().value!);
      r = { count: 0, sinceMs: nowMs };
      this.#rejects.set(peer, r);
    }
    r.count++;
    if (r.count >= REJECTS_BEFORE_BAN) this.ban(peer, what, nowMs);
  }

  ban(peer: string, reason: string, nowMs = Date.now()): void {
    if (this.isBanned(peer, nowMs)) return;
    if (this.#bannedUntil.size >= MAX_TRACKED_PEERS) this.#bannedUntil.delete(this.#bannedUntil.keys().next().value!);
    this.#bannedUntil.set(peer, nowMs + this.#banMs);
    this.#rejects.delete(peer);
    this.#onBan(peer);
    this.#warn.warn("ban", { peer, reason, banMs: this.#banMs }, "peer sent invalid messages: disconnected and banned");
    this.#hangUp(peer);
  }

  isBanned(peer: string, nowMs = Date.now()): boolean {
    const until = this.#bannedUntil.get(peer);
    if (until === undefined) return false;
    if (nowMs < until) return true;
    this.#bannedUntil.delete(peer);
    return false;
  }
}
