import assert from "node:assert/strict";
import { test } from "node:test";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import fc from "fast-check";
import { generateKeyPair, libp2pPrivateKey, peerIdOf, reference } from "../../node/crypto/index.ts";
import { bytesEqual } from "../../node/types/index.ts";

test("peerIdOf(public key) is the peer id of libp2pPrivateKey(key pair)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      const pair = generateKeyPair(seed);
      const privateKey = libp2pPrivateKey(pair);
      assert.ok(bytesEqual(privateKey.publicKey.raw, pair.publicKey));
      const peerId = peerIdOf(pair.publicKey);
      assert.equal(peerIdFromPrivateKey(privateKey).toString(), peerId);
      assert.match(peerId, /^12D3KooW/);
      // The peer id embeds the key: it parses back to the same public key.
      assert.ok(bytesEqual(peerIdFromString(peerId).publicKey!.raw, pair.publicKey));
    }),
    { numRuns: 20 },
  );
});

test("the libp2p private key signs with the node key", async () => {
  const pair = generateKeyPair(new Uint8Array(32).fill(11));
  const msg = new Uint8Array([1, 2, 3]);
  const sig = await libp2pPrivateKey(pair).sign(msg);
  assert.ok(reference.verify(sig, msg, pair.publicKey));
});

test("different node keys have different peer ids", () => {
  const a = peerIdOf(generateKeyPair(new Uint8Array(32).fill(1)).publicKey);
  const b = peerIdOf(generateKeyPair(new Uint8Array(32).fill(2)).publicKey);
  assert.notEqual(a, b);
});
