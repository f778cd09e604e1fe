import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { assertChainId, bytesEqual, DOMAINS, type Domain, signingDigest, toHex } from "../../node/types/index.ts";

const domains = Object.values(DOMAINS) as Domain[];
const body = new Uint8Array([1, 2, 3]);

test("each message kind has its own signing domain", () => {
  assert.equal(new Set(domains).size, domains.length);
  assert.ok(domains.length >= 8);
});

test("signingDigest differs by domain", () => {
  const digests = domains.map((d) => toHex(signingDigest(d, "testchain", body)));
  assert.equal(new Set(digests).size, domains.length);
  assert.notEqual(toHex(signingDigest(DOMAINS.prepare, "c", body)), toHex(signingDigest(DOMAINS.commit, "c", body)));
});

test("signingDigest differs by chain id and by body, and is deterministic", () => {
  const chainId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);
  fc.assert(
    fc.property(fc.constantFrom(...domains), chainId, chainId, fc.uint8Array({ maxLength: 40 }), (d, a, b, payload) => {
      const digest = signingDigest(d, a, payload);
      assert.equal(digest.byteLength, 32);
      assert.ok(bytesEqual(digest, signingDigest(d, a, payload.slice())));
      assert.equal(bytesEqual(digest, signingDigest(d, b, payload)), a === b);
      const other = new Uint8Array([...payload, 0]);
      assert.ok(!bytesEqual(digest, signingDigest(d, a, other)));
    }),
    { numRuns: 200 },
  );
});

test("the framing cannot be shifted between chain id and body", () => {
  // "ab" + body [x] and "a" + body ["b", x] would collide without the separator.
  const b = new TextEncoder().encode("b")[0]!;
  assert.ok(
    !bytesEqual(
      signingDigest("prepare", "ab", new Uint8Array([7])),
      signingDigest("prepare", "a", new Uint8Array([b, 7])),
    ),
  );
});

test("invalid chain ids are rejected with the reason", () => {
  for (const bad of ["", "Main", "-lead", ".lead", "has space", "nul\0byte", "slash/x", "x".repeat(65), "ünï"]) {
    assert.throws(() => assertChainId(bad), /invalid chain id .*: use 1-64 characters/, JSON.stringify(bad));
    assert.throws(() => signingDigest(DOMAINS.prepare, bad, body), /invalid chain id/, JSON.stringify(bad));
  }
  for (const good of ["a", "testchain", "mainnet-1", "x.y_z", "0", "x".repeat(64)]) {
    assert.doesNotThrow(() => assertChainId(good));
  }
});
