import assert from "node:assert/strict";
import { test } from "node:test";
import type { ProtocolNode } from "../../node/protocol/index.ts";
import { createApiBackend, ownUnfinalizedTxs, PendingTxs } from "../../node/runtime/api-backend.ts";
import type { NodeHome } from "../../node/runtime/index.ts";
import type { LaneBlock } from "../../node/types/index.ts";
import { commitQc, laneChain, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(1);
const txs = (n: number) => Array.from({ length: n }, (_, i) => new TextEncoder().encode(`k${i}=v`));
// Own lane: blocks 0..3 of 5 txs each; blocks 0..1 are final.
const chain = laneChain(tc, 0, 0, 4, undefined, txs(5));
const finalQc = commitQc(
  tc,
  proposal({ index: 1, round: 0 }, [{ lane: 0, first: 0, next: 2, lastHash: new Uint8Array(32) }]),
);

function fakeProtocol(mempool: number): ProtocolNode {
  return {
    consensus: { lastCommitQc: finalQc },
    lanes: {
      mempoolSize: mempool,
      mempoolFull: false,
      laneNext: () => chain.length,
      heldBlock: (_lane: number, n: number): LaneBlock | undefined => chain[n],
    },
  } as unknown as ProtocolNode;
}

function backend(mempool: number, maxTxs: number) {
  const submitted: Uint8Array[][] = [];
  const home = {
    validatorIndex: 0,
    config: { lanes: { mempoolMaxTxs: maxTxs } },
    committee: tc.committee,
  } as unknown as NodeHome;
  const api = createApiBackend({
    home,
    protocol: () => fakeProtocol(mempool),
    storage: {} as never,
    net: {} as never,
    metrics: { mempoolRejected: { inc: () => {} } } as never,
    pending: new PendingTxs(100),
    submit: (t) => submitted.push(t),
    queuedTxs: () => 0,
    accepting: () => true,
    signing: () => ({ state: "active", floor: null, reason: "test" }),
    highestSeenIndex: () => 0,
    refreshMetrics: () => {},
  });
  return { api, submitted };
}

test("own lane blocks not final yet count against the admission bound", () => {
  assert.equal(ownUnfinalizedTxs({ validatorIndex: 0 }, fakeProtocol(0)), 10, "blocks 2 and 3, 5 txs each");
  assert.equal(ownUnfinalizedTxs({ validatorIndex: null }, fakeProtocol(0)), 0);

  // 3 in the mempool + 10 in unfinalized own blocks + 2 new = 15: admitted at a bound of 15 ...
  const fits = backend(3, 15);
  assert.deepEqual(fits.api.submitTxs(txs(2)).accepted, true);
  assert.equal(fits.submitted.length, 1);
  // ... and refused with a retry hint at 14, though the mempool alone has room.
  const full = backend(3, 14);
  const refused = full.api.submitTxs(txs(2));
  assert.equal(refused.accepted, false);
  assert.ok(!refused.accepted && refused.reason === "mempool_full" && refused.retryAfterMs > 0);
  assert.equal(full.submitted.length, 0);
});
