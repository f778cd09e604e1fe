/**
 * Issue 11 item 8: a peer that earns rejects is disconnected and kept out
 * for the ban window (gossipsub alone would only graylist it).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REJECTS_BEFORE_BAN } from "../../node/net/peer-guard.ts";
import { netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const c = netCommittee(4, 31);
let v0: TestNode;
let v1: TestNode;
let attacker: TestNode;

before(async () => {
  v0 = await startNode(c, { index: 0, limits: { banMs: 60_000 } });
  v1 = await startNode(c, { index: 1, peers: v0.net.addresses() });
  attacker = await startNode(c, { index: null, peers: v0.net.addresses() });
  await until("attacker subscribed at v0", () => v0.net.topicPeers("lane_vote").includes(attacker.net.peerId));
  await until("v0 subscribed at attacker", () => attacker.net.topicPeers("lane_vote").includes(v0.net.peerId));
});

after(() => stopAll([v0, v1, attacker]));

test("a peer sending invalid gossip is disconnected, refused on reconnect, and honest peers stay", async () => {
  for (let i = 0; i < REJECTS_BEFORE_BAN; i++) {
    await attacker.net.publishRaw("lane_vote", new Uint8Array([0xde, 0xad, i]));
  }
  await until("attacker banned at v0", () => v0.net.isBanned(attacker.net.peerId));
  assert.equal(v0.net.metrics.banned, 1);
  await until("attacker disconnected", () => !v0.net.peers().some((p) => p.peerId === attacker.net.peerId));
  // The attacker's redialer keeps trying (50-500 ms backoff); every connection is closed at once.
  await sleep(2000);
  assert.ok(!v0.net.peers().some((p) => p.peerId === attacker.net.peerId), "kept out for the ban window");
  assert.ok(
    v0.net.peers().some((p) => p.validatorIndex === 1),
    "the honest member stays connected",
  );
  assert.equal(v0.net.isBanned(v1.net.peerId), false);
});
