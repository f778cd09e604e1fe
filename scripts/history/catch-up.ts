import { type Logger, pino } from "pino";
import type { Committee } from "../../node/committee/index.ts";
import { type Signer, VerifyCache } from "../../node/crypto/index.ts";
import { KvApp } from "../../node/execution/index.ts";
import { DEFAULT_NET_LIMITS, type SyncClientApi } from "../../node/net/index.ts";
import {
  type NodeEffect,
  type NodeInput,
  type ProtocolConfig,
  ProtocolNode,
  type WriteId,
} from "../../node/protocol/index.ts";
import { CatchUp, syncServerFor, ViewsSeen } from "../../node/runtime/index.ts";
import { GroupCommitWriter, type LevelDb, openStorage, recover, type Storage } from "../../node/storage/index.ts";
import { type CommitQc, codecs, type DurableWrite, type GlobalBlock } from "../../node/types/index.ts";

export interface InProcessCatchUpOptions {
  /** Storage holding the history: served like a peer that pruned all but its global blocks. */
  source: Storage;
  committee: Committee;
  /** The catching-up node: a validator (index and signer) or an observer (null, null). */
  me: number | null;
  signer: Signer | null;
  config: ProtocolConfig;
  /** Its database (empty: it starts at index 0). */
  db: LevelDb;
  /** The live chain's newest CommitQCs, gossiped to it one per turn while it catches up. */
  liveTail: readonly CommitQc[];
  /** Done when it has executed this index. */
  target: number;
  /** Given up when the global-block requests exceed this (a crawl). */
  maxRequests: number;
  log?: Logger;
}

export interface InProcessCatchUpResult {
  protocol: ProtocolNode;
  /** Its storage, open (the caller closes it). */
  storage: Storage;
  requests: number;
  indexesFetched: number;
  seconds: number;
  cpuSeconds: number;
}

/**
 * A node catching up in-process, driven like the runtime drives one: the
 * real ProtocolNode over real storage (group commit, durable acks), the
 * runtime's real CatchUp, fed by the real sync-server handlers over the
 * source's storage (answers encoded as a peer sends them, decoded as the
 * sync client does). While it catches up, the live chain's newest
 * CommitQCs arrive by gossip, as on a running network. No network and no
 * other process: the rate is the node's own.
 */
export async function catchUpInProcess(o: InProcessCatchUpOptions): Promise<InProcessCatchUpResult> {
  const storage = await openStorage(o.db, o.committee);
  const recovered = await recover(storage, o.committee);
  const protocol = new ProtocolNode({
    committee: o.committee,
    me: o.me,
    signer: o.signer,
    config: o.config,
    recovered,
    app: new KvApp(),
    verifyCache: new VerifyCache(65_536),
  });
  const writer = new GroupCommitWriter(storage, {
    onFatal: (err) => {
      throw err;
    },
  });
  const queue: NodeInput[] = [];
  const calls = { requests: 0, indexes: 0 };
  const sync = new CatchUp(
    prunedPeer(o.source, o.committee, calls),
    {
      laneBlocks: (blocks) => queue.push({ kind: "syncLaneBlocks", blocks }),
      commitQcs: (qcs) => queue.push({ kind: "syncCommitQcs", qcs }),
      globalBlocks: (blocks) => queue.push({ kind: "syncGlobalBlocks", blocks }),
      batchQcs: () => {},
      executedIndex: () => protocol.execution.executedIndex,
      finalizedIndex: () => protocol.consensus.finalizedIndex,
    },
    o.log ?? pino({ level: "silent" }),
  );
  let writes: { id: WriteId; write: DurableWrite }[] = [];
  const run = (effects: NodeEffect[]) => {
    for (const e of effects) {
      if (e.kind === "persist") writes.push({ id: e.id, write: e.write });
      else if (e.kind === "fetchLaneBlocks") sync.laneBlocks(e.lane, e.from, e.to);
      else if (e.kind === "fetchCommitQcs") sync.commitQcs(e.from);
      else if (e.kind === "halt") throw new Error(`halted: ${e.reason}`);
    }
  };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  run(protocol.start(Date.now()));
  sync.probe(protocol.consensus.finalizedIndex);
  let live = 0;
  while (protocol.execution.executedIndex < o.target && calls.requests <= o.maxRequests) {
    const tip = o.liveTail[live];
    if (tip !== undefined) {
      live++;
      queue.push({ kind: "consensus", msg: { kind: "commitQc", msg: tip } });
    }
    while (queue.length > 0) run(protocol.step(queue.shift()!, Date.now()));
    sync.pump();
    if (writes.length > 0) {
      const batch = writes;
      writes = [];
      await writer.submit(batch.map((w) => w.write));
      for (const w of batch) queue.push({ kind: "durable", id: w.id });
    } else {
      // Nothing to write: let the fetches in flight answer.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  sync.stop();
  await writer.close();
  return {
    protocol,
    storage,
    requests: calls.requests,
    indexesFetched: calls.indexes,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/** A sync client over one peer that pruned its lane blocks and CommitQCs: only global blocks remain. */
function prunedPeer(
  source: Storage,
  committee: Committee,
  calls: { requests: number; indexes: number },
): SyncClientApi {
  const server = syncServerFor(source, committee.size, new ViewsSeen(committee));
  return {
    async status() {
      const s = await server.status();
      return { ...s, commitQcs: { first: s.globalBlocks.next, next: s.globalBlocks.next } };
    },
    fetchLaneBlocks: async () => [],
    fetchCommitQcs: async () => [],
    fetchBatchQcs: async () => [],
    async fetchGlobalBlocks(first, last) {
      calls.requests++;
      const got = (await server.globalBlocks(first, last, DEFAULT_NET_LIMITS.maxSyncResponseBytes)).map((b) =>
        b instanceof Uint8Array ? codecs.globalBlock.decode(b) : (b as GlobalBlock),
      );
      calls.indexes += got.length;
      return got;
    },
  };
}
