import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { MemoryLevel } from "memory-level";
import pino from "pino";
import { VerifyCache } from "../../node/crypto/index.ts";
import { KvApp } from "../../node/execution/index.ts";
import type { SyncClientApi } from "../../node/net/index.ts";
import { type NodeEffect, type NodeInput, ProtocolNode, type WriteId } from "../../node/protocol/index.ts";
import { CatchUp } from "../../node/runtime/catch-up.ts";
import { syncServerFor } from "../../node/runtime/sync-server.ts";
import { GroupCommitWriter, openStorage, recover, type Storage } from "../../node/storage/index.ts";
import { bytesEqual, type CommitQc, codecs, type DurableWrite, type GlobalBlock } from "../../node/types/index.ts";
import { buildHistory } from "../../scripts/history/index.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

/**
 * Catch-up of a node far behind a chain whose peers pruned everything but
 * finalized global blocks (issue 16 item 4). The history is built through
 * the real protocol (scripts/history); the catching-up node is the real
 * ProtocolNode over real storage with the runtime's real CatchUp, fed by
 * the real sync-server handlers of a node holding the history. While it
 * catches up, the live chain's newest CommitQCs keep arriving by gossip, as
 * they do on a running network.
 */

const HISTORY = 420;
/** The live chain's newest CommitQCs gossiped while the node catches up. */
const LIVE_TAIL = 270;
const CATCH_UP_TO = HISTORY - LIVE_TAIL;
const RANGE = 64;

const tc = testCommittee(4, { params: { laneWindow: 64, maxBlocksPerLane: 32 } });
const silent = pino({ level: process.env.CATCHUP_DEBUG ? "debug" : "silent" });
const BYTES = { keyEncoding: "view", valueEncoding: "view" } as const;

let source: Storage;
const tail: CommitQc[] = [];

before(async () => {
  const dbs = tc.keys.map(() => new MemoryLevel<Uint8Array, Uint8Array>(BYTES));
  await Promise.all(dbs.map((db) => db.open()));
  await buildHistory({
    nodes: dbs.map((db, i) => ({
      committee: tc.committee,
      validatorIndex: i,
      secretKey: tc.keys[i]!.secretKey,
      // Small blocks at once: several lane blocks per lane in one index, as under load.
      config: testProtocolConfig(["lanes.maxBlockDelayMs=1", "lanes.maxBlockBytes=64"]),
      db,
    })),
    indexes: HISTORY,
    txsPerRefill: 3,
  });
  source = await openStorage(dbs[0]!, tc.committee);
  for (let i = HISTORY - LIVE_TAIL + 1; i <= HISTORY; i++) tail.push((await source.globalBlock(i))!.commitQc);
});

/** A sync client over one peer that pruned its lane blocks and CommitQCs: only global blocks remain. */
function prunedPeer(calls: { global: number; indexes: number }): SyncClientApi {
  const server = syncServerFor(source, tc.committee.size);
  return {
    async status() {
      return { ...(await server.status()), commitQcs: { first: HISTORY + 1, next: HISTORY + 1 } };
    },
    fetchLaneBlocks: async () => [],
    fetchCommitQcs: async () => [],
    async fetchGlobalBlocks(first, last) {
      calls.global++;
      // As a peer's sync server answers: encoded straight from storage; decoded as the client does.
      const got = (await server.globalBlocks(first, last)).map((b) =>
        b instanceof Uint8Array ? codecs.globalBlock.decode(b) : (b as GlobalBlock),
      );
      calls.indexes += got.length;
      return got;
    },
  };
}

interface Catching {
  protocol: ProtocolNode;
  storage: Storage;
}

/**
 * Drives one node like the runtime does: steps inputs, group-commits the
 * writes, hands fetches to CatchUp; gossips one live CommitQC per turn.
 * Stops at CATCH_UP_TO executed, or when the global-block requests exceed
 * `maxRequests` (a crawl).
 */
