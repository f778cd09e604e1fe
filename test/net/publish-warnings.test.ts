/**
 * Issue 11: warnings are rate-limited. A gossip publish that fails (here:
 * the network is not started yet, so gossipsub refuses every publish) is
 * logged at most WARN_BURST times per window; the rest are counted in
 * validator_warnings_suppressed_total (net metrics' warningsSuppressed).
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { createNetwork } from "../../node/net/index.ts";
import { WARN_BURST } from "../../node/observability/index.ts";
import { CHAIN_ID, Inbox, laneChain, laneVote, netCommittee } from "./fixtures.ts";

test("failed gossip publishes write at most WARN_BURST lines per window; the rest are counted", async () => {
  const lines: { msg: string; topic?: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const c = netCommittee(4, 41);
  const net = await createNetwork({
    committee: c.committee,
    nodeKey: c.nodeKeys[0]!,
    validatorIndex: 0,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    peers: [],
    chainId: CHAIN_ID,
    logger: pino({ level: "warn" }, sink),
    handlers: new Inbox(),
  });
  const block = laneChain(c, 0, 1)[0]!;
  const attempts = 40;
  for (let i = 0; i < attempts; i++) await net.publishLaneVote(laneVote(c, 0, block));
  const failed = lines.filter((l) => l.msg === "gossip publish failed");
  assert.equal(failed.length, WARN_BURST, `${failed.length} lines for ${attempts} failed publishes`);
  assert.equal(failed[0]!.topic, "lane_vote");
  assert.equal(net.metrics.warningsSuppressed, attempts - WARN_BURST);
});
