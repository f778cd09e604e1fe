import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApi } from "../api/index.ts";
import type { Override } from "../config/index.ts";
import { Signer, VerifyCache } from "../crypto/index.ts";
import { KvApp } from "../execution/index.ts";
import { createNetwork, type Network } from "../net/index.ts";
import { createLogger, createMetrics, type Metrics } from "../observability/index.ts";
import {
  type NodeEffect,
  type NodeInput,
  type OutboxPersist,
  ProtocolNode,
  protocolConfig,
  type TimerName,
} from "../protocol/index.ts";
import {
  divergedFromFinalized,
  GroupCommitWriter,
  openDatabase,
  openStorage,
  recordDamage,
  recover,
  resyncCommand,
  type Storage,
  StorageIntegrityError,
} from "../storage/index.ts";
import { type ConsensusMessage, type RecoveredState, toHex } from "../types/index.ts";
import { createApiBackend, PendingTxs } from "./api-backend.ts";
import { CatchUp } from "./catch-up.ts";
import { DurableReporter, LocalDurability } from "./durability.ts";
import { FinalizedLog } from "./finalized-log.ts";
import { loadNodeHome, type NodeHome } from "./home.ts";
import { InputQueue } from "./input-queue.ts";
import { MachineCounters } from "./machine-counters.ts";
import { Scrubber } from "./scrub.ts";
import { syncServerFor } from "./sync-server.ts";
import { Timers } from "./timers.ts";

/** Outside inputs waiting for the loop; beyond this, network messages are dropped (and counted). */
const INPUT_QUEUE_CAPACITY = 100_000;
/** Bytes of network messages waiting for the loop (lane blocks dominate). */
const INPUT_QUEUE_MAX_BYTES = 256 * 1024 * 1024;
/** Inputs stepped in one turn before the turn's writes are submitted. */
const MAX_INPUTS_PER_TURN = 4096;
/**
 * How often an idle node asks a peer how far the chain is: a node restarted
 * on a quiet chain hears no new certificate that would tell it it is behind.
 */
const PROBE_INTERVAL_MS = 3000;
/** Signatures remembered as verified (votes reappear inside certificates). */
const VERIFY_CACHE_ENTRIES = 65_536;

export interface StartNodeOptions {
  home: string;
  env?: Readonly<Record<string, string | undefined>>;
  overrides?: readonly Override[];
  /** A logger to use instead of one built from the config (tests). */
  logger?: Logger;
}