async function catchUp(
  me: number | null,
  maxRequests: number,
): Promise<Catching & { requests: number; indexes: number }> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>(BYTES);
  const storage = await openStorage(db, tc.committee);
  const recovered = await recover(storage, tc.committee);
  const protocol = new ProtocolNode({
    committee: tc.committee,
    me,
    signer: me === null ? null : tc.signers[me]!,
    config: testProtocolConfig(),
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
  const calls = { global: 0, indexes: 0 };
  const sync = new CatchUp(
    prunedPeer(calls),
    {
      laneBlocks: (blocks) => queue.push({ kind: "syncLaneBlocks", blocks }),
      commitQcs: (qcs) => queue.push({ kind: "syncCommitQcs", qcs }),
      globalBlocks: (blocks) => queue.push({ kind: "syncGlobalBlocks", blocks }),
      executedIndex: () => protocol.execution.executedIndex,
      finalizedIndex: () => protocol.consensus.finalizedIndex,
    },
    silent,
  );
  let writes: { id: WriteId; write: DurableWrite }[] = [];
  const run = (effects: NodeEffect[]) => {
    for (const e of effects) {
      if (e.kind === "persist") writes.push({ id: e.id, write: e.write });
      else if (e.kind === "fetchLaneBlocks") sync.laneBlocks(e.lane, e.from, e.to);
      else if (e.kind === "fetchCommitQcs") sync.commitQcs(e.from);
      else if (e.kind === "halt") throw new Error(`halted: ${e.reason}`);
      else if (e.kind === "event" && process.env.CATCHUP_DEBUG) console.log(e.module, e.msg, e.data);
    }
  };
  run(protocol.start(Date.now()));
  sync.probe(protocol.consensus.finalizedIndex);
  let live = 0;
  while (protocol.execution.executedIndex < CATCH_UP_TO && calls.global <= maxRequests) {
    const tip = tail[live];
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
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  sync.stop();
  await writer.close();
  return { protocol, storage, requests: calls.global, indexes: calls.indexes };
}

async function assertSameChain(node: Catching, upTo: number): Promise<void> {
  for (let i = 1; i <= upTo; i++) {
    const want = (await source.globalBlock(i))!;
    const got = await node.storage.globalBlock(i);
    assert.ok(got !== undefined, `global block ${i} stored`);
    assert.ok(bytesEqual(got.commitQc.proposal.ranges[0]!.lastHash, want.commitQc.proposal.ranges[0]!.lastHash));
    assert.equal(got.blocks.length, want.blocks.length, `index ${i}: same lane blocks`);
  }
  assert.ok(bytesEqual(node.protocol.execution.appHash, await appHashAt(upTo)), "same app hash");
}

async function appHashAt(index: number): Promise<Uint8Array> {
  const h = await source.appHashAt(index);
  assert.ok(h !== undefined, `source app hash at ${index}`);
  return h;
}

describe("catch-up from finalized global blocks (issue 16 item 4)", () => {
  // Every fetched range applied in full: about one request per RANGE
  // indexes; a crawl (64 fetched, one applied) needs one per index.
  const budget = Math.ceil(CATCH_UP_TO / RANGE) * 2 + 8;

  test("an observer applies every fetched range in full while the live chain gossips its tip", async () => {
    const node = await catchUp(null, budget);
    assert.ok(
      node.protocol.execution.executedIndex >= CATCH_UP_TO,
      `executed ${node.protocol.execution.executedIndex} of ${CATCH_UP_TO} after ${node.requests} global-block requests (${node.indexes} indexes fetched)`,
    );
    assert.ok(node.requests <= budget, `${node.requests} requests for ${CATCH_UP_TO} indexes`);
    await assertSameChain(node, CATCH_UP_TO);
    await node.storage.close();
  });

  test("a validator far behind catches up the same way, and its lanes follow", async () => {
    const node = await catchUp(3, budget);
    assert.ok(
      node.protocol.execution.executedIndex >= CATCH_UP_TO,
      `executed ${node.protocol.execution.executedIndex}`,
    );
    assert.ok(node.requests <= budget, `${node.requests} requests for ${CATCH_UP_TO} indexes`);
    await assertSameChain(node, CATCH_UP_TO);
    // Its lanes hold (or pruned) every finalized block: live blocks will chain on.
    const last = (await source.globalBlock(node.protocol.execution.executedIndex))!.commitQc;
    for (const r of last.proposal.ranges) assert.ok(node.protocol.lanes.laneNext(r.lane) >= r.next, `lane ${r.lane}`);
    await node.storage.close();
  });
});
