import assert from "node:assert/strict";
import { test } from "node:test";
import { leafHash, merklePath, merkleRoot, nodeHash, sha256, verifyMerklePath } from "../../node/types/index.ts";

const leaves = (n: number, first = 1) =>
  Array.from({ length: n }, (_, i) => leafHash(first + i, sha256(new Uint8Array([i, n]))));

test("a one-leaf tree's root is the leaf; two leaves hash as a node", () => {
  const [a, b] = leaves(2);
  assert.deepEqual(merkleRoot([a!]), a);
  assert.deepEqual(merkleRoot([a!, b!]), nodeHash(a!, b!));
  assert.deepEqual(merklePath([a!], 0), []);
});

test("RFC 9162 shape: three leaves split 2 + 1, five split 4 + 1", () => {
  const l = leaves(5);
  assert.deepEqual(merkleRoot(l.slice(0, 3)), nodeHash(nodeHash(l[0]!, l[1]!), l[2]!));
  const four = nodeHash(nodeHash(l[0]!, l[1]!), nodeHash(l[2]!, l[3]!));
  assert.deepEqual(merkleRoot(l), nodeHash(four, l[4]!));
});

test("every leaf of every tree size 1..40 verifies, at its position only", () => {
  for (let n = 1; n <= 40; n++) {
    const l = leaves(n);
    const root = merkleRoot(l);
    for (let m = 0; m < n; m++) {
      const path = merklePath(l, m);
      assert.equal(verifyMerklePath(l[m]!, m, n, path, root), true, `n=${n} m=${m}`);
      if (n > 1) {
        const other = (m + 1) % n;
        assert.equal(verifyMerklePath(l[m]!, other, n, path, root), false, `n=${n} m=${m} at ${other}`);
        assert.equal(verifyMerklePath(l[other]!, m, n, path, root), false, `n=${n} other leaf`);
      }
    }
  }
});

test("a tampered sibling, a wrong size, a wrong root or an extra hash fails", () => {
  const l = leaves(13);
  const root = merkleRoot(l);
  const path = merklePath(l, 6);
  assert.equal(verifyMerklePath(l[6]!, 6, 13, path, root), true);
  const bad = path.map((p) => p.slice());
  bad[1]![0]! ^= 1;
  assert.equal(verifyMerklePath(l[6]!, 6, 13, bad, root), false);
  // A size whose tree has another shape at this leaf (the commitment fixes the size).
  assert.equal(verifyMerklePath(l[6]!, 6, 8, path, root), false);
  assert.equal(verifyMerklePath(l[6]!, 6, 13, path, l[0]!), false);
  assert.equal(verifyMerklePath(l[6]!, 6, 13, [...path, l[0]!], root), false);
  assert.equal(verifyMerklePath(l[6]!, 6, 13, path.slice(1), root), false);
  assert.equal(verifyMerklePath(l[6]!, 13, 13, path, root), false);
  assert.equal(verifyMerklePath(l[6]!, -1, 13, path, root), false);
});

test("a leaf binds its global index: the same block hash at another index is another leaf", () => {
  const h = sha256(new Uint8Array([7]));
  assert.notDeepEqual(leafHash(5, h), leafHash(6, h));
  // and a leaf is never an inner node's preimage shape
  assert.notDeepEqual(leafHash(0, h), nodeHash(new Uint8Array(32), h));
});
