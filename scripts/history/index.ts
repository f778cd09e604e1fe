/**
 * Builds a finalized history quickly through the real protocol: the
 * ProtocolNode (lanes, consensus, execution) of every active validator runs
 * in-process over its own storage through GroupCommitWriter, with messages
 * handed directly between the nodes and a clock that jumps to the next timer
 * when nothing else is pending (no network, no waiting for timers), until
 * every active node has finalized `indexes` indexes. The stores hold exactly
 * what running nodes would have written: signed lane blocks, CommitQCs, app
 * state, global blocks, tx index, pruning anchors.
 *
 * Used by scripts/measure-recovery.ts, scripts/measure-catchup.ts and the
 * catch-up tests; catchUpInProcess (catch-up.ts) runs one node catching up
 * on such a history. Inactive validators (not in `active`) are never stepped:
 * their stores stay empty, so they start that far behind.
 */
import type { Committee } from "../../node/committee/index.ts";
import { Signer, VerifyCache } from "../../node/crypto/index.ts";
import { KvApp } from "../../node/execution/index.ts";
import {
  type NodeEffect,
  type NodeInput,
  type ProtocolConfig,
  ProtocolNode,
  protocolConfig,
  type TimerName,
  type WriteId,
} from "../../node/protocol/index.ts";
import type { NodeHome } from "../../node/runtime/index.ts";
import { GroupCommitWriter, type LevelDb, openStorage, recover, type Storage } from "../../node/storage/index.ts";
import type { DurableWrite } from "../../node/types/index.ts";

export { catchUpInProcess, type InProcessCatchUpOptions, type InProcessCatchUpResult } from "./catch-up.ts";
export {
  DIRECT_CHAIN_ID,
  DIRECT_VALIDATORS,
  directGenesis,
  directKeys,
  readDirectHistoryFile,
  storeGlobalBlocks,
  writeDirectHistory,
  writeDirectHistoryFile,
} from "./direct.ts";

export interface HistoryNode {
  committee: Committee;
  validatorIndex: number;
  /** The validator's signing key. */
  secretKey: Uint8Array;
  /**
   * The machines' settings. Small `lanes.maxBlockDelayMs` (1 ms, with
   * `lanes.maxAdaptiveBlockDelayMs` as small, so that the delay stays
   * fixed) makes a block as soon as a tx waits; small `lanes.maxBlockBytes`
   * makes every few txs a block, so that one index carries several blocks
   * per lane (as under load).
   */
  config: ProtocolConfig;
  /** An opened database for this node (it is closed at the end of the build). */
  db: LevelDb;
}

/** A validator home as a history node, with the home's config (load it with the overrides the build wants). */
export function historyNodeOf(home: NodeHome, db: LevelDb): HistoryNode {
  if (home.validatorKey === null || home.validatorIndex === null)
    throw new Error(`${home.paths.home} is not a validator home`);
  return {
    committee: home.committee,
    validatorIndex: home.validatorIndex,
    secretKey: home.validatorKey.secretKey,
    config: protocolConfig(home.config),
    db,
  };
}

export interface BuildHistoryOptions {
  nodes: HistoryNode[];
  /** Finalized indexes to reach. */
  indexes: number;
  /** Txs given to each validator whenever its mempool ran dry. */
  txsPerRefill: number;
  /** Progress lines (every 10 s); default none. */
  progress?: (line: string) => void;
  /** Warnings and errors of the machines; default none. */
  warn?: (line: string) => void;
}

export interface BuildHistoryResult {
  finalized: number;
  txs: number;
  seconds: number;
}

interface BuildNode {
  validatorIndex: number;
  storage: Storage;
  writer: GroupCommitWriter;
  protocol: ProtocolNode;
  queue: NodeInput[];
  writes: { id: WriteId; write: DurableWrite }[];
  timers: Map<TimerName, { key: string; deadlineMs: number }>;
}

