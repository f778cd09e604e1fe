import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultConfig } from "../../node/config/index.ts";
import { protocolConfig } from "../../node/protocol/index.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

test("the machines' settings are the config's, key for key (config/default.toml is their only source)", () => {
  const c = defaultConfig();
  assert.deepEqual(protocolConfig(c), {
    lanes: {
      maxBlockBytes: c.lanes.maxBlockBytes,
      maxBlockDelayMs: c.lanes.maxBlockDelayMs,
      maxAdaptiveBlockDelayMs: c.lanes.maxAdaptiveBlockDelayMs,
      maxWindowBytes: c.lanes.maxWindowBytes,
      sendWhenIdle: c.lanes.sendWhenIdle,
      mempoolMaxTxs: c.lanes.mempoolMaxTxs,
      mempoolMaxBytes: c.lanes.mempoolMaxBytes,
      maxBufferedAhead: c.lanes.maxBufferedAhead,
      retransmitMs: c.lanes.retransmitMs,
    },
    consensus: {
      viewTimeoutMs: c.consensus.viewTimeoutMs,
      maxViewTimeoutMs: c.consensus.maxViewTimeoutMs,
      viewTimeoutGrowth: c.consensus.viewTimeoutGrowth,
      fetchRetryMs: c.consensus.fetchRetryMs,
      proposeGatherMs: c.consensus.proposeGatherMs,
    },
    execution: { anchorEveryIndexes: c.execution.anchorEveryIndexes, fetchRetryMs: c.execution.fetchRetryMs },
    attestation: { voteWindow: c.attestation.voteWindow, repushMs: c.attestation.repushMs, mainNode: true },
  });
  // A node with a main node to poll is not the main node itself.
  const attester = testProtocolConfig(["attestation.mainNodeUrl=http://127.0.0.1:26657"]);
  assert.equal(attester.attestation.mainNode, false);
});

test("a --set of any machine tunable reaches the machine; a bad one is a config error naming the key", () => {
  const p = testProtocolConfig([
    "lanes.retransmitMs=300",
    "consensus.fetchRetryMs=50",
    "execution.anchorEveryIndexes=4",
  ]);
  assert.equal(p.lanes.retransmitMs, 300);
  assert.equal(p.consensus.fetchRetryMs, 50);
  assert.equal(p.execution.anchorEveryIndexes, 4);
  assert.throws(() => testProtocolConfig(["lanes.maxBufferedAhead=0"]), /lanes\.maxBufferedAhead/);
});
