import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import type { FastifyInstance } from "fastify";
import type { Level } from "level";
import type { Logger } from "pino";
import { buildApi, EventHub } from "../api/index.ts";
import { type Override, processFacts, type StartTuning, startPlan } from "../config/index.ts";
import { Signer, VerifyCache } from "../crypto/index.ts";
import { verifyEvidence } from "../evidence/index.ts";
import { KvApp } from "../execution/index.ts";
import { createNetwork, type Network } from "../net/index.ts";
import {
  asOperatorFacing,
  createLogger,
  createMetrics,
  type Metrics,
  StartupError,
  WarnLimiter,
} from "../observability/index.ts";
import {
  type NodeEffect,
  type NodeInput,
  type OutboxPersist,
  ProtocolNode,
  protocolConfig,
  type TimerName,
} from "../protocol/index.ts";
import {
  describeHolder,
  divergedFromFinalized,
  GroupCommitWriter,
  isEmptyDatabase,
  openDatabase as openCheckedDatabase,
  openStorage,
  RecoveryError,
  readGenesisRecord,
  readSigningFloor,
  recordDamage,
  recover,
  removePidFile,
  resyncCommand,
  type Storage,
  StorageError,
  StorageIntegrityError,
  writeBufferBytes,
  writeGenesisRecord,
  writePidFile,
} from "../storage/index.ts";
import {
  type ConsensusMessage,
  type Evidence,
  type RecoveredState,
  toHex,
  txHashCount,
  txHashListHex,
  type View,
} from "../types/index.ts";
import { createApiBackend, PendingTxs } from "./api-backend.ts";
import { AttestationPoller } from "./attestation-poller.ts";
import { CatchUp } from "./catch-up.ts";
import { ChainPruner } from "./chain-pruner.ts";
import { DurableReporter, LocalDurability } from "./durability.ts";
import { FinalizedLog } from "./finalized-log.ts";
import { HaMode } from "./ha-mode.ts";
import { loadNodeHome, type NodeHome } from "./home.ts";
import { InputQueue } from "./input-queue.ts";
import { LevelDbCounters } from "./leveldb-counters.ts";
import { MachineCounters } from "./machine-counters.ts";
import { ReceivedJournal } from "./received-journal.ts";
import { Scrubber } from "./scrub.ts";
import { SigningFloorKeeper } from "./signing-floor.ts";
import { syncServerFor } from "./sync-server.ts";
import { Timers } from "./timers.ts";
import { ViewsSeen } from "./views-seen.ts";

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
  logStartTuning(logger, config.node);

  mkdirSync(home.paths.dataDir, { recursive: true, mode: 0o700 });
  const dbPath = join(home.paths.dataDir, "db");
  const db = await openDatabase(dbPath, home, logger);

  const verifyCache = new VerifyCache();
  let storage: Storage;
  let recovered: RecoveredState;
  let storedFloor: View | null;
  try {
    await checkGenesisRecord(db, home, dbPath, logger);
    storedFloor = await readSigningFloor(db);
    storage = await openStorage(db, committee, { logger });
    recovered = await recover(storage, committee, verifyCache, {
      deepCheckBlocks: config.storage.deepCheckBlocksAtStart,
    });
    assertOwnLaneIsOurs(recovered, home.validatorIndex, dbPath);
  } catch (err) {
    await db.close().catch(() => {});
    throw asStartupError(err, dbPath, home);
  }
  writePidFile(home.paths.dataDir);

  const runtime = new Runtime({ home, logger, metrics, storage, recovered, verifyCache, db, storedFloor, dbPath });
  try {
    await runtime.start();
  } catch (err) {
    await runtime.abort();
    throw err;
  }
  return runtime;
}

/**
 * What the start-up tuning left this process with (node/config/start-plan.ts,
 * applied by the CLI's re-execution): the young generation limit with V8's
 * heap limit, which counts three semi-spaces (the proof that the flag took),
 * the old generation's growing factor, and glibc's mmap threshold.
 */
function logStartTuning(logger: Logger, tuning: StartTuning): void {
  const plan = startPlan(tuning, processFacts());
  const { semiSpace, heapGrowing, malloc } = plan.kind === "run" ? plan : plan.fallback;
  const log = logger.child({ module: "runtime" });
  log.info(
    {
      ...semiSpace,
      configuredMiB: tuning.maxSemiSpaceMiB,
      heapSizeLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
    },
    "V8 young generation limit (per semi-space)",
  );
  log.info(
    { ...heapGrowing, configuredPercent: tuning.heapGrowingPercent },
    "V8 old generation growing factor (percent over the live size)",
  );
  log.info({ ...malloc, configuredKiB: tuning.mallocMmapThresholdKiB }, "glibc malloc mmap threshold");
}

