import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  generateKeyPair,
  publicKeyOf,
  reference,
  Signer,
  signMessage,
  verifyRaw,
  verifySigned,
} from "../../node/crypto/index.ts";
import { bytesEqual, DOMAINS, type Domain, signingDigest } from "../../node/types/index.ts";

const seed = () => fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = () => fc.uint8Array({ maxLength: 200 });
const domains = Object.values(DOMAINS) as Domain[];

test("node:crypto signatures are byte-identical to @noble/curves and verify both ways", () => {
  fc.assert(
    fc.property(seed(), message(), (secretKey, msg) => {
      const { publicKey } = generateKeyPair(secretKey);
      assert.ok(bytesEqual(publicKeyOf(secretKey), publicKey));
      const fast = signMessage(secretKey, msg);
      const slow = reference.sign(msg, secretKey);
      assert.ok(bytesEqual(fast, slow), "RFC 8032 signatures are deterministic");
      assert.ok(reference.verify(fast, msg, publicKey));
      assert.ok(verifyRaw(publicKey, msg, slow));
      // Same key and message, signed again: same bytes.
      assert.ok(bytesEqual(signMessage(secretKey, msg), fast));
    }),
    { numRuns: 40 },
  );
});

test("Signer signs signingDigest(domain, chainId, body), checked by the reference", () => {
  fc.assert(
    fc.property(seed(), fc.constantFrom(...domains), message(), (secretKey, domain, body) => {
      const signer = new Signer(secretKey, "testchain");
      const sig = signer.sign(domain, body);
      const digest = signingDigest(domain, "testchain", body);
      assert.ok(bytesEqual(sig, reference.sign(digest, secretKey)));
      assert.ok(reference.verify(sig, digest, signer.publicKey));
      assert.ok(verifySigned(signer.publicKey, domain, "testchain", body, sig));
    }),
    { numRuns: 30 },
  );
});

test("a signature under one domain verifies under no other (prepare is not commit)", () => {
  const key = generateKeyPair(new Uint8Array(32).fill(9));
  const signer = new Signer(key.secretKey, "testchain");
  const body = new Uint8Array([1, 2, 3, 4]);
  for (const signedAs of domains) {
    const sig = signer.sign(signedAs, body);
    for (const checkedAs of domains) {
      assert.equal(
        verifySigned(key.publicKey, checkedAs, "testchain", body, sig),
        signedAs === checkedAs,
        `${signedAs} signature checked as ${checkedAs}`,
      );
    }
  }
});

test("a signature for one chain id does not verify for another", () => {
  const key = generateKeyPair(new Uint8Array(32).fill(3));
  const body = new Uint8Array([5, 6]);
  const sig = new Signer(key.secretKey, "chain-a").sign(DOMAINS.prepare, body);
  assert.ok(verifySigned(key.publicKey, DOMAINS.prepare, "chain-a", body, sig));
  assert.ok(!verifySigned(key.publicKey, DOMAINS.prepare, "chain-b", body, sig));
  assert.ok(!verifySigned(key.publicKey, DOMAINS.prepare, "chain-a.", body, sig));
});

test("verifyRaw returns false, never throws, on malformed keys and signatures", () => {
  const key = generateKeyPair(new Uint8Array(32).fill(1));
  const msg = new Uint8Array([1]);
  const sig = signMessage(key.secretKey, msg);
  assert.ok(verifyRaw(key.publicKey, msg, sig));
  const badKeys = [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), new Uint8Array(32).fill(0xff)];
  for (const pk of badKeys) assert.equal(verifyRaw(pk, msg, sig), false);
  for (const s of [new Uint8Array(0), sig.subarray(0, 63), new Uint8Array([...sig, 0]), new Uint8Array(64)]) {
    assert.equal(verifyRaw(key.publicKey, msg, s), false);
  }
  // S >= group order (non-canonical): both implementations refuse it.
  const highS = sig.slice();
  highS.fill(0xff, 32);
  assert.equal(verifyRaw(key.publicKey, msg, highS), false);
  assert.equal(reference.verify(highS, msg, key.publicKey), false);
  // Any single bit flip breaks the signature.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 64 * 8 - 1 }), (bit) => {
      const flipped = sig.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(verifyRaw(key.publicKey, msg, flipped), false);
    }),
    { numRuns: 64 },
  );
});

test("Signer rejects a bad secret key or chain id", () => {
  assert.throws(() => new Signer(new Uint8Array(31), "testchain"), /secret key is 32 bytes/);
  assert.throws(() => new Signer(new Uint8Array(32), "Bad Chain"), /invalid chain id/);
});

test("generateKeyPair is deterministic from a seed and random without one", () => {
  const s = new Uint8Array(32).fill(42);
  assert.ok(bytesEqual(generateKeyPair(s).publicKey, generateKeyPair(s).publicKey));
  assert.ok(!bytesEqual(generateKeyPair().secretKey, generateKeyPair().secretKey));
});
