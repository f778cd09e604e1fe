import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SigningGuard } from "../../node/runtime/signing-guard.ts";
import {
  type ConsensusMessage,
  type RecoveredState,
  type SafetyRecord,
  sha256,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4);

function recovered(overrides: Partial<RecoveredState> = {}): RecoveredState {
  return {
    anchor: null,
    lanes: [0, 1, 2, 3].map((lane) => ({ lane, first: 0, next: 0, blocks: [] })),
    commitQcs: [],
    finalizedIndex: 0,
    safety: null,
    app: { executedIndex: 0, appHash: ZERO_HASH },
    chainTip: 0,
    attestation: { record: null, lastBatch: null, executedAfter: [], batchQcNext: 0 },
    ...overrides,
  };
}

const h1 = sha256(new Uint8Array([1]));
const h2 = sha256(new Uint8Array([2]));
const view = { index: 3, round: 1 };

function vote(kind: "prepare" | "commit", hash: Uint8Array, v = view): ConsensusMessage {
  return { kind, msg: { body: { view: v, proposalHash: hash }, signer: 0, signature: new Uint8Array(64) } };
}

function record(partial: Partial<SafetyRecord>): SafetyRecord {
  return { prepare: null, commit: null, timeout: null, lock: null, ...partial };
}

describe("signing guard", () => {
  test("holds a prepare vote until its safety record is durable, then lets only that vote through", () => {
    const guard = new SigningGuard(recovered(), 0);
    assert.match(guard.check({ kind: "consensus", msg: vote("prepare", h1) }) ?? "", /no durable record/);
    guard.noteDurable({ kind: "safety", record: record({ prepare: { view, proposalHash: h1 } }) });
    assert.equal(guard.check({ kind: "consensus", msg: vote("prepare", h1) }), null);
    assert.match(guard.check({ kind: "consensus", msg: vote("prepare", h2) }) ?? "", /conflicts/);
    assert.match(
      guard.check({ kind: "consensus", msg: vote("prepare", h1, { index: 3, round: 2 }) }) ?? "",
      /beyond the durable record/,
    );
  });

  test("holds a commit vote until the lock for its view is durable", () => {
    const p = proposal(view, []);
    const guard = new SigningGuard(recovered(), 0);
    guard.noteDurable({ kind: "safety", record: record({ commit: { view, proposalHash: h1 } }) });
    assert.match(guard.check({ kind: "consensus", msg: vote("commit", h1) }) ?? "", /lock is durable/);
    guard.noteDurable({
      kind: "safety",
      record: record({ commit: { view, proposalHash: h1 }, lock: prepareQc(tc, p) }),
    });
    assert.equal(guard.check({ kind: "consensus", msg: vote("commit", h1) }), null);
  });

  test("a recovered safety record counts as durable (identical re-send after restart)", () => {
    const guard = new SigningGuard(recovered({ safety: record({ prepare: { view, proposalHash: h1 } }) }), 0);
    assert.equal(guard.check({ kind: "consensus", msg: vote("prepare", h1) }), null);
    assert.notEqual(guard.check({ kind: "consensus", msg: vote("prepare", h2) }), null);
  });

  test("timeout votes need a durable timeout record at or above their view", () => {
    const guard = new SigningGuard(recovered(), 0);
    const timeout: ConsensusMessage = {
      kind: "timeout",
      msg: { body: { view, lockRound: null }, signer: 0, signature: new Uint8Array(64), lock: null },
    };
    assert.notEqual(guard.check({ kind: "consensus", msg: timeout }), null);
    guard.noteDurable({ kind: "safety", record: record({ timeout: { view, lockRound: null } }) });
    assert.equal(guard.check({ kind: "consensus", msg: timeout }), null);
  });

  test("own lane blocks and lane votes leave only after the block is durable", () => {
    const [b0, b1] = laneChain(tc, 0, 0, 2);
    const guard = new SigningGuard(recovered(), 0);
    assert.match(guard.check({ kind: "laneBlock", block: b0! }) ?? "", /not durable/);
    assert.notEqual(guard.check({ kind: "laneVote", lane: 0, number: 0 }), null);
    guard.noteDurable({ kind: "laneBlock", block: b0! });
    assert.equal(guard.check({ kind: "laneBlock", block: b0! }), null);
    assert.equal(guard.check({ kind: "laneVote", lane: 0, number: 0 }), null);
    assert.notEqual(guard.check({ kind: "laneVote", lane: 0, number: 1 }), null);
    // A different block at a durable number is an equivocation: held back.
    const other = laneChain(tc, 0, 0, 1, ZERO_HASH, [new Uint8Array([9])])[0]!;
    assert.match(guard.check({ kind: "laneBlock", block: other }) ?? "", /differs/);
    assert.notEqual(guard.check({ kind: "laneBlock", block: b1! }), null);
  });

  test("app votes leave only for durable app state with the same hash", () => {
    const guard = new SigningGuard(recovered(), 0);
    assert.notEqual(guard.check({ kind: "appVote", index: 1, appHash: h1 }), null);
    guard.noteDurable({ kind: "appState", index: 1, appHash: h1, puts: [], dels: [] });
    assert.equal(guard.check({ kind: "appVote", index: 1, appHash: h1 }), null);
    assert.match(guard.check({ kind: "appVote", index: 1, appHash: h2 }) ?? "", /other than the durable/);
  });
});
