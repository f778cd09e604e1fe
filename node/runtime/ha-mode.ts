import type { Logger } from "pino";
import type { HaStatusJson } from "../api/index.ts";
import type { Signer, VerifyCache } from "../crypto/index.ts";
import { HaCoordinator, type HaRole, Lease } from "../ha/index.ts";
import type { Network, SyncClientApi } from "../net/index.ts";
import type { Metrics } from "../observability/index.ts";
import type { GroupCommitWriter, Storage } from "../storage/index.ts";
import { codecs, DOMAINS, type DurableWrite, toHex } from "../types/index.ts";
import { HaDurability } from "./ha-durability.ts";
import { reconcile } from "./ha-reconcile.ts";
import { HaTerm, TermEnded } from "./ha-term.ts";
import type { NodeHome } from "./home.ts";

/** How often the leader repeats its announcement (for peers that joined or missed it). */
export const ANNOUNCE_EVERY_MS = 2000;

const ROLE_VALUE: Record<HaRole, number> = { standby: 0, reconciling: 1, leader: 2 };

export interface HaModeOptions {
  home: NodeHome;
  logger: Logger;
  metrics: Metrics;
  /** The validator key (signs the active-instance announcement). */
  signer: Signer;
  /** The local group commit (the other half of "durable"). */
  writer: GroupCommitWriter;
  /** Won the lease at epoch: reconcile and rebuild as a signer; false to give it back. */
  takeOver(epoch: number): Promise<boolean>;
  /** Lost the lease: rebuild as a follower. */
  stepDown(reason: string): void;
  /** A write would contradict the sign state: stop the node. */
  fatal(reason: string): void;
}

/**
 * The runtime's side of the HA mode (DESIGN section 14): the lease and its
 * coordinator, the current leadership term (whose sign-state publishes gate
 * "durable"), reconciliation, the active-instance announcement, and the
 * operator surface (/status, metrics, one log line per role change).
 */
export class HaMode {
  readonly lease: Lease;
  /** The runtime's durability hook in the HA mode. */
  readonly durability: HaDurability;
  readonly #coordinator: HaCoordinator;
  readonly #opts: HaModeOptions;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #ownLane: number;
  #term: HaTerm | null = null;
  #net: Network | null = null;
  #announceTimer: NodeJS.Timeout | null = null;
  #lastRole: HaRole = "standby";
  /** Whether this term's first signed message has been logged. */
  #releasedInTerm = false;
  /** Test-only switch for the negative control: no fencing at the send point or in Redis. */
  readonly #unfenced: boolean;

