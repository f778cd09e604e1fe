import assert from "node:assert/strict";
import { test } from "node:test";
import { GENERATION_BYTES, openGossip, PublishGenerations, sealGossip } from "../../node/net/gossip-envelope.ts";

test("an envelope is the payload plus a big-endian generation; opening strips it", () => {
  const payload = new Uint8Array([1, 2, 3]);
  const sealed = sealGossip(payload, 258);
  assert.equal(sealed.byteLength, payload.byteLength + GENERATION_BYTES);
  assert.deepEqual([...sealed.subarray(3)], [0, 0, 1, 2]);
  assert.deepEqual(openGossip(sealed), payload);
  assert.equal(openGossip(new Uint8Array(GENERATION_BYTES - 1)), null);
  assert.deepEqual(openGossip(new Uint8Array(GENERATION_BYTES)), new Uint8Array(0));
});

test("the first publish of a content is generation 0, each re-publish the next; topics are apart", () => {
  const g = new PublishGenerations();
  const a = new Uint8Array([7]);
  assert.equal(g.next("t1", a), 0);
  assert.equal(g.next("t1", a), 1);
  assert.equal(g.next("t1", a), 2);
  assert.equal(g.next("t2", a), 0);
  assert.equal(g.next("t1", new Uint8Array([8])), 0);
});

test("the generation counter is bounded and forgets the least recently published content first", () => {
  const g = new PublishGenerations(3);
  const c = (n: number) => new Uint8Array([n]);
  g.next("t", c(1));
  g.next("t", c(2));
  g.next("t", c(1)); // 1 is now the most recent
  g.next("t", c(3));
  g.next("t", c(4)); // evicts 2
  assert.equal(g.size, 3);
  assert.equal(g.next("t", c(1)), 2);
  assert.equal(g.next("t", c(2)), 0);
});