export interface RunningNode {
  readonly home: NodeHome;
  readonly peerId: string;
  /** Base URL of the HTTP API, or null when it is disabled. */
  readonly apiUrl: string | null;
  /** Multiaddrs the p2p host listens on. */
  readonly p2pAddresses: string[];
  /** Resolves when the node has stopped: 0 after stop(), 1 after a fatal error. */
  readonly exited: Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts one node: recover from disk, then the network, then the API; then
 * run the event loop until stop() or a fatal error. DESIGN section 10.
 */
export async function startNode(opts: StartNodeOptions): Promise<RunningNode> {
  const home = loadNodeHome({ home: opts.home, env: opts.env ?? process.env, overrides: opts.overrides ?? [] });
  const { config, committee } = home;
  const logger =
    opts.logger ??
    createLogger({ level: config.log.level, format: config.log.format, base: { node: config.node.moniker } });
  const metrics = createMetrics();

  mkdirSync(home.paths.dataDir, { recursive: true, mode: 0o700 });
  const dbPath = join(home.paths.dataDir, "db");
  const located = (err: unknown) => {
    if (err instanceof StorageIntegrityError) return err.locate(dbPath, home.paths.home);
    // LevelDB tripping over a damaged block while recovery reads: the same clear error.
    const message = err instanceof Error ? err.message : String(err);
    if (!/corrupt|checksum/i.test(message)) return err;
    return new StorageIntegrityError({
      path: dbPath,
      keyRange: "* (a block LevelDB could not read while recovery read the database)",
      problem: `LevelDB: ${message}`,
      lost: "the records in the damaged block (start with storage.verifyTablesAtStart = true to name its key range)",
      remedy: resyncCommand(home.paths.home),
    });
  };
  let opened: Awaited<ReturnType<typeof openDatabase>>;
  try {
    opened = await openDatabase(dbPath, { verifyTables: config.storage.verifyTablesAtStart });
  } catch (err) {
    if (err instanceof Error && err.message.includes("is in use")) {
      throw new Error(`the database ${dbPath} is in use: is another node running with home ${home.paths.home}?`);
    }
    throw located(err);
  }
  const { db, report } = opened;
  logger.child({ module: "storage" }).info(report, "database files checked (log records; table blocks if enabled)");

  const verifyCache = new VerifyCache(VERIFY_CACHE_ENTRIES);
  let storage: Storage;
  let recovered: RecoveredState;
  try {
    storage = await openStorage(db, committee, { logger });
    recovered = await recover(storage, committee, verifyCache, {
      deepCheckBlocks: config.storage.deepCheckBlocksAtStart,
    });
    assertOwnLaneIsOurs(recovered, home.validatorIndex, dbPath);
  } catch (err) {
    await db.close().catch(() => {});
    throw located(err);
  }

  const runtime = new Runtime({ home, logger, metrics, storage, recovered, verifyCache, dbPath });
  try {
    await runtime.start();
  } catch (err) {
    await runtime.stop();
    throw err;
  }
  return runtime;
}

/**
 * Recovery accepts a lane WAL on another branch than the finalized one: the
 * lane's owner signed two blocks at one number. When that lane is our own,
 * the other signature is ours too: another process signs with this
 * validator key, or this data directory is a copy. Signing on would
 * equivocate, so the node refuses to start.
 */
function assertOwnLaneIsOurs(recovered: RecoveredState, validatorIndex: number | null, dbPath: string): void {
  if (validatorIndex === null) return;
  const own = divergedFromFinalized(recovered.lanes, recovered.anchor, recovered.commitQcs).find(
    (d) => d.lane === validatorIndex,
  );
  if (own === undefined) return;
  throw new Error(
    `this validator's own lane ${own.lane} holds a block ${own.number} other than the one CommitQC(${own.index}) finalized, ` +
      `so this key signed two blocks at one number: another process is signing with this validator key, or ${dbPath} ` +
      "was copied from another node. Stop every other process that uses this key before starting this one again.",
  );
}

/** A network input's size for the queue's byte bound: lane blocks by their txs, the rest as small. */
function approxInputBytes(input: NodeInput): number {
  if (input.kind !== "laneBlock") return 1024;
  let bytes = 256;
  for (const tx of input.block.txs) bytes += tx.byteLength + 4;
  return bytes;
}

interface RuntimeParts {
  home: NodeHome;
  logger: Logger;
  metrics: Metrics;
  storage: Storage;
  recovered: RecoveredState;
  verifyCache: VerifyCache;
  dbPath: string;
}

/** The event loop: one input queue, the protocol driver, and the effects' executors. */
class Runtime implements RunningNode {
  readonly home: NodeHome;
  readonly peerId: string;
  readonly exited: Promise<number>;
  apiUrl: string | null = null;
  p2pAddresses: string[] = [];

  readonly #log: Logger;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #storage: Storage;
  readonly #writer: GroupCommitWriter;
  readonly #protocol: ProtocolNode;
  readonly #durable: DurableReporter;
  readonly #queue = new InputQueue<NodeInput>(INPUT_QUEUE_CAPACITY, INPUT_QUEUE_MAX_BYTES, approxInputBytes);
  readonly #timers: Timers<TimerName>;
  readonly #pending: PendingTxs;
  readonly #finalizedLog: FinalizedLog;
  readonly #verifyCache: VerifyCache;
  readonly #counters: MachineCounters;
  #net: Network | null = null;
  #catchUp: CatchUp | null = null;
  readonly #scrubber: Scrubber;
  #api: FastifyInstance | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  #peerCount = 0;
  #turnScheduled = false;
  /** Txs admitted by the API and queued, not yet stepped (they count against the mempool bound). */
  #queuedTxs = 0;
  /** Set once the protocol has started; no input is stepped before. */
  #running = false;
  #writes: OutboxPersist[] = [];
  #stopping: Promise<void> | null = null;
  #resolveExit!: (code: number) => void;
  #exitCode = 0;

