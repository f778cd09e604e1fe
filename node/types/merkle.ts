/**
 * The Merkle tree over a batch's global block hashes (RFC 9162 shape: the
 * left subtree is the largest power of two below the leaf count, so any
 * count works without padding). Leaves and inner nodes are domain-separated
 * and a leaf binds its global index, so a proof for one index can never pass
 * as a proof for another:
 *
 *   leaf(index, blockHash) = sha256(0x00 || u64be(index) || blockHash)
 *   node(left, right)      = sha256(0x01 || left || right)
 *
 * A proof lists the siblings from the leaf up; it verifies against the root,
 * the leaf's position (index - firstIndex) and the leaf count
 * (lastIndex - firstIndex + 1), all of which the batch commitment fixes.
 */
import { bytesEqual, sha256 } from "./bytes.ts";

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafHash(index: number, blockHash: Uint8Array): Uint8Array {
  const i = new Uint8Array(8);
  new DataView(i.buffer).setBigUint64(0, BigInt(index));
  return sha256(LEAF, i, blockHash);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right);
}

/** Largest power of two strictly below n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function root(leaves: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const n = to - from;
  if (n === 1) return leaves[from]!;
  const k = split(n);
  return nodeHash(root(leaves, from, from + k), root(leaves, from + k, to));
}

/** Root over leaf hashes (at least one). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) throw new Error("a Merkle tree needs at least one leaf");
  return root(leaves, 0, leaves.length);
}

/** Siblings of leaf `position`, from the leaf up. */
export function merklePath(leaves: readonly Uint8Array[], position: number): Uint8Array[] {
  if (!Number.isInteger(position) || position < 0 || position >= leaves.length) {
    throw new RangeError(`leaf ${position} is not in a tree of ${leaves.length}`);
  }
  const path: Uint8Array[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n === 1) return;
    const k = split(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(root(leaves, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(root(leaves, from, from + k));
    }
  };
  walk(position, 0, leaves.length);
  return path;
}

/** RFC 9162 section 2.1.3.2: does `leaf` sit at `position` of a `size`-leaf tree with this root? */
export function verifyMerklePath(
  leaf: Uint8Array,
  position: number,
  size: number,
  path: readonly Uint8Array[],
  expectedRoot: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(size) || position < 0 || position >= size) return false;
  let fn = position;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (p.byteLength !== 32 || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, expectedRoot);
}
