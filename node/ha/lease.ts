import { fanOut } from "./quorum.ts";
import { highestPerSlot, parseSignState, type SignRecord, type SignState } from "./records.ts";
import { RedisNode } from "./redis-node.ts";
import { ACQUIRE, INCR_EPOCH, PUBLISH, READ, READ_OWN, RELEASE, RENEW } from "./scripts.ts";

export interface LeaseOptions {
  redisUrls: readonly string[];
  /** Namespace of one validator's keys, e.g. "validator/<chainId>/<validator pubkey>". */
  keyPrefix: string;
  instanceId: string;
  leaseTtlMs: number;
  /** Bound on one command to one server. */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  /** Commands in flight to one server at most (bounds the background of slow servers). */
  maxInFlightPerNode?: number;
  /** Own lane blocks kept by number (at least the chain's lane window); default 64. */
  ownBlockWindow?: number;
  /** Wall clock (ms); tests may pass their own. */
  now?: () => number;
  /** Latency of each quorum operation. */
  observe?: (op: HaOp, seconds: number) => void;
  /** A command not sent because a server already had maxInFlightPerNode in flight. */
  onRefused?: () => void;
}

export type HaOp = "acquire" | "renew" | "publish" | "reconcile" | "release";

export type PublishOutcome =
  | { kind: "ok" }
  | { kind: "fenced"; reason: string }
  | { kind: "conflict"; slot: string; stored: string }
  | { kind: "unavailable"; reason: string };

export type ReadOutcome =
  | { kind: "ok"; state: SignState }
  | { kind: "fenced"; reason: string }
  | { kind: "unavailable"; reason: string };

/** Default bound on commands in flight to one server. */
export const DEFAULT_MAX_IN_FLIGHT_PER_NODE = 256;

/**
 * The lease of one validator on N independent redis-servers, its fencing
 * epoch, and the sign state written under it (DESIGN section 14). Quorum =
 * floor(N/2) + 1. Each method is one bounded round over all servers; none
 * keeps timers (the coordinator does).
 */
export class Lease {
  readonly nodes: RedisNode[];
  readonly quorum: number;
  readonly instanceId: string;
  readonly #opts: LeaseOptions;
  readonly #keys: [lease: string, epoch: string, sign: string, ownBlocks: string];
  readonly #now: () => number;
  #epoch = 0;
  #validUntilMs = 0;
  #held = false;
  readonly #ownWindow: number;
  /** Publishes' server commands still running after their call returned. */
  #outstanding = 0;