  constructor(opts: HaModeOptions) {
    const { home } = opts;
    const ha = home.config.ha;
    this.#opts = opts;
    this.#log = opts.logger.child({ module: "ha" });
    this.#metrics = opts.metrics;
    this.#ownLane = home.validatorIndex!;
    this.#unfenced = process.env.HA_TEST_DISABLE_FENCING === "1";
    const instanceId = ha.instanceId !== "" ? ha.instanceId : home.peerId;
    if (ha.redisUrls.length % 2 === 0) {
      this.#log.warn(
        { redisUrls: ha.redisUrls.length },
        "ha.redisUrls has an even number of servers: an odd number tolerates as many failures with one server less",
      );
    }
    this.lease = new Lease({
      redisUrls: ha.redisUrls,
      keyPrefix: `validator/${home.committee.chainId}/${toHex(home.validatorKey!.publicKey)}`,
      instanceId,
      leaseTtlMs: ha.leaseTtlMs,
      commandTimeoutMs: ha.publishTimeoutMs,
      connectTimeoutMs: ha.connectTimeoutMs,
      ownBlockWindow: home.genesis.params.laneWindow,
      observe: (op, seconds) => this.#metrics.haOpSeconds.observe({ op }, seconds),
      onRefused: () => this.#metrics.dropped.inc({ queue: "ha_redis_in_flight" }),
    });
    this.durability = new HaDurability(opts.writer, (writes) => this.publish(writes));
    this.#coordinator = new HaCoordinator({
      lease: this.lease,
      renewEveryMs: ha.renewEveryMs,
      log: this.#log,
      onAcquired: async (epoch) => {
        this.#roleChanged("reconciling", "won the lease", epoch);
        const ok = await this.#opts.takeOver(epoch);
        if (ok) {
          this.#metrics.haFailovers.inc();
          this.#roleChanged("leader", "reconciled with the sign state", epoch);
          this.#announce();
        } else {
          this.#roleChanged("standby", "could not reconcile; lease given back", epoch);
        }
        return ok;
      },
      onLost: (reason) => {
        if (this.#unfenced) {
          this.#log.error({ reason }, "NEGATIVE CONTROL: fencing disabled, signing on without the lease");
          return;
        }
        this.#endTerm(reason);
        this.#roleChanged("standby", reason, this.lease.epoch);
        this.#opts.stepDown(reason);
      },
    });
    this.#metrics.haRole.set(0);
    this.#log.info(
      { instanceId, redis: ha.redisUrls, quorum: this.lease.quorum, leaseTtlMs: ha.leaseTtlMs },
      "HA mode: starting as a standby (follows the chain, signs only with the lease)",
    );
  }

  start(net: Network): void {
    this.#net = net;
    this.#coordinator.start();
  }

  async stop(): Promise<void> {
    this.#endTerm("stopping");
    if (this.#announceTimer) clearInterval(this.#announceTimer);
    await this.#coordinator.stop();
    this.#roleChanged("standby", "stopping", this.lease.epoch);
  }

  /** Whether a signed message may leave now: leading, and the lease valid. */
  signing(): boolean {
    if (this.#unfenced) return this.#term !== null;
    return this.#term !== null && !this.#term.ended && this.lease.held();
  }

  /** The Redis half of "durable" for one batch of writes; resolves at once when not leading. */
  publish(writes: readonly DurableWrite[]): Promise<void> {
    if (this.#term === null || this.#unfenced) return Promise.resolve();
    return this.#term.publish(writes);
  }

  /** Called for every signed message released; logs the term's first (the takeover's end). */
  noteRelease(): void {
    if (this.#releasedInTerm) return;
    this.#releasedInTerm = true;
    this.#log.info({ epoch: this.lease.epoch, instanceId: this.lease.instanceId }, "first signed message as leader");
  }

  isTermEnd(err: unknown): boolean {
    return err instanceof TermEnded;
  }

  /** Reconciles (see ha-reconcile.ts); true when this instance may sign now. */
  async reconcile(parts: {
    storage: Storage;
    writer: GroupCommitWriter;
    verifyCache: VerifyCache;
    sync: SyncClientApi;
    hint: { commitQcNext: number; ownLaneNext: number };
    pause(): Promise<void>;
  }): Promise<boolean> {
    const t0 = performance.now();
    const out = await reconcile({
      ...parts,
      lease: this.lease,
      committee: this.#opts.home.committee,
      ownLane: this.#ownLane,
      log: this.#log,
    });
    this.#metrics.haOpSeconds.observe({ op: "reconcile" }, (performance.now() - t0) / 1000);
    if (out.kind === "ok") return true;
    if (out.kind === "conflict") {
      this.#opts.fatal(`HA reconciliation found a conflict: ${out.reason}`);
      return false;
    }
    this.#log.warn({ reason: out.reason }, "reconciliation not possible yet; the lease is given back");
    return false;
  }

  /** Starts signing under `epoch` (after reconciliation). */
  beginTerm(epoch: number): void {
    this.#releasedInTerm = false;
    this.#term = new HaTerm(this.lease, epoch, this.#ownLane, {
      lost: (reason) => this.#coordinator.lose(reason),
      conflict: (reason) => this.#opts.fatal(reason),
      outstanding: (n) => this.#metrics.haOutstandingPublishes.set(n),
    });
    this.#metrics.haEpoch.set(epoch);
  }

  status(): HaStatusJson {
    const now = Date.now();
    return {
      role: this.#coordinator.role === "leader" && !this.signing() ? "standby" : this.#coordinator.role,
      epoch: this.lease.epoch,
      leaseValidMs: this.lease.held(now) ? this.lease.validUntilMs - now : 0,
      instanceId: this.lease.instanceId,
      redis: this.lease.servers(),
    };
  }

  #endTerm(reason: string): void {
    this.#term?.end(reason);
    this.#term = null;
    if (this.#announceTimer) clearInterval(this.#announceTimer);
    this.#announceTimer = null;
  }

  #announce(): void {
    const net = this.#net;
    if (net === null) return;
    const send = () => {
      if (!this.signing()) return;
      this.#metrics.haOutstandingPublishes.set(this.lease.outstanding);
      const body = {
        validator: this.#ownLane,
        nodePublicKey: this.#opts.home.nodeKey.publicKey,
        epoch: this.lease.epoch,
        atMs: Date.now(),
      };
      const signature = this.#opts.signer.sign(DOMAINS.haAnnouncement, codecs.haAnnouncementBody.encode(body));
      void net.publishHaAnnouncement({ body, signature });
    };
    send();
    this.#announceTimer = setInterval(send, ANNOUNCE_EVERY_MS);
    this.#announceTimer.unref();
  }

  #roleChanged(to: HaRole, reason: string, epoch: number): void {
    const from = this.#lastRole;
    if (from === to) return;
    this.#lastRole = to;
    this.#metrics.haRole.set(ROLE_VALUE[to]);
    const level = to === "standby" && from === "leader" ? "warn" : "info";
    this.#log[level]({ from, to, reason, epoch, instanceId: this.lease.instanceId }, `HA role: ${from} -> ${to}`);
  }
}