/** Runs the nodes until every one has finalized `indexes`; closes their storage. */
export async function buildHistory(opts: BuildHistoryOptions): Promise<BuildHistoryResult> {
  const cache = new VerifyCache(65_536);
  const nodes: BuildNode[] = [];
  for (const { committee, validatorIndex, secretKey, config, db } of opts.nodes) {
    const storage = await openStorage(db, committee);
    const recovered = await recover(storage, committee, new VerifyCache(1024));
    const protocol = new ProtocolNode({
      committee,
      me: validatorIndex,
      signer: new Signer(secretKey, committee.chainId),
      config,
      recovered,
      app: new KvApp(),
      verifyCache: cache,
    });
    const writer = new GroupCommitWriter(storage, {
      onFatal: (err) => {
        throw err;
      },
    });
    nodes.push({ validatorIndex, storage, writer, protocol, queue: [], writes: [], timers: new Map() });
  }

  let nowMs = Date.now();
  const route = (from: BuildNode, effects: NodeEffect[]) => {
    for (const e of effects) {
      const others = nodes.filter((n) => n !== from);
      switch (e.kind) {
        case "persist":
          from.writes.push({ id: e.id, write: e.write });
          break;
        case "pushBlock":
          for (const n of others) n.queue.push({ kind: "laneBlock", block: e.block });
          break;
        case "broadcast":
          for (const n of others) {
            if (e.topic === "lane_vote") n.queue.push({ kind: "laneVote", vote: e.vote });
            else if (e.topic === "lane_qc") n.queue.push({ kind: "laneQc", qc: e.qc });
            else if (e.topic === "consensus") n.queue.push({ kind: "consensus", msg: e.msg });
            else if (e.topic === "batch_vote") n.queue.push({ kind: "batchVote", msg: e.msg });
            else n.queue.push({ kind: "appVote", vote: e.vote });
          }
          break;
        case "sendLaneVote":
          for (const n of others)
            if (n.validatorIndex === e.vote.body.lane) n.queue.push({ kind: "laneVote", vote: e.vote });
          break;
        case "setTimer":
          from.timers.set(e.timer, { key: e.key, deadlineMs: e.deadlineMs });
          break;
        case "halt":
          throw new Error(`node ${from.validatorIndex} halted: ${e.reason}`);
        case "event":
          if (e.level !== "info" && !e.msg.includes("timed out")) {
            opts.warn?.(`node${from.validatorIndex} ${e.module} ${e.level}: ${e.msg}`);
          }
          break;
        default:
          break;
      }
    }
  };
  for (const n of nodes) route(n, n.protocol.start(nowMs));

  const started = performance.now();
  const encoder = new TextEncoder();
  let txSeq = 0;
  let lastReport = started;
  const minFinalized = () => Math.min(...nodes.map((n) => n.protocol.consensus.finalizedIndex));
  while (minFinalized() < opts.indexes) {
    nowMs = Math.max(nowMs, Date.now());
    // Each validator gets a few txs whenever its mempool ran dry.
    for (const n of nodes) {
      if (n.protocol.lanes.mempoolSize === 0 && n.protocol.consensus.finalizedIndex < opts.indexes) {
        for (let t = 0; t < opts.txsPerRefill; t++) {
          const seq = txSeq++;
          n.queue.push({ kind: "tx", tx: encoder.encode(`key-${seq}=value-${seq}`) });
        }
      }
    }
    // Step until every queue is empty; then make the turn's writes durable.
    let stepped = true;
    while (stepped) {
      stepped = false;
      for (const n of nodes) {
        while (n.queue.length > 0) {
          stepped = true;
          route(n, n.protocol.step(n.queue.shift()!, nowMs));
        }
      }
    }
    await Promise.all(
      nodes.map(async (n) => {
        if (n.writes.length === 0) return;
        const batch = n.writes;
        n.writes = [];
        await n.writer.submit(batch.map((w) => w.write));
        for (const w of batch) n.queue.push({ kind: "durable", id: w.id });
      }),
    );
    if (opts.progress !== undefined && performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      opts.progress(`  build: index ${minFinalized()} after ${((lastReport - started) / 1000).toFixed(0)} s`);
    }
    if (nodes.some((n) => n.queue.length > 0)) continue;
    // Idle: jump the clock to the earliest timer and fire it.
    let next: { node: BuildNode; timer: TimerName; key: string; deadlineMs: number } | null = null;
    for (const n of nodes) {
      for (const [timer, t] of n.timers) {
        if (next === null || t.deadlineMs < next.deadlineMs) next = { node: n, timer, ...t };
      }
    }
    if (next === null) throw new Error(`stalled at index ${minFinalized()}: nothing pending and no timer`);
    next.node.timers.delete(next.timer);
    nowMs = Math.max(nowMs, next.deadlineMs);
    next.node.queue.push({ kind: "timer", timer: next.timer, key: next.key });
  }
  const seconds = (performance.now() - started) / 1000;
  const finalized = minFinalized();
  for (const n of nodes) {
    await n.writer.close();
    await n.storage.close();
  }
  return { finalized, txs: txSeq, seconds };
}

/**
 * Build-only shortcut: batches are written without fsync. The bytes are the
 * same (the databases are closed cleanly at the end); only the build's wait
 * for the disk goes, which would otherwise dominate it.
 */
export function skipFsync(db: LevelDb): void {
  const target = db as unknown as { batch: () => { write(opts?: object): Promise<void> } };
  const batch = target.batch.bind(db);
  target.batch = () => {
    const b = batch();
    const write = b.write.bind(b);
    b.write = (o?: object) => write({ ...o, sync: false });
    return b;
  };
}