/** Opens the LevelDB; a lock held by another node or a damaged database is a StartupError. */
async function openDatabase(dbPath: string, home: NodeHome, logger: Logger): Promise<Level<Uint8Array, Uint8Array>> {
  try {
    // Checks CURRENT, every log record and (storage.verifyTablesAtStart) every table block first.
    const { storage } = home.config;
    const { db, report } = await openCheckedDatabase(dbPath, {
      verifyTables: storage.verifyTablesAtStart,
      writeBufferBytes: writeBufferBytes(storage),
    });
    logger
      .child({ module: "storage" })
      .info(
        { ...report, writeBufferMiB: storage.writeBufferMiB },
        "database files checked (log records; table blocks if enabled)",
      );
    return db;
  } catch (err) {
    if (err instanceof StorageIntegrityError) throw err.locate(dbPath, home.paths.home);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === "LEVEL_LOCKED") {
      throw new StartupError(
        dbPath,
        `the database is in use by another node (${describeHolder(home.paths.dataDir)})`,
        `stop that node first, or start this one with another --home (now ${home.paths.home})`,
      );
    }
    const message = cause?.message ?? (err as Error).message;
    if (/permission denied|EACCES|read-only file system|EROFS/i.test(message)) {
      throw new StartupError(
        dbPath,
        `the database cannot be opened: ${message}`,
        `let the user running the node (uid ${process.getuid?.() ?? "?"}) read and write ${home.paths.dataDir}`,
      );
    }
    throw new StartupError(dbPath, `the database cannot be opened: ${message}`, damagedRemedy(home));
  }
}

/** What to do about a database that is damaged or does not validate. */
function damagedRemedy(home: NodeHome): string {
  return (
    `restore ${home.paths.dataDir} from a backup, or delete it with \`validator reset --yes --home ${home.paths.home}\` ` +
    "and start again: the node re-syncs from its peers, and double-sign protection holds its votes until that is safe"
  );
}

/**
 * The database records the genesis it was created for (meta/genesis). A
 * different genesis.json is the operator's file, not damage: the remedy is
 * to restore that file, never to wipe the data.
 */
async function checkGenesisRecord(
  db: Level<Uint8Array, Uint8Array>,
  home: NodeHome,
  dbPath: string,
  logger: Logger,
): Promise<void> {
  const recorded = await readGenesisRecord(db);
  if (recorded === null) {
    const fresh = await isEmptyDatabase(db);
    await writeGenesisRecord(db, home.genesisHash);
    if (!fresh) {
      logger.info(
        { genesisHash: home.genesisHash },
        "recorded the genesis hash in a database created before it was kept",
      );
    }
    return;
  }
  if (recorded !== home.genesisHash) {
    throw new StartupError(
      home.paths.genesisFile,
      `its genesis hash is ${home.genesisHash}, but the database ${dbPath} was created for genesis ${recorded} ` +
        "(the chain id, params, validators or weights differ)",
      `restore the original genesis.json (hash ${recorded}); to run the chain of this genesis.json instead, give it a new --home`,
    );
  }
}

/** Start-up failures that come from the data on disk, in the operator's shape. */
function asStartupError(err: unknown, dbPath: string, home: NodeHome): unknown {
  if (err instanceof RecoveryError) {
    return new StartupError(
      `${dbPath} (${err.keyRange})`,
      `invalid durable state: ${err.problem}`,
      damagedRemedy(home),
    );
  }
  // Damaged data: the path, key range, what was lost, and `validator resync`.
  if (err instanceof StorageIntegrityError) return err.locate(dbPath, home.paths.home);
  // Already in the operator's shape (a StartupError, or a storage error naming its path and remedy).
  if (err instanceof StartupError || asOperatorFacing(err) !== null) return err;
  // LevelDB tripping over a damaged block while recovery reads: the same clear error.
  const message = err instanceof Error ? err.message : String(err);
  if (/corrupt|checksum/i.test(message)) {
    return new StorageIntegrityError({
      path: dbPath,
      keyRange: "* (a block LevelDB could not read while recovery read the database)",
      problem: `LevelDB: ${message}`,
      lost: "the records in the damaged block (start with storage.verifyTablesAtStart = true to name its key range)",
      remedy: resyncCommand(home.paths.home),
    });
  }
  if (err instanceof StorageError || (err as { code?: string }).code?.startsWith("LEVEL_")) {
    const message = (err as Error).message;
    const problem = /corrupt/i.test(message) ? `the database is damaged (${message})` : message;
    return new StartupError(dbPath, problem, damagedRemedy(home));
  }
  return err;
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
  return 256 + input.block.payload.byteLength;
}

