import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  concatBytes,
  encodePayload,
  sha256,
  TX_HASH_BYTES,
  toHex,
  txHash,
  txHashAt,
  txHashCount,
  txHashList,
  txHashListHex,
} from "../../node/types/index.ts";

const enc = new TextEncoder();
const reference = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

test("one-shot sha256 equals the streaming hash, for one part, several parts and none", () => {
  const a = enc.encode("a=1");
  const b = new Uint8Array(700).fill(9);
  assert.deepEqual(sha256(a), reference(a));
  assert.deepEqual(sha256(a, b, a), reference(a, b, a));
  assert.deepEqual(sha256(), reference());
  assert.deepEqual(sha256(a, b), sha256(concatBytes(a, b)));
  // A plain Uint8Array (not a Buffer), 32 bytes: compares equal to decoded hashes.
  assert.equal(Object.getPrototypeOf(sha256(a)), Uint8Array.prototype);
  assert.equal(sha256(a).byteLength, 32);
});

test("a block's tx hash list: one buffer, in order, views and hex that match each tx's hash", () => {
  const txLists = [[enc.encode("a=1"), enc.encode("b=2")], [], [enc.encode("a=1")]];
  const blocks = txLists.map((txs) => ({ payload: encodePayload(txs) }));
  const list = txHashList(blocks);
  assert.equal(list.byteLength, 3 * TX_HASH_BYTES);
  assert.equal(txHashCount(list), 3);
  const all = txLists.flat();
  for (const [i, tx] of all.entries()) assert.deepEqual(txHashAt(list, i), txHash(tx));
  assert.deepEqual(
    txHashListHex(list),
    all.map((tx) => toHex(txHash(tx))),
  );
  assert.equal(txHashCount(txHashList([])), 0);
  assert.deepEqual(txHashListHex(new Uint8Array(0)), []);
});
