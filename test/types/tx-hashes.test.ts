import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import {
  concatBytes,
  encodePayload,
  knownTxHashes,
  latin1,
  rememberTxHashes,
  sha256,
  sha256Hex,
  sha256Into,
  TX_HASH_BYTES,
  toHex,
  txHash,
  txHashAt,
  txHashCount,
  txHashHex,
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

test("hashes, hex and latin1 agree with Node's Buffer conversions for in-heap arrays, Buffers and views into large buffers", () => {
  // Small arrays live in V8's heap and take the JavaScript paths; views with an
  // offset and long arrays take Buffer's. Both must give the same answer.
  const shapes = fc
    .uint8Array({ minLength: 0, maxLength: 200 })
    .chain((bytes) =>
      fc.constantFrom(
        bytes,
        Buffer.from(bytes),
        concatBytes(new Uint8Array(7), bytes).subarray(7),
        concatBytes(bytes, new Uint8Array(4096)).subarray(0, bytes.byteLength),
      ),
    );
  fc.assert(
    fc.property(shapes, (bytes) => {
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      assert.equal(toHex(bytes), b.toString("hex"));
      assert.equal(latin1(bytes), b.toString("latin1"));
      const digest = reference(bytes);
      assert.deepEqual(sha256(bytes), digest);
      assert.equal(sha256Hex(bytes), toHex(digest));
      assert.equal(txHashHex(bytes), toHex(txHash(bytes)));
      const out = new Uint8Array(70).fill(0xee);
      sha256Into(out, 3, bytes);
      assert.deepEqual(out.subarray(3, 35), digest);
      assert.ok(out.subarray(0, 3).every((x) => x === 0xee) && out.subarray(35).every((x) => x === 0xee));
      assert.throws(() => sha256Into(out, 39, bytes), RangeError, "a hash that does not fit is refused, not cut");
    }),
    { numRuns: 300 },
  );
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

test("a payload whose txs were hashed before it was made: the list is taken as recorded, not computed again", () => {
  const txs = [enc.encode("a=1"), enc.encode("b=2")];
  const hashed = { payload: encodePayload(txs) };
  const recorded = { payload: encodePayload(txs) };
  // A marker list (not the real hashes) shows which path produced the result.
  const marker = new Uint8Array(2 * TX_HASH_BYTES).fill(7);
  rememberTxHashes(recorded.payload, marker);
  assert.deepEqual(knownTxHashes(recorded.payload), marker);
  assert.equal(knownTxHashes(hashed.payload), undefined, "keyed by the payload object, not its bytes");
  assert.deepEqual(txHashList([recorded]), marker);
  // Mixed: recorded and hashed blocks keep block and tx order.
  assert.deepEqual(txHashList([hashed, recorded]), concatBytes(txHash(txs[0]!), txHash(txs[1]!), marker));
  // A list of the wrong length is not recorded: the payload is hashed.
  const other = { payload: encodePayload(txs) };
  rememberTxHashes(other.payload, new Uint8Array(TX_HASH_BYTES));
  assert.equal(knownTxHashes(other.payload), undefined);
  assert.deepEqual(txHashList([other]), txHashList([hashed]));
});