interface RuntimeParts {
  db: Level<Uint8Array, Uint8Array>;
  /** meta/signing-floor as read at start. */
  storedFloor: View | null;
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
  #protocol: ProtocolNode;
  /** Reports durable writes of the current protocol; a new one per protocol (HA role change). */
  #durable: DurableReporter;
  readonly #signer: Signer | null;
  /** The HA mode's lease and role, or null without [ha]. */
  readonly #ha: HaMode | null;
  /**
   * Bumped whenever the protocol is rebuilt (an HA role change): writes,
   * acknowledgements and timers of an older protocol are ignored.
   */
  #generation = 0;
  readonly #queue = new InputQueue<NodeInput>(INPUT_QUEUE_CAPACITY, INPUT_QUEUE_MAX_BYTES, approxInputBytes);
  #timers: Timers<TimerName>;
  readonly #pending: PendingTxs;
  readonly #finalizedLog: FinalizedLog;
  readonly #journal: ReceivedJournal;
  readonly #verifyCache: VerifyCache;
  readonly #counters: MachineCounters;
  readonly #levelDbCounters: LevelDbCounters;
  /** Warnings from the machines, rate-limited per message (one peer can trigger many). */
  readonly #warnings: WarnLimiter;
  /** Evidence on disk, verified at start: not reported again by any protocol built later. */
  readonly #knownEvidence: Evidence[];
  /** Views of consensus messages seen, served to peers in sync status (issue 15). */
  readonly #views: ViewsSeen;
  /** Double-sign protection; null for an observer. */
  readonly #floor: SigningFloorKeeper | null;
  #net: Network | null = null;
  #catchUp: CatchUp | null = null;
  readonly #scrubber: Scrubber;
  /** Highest global block whose write is durable (the scrub reads no further). */
  #durableChainTip: number;
  /** Retention of the chain store (storage.retainIndexes). */
  readonly #pruner: ChainPruner;
  /** Bytes written and txs finalized since start, for the bytes-per-tx gauge. */
  #writtenBytes = 0;
  #finalizedTxs = 0;
  #poller: AttestationPoller | null = null;
  #api: FastifyInstance | null = null;
  /** GET /events fan-out; null without the API. */
  #events: EventHub | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  #peerCount = 0;
  #turnScheduled = false;
  /** Txs admitted by the API and queued, not yet stepped (they count against the mempool bound). */
  #queuedTxs = 0;
  /**
   * Txs admitted while double-sign protection holds (issue 15): the lanes
   * machine gets them only once the own lane is caught up, so no own block
   * is signed at a number the node used before. Bounded by the admission
   * check (they count in #queuedTxs).
   */
  #heldTxs: { kind: "tx"; tx: Uint8Array; hash: string }[] = [];
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
    this.#durableChainTip = storage.chain.tip; // what recovery read is durable
    this.#scrubber = new Scrubber({
      storage,
      durableTip: () => this.#durableChainTip,
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
      this.#metrics.storageWriteBytes.inc(s.bytes);
      this.#writtenBytes += s.bytes;
      if (this.#finalizedTxs > 0) this.#metrics.storageWriteBytesPerTx.set(this.#writtenBytes / this.#finalizedTxs);
    });
    this.#metrics.chainRetainedFrom.set(storage.chain.first);
    this.#pruner = new ChainPruner({
      storage,
      submit: (writes) => this.#writer.submit(writes),
      retainIndexes: home.config.storage.retainIndexes,
      batchIndexes: home.config.storage.pruneBatchIndexes,
      durableTip: () => this.#durableChainTip,
      onPruned: (from, before) => {
        this.#metrics.chainPrunedBlocks.inc(before - from);
        this.#metrics.chainRetainedFrom.set(before);
      },
      onError: (before, err) => this.#log.warn({ before, err: err.message }, "could not prune the chain store"),
    });
    this.#signer = home.validatorKey ? new Signer(home.validatorKey.secretKey, home.committee.chainId) : null;
    this.#ha =
      home.config.ha.enabled && home.validatorIndex !== null && this.#signer !== null
        ? new HaMode({
            home,
            logger: parts.logger,
            metrics: parts.metrics,
            signer: this.#signer,
            writer: this.#writer,
            takeOver: (epoch) => this.#takeOver(epoch),
            stepDown: (reason) => this.#stepDown(reason),
            fatal: (reason) => this.#fatal(reason),
          })
        : null;
    this.#knownEvidence = storage.evidence.list().filter((e) => {
      const why = verifyEvidence(home.committee, e, parts.verifyCache);
      if (why !== null)
        this.#log.warn({ kind: e.kind, signer: e.signer, slot: e.slot, why }, "stored evidence is invalid");
      return why === null;
    });
    if (this.#knownEvidence.length > 0)
      this.#log.warn({ records: this.#knownEvidence.length }, "equivocation evidence on record (GET /evidence)");
    this.#warnings = new WarnLimiter(this.#log, (key) =>
      this.#metrics.warningsSuppressed.inc({ module: key.slice(0, key.indexOf(":")) }),
    );
    this.#views = new ViewsSeen(home.committee);
    // What this node signed or certified before a restart counts as seen: a
    // peer that lost its safety record asks for it (issue 15).
    const s = recovered.safety;
    for (const v of [s?.prepare?.view, s?.commit?.view, s?.timeout?.view, s?.lock?.proposal.view]) {
      if (v !== undefined) this.#views.noteView(v);
    }
    const lastQc = recovered.commitQcs.at(-1) ?? recovered.anchor?.commitQc;
    if (lastQc !== undefined) this.#views.noteView(lastQc.proposal.view);
    const me = home.validatorIndex;
    this.#floor =
      me === null
        ? null
        : new SigningFloorKeeper({
            committee: home.committee,
            me,
            db: parts.db,
            stored: parts.storedFloor,
            check: recovered.safety === null || home.config.node.doubleSignCheck,
            why: home.config.node.doubleSignCheck
              ? "node.doubleSignCheck is true"
              : "started without a safety record (new, reset or lost data directory)",
            optIn: home.config.node.doubleSignCheck,
            log: parts.logger.child({ module: "safety" }),
            sync: () => this.#net?.sync ?? null,
            peers: () => this.#net?.peers() ?? [],
            progress: () => ({
              finalizedIndex: this.#protocol.consensus.finalizedIndex,
              view: this.#protocol.consensus.view,
              ownLaneNext: this.#protocol.lanes.laneNext(me),
            }),
            fetchOwnLane: (from, to) => this.#catchUp?.laneBlocks(me, from, to),
            fetchCommitQcs: (from) => this.#catchUp?.commitQcs(from),
            setFloor: (floor) => {
              this.#push({ kind: "signingFloor", floor });
              this.#releaseHeldTxs();
            },
          });
    // An HA instance starts as a follower; it signs only after winning the lease.
    this.#protocol = this.#newProtocol(recovered, this.#ha === null);
    this.#durable = this.#newReporter();
    this.#timers = this.#newTimers();
    this.#pending = new PendingTxs(home.config.lanes.mempoolMaxTxs * 2);
    this.#finalizedLog = new FinalizedLog(this.#log);
    this.#journal = new ReceivedJournal(this.#log);
    this.#counters = new MachineCounters(this.#protocol, this.#metrics, this.#verifyCache);
    this.#levelDbCounters = new LevelDbCounters(parts.db, this.#metrics);
  }

  #newProtocol(recovered: RecoveredState, signing: boolean): ProtocolNode {
    const protocol = new ProtocolNode({
      committee: this.home.committee,
      me: signing ? this.home.validatorIndex : null,
      signer: signing ? this.#signer : null,
      config: protocolConfig(this.home.config),
      recovered,
      app: new KvApp(),
      verifyCache: this.#verifyCache,
      knownEvidence: this.#knownEvidence,
      nowMs: Date.now(),
      signingFloor: this.#floor?.initialFloor ?? null,
    });
    // The gauge starts at what is durable (before the API listens), not at 0 until the next index.
    this.#metrics.finalizedIndex.set(protocol.consensus.finalizedIndex);
    return protocol;
  }

  /**
   * The durability hook's reporter for the current protocol: `durable(id)`
   * in persist order. The hook is the local group commit, or in the HA mode
   * the Redis quorum and then the group commit (DESIGN sections 10 and 14).
   * A write of an ended HA term is never acknowledged (what it holds is
   * never sent) and does not stop the node; any other refusal does.
   */
  #newReporter(): DurableReporter {
    const generation = this.#generation;
    return new DurableReporter(
      this.#ha?.durability ?? new LocalDurability(this.#writer),
      (batch) => {
        for (const w of batch) {
          if (w.write.kind === "globalBlock" && w.write.block.index > this.#durableChainTip)
            this.#durableChainTip = w.write.block.index;
        }
        if (generation !== this.#generation) return;
        for (const w of batch) this.#push({ kind: "durable", id: w.id });
      },
      (err) => {
        if (generation !== this.#generation || this.#ha?.isTermEnd(err)) return;
        this.#fatal(`a durable write was refused: ${err.message}`);
      },
    );
  }

  #newTimers(): Timers<TimerName> {
    const generation = this.#generation;
    return new Timers<TimerName>((timer, key) => {
      if (generation === this.#generation) this.#push({ kind: "timer", timer, key });
    });
  }

  async start(): Promise<void> {
    const { home } = this;
    const { config, committee } = home;
    const netLog = this.#logger;
    this.#net = await createNetwork({
      committee,
      nodeKey: home.nodeKey,
      validatorIndex: home.validatorIndex,
      haInstance: this.#ha !== null,
      listen: [...config.p2p.listen],
      peers: [...config.p2p.peers],
      logger: netLog,
      limits: {
        maxGossipFrameBytes: config.p2p.maxMessageBytes,
        redialMaxMs: config.p2p.redialMaxBackoffMs,
        maxConnections: config.p2p.maxConnections,
        banMs: config.p2p.banMs,
        maxSyncInflightPerPeer: config.p2p.syncMaxInflightPerPeer,
        maxSyncRequestsPerSecond: config.p2p.syncMaxRequestsPerSecond,
        maxSyncInflight: config.p2p.syncMaxInflight,
        maxSyncInflightBytes: config.p2p.syncMaxInflightBytes,
        syncReservedPercent: config.p2p.syncReservedPercent,
      },
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
        banned: () => this.#metrics.peersBanned.inc(),
        warningSuppressed: () => this.#metrics.warningsSuppressed.inc({ module: "net" }),
      },
      // The network calls these only with messages net/validate.ts verified
      // against committee/signed.ts: the machines do not check them again.
      handlers: {
        onLaneBlock: (block) => {
          this.#journal.laneBlock(block);
          this.#offer({ kind: "laneBlock", block, verified: true });
        },
        onLaneVote: (vote) => {
          this.#journal.laneVote(vote);
          this.#offer({ kind: "laneVote", vote, verified: true });
        },
        onLaneQc: (qc) => this.#offer({ kind: "laneQc", qc, verified: true }),
        onConsensus: (msg) => {
          this.#journal.consensus(msg);
          this.#views.note(msg);
          this.#offer({ kind: "consensus", msg, verified: true });
        },
        onAppVote: (vote) => {
          this.#journal.appVote(vote);
          this.#offer({ kind: "appVote", vote, verified: true });
        },
        onBatchVote: (msg) => this.#offer({ kind: "batchVote", msg, verified: true }),
        // While the audit trail (debug) is on, every vote is checked and written to it.
        isRedundantLaneVote: (vote) => !this.#journal.enabled && this.#protocol.lanes.isRedundantVote(vote),
        isRedundantLaneQc: (qc) => this.#protocol.lanes.isRedundantQc(qc),
        isRedundantConsensus: (m) => !this.#journal.enabled && this.#protocol.isRedundantConsensus(m),
        syncServer: syncServerFor(this.#storage, committee.size, this.#views),
      },
    });
    this.#catchUp = new CatchUp(
      this.#net.sync,
      {
        // Verified by net/sync-client.ts (signatures and hash links).
        laneBlocks: (blocks) => this.#push({ kind: "syncLaneBlocks", blocks, verified: true }),
        commitQcs: (qcs) => this.#push({ kind: "syncCommitQcs", qcs }),
        globalBlocks: (blocks) => this.#push({ kind: "syncGlobalBlocks", blocks }),
        batchQcs: (qcs) => this.#push({ kind: "syncBatchQcs", qcs }),
        executedIndex: () => this.#protocol.execution.executedIndex,
        finalizedIndex: () => this.#protocol.consensus.finalizedIndex,
      },
      this.#logger.child({ module: "sync" }),
    );
    try {
      await this.#net.start();
    } catch (err) {
      throw listenError(err, "p2p.listen", config.p2p.listen.join(", "), "--set p2p.listen=/ip4/<host>/tcp/<port>");
    }
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
      this.#events = new EventHub({
        maxStreams: config.api.maxEventStreams,
        bufferEvents: config.api.eventBufferEvents,
        onDrop: (reason) => this.#metrics.eventStreamsDropped.inc({ reason }),
      });
      this.#api = buildApi(
        createApiBackend({
          home,
          protocol: () => this.#protocol,
          storage: this.#storage,
          net: this.#net,
          metrics: this.#metrics,
          pending: this.#pending,
          submit: (txs, hashes) => this.#submitTxs(txs, hashes),
          queuedTxs: () => this.#queuedTxs,
          accepting: () => this.#stopping === null && this.#protocol.halted === null,
          signing: () => this.#floor?.json ?? { state: "observer", floor: null, reason: "no validator key" },
          highestSeenIndex: () => this.#views.highest.index,
          refreshMetrics: () => {
            this.#counters.update();
            this.#levelDbCounters.update();
          },
          ...(this.#ha ? { ha: () => this.#ha!.status(), haSigning: () => this.#ha!.signing() } : {}),
        }),
        {
          host: config.api.host,
          port: config.api.port,
          maxBodyBytes: config.api.maxBodyBytes,
          maxTxBytes: committee.params.maxTxBytes,
          maxTxsPerRequest: 10_000,
          limits: config.api,
          cpuProfileMaxSeconds: config.api.cpuProfileMaxSeconds,
          logger: this.#logger.child({ module: "api" }),
          onRejected: (reason) => this.#metrics.apiRejected.inc({ reason }),
          events: this.#events,
        },
      );
      let address: string;
      try {
        address = await this.#api.listen({ host: config.api.host, port: config.api.port });
      } catch (err) {
        throw listenError(err, "api.port", `${config.api.host}:${config.api.port}`, "--api-port <port>");
      }
      this.apiUrl = address;
      this.#log.info({ url: address }, "HTTP API listening");
    }

    // Inputs that arrived while the network and API came up wait in the
    // queue: the protocol starts (re-sending its identical last votes, arming
    // its timers) before it steps any of them.
    this.#execute(this.#protocol.start(Date.now()));
    if (this.#stopping !== null) {
      // The start effects themselves stopped the node (the outbox refused a
      // re-send, a halt): start nothing more, and tell the caller.
      await this.#stopping;
      throw new Error(`the node stopped while starting: ${this.#protocol.halted ?? "a fatal error (see the log)"}`);
    }
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
    this.#startAttestation();
    this.#floor?.start();
    this.#ha?.start(this.#net);
    if (config.metrics.statusIntervalMs > 0) {
      this.#statusTimer = setInterval(() => this.#statusLine(), config.metrics.statusIntervalMs);
      this.#statusTimer.unref();
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  /**
   * Batch attestation (DESIGN section 13): the main node (empty
   * attestation.mainNodeUrl) attests its own next BatchQC; every other node
   * polls the main node's status and hands each change to the loop.
   */
  #startAttestation(): void {
    const { config, committee } = this.home;
    const a = this.#protocol.attestation;
    const url = config.attestation.mainNodeUrl;
    const log = this.#logger.child({ module: "attestation" });
    this.#metrics.attestationNextBatch.set(a.status ?? 0);
    this.#metrics.batchQcsStored.set(a.nextBatchQc);
    if (url === "") {
      log.info({ nextBatchToAttest: a.nextBatchQc, attester: a.isAttester }, "attestation: this node is the main node");
      return;
    }
    this.#poller = new AttestationPoller({
      url,
      pollIntervalMs: config.attestation.pollIntervalMs,
      requestTimeoutMs: config.attestation.requestTimeoutMs,
      maxBackoffMs: config.attestation.maxBackoffMs,
      genesis: { chainId: committee.chainId, genesisHash: toHex(committee.genesisHash) },
      onStatus: (next) => {
        this.#metrics.attestationNextBatch.set(next);
        this.#push({ kind: "attestationStatus", next });
      },
      onError: (kind) => this.#metrics.attestationPollErrors.inc({ kind }),
      onStopped: () => this.#push({ kind: "stopAttesting" }),
      logger: log,
    });
    this.#poller.start();
    log.info({ mainNodeUrl: url, attester: a.isAttester }, "attestation: polling the main node");
  }

  /** Stops after a failed start: the exit code (and the final log line) says 1. */
  abort(): Promise<void> {
    this.#exitCode = 1;
    return this.stop();
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

  /** Admitted txs with their hex hashes (computed once, by the API backend). */
  #submitTxs(txs: Uint8Array[], hashes: string[]): void {
    const nowMs = Date.now();
    const hold = this.#floor?.holding === true;
    for (let i = 0; i < txs.length; i++) {
      const input = { kind: "tx" as const, tx: txs[i]!, hash: hashes[i]! };
      this.#pending.add(input.hash, nowMs);
      if (hold) this.#heldTxs.push(input);
      else this.#queue.push(input);
    }
    this.#queuedTxs += txs.length;
    this.#schedule();
  }

  #releaseHeldTxs(): void {
    const held = this.#heldTxs;
    this.#heldTxs = [];
    for (const input of held) this.#queue.push(input);
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
    // Catching up: what this turn applied makes room for the next ranges.
    this.#catchUp?.pump();
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
          if (!this.#mayRelease()) break;
          try {
            net.pushLaneBlock(e.block);
          } catch (err) {
            this.#log.error({ err: (err as Error).message }, "could not push own lane block");
          }
          break;
        case "broadcast":
          if (!this.#mayRelease()) break;
          if (e.topic === "lane_vote") void net.publishLaneVote(e.vote);
          else if (e.topic === "lane_qc") void net.publishLaneQc(e.qc);
          else if (e.topic === "consensus") {
            this.#views.note(e.msg);
            this.#journalVote(e.msg);
            void net.publishConsensus(e.msg);
          } else if (e.topic === "batch_vote") void net.publishBatchVote(e.msg);
          else void net.publishAppVote(e.vote);
          break;
        case "sendLaneVote":
          if (this.#mayRelease()) void net.sendLaneVote(e.vote);
          break;
        case "fetchBatchQcs":
          this.#catchUp?.batchQcs(e.from);
          break;
        case "loadBatch":
          this.#storage.batch(e.number).then(
            (batch) => {
              if (batch !== undefined) this.#push({ kind: "batchLoaded", batch });
            },
            (err: Error) => this.#log.warn({ batch: e.number, err: err.message }, "could not read a stored batch"),
          );
          break;
        case "batchClosed":
          this.#logger.child({ module: "attestation" }).debug(
            {
              batch: e.batch.number,
              firstIndex: e.batch.firstIndex,
              lastIndex: e.batch.lastIndex,
              hash: toHex(e.hash),
            },
            "batch closed",
          );
          break;
        case "attested":
          this.#logger.child({ module: "attestation" }).info(
            {
              batch: e.batch.number,
              firstIndex: e.batch.firstIndex,
              lastIndex: e.batch.lastIndex,
              hash: toHex(e.hash),
            },
            "attesting batch",
          );
          break;
        case "batchQcStored": {
          const n = e.qc.body.number;
          this.#metrics.batchQcsStored.set(n + 1);
          this.#metrics.batchQcs.inc();
          if (this.home.config.attestation.mainNodeUrl === "") this.#metrics.attestationNextBatch.set(n + 1);
          this.#logger.child({ module: "attestation" }).info(
            {
              batch: n,
              firstIndex: e.batch.firstIndex,
              lastIndex: e.batch.lastIndex,
              hash: toHex(e.qc.body.hash),
              signers: e.qc.signers.getTrueBitIndexes(),
            },
            "BatchQC stored",
          );
          break;
        }
        case "setTimer":
          this.#timers.set(e.timer, e.key, e.deadlineMs, nowMs);
          break;
        case "finalized": {
          const { view } = e.qc.proposal;
          this.#views.noteView(view);
          this.#metrics.finalizedIndex.set(view.index);
          if (e.consensusMs !== undefined) this.#metrics.indexConsensus.observe(e.consensusMs / 1000);
          break;
        }
        case "deliver":
          this.#delivered(e.block.index, e.block.commitQc.proposal.view.round, e.txHashes, nowMs);
          if (this.#stopping === null) this.#pruner.maybe();
          break;
        case "fetchLaneBlocks":
          this.#catchUp?.laneBlocks(e.lane, e.from, e.to);
          break;
        case "fetchCommitQcs":
          this.#catchUp?.commitQcs(e.from);
          break;
        case "txRejected":
          // A duplicate is the same tx still waiting: its pending entry stays.
          if (e.code === "duplicate") break;
          this.#pending.remove(e.hash);
          if (e.code === "full") this.#metrics.mempoolRejected.inc();
          // The API admitted what the lanes machine refuses: their checks disagree.
          else
            this.#warnings.warn(
              "lanes:admitted tx refused",
              { module: "lanes", hash: e.hash, reason: e.reason },
              "a tx the API admitted was refused by the lanes machine",
            );
          break;
        case "halt":
          this.#fatal(`halted: ${e.reason}`);
          break;
        case "event":
          if (e.level === "warn") this.#warnings.warn(`${e.module}:${e.msg}`, { module: e.module, ...e.data }, e.msg);
          else this.#logger.child({ module: e.module })[e.level](e.data ?? {}, e.msg);
          break;
        case "evidence": {
          const { kind, signer, slot } = e.evidence;
          this.#metrics.equivocations.inc({ kind });
          this.#warnings.warn(
            `evidence:${kind}:${signer}`,
            { kind, signer, slot },
            "equivocation: a member signed two different statements (proof kept, GET /evidence)",
          );
          // Not a protocol write (nothing waits for it): straight to the group commit.
          this.#writer.submit([{ kind: "evidence", evidence: e.evidence }]).catch((err: Error) => {
            this.#log.warn({ kind, signer, err: err.message }, "could not keep equivocation evidence");
          });
          break;
        }
      }
    }
  }

  /** A block is executed and durable; `txHashes` are its tx hashes as execution computed them (once). */
  #delivered(index: number, round: number, txHashes: Uint8Array, nowMs: number): void {
    const txs = txHashCount(txHashes);
    // Hex only when someone reads it: a pending tx here, or an event stream.
    const hex = this.#pending.size > 0 || this.#events?.listening ? txHashListHex(txHashes) : [];
    if (this.#pending.size > 0) {
      for (const h of hex) {
        const since = this.#pending.finalize(h);
        if (since !== undefined) this.#metrics.finalityLatency.observe((nowMs - since) / 1000);
      }
    }
    this.#metrics.txsFinalized.inc(txs);
    this.#finalizedTxs += txs;
    this.#finalizedLog.note(index, round, txs, nowMs);
    // One bounded enqueue; the writes to each stream run after the turn.
    if (this.#events) this.#events.publish(index, hex);
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
   * In the HA mode a signed message leaves only while this instance leads
   * and its lease is valid (a process paused past its lease releases
   * nothing when it resumes). Without [ha]: always.
   */
  #mayRelease(): boolean {
    if (this.#ha === null) return true;
    if (this.#ha.signing()) {
      this.#ha.noteRelease();
      return true;
    }
    this.#metrics.dropped.inc({ queue: "ha_not_leader" });
    return false;
  }

  /**
   * Submits the turn's writes to the durability hook; once it acknowledges
   * them (and every earlier batch), each write's `durable(id)` goes back to
   * the protocol, in persist order. The outbox releases what they hold. In
   * the HA mode while leading, "durable" is the local group commit AND the
   * Redis quorum publish of the sign state the writes carry (DESIGN section 10).
   */
  #flushWrites(): void {
    if (this.#writes.length === 0) return;
    const batch = this.#writes;
    this.#writes = [];
    this.#durable.submit(batch);
  }

  // ---- HA role changes (DESIGN section 14) ----

  /**
   * Rebuilds the protocol from durable state, signing or not: the
   * machines are pure and take their signer at construction, so a role
   * change is a restart of the protocol in place (network and API stay up).
   */
  async #rebuild(signing: boolean): Promise<void> {
    this.#running = false;
    this.#generation++;
    this.#timers.close();
    this.#timers = this.#newTimers();
    // Queued inputs belong to the old protocol's turn (durables, timers);
    // peers' messages that are lost here come back by sync.
    this.#queue.clear();
    this.#queuedTxs = 0;
    this.#writes = [];
    await this.#ha?.durability.localIdle();
    this.#durable = this.#newReporter();
    if (this.#stopping !== null) return;
    const recovered = await recover(this.#storage, this.home.committee, this.#verifyCache);
    this.#protocol = this.#newProtocol(recovered, signing);
    this.#counters.follow(this.#protocol);
    this.#execute(this.#protocol.start(Date.now()));
    this.#flushWrites();
    this.#running = true;
    this.#schedule();
  }

  /** Won the lease at `epoch`: stop following, reconcile, then sign. */
  async #takeOver(epoch: number): Promise<boolean> {
    if (this.#stopping !== null || this.#net === null) return false;
    const follower = this.#protocol;
    let paused = false;
    const ok = await this.#ha!.reconcile({
      storage: this.#storage,
      writer: this.#writer,
      verifyCache: this.#verifyCache,
      sync: this.#net.sync,
      hint: {
        commitQcNext: follower.consensus.finalizedIndex + 1,
        ownLaneNext: follower.lanes.laneNext(this.home.validatorIndex!),
      },
      // The follower runs while reconciliation gathers; it stops only to apply.
      pause: async () => {
        paused = true;
        this.#running = false;
        this.#generation++;
        await this.#ha!.durability.localIdle();
      },
    });
    // The lease may have lapsed while reconciling (the coordinator then stepped down already).
    if (!ok || this.#stopping !== null || !this.#ha!.lease.held()) {
      if (paused) await this.#rebuild(false);
      return false;
    }
    this.#ha!.beginTerm(epoch);
    await this.#rebuild(true);
    return true;
  }

  /** Lost the lease (or fenced): nothing more leaves; follow the chain again. */
  #stepDown(_reason: string): void {
    this.#generation++;
    this.#running = false;
    void this.#rebuild(false).catch((err: Error) => this.#fatal(`could not become a follower: ${err.message}`));
  }

  // ---- operator output ----

  #statusLine(): void {
    this.#warnings.flush();
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
        signing: this.#floor?.json.state ?? "observer",
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
    if (this.#ha) await this.#ha.stop();
    if (this.#statusTimer) clearInterval(this.#statusTimer);
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#floor?.stop();
    this.#catchUp?.stop();
    this.#poller?.stop();
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
    removePidFile(this.home.paths.dataDir);
    this.#log.info({ exitCode: this.#exitCode }, "stopped");
    this.#resolveExit(this.#exitCode);
  }
}

