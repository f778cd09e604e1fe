import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { MemoryLevel } from "memory-level";
import pino from "pino";
import type { ProtocolNode } from "../../node/protocol/index.ts";
import { openStorage, type Storage } from "../../node/storage/index.ts";
import { bytesEqual, type CommitQc } from "../../node/types/index.ts";
import { buildHistory, catchUpInProcess } from "../../scripts/history/index.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

/**
 * Catch-up of a node far behind a chain whose peers pruned everything but
 * finalized global blocks (issue 16 item 4). The history is built through
 * the real protocol (scripts/history); the catching-up node is the real
 * ProtocolNode over real storage with the runtime's real CatchUp, fed by
 * the real sync-server handlers of a node holding the history
 * (catchUpInProcess). While it catches up, the live chain's newest
 * CommitQCs keep arriving by gossip, as they do on a running network.
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
      config: testProtocolConfig([
        "lanes.maxBlockDelayMs=1",
        "lanes.maxAdaptiveBlockDelayMs=1",
        "lanes.maxBlockBytes=1024",
      ]),
      db,
    })),
    indexes: HISTORY,
    txsPerRefill: 3,
  });
  source = await openStorage(dbs[0]!, tc.committee);
  for (let i = HISTORY - LIVE_TAIL + 1; i <= HISTORY; i++) tail.push((await source.globalBlock(i))!.commitQc);
});

interface Catching {
  protocol: ProtocolNode;
  storage: Storage;
}

/** The node catches up to CATCH_UP_TO, or gives up after `maxRequests` global-block requests (a crawl). */
async function catchUp(me: number | null, maxRequests: number) {
  return catchUpInProcess({
    source,
    committee: tc.committee,
    me,
    signer: me === null ? null : tc.signers[me]!,
    config: testProtocolConfig(),
    db: new MemoryLevel<Uint8Array, Uint8Array>(BYTES),
    liveTail: tail,
    target: CATCH_UP_TO,
    maxRequests,
    log: silent,
  });
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
      `executed ${node.protocol.execution.executedIndex} of ${CATCH_UP_TO} after ${node.requests} global-block requests (${node.indexesFetched} indexes fetched)`,
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
