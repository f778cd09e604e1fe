import type { PeerId } from "@libp2p/interface";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import type { Logger } from "pino";
import type { Host } from "./host.ts";
import type { NetLimits } from "./limits.ts";

const MAX_ADDRS_PER_TARGET = 8;

interface Target {
  peerId: PeerId;
  addrs: Multiaddr[];
  failures: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

/**
 * Keeps a connection to every target peer (configured peers and committee
 * members): dials at start, and after a disconnect or a failed dial retries
 * with exponential backoff from redialMinMs up to redialMaxMs, forever. A
 * member without a configured address is dialed through the peer store
 * (addresses learned from identify when it connected to us).
 */
export class Redialer {
  readonly #host: Host;
  readonly #limits: NetLimits;
  readonly #log: Logger;
  readonly #targets = new Map<string, Target>();
  #stopped = true;

  constructor(host: Host, limits: NetLimits, log: Logger) {
    this.#host = host;
    this.#limits = limits;
    this.#log = log;
  }

  add(peerId: PeerId, addrs: Multiaddr[]): void {
    const key = peerId.toString();
    const existing = this.#targets.get(key);
    if (existing !== undefined) {
      existing.addrs.push(...addrs);
      return;
    }
    this.#targets.set(key, { peerId, addrs: [...addrs], failures: 0, timer: undefined, dialing: false });
  }

  has(peerId: string): boolean {
    return this.#targets.has(peerId);
  }

  /**
   * Addresses a target announced in identify. libp2p's peer store forgets a
   * disconnected peer's addresses, so a member that only ever dialed us would
   * otherwise be unreachable once it drops. Bounded per target.
   */
  learned(peerId: string, addrs: Multiaddr[]): void {
    const t = this.#targets.get(peerId);
    if (t === undefined) return;
    const known = new Set(t.addrs.map((a) => a.toString()));
    for (const a of addrs) {
      const withPeer = a.getComponents().some((c) => c.name === "p2p") ? a : a.encapsulate(`/p2p/${peerId}`);
      if (!known.has(withPeer.toString())) t.addrs.push(withPeer);
    }
    if (t.addrs.length > MAX_ADDRS_PER_TARGET) t.addrs.splice(0, t.addrs.length - MAX_ADDRS_PER_TARGET);
  }

  start(): void {
    this.#stopped = false;
    for (const t of this.#targets.values()) this.#schedule(t, 0);
  }

  /** Called on peer:disconnect. */
  disconnected(peerId: string): void {
    const t = this.#targets.get(peerId);
    if (t !== undefined && !this.#stopped) this.#schedule(t, this.#delay(t));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#targets.values()) {
      if (t.timer !== undefined) clearTimeout(t.timer);
      t.timer = undefined;
    }
  }

  #delay(t: Target): number {
    const base = Math.min(this.#limits.redialMaxMs, this.#limits.redialMinMs * 2 ** Math.min(t.failures, 16));
    // Jitter so that a whole committee restarting does not dial in lockstep.
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  #schedule(t: Target, delayMs: number): void {
    if (this.#stopped || t.timer !== undefined) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      void this.#dial(t);
    }, delayMs);
    t.timer.unref();
  }

  async #dial(t: Target): Promise<void> {
    if (this.#stopped || t.dialing) return;
    if (this.#host.getConnections(t.peerId).length > 0) {
      t.failures = 0;
      return;
    }
    t.dialing = true;
    try {
      const signal = AbortSignal.timeout(Math.max(this.#limits.redialMaxMs, 5_000));
      if (t.addrs.length > 0) {
        await this.#host.dial(t.addrs, { signal });
      } else {
        await this.#host.dial(t.peerId, { signal });
      }
      t.failures = 0;
      this.#log.debug({ peer: t.peerId.toString() }, "connected");
    } catch (err) {
      t.failures++;
      const level = t.failures === 5 ? "warn" : "debug";
      this.#log[level](
        { peer: t.peerId.toString(), addrs: t.addrs.length, failures: t.failures, err: (err as Error).message },
        "dial failed",
      );
      this.#schedule(t, this.#delay(t));
    } finally {
      t.dialing = false;
    }
  }
}

/** Parses `/ip4/.../tcp/.../p2p/<peerId>`; throws a clear error when the peer id is missing. */
export function parsePeerAddress(addr: string): { addr: Multiaddr; peerId: string } {
  let ma: Multiaddr;
  try {
    ma = multiaddr(addr);
  } catch (err) {
    throw new Error(`invalid peer address ${JSON.stringify(addr)}: ${(err as Error).message}`);
  }
  const peerId = ma.getComponents().findLast((c) => c.name === "p2p")?.value;
  if (peerId === undefined) throw new Error(`peer address ${JSON.stringify(addr)} lacks a /p2p/<peerId> suffix`);
  return { addr: ma, peerId };
}