/**
 * A listen failure as the operator should read it: which config key and
 * flag, the address, and what to do. EADDRINUSE is the common case; libp2p
 * wraps it (and suggests a transportManager option this node does not have).
 */
function listenError(err: unknown, key: string, address: string, flag: string): unknown {
  const text = describeCauses(err);
  if (/EADDRINUSE|address already in use/i.test(text)) {
    return new StartupError(
      `${key} ${address}`,
      "the address is already in use (another node or program listens on it)",
      `stop the other program, or choose a free port: set ${key} in config.toml or pass ${flag}`,
    );
  }
  if (/EADDRNOTAVAIL|EACCES|ENOTFOUND|EAI_AGAIN/i.test(text)) {
    const code = /EADDRNOTAVAIL|EACCES|ENOTFOUND|EAI_AGAIN/i.exec(text)?.[0];
    return new StartupError(
      `${key} ${address}`,
      `cannot listen on this address (${code})`,
      `use an address of this machine and a port above 1023: set ${key} in config.toml or pass ${flag}`,
    );
  }
  return err;
}

/** The messages and codes of an error and its causes (libp2p nests them; AggregateError lists them). */
function describeCauses(err: unknown, depth = 0): string {
  if (depth > 5 || typeof err !== "object" || err === null) return String(err);
  const e = err as { message?: string; code?: string; cause?: unknown; errors?: unknown[] };
  const parts = [e.message ?? "", e.code ?? ""];
  if (e.cause !== undefined) parts.push(describeCauses(e.cause, depth + 1));
  for (const inner of e.errors ?? []) parts.push(describeCauses(inner, depth + 1));
  return parts.join(" ");
}