  constructor(parts: RuntimeParts) {
    const { home, storage, recovered } = parts;
    this.home = home;
    this.peerId = home.peerId;
    this.#logger = parts.logger;
    this.#log = parts.logger.child({ module: "runtime" });
    this.#metrics = parts.metrics;
    this.#storage = storage;
    this.#verifyCache = parts.verifyCache;
    this.exited = new Promise((resolve) => {
      this.#resolveExit = resolve;
    });
    this.#writer = new GroupCommitWriter(storage, {
      onFatal: (err) =>
        this.#fatal(
          `a durable write failed; stopping rather than voting on it: ${err.message}${
            /corrupt|checksum/i.test(err.message)
              ? `; LevelDB found damaged data (a table it cannot read); remedy: ${resyncCommand(home.paths.home)}`
              : ""
          }`,
        ),
    });
    this.#scrubber = new Scrubber({
      storage,
      committee: home.committee,
      dbPath: parts.dbPath,
      home: home.paths.home,
      bytesPerSecond: home.config.storage.scrubBytesPerSecond,
      logger: parts.logger.child({ module: "scrub" }),
      onBytes: (bytes) => this.#metrics.scrubBytes.inc(bytes),
      onPass: () => this.#metrics.scrubPasses.inc(),
      onDamage: (err) => {
        recordDamage(parts.dbPath, err.facts());
        this.#log.fatal(err.facts(), "the scrub found damaged data");
        this.#fatal(err.message);
      },
    });
    this.#writer.onBatch((s) => {
      this.#metrics.walWriteSeconds.observe(s.durationMs / 1000);
      this.#metrics.walBatchWrites.observe(s.ops);
    });
    const signer = home.validatorKey ? new Signer(home.validatorKey.secretKey, home.committee.chainId) : null;
    this.#protocol = new ProtocolNode({
      committee: home.committee,
      me: home.validatorIndex,
      signer,
      config: protocolConfig(home.config),
      recovered,
      app: new KvApp(),
      verifyCache: parts.verifyCache,
    });
    // The HA mode (DESIGN section 14) replaces LocalDurability with a hook
    // that also waits for the Redis quorum publish (see durability.ts).
    this.#durable = new DurableReporter(
      new LocalDurability(this.#writer),
      (batch) => {
        for (const w of batch) this.#push({ kind: "durable", id: w.id });
      },
      (err) => this.#fatal(`a durable write was refused: ${err.message}`),
    );
    this.#timers = new Timers<TimerName>((timer, key) => this.#push({ kind: "timer", timer, key }));
    this.#pending = new PendingTxs(home.config.lanes.mempoolMaxTxs * 2);
    this.#finalizedLog = new FinalizedLog(this.#log);
    this.#counters = new MachineCounters(this.#protocol, this.#metrics);
  }

  async start(): Promise<void> {
    const { home } = this;
    const { config, committee } = home;
    const netLog = this.#logger;
    this.#net = await createNetwork({
      committee,
      nodeKey: home.nodeKey,
      validatorIndex: home.validatorIndex,
      listen: [...config.p2p.listen],
      peers: [...config.p2p.peers],
      logger: netLog,
      limits: { maxGossipFrameBytes: config.p2p.maxMessageBytes, redialMaxMs: config.p2p.redialMaxBackoffMs },
      verifyCache: this.#verifyCache,
      loopback: false,
      metricsSink: {
        message: (topic, verdict) => this.#metrics.gossipMessages.inc({ topic, verdict }),
        sync: (kind, role, outcome) => this.#metrics.syncRequests.inc({ kind, direction: role, outcome }),
        peers: (n) => {
          // The first peer of a (re)started node: ask at once how far the chain is.
          if (n > 0 && this.#peerCount === 0) this.#catchUp?.probe(this.#protocol.consensus.finalizedIndex);
          this.#peerCount = n;
          this.#metrics.peers.set(n);
        },
        push: (event, count) => {
          if (event === "dropped") this.#metrics.dropped.inc({ queue: "push" }, count);
        },
      },
      // The network calls these only with messages net/validate.ts verified
      // against committee/signed.ts: the machines do not check them again.
      handlers: {
        onLaneBlock: (block) => this.#offer({ kind: "laneBlock", block, verified: true }),
        onLaneVote: (vote) => this.#offer({ kind: "laneVote", vote, verified: true }),
        onConsensus: (msg) => this.#offer({ kind: "consensus", msg, verified: true }),
        onAppVote: (vote) => this.#offer({ kind: "appVote", vote, verified: true }),
        syncServer: syncServerFor(this.#storage, committee.size),
      },
    });
    this.#catchUp = new CatchUp(
      this.#net.sync,
      {
        // Verified by net/sync-client.ts (signatures and hash links).
        laneBlocks: (blocks) => this.#push({ kind: "syncLaneBlocks", blocks, verified: true }),
        commitQcs: (qcs) => this.#push({ kind: "syncCommitQcs", qcs }),
        executedIndex: () => this.#protocol.execution.executedIndex,
      },
      this.#logger.child({ module: "sync" }),
    );
    await this.#net.start();
    this.p2pAddresses = this.#net.addresses();
    this.#log.info(
      {
        peerId: this.peerId,
        validatorIndex: home.validatorIndex,
        chainId: committee.chainId,
        committee: committee.size,
        listen: this.p2pAddresses,
        peers: config.p2p.peers.length,
      },
      home.validatorIndex === null ? "network started (observer)" : "network started (validator)",
    );

    if (config.api.enabled) {
      this.#api = buildApi(
        createApiBackend({
          home,
          protocol: this.#protocol,
          storage: this.#storage,
          net: this.#net,
          metrics: this.#metrics,
          pending: this.#pending,
          submit: (txs) => this.#submitTxs(txs),
          queuedTxs: () => this.#queuedTxs,
          accepting: () => this.#stopping === null && this.#protocol.halted === null,
        }),
        {
          host: config.api.host,
          port: config.api.port,
          maxBodyBytes: config.api.maxBodyBytes,
          maxTxBytes: committee.params.maxTxBytes,
          maxTxsPerRequest: 10_000,
          logger: this.#logger.child({ module: "api" }),
        },
      );
      const address = await this.#api.listen({ host: config.api.host, port: config.api.port });
      this.apiUrl = address;
      this.#log.info({ url: address }, "HTTP API listening");
    }

    // Inputs that arrived while the network and API came up wait in the
    // queue: the protocol starts (re-sending its identical last votes, arming
    // its timers) before it steps any of them.
    this.#execute(this.#protocol.start(Date.now()));
    this.#flushWrites();
    this.#running = true;
    if (this.#queue.length > 0) this.#schedule();
    this.#probeTimer = setInterval(
      () => this.#catchUp?.probe(this.#protocol.consensus.finalizedIndex),
      PROBE_INTERVAL_MS,
    );
    this.#probeTimer.unref();
    this.#catchUp.probe(this.#protocol.consensus.finalizedIndex);
    this.#scrubber.start();
    if (config.metrics.statusIntervalMs > 0) {
      this.#statusTimer = setInterval(() => this.#statusLine(), config.metrics.statusIntervalMs);
      this.#statusTimer.unref();
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  // ---- intake ----

  /** Outside input: refused (and counted) when the queue is full. */
  #offer(input: NodeInput): void {
    if (this.#stopping !== null) return;
    if (!this.#queue.offer(input)) {
      this.#metrics.dropped.inc({ queue: "input" });
      return;
    }
    this.#schedule();
  }

  /** The loop's own input: always taken. */
  #push(input: NodeInput): void {
    if (this.#stopping !== null) return;
    this.#queue.push(input);
    this.#schedule();
  }

  #submitTxs(txs: Uint8Array[]): void {
    const nowMs = Date.now();
    for (const tx of txs) {
      this.#pending.add(tx, nowMs);
      this.#queue.push({ kind: "tx", tx });
    }
    this.#queuedTxs += txs.length;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(() => this.#turn());
  }

  /** One turn: step a batch of inputs, execute their effects, submit their writes as one group commit. */
  #turn(): void {
    this.#turnScheduled = false;
    if (this.#stopping !== null || !this.#running) return;
    const inputs = this.#queue.take(MAX_INPUTS_PER_TURN);
    try {
      for (const input of inputs) {
        if (input.kind === "tx") this.#queuedTxs--;
        this.#execute(this.#protocol.step(input, Date.now()));
        if (this.#protocol.halted !== null) return;
      }
    } catch (err) {
      this.#fatal(`the protocol failed on an input (a bug): ${(err as Error).stack ?? err}`);
      return;
    }
    this.#flushWrites();
    this.#counters.update();
    if (this.#queue.length > 0) this.#schedule();
  }

  // ---- effects ----

  #execute(effects: NodeEffect[]): void {
    const net = this.#net!;
    const nowMs = Date.now();
    for (const e of effects) {
      switch (e.kind) {
        case "persist":
          this.#writes.push(e);
          break;
        // Signed messages reach here only as the outbox released them.
        case "pushBlock":
          try {
            net.pushLaneBlock(e.block);
          } catch (err) {
            this.#log.error({ err: (err as Error).message }, "could not push own lane block");
          }
          break;
        case "broadcast":
          if (e.topic === "lane_vote") void net.publishLaneVote(e.vote);
          else if (e.topic === "consensus") {
            this.#journalVote(e.msg);
            void net.publishConsensus(e.msg);
          } else void net.publishAppVote(e.vote);
          break;
        case "setTimer":
          this.#timers.set(e.timer, e.key, e.deadlineMs, nowMs);
          break;
        case "finalized": {
          const { view } = e.qc.proposal;
          this.#metrics.finalizedIndex.set(view.index);
          break;
        }
        case "deliver":
          this.#delivered(e.block.index, e.block.commitQc.proposal.view.round, e.block.blocks, nowMs);
          break;
        case "fetchLaneBlocks":
          this.#catchUp?.laneBlocks(e.lane, e.from, e.to);
          break;
        case "fetchCommitQcs":
          this.#catchUp?.commitQcs(e.from);
          break;
        case "txRejected":
          this.#pending.remove(e.tx);
          this.#metrics.mempoolRejected.inc();
          break;
        case "halt":
          this.#fatal(`halted: ${e.reason}`);
          break;
        case "event":
          this.#logger.child({ module: e.module })[e.level](e.data ?? {}, e.msg);
          break;
      }
    }
  }

  #delivered(index: number, round: number, blocks: { txs: Uint8Array[] }[], nowMs: number): void {
    let txs = 0;
    for (const b of blocks) {
      txs += b.txs.length;
      for (const tx of b.txs) {
        const since = this.#pending.finalize(tx);
        if (since !== undefined) this.#metrics.finalityLatency.observe((nowMs - since) / 1000);
      }
    }
    this.#metrics.txsFinalized.inc(txs);
    this.#finalizedLog.note(index, round, txs, nowMs);
  }

  /**
   * One debug line per own consensus vote sent: an audit trail in which two
   * lines with the same kind and view but different content would be an
   * equivocation (the cluster tests scan for exactly that).
   */
  #journalVote(m: ConsensusMessage): void {
    if (!this.#log.isLevelEnabled("debug")) return;
    if (m.kind === "prepare" || m.kind === "commit") {
      const { view, proposalHash } = m.msg.body;
      this.#log.debug({ vote: m.kind, index: view.index, round: view.round, hash: toHex(proposalHash) }, "vote sent");
    } else if (m.kind === "timeout") {
      const { view, lockRound } = m.msg.body;
      this.#log.debug({ vote: "timeout", index: view.index, round: view.round, hash: String(lockRound) }, "vote sent");
    }
  }

  /**
   * Submits the turn's writes to the durability hook; once it acknowledges
   * them (and every earlier batch), each write's `durable(id)` goes back to
   * the protocol, in persist order. The outbox releases what they hold.
   */
  #flushWrites(): void {
    if (this.#writes.length === 0) return;
    const batch = this.#writes;
    this.#writes = [];
    this.#durable.submit(batch);
  }

  // ---- operator output ----

  #statusLine(): void {
    const p = this.#protocol;
    const view = p.consensus.view;
    const lock = p.consensus.lock;
    this.#finalizedLog.tick(Date.now());
    this.#log.info(
      {
        index: view.index,
        round: view.round,
        finalized: p.consensus.finalizedIndex,
        executed: p.execution.executedIndex,
        lanes: this.home.committee.members.map((m) => p.lanes.laneNext(m.index)),
        peers: this.#net?.peers().length ?? 0,
        mempool: p.lanes.mempoolSize,
        lock: lock ? `${lock.proposal.view.index}/${lock.proposal.view.round}` : null,
        appHash: toHex(p.execution.appHash).slice(0, 16),
        queued: this.#queue.length,
        syncing: this.#catchUp?.inFlight ?? 0,
      },
      "status",
    );
  }

  // ---- stopping ----

  #fatal(reason: string): void {
    if (this.#stopping !== null) return;
    this.#exitCode = 1;
    this.#log.fatal({ reason }, "stopping the node: fatal error");
    void this.stop();
  }

  async #shutdown(): Promise<void> {
    this.#log.info("stopping: intake closed, flushing writes");
    this.#timers.close();
    if (this.#statusTimer) clearInterval(this.#statusTimer);
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#catchUp?.stop();
    this.#queue.clear();
    const step = async (what: string, fn: () => Promise<unknown>, fatal = false) => {
      try {
        await fn();
      } catch (err) {
        // A write that did not reach the disk is not a clean stop.
        if (fatal) this.#exitCode = 1;
        this.#log[fatal ? "error" : "warn"]({ err: (err as Error).message }, `while stopping: ${what} failed`);
      }
    };
    if (this.#api) await step("closing the API", () => this.#api!.close());
    if (this.#net) await step("stopping the network", () => this.#net!.stop());
    await step("stopping the scrub", () => this.#scrubber.stop());
    await step("flushing writes", () => this.#writer.close(), true);
    await step("closing the database", () => this.#storage.close(), true);
    this.#log.info({ exitCode: this.#exitCode }, "stopped");
    this.#resolveExit(this.#exitCode);
  }
}