  constructor(opts: LeaseOptions) {
    if (opts.redisUrls.length === 0) throw new Error("the HA lease needs at least one redis-server");
    this.#opts = opts;
    this.instanceId = opts.instanceId;
    this.#now = opts.now ?? Date.now;
    this.#ownWindow = opts.ownBlockWindow ?? 64;
    const maxInFlight = opts.maxInFlightPerNode ?? DEFAULT_MAX_IN_FLIGHT_PER_NODE;
    this.nodes = opts.redisUrls.map(
      (url) =>
        new RedisNode({
          url,
          connectTimeoutMs: opts.connectTimeoutMs,
          commandTimeoutMs: opts.commandTimeoutMs,
          maxInFlight,
          ...(opts.onRefused !== undefined && { onRefused: opts.onRefused }),
        }),
    );
    this.quorum = Math.floor(this.nodes.length / 2) + 1;
    // One hash tag per validator keeps its keys together should a server be a cluster.
    const p = `{${opts.keyPrefix}}`;
    this.#keys = [`${p}:lease`, `${p}:epoch`, `${p}:sign`, `${p}:own`];
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Whether the lease is held and still valid at `nowMs`. */
  held(nowMs = this.#now()): boolean {
    return this.#held && nowMs < this.#validUntilMs;
  }

  get validUntilMs(): number {
    return this.#held ? this.#validUntilMs : 0;
  }

  /** Sign-state commands still running in the background. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Clock drift allowance: Redlock's 1% of the TTL plus 2 ms. */
  get driftMs(): number {
    return Math.floor(this.#opts.leaseTtlMs * 0.01) + 2;
  }

  /**
   * One attempt: take the lease on a quorum within its validity, then
   * increment the epoch on a quorum (the highest value is the fencing
   * token). Any failure releases everywhere. Resolves to the epoch, or null.
   */
  async acquire(): Promise<{ epoch: number; validUntilMs: number } | null> {
    const started = this.#now();
    const t0 = performance.now();
    try {
      const [lease] = this.#keys;
      const taken = await fanOut(
        this.nodes,
        this.quorum,
        (n) => n.eval(ACQUIRE, [lease], [this.instanceId, this.#opts.leaseTtlMs]),
        (v) => Number(v) === 1,
      );
      const validUntil = started + this.#opts.leaseTtlMs - this.driftMs;
      if (taken.accepted.length < this.quorum || this.#now() >= validUntil) {
        await this.release();
        return null;
      }
      const [, epochKey] = this.#keys;
      const epochs = await fanOut(
        this.nodes,
        this.quorum,
        (n) => n.eval(INCR_EPOCH, [lease, epochKey], [this.instanceId]),
        (v) => Number(v) > 0,
      );
      if (epochs.accepted.length < this.quorum || this.#now() >= validUntil) {
        await this.release();
        return null;
      }
      this.#epoch = Math.max(...epochs.accepted.map(Number));
      this.#validUntilMs = validUntil;
      this.#held = true;
      return { epoch: this.#epoch, validUntilMs: validUntil };
    } finally {
      this.#observe("acquire", t0);
    }
  }

  /**
   * Extends the lease on a quorum (owner- and epoch-checked). Resolves to
   * "ok" (validity extended), "lost" (a quorum refused: another owner or a
   * higher epoch) or "failed" (no quorum answered; validity unchanged).
   */
  async renew(): Promise<"ok" | "lost" | "failed"> {
    if (!this.#held) return "lost";
    const started = this.#now();
    const t0 = performance.now();
    try {
      const [lease, epoch] = this.#keys;
      const r = await fanOut(
        this.nodes,
        this.quorum,
        (n) => n.eval(RENEW, [lease, epoch], [this.instanceId, this.#opts.leaseTtlMs, this.#epoch]),
        (v) => Number(v) === 1,
      );
      if (r.accepted.length >= this.quorum) {
        const validUntil = started + this.#opts.leaseTtlMs - this.driftMs;
        if (this.#held) this.#validUntilMs = Math.max(this.#validUntilMs, validUntil);
        return "ok";
      }
      if (r.refused.length > this.nodes.length - this.quorum) return "lost";
      return "failed";
    } finally {
      this.#observe("renew", t0);
    }
  }

  /** Gives the lease up here and on every server that holds it for us (bounded). */
  async release(): Promise<void> {
    this.#held = false;
    this.#validUntilMs = 0;
    const t0 = performance.now();
    const [lease] = this.#keys;
    await fanOut(
      this.nodes,
      this.nodes.length,
      (n) => n.eval(RELEASE, [lease], [this.instanceId]),
      () => true,
    );
    this.#observe("release", t0);
  }

  /** Forgets the lease locally (it lapsed or was lost); the servers let it expire. */
  drop(): void {
    this.#held = false;
    this.#validUntilMs = 0;
  }

  /**
   * Writes sign-state records on the quorum, owner- and epoch-checked, all
   * records of one call in one script run per server. Resolves at quorum;
   * slower servers finish in the background (counted in `outstanding`).
   */
  async publish(records: readonly SignRecord[]): Promise<PublishOutcome> {
    if (!this.held()) return { kind: "fenced", reason: "the lease is not held" };
    const t0 = performance.now();
    const args: (string | number | Buffer)[] = [this.instanceId, this.#epoch, this.#ownWindow];
    for (const r of records) {
      args.push(
        r.slot,
        r.a,
        r.b,
        r.tag,
        r.data ? Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) : "",
      );
    }
    this.#outstanding += this.nodes.length;
    try {
      const res = await fanOut(
        this.nodes,
        this.quorum,
        (n) => n.eval(PUBLISH, this.#keys, args) as Promise<Buffer[]>,
        (v) => v[0]?.toString() === "OK",
        () => {
          this.#outstanding--;
        },
      );
      if (res.accepted.length >= this.quorum) {
        // The servers checked ownership when they ran the script; the local
        // validity is checked too, so a process paused past its lease does
        // not release what it published before the pause.
        return this.held() ? { kind: "ok" } : { kind: "fenced", reason: "the lease lapsed during the publish" };
      }
      const conflict = res.refused.find((v) => v[0]?.toString() === "CONFLICT");
      if (conflict) return { kind: "conflict", slot: String(conflict[1]), stored: String(conflict[2]) };
      const fenced = res.refused.find((v) => v[0]?.toString() === "FENCED");
      if (fenced) return { kind: "fenced", reason: `a redis-server refused the write: ${String(fenced[1])}` };
      return {
        kind: "unavailable",
        reason: `${res.accepted.length} of ${this.nodes.length} servers acknowledged (quorum ${this.quorum}): ${res.errors.map((e) => e.message).join("; ")}`,
      };
    } finally {
      this.#observe("publish", t0);
    }
  }

  /**
   * The sign state of a quorum, highest record per slot, read under the
   * lease (so every earlier holder's write on those servers precedes it).
   */
  async read(): Promise<ReadOutcome> {
    if (!this.held()) return { kind: "fenced", reason: "the lease is not held" };
    const t0 = performance.now();
    try {
      const res = await fanOut(
        this.nodes,
        this.quorum,
        (n) => n.eval(READ, this.#keys.slice(0, 3), [this.instanceId, this.#epoch]) as Promise<Buffer[]>,
        (v) => v[0]?.toString() === "OK",
      );
      if (res.accepted.length < this.quorum) {
        const fenced = res.refused.find((v) => v[0]?.toString() === "FENCED");
        if (fenced) return { kind: "fenced", reason: `a redis-server refused the read: ${String(fenced[1])}` };
        return { kind: "unavailable", reason: `${res.accepted.length} of ${this.nodes.length} servers answered` };
      }
      return { kind: "ok", state: highestPerSlot(res.accepted.map((reply) => parseSignState(reply.slice(1)))) };
    } finally {
      this.#observe("reconcile", t0);
    }
  }

  /**
   * Own lane blocks `numbers` as a quorum holds them (under the lease): for
   * each number the bytes any answering server has, or undefined.
   */
  async readOwnBlocks(numbers: readonly number[]): Promise<(Uint8Array | undefined)[] | null> {
    if (!this.held() || numbers.length === 0) return numbers.length === 0 ? [] : null;
    const res = await fanOut(
      this.nodes,
      this.quorum,
      (n) => n.eval(READ_OWN, this.#keys, [this.instanceId, this.#epoch, ...numbers]) as Promise<(Buffer | null)[]>,
      (v) => v[0]?.toString() === "OK",
    );
    if (res.accepted.length < this.quorum) return null;
    return numbers.map((_, i) => {
      for (const reply of res.accepted) {
        const b = reply[i + 1];
        if (b) return new Uint8Array(b);
      }
      return undefined;
    });
  }

  /** Per server: URL and whether its last operation succeeded. */
  servers(): { url: string; ok: boolean }[] {
    return this.nodes.map((n) => ({ url: n.url, ok: n.ok }));
  }

  close(): void {
    for (const n of this.nodes) n.drop();
  }

  #observe(op: HaOp, t0: number): void {
    this.#opts.observe?.(op, (performance.now() - t0) / 1000);
  }
}
