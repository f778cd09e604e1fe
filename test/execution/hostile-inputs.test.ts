/**
 * Issue 11 items 4 and 6: one Byzantine member against the execution
 * machine's buffers (app votes, the pool of fetched lane blocks).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExecutionMachine, KvApp } from "../../node/execution/index.ts";
import {
  type AppVote,
  appVoteSigningBody,
  type CommitQc,
  DOMAINS,
  headerHash,
  type LaneBlock,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { commitQc, laneBlock, laneChain } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

// App votes on every index: these tests aim votes at particular indexes.
const tc = testCommittee(4, { params: { appVoteEveryIndexes: 1 } });
const chain = laneChain(tc, 0, 0, 2);
const ranges = tc.committee.members.map((_, lane) =>
  lane === 0
    ? { lane, first: 0, next: 2, lastHash: headerHash(chain[1]!.header) }
    : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
);
const qc1: CommitQc = commitQc(tc, { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges });
const BYZANTINE = 3;

function exec(me: number, held: LaneBlock[]): ExecutionMachine {
  return new ExecutionMachine({
    committee: tc.committee,
    me,
    signer: tc.signers[me]!,
    config: testProtocolConfig().execution,
    app: new KvApp(),
    recovered: { commitQcs: [qc1], anchor: null, app: { executedIndex: 0, appHash: ZERO_HASH }, chainTip: 0 },
    lookup: (lane, n) => held.find((b) => b.header.lane === lane && b.header.number === n),
  });
}

function appVote(signer: number, index: number, appHash: Uint8Array): AppVote {
  const body = { index, appHash };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.appVote, appVoteSigningBody(body)) };
}

test("item 4: far-future app votes from one member do not stop the AppQC of the index executed next", () => {
  const m = exec(1, chain);
  for (const e of m.start(0)) if (e.kind === "persist") m.step({ kind: "durable", id: e.id }, 1);
  assert.equal(m.executedIndex, 1);
  // 600 validly signed votes for indexes around 10^9: more than the old book's 512 indexes.
  for (let i = 0; i < 600; i++) m.step({ kind: "appVote", vote: appVote(BYZANTINE, 1_000_000_000 + i, m.appHash) }, 2);
  assert.ok(m.counters.appVotesDropped >= 600, "far-future votes are refused and counted");
  for (const s of [0, 1, 2]) m.step({ kind: "appVote", vote: appVote(s, 1, m.appHash) }, 3);
  assert.equal(m.counters.appQcs, 1, "the honest votes for index 1 still form its AppQC");
});

test("item 4: a vote a little ahead of this node's finality is kept (a slower node still forms AppQCs)", () => {
  const m = exec(1, []);
  m.start(0);
  const h = new Uint8Array(32).fill(7);
  for (const s of [0, 2, 3]) m.step({ kind: "appVote", vote: appVote(s, 5, h) }, 1);
  assert.equal(m.counters.appQcs, 1);
  assert.equal(m.counters.appVotesDropped, 0);
});

test("item 6: a lane owner's uncertified blocks cannot fill the pool; the certified blocks still execute", () => {
  const m = exec(1, []);
  m.start(0);
  assert.equal(m.executedIndex, 0, "blocks are missing");
  // The owner of lane 0 signs 4,100 other blocks at number 1 (inside the pending range).
  const parent = headerHash(chain[0]!.header);
  const junk: LaneBlock[] = [];
  for (let i = 0; i < 4100; i++) junk.push(laneBlock(tc, 0, 1, parent, [new TextEncoder().encode(`junk-${i}`)]));
  for (let i = 0; i < junk.length; i += 100) m.step({ kind: "blocks", blocks: junk.slice(i, i + 100) }, 10);
  assert.ok(m.counters.poolDropped >= 4100, "blocks off the certified hash chain are refused and counted");
  // The real blocks arrive as a sync response would bring them (ascending).
  m.step({ kind: "blocks", blocks: chain }, 20);
  assert.equal(m.executedIndex, 1, "the certified blocks were pooled and index 1 executed");
});

test("item 6: certified blocks arriving one by one, lowest first, are pooled once their successor is known", () => {
  const m = exec(1, []);
  m.start(0);
  m.step({ kind: "blocks", blocks: [chain[0]!] }, 10);
  assert.equal(m.executedIndex, 0, "block 0 alone is not yet known to be certified");
  m.step({ kind: "blocks", blocks: [chain[1]!] }, 20);
  m.step({ kind: "blocks", blocks: [chain[0]!] }, 30);
  assert.equal(m.executedIndex, 1);
});
