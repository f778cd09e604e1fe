import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  checkSignature,
  generateKeyPair,
  signMessage,
  VERIFY_CACHE_ENTRIES,
  VerifyCache,
} from "../../node/crypto/index.ts";

test("capacity must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new VerifyCache(bad), /positive integer/);
  assert.equal(new VerifyCache().capacity, VERIFY_CACHE_ENTRIES);
});

test("size never exceeds capacity under many inserts; the newest stay", () => {
  const cache = new VerifyCache(16);
  for (let i = 0; i < 5000; i++) {
    cache.add(`k${i}`);
    assert.ok(cache.size <= 16);
  }
  assert.equal(cache.size, 16);
  for (let i = 0; i < 5000 - 16; i += 97) assert.equal(cache.has(`k${i}`), false);
  for (let i = 5000 - 16; i < 5000; i++) assert.equal(cache.has(`k${i}`), true);
});

test("the least recently used entry is evicted; a recently used one is kept", () => {
  const cache = new VerifyCache(3);
  cache.add("a");
  cache.add("b");
  cache.add("c");
  assert.equal(cache.has("a"), true); // a is now the most recent
  cache.add("d"); // evicts b, the oldest
  assert.equal(cache.has("b"), false);
  assert.equal(cache.has("a"), true);
  assert.equal(cache.has("c"), true);
  assert.equal(cache.has("d"), true);
  cache.add("c"); // re-adding refreshes, does not grow
  assert.equal(cache.size, 3);
});

test("matches a model LRU over random operations", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 })), { maxLength: 300 }),
      (capacity, ops) => {
        const cache = new VerifyCache(capacity);
        const model: string[] = []; // oldest first
        for (const [isAdd, n] of ops) {
          const key = `k${n}`;
          const at = model.indexOf(key);
          if (isAdd) {
            cache.add(key);
            if (at >= 0) model.splice(at, 1);
            else if (model.length >= capacity) model.shift();
            model.push(key);
          } else {
            assert.equal(cache.has(key), at >= 0);
            if (at >= 0) model.push(...model.splice(at, 1));
          }
          assert.equal(cache.size, model.length);
          assert.ok(cache.size <= capacity);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("a cached signature skips verification; an uncached bad one fails", () => {
  const key = generateKeyPair(new Uint8Array(32).fill(4));
  const digest = new Uint8Array(32).fill(8);
  const good = signMessage(key.secretKey, digest);
  const bad = good.slice();
  bad[0]! ^= 1;
  const cache = new VerifyCache(8);

  assert.equal(checkSignature(key.publicKey, digest, bad, cache), false);
  assert.equal(cache.size, 0, "a failed check is not cached");
  assert.equal(checkSignature(key.publicKey, digest, good, cache), true);
  assert.equal(cache.size, 1);
  const hits = cache.hits;
  assert.equal(checkSignature(key.publicKey, digest, good, cache), true);
  assert.equal(cache.hits, hits + 1);

  // Proof that a hit does not verify: plant an entry for a bad signature.
  cache.add(VerifyCache.key(key.publicKey, digest, bad));
  assert.equal(checkSignature(key.publicKey, digest, bad, cache), true);
  assert.equal(checkSignature(key.publicKey, digest, bad), false);
  // The key covers public key, digest and signature: no other combination hits.
  const other = generateKeyPair(new Uint8Array(32).fill(5));
  assert.equal(checkSignature(other.publicKey, digest, good, cache), false);
  assert.equal(checkSignature(key.publicKey, new Uint8Array(32), good, cache), false);
});
