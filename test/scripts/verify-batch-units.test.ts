import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchBuilder } from "../../node/attestation/index.ts";
import { aggregate } from "../../node/crypto/index.ts";
import {
  type Batch,
  batchCommitmentHash,
  batchVoteSigningBody,
  DOMAINS,
  leafHash,
  merklePath,
  sha256,
  signingDigest,
  toHex,
} from "../../node/types/index.ts";
import {
  type BatchJsonIn,
  batchVoteDigest,
  CheckFailed,
  checkBatchQc,
  checkProof,
  commitmentHash,
  type ProofJsonIn,
  readGenesis,
} from "../../scripts/verify-batch/check.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4, { attesterWeights: [1, 2, 1, 0] });
const g = readGenesis(JSON.stringify(tc.genesis), "genesis");

function batchOf(size: number): { batch: Batch; hashes: Uint8Array[] } {
  const b = new BatchBuilder({ batchMaxIndexes: size, batchMaxMs: 1e9 }, null);
  for (let i = 1; i <= size; i++) {
    const closed = b.add({
      index: i,
      blockHash: sha256(new Uint8Array([i])),
      createdAtMs: i,
      appHash: sha256(new Uint8Array([i, 1])),
    });
    if (closed !== null) return { batch: closed.batch, hashes: closed.blockHashes };
  }
  throw new Error("unreachable");
}

function json(batch: Batch, signers: number[]): BatchJsonIn {
  const hash = batchCommitmentHash(tc.committee.chainId, tc.committee.genesisHash, batch);
  const body = batchVoteSigningBody({ number: batch.number, hash });
  const agg = aggregate(
    signers.map((s) => ({ signer: s, signature: tc.signers[s]!.sign(DOMAINS.batchVote, body) })),
    4,
  );
  return {
    number: batch.number,
    firstIndex: batch.firstIndex,
    lastIndex: batch.lastIndex,
    hash: toHex(hash),
    appHash: toHex(batch.appHash),
    blocksRoot: toHex(batch.blocksRoot),
    lastBlockHash: toHex(batch.lastBlockHash),
    qc: { signers: agg.signers.getTrueBitIndexes(), signatures: agg.signatures.map(toHex) },
  };
}

function proof(batch: Batch, hashes: Uint8Array[], index: number): ProofJsonIn {
  const leaves = hashes.map((h, i) => leafHash(batch.firstIndex + i, h));
  const position = index - batch.firstIndex;
  return {
    batch: batch.number,
    index,
    blockHash: toHex(hashes[position]!),
    leafIndex: position,
    leafCount: leaves.length,
    siblings: merklePath(leaves, position).map(toHex),
    blocksRoot: toHex(batch.blocksRoot),
    batchHash: toHex(batchCommitmentHash(tc.committee.chainId, tc.committee.genesisHash, batch)),
  };
}

const failsWith = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof CheckFailed && re.test((e as Error).message));

test("the verifier's independent encodings equal the node's: genesis hash, commitment, signing digest", () => {
  assert.deepEqual(g.genesisHash, tc.committee.genesisHash);
  assert.equal(g.quorum, tc.committee.attesters.quorum);
  const { batch } = batchOf(5);
  const h = batchCommitmentHash(tc.committee.chainId, tc.committee.genesisHash, batch);
  assert.deepEqual(
    commitmentHash(tc.committee.chainId, g.genesisHash, batch, batch.lastBlockHash, batch.appHash, batch.blocksRoot),
    h,
  );
  assert.deepEqual(
    batchVoteDigest(tc.committee.chainId, batch.number, h),
    signingDigest(DOMAINS.batchVote, tc.committee.chainId, batchVoteSigningBody({ number: batch.number, hash: h })),
  );
});

test("accepts a BatchQC at quorum (weights 1+2 of 4) and every inclusion proof", () => {
  for (const size of [1, 2, 3, 7, 8, 13]) {
    const { batch, hashes } = batchOf(size);
    const b = json(batch, [0, 1]);
    assert.equal(checkBatchQc(g, b).length, 2);
    for (let i = batch.firstIndex; i <= batch.lastIndex; i++)
      assert.match(checkProof(b, proof(batch, hashes, i)), /^ok/);
  }
});

test("rejects a tampered QC: a flipped signature, a changed field, too little weight, a non-attester, a duplicate", () => {
  const { batch } = batchOf(4);
  const good = json(batch, [0, 1, 2]);
  const flipped = structuredClone(good);
  flipped.qc!.signatures[0] = `${flipped.qc!.signatures[0]!.slice(0, -2)}${flipped.qc!.signatures[0]!.endsWith("00") ? "01" : "00"}`;
  failsWith(() => checkBatchQc(g, flipped), /signature of attester 0 does not verify/);
  failsWith(() => checkBatchQc(g, { ...good, appHash: "11".repeat(32) }), /commitment is/);
  failsWith(() => checkBatchQc(g, { ...good, lastIndex: good.lastIndex + 1 }), /commitment is/);
  failsWith(() => checkBatchQc(g, json(batch, [0, 2])), /weight 2 is below the quorum 3/);
  failsWith(() => checkBatchQc(g, json(batch, [1, 3])), /signer 3 is not an attester/);
  const dup = structuredClone(good);
  dup.qc!.signers = [0, 0, 1];
  failsWith(() => checkBatchQc(g, dup), /distinct/);
  failsWith(() => checkBatchQc(g, { ...good, qc: null }), /no BatchQC/);
  failsWith(
    () => checkBatchQc(readGenesis(JSON.stringify({ ...tc.genesis, chainId: "other" }), "g2"), good),
    /commitment/,
  );
});

test("rejects a tampered proof: another block hash, a changed sibling, a missing sibling, an index outside", () => {
  const { batch, hashes } = batchOf(6);
  const b = json(batch, [0, 1]);
  const p = proof(batch, hashes, 3);
  failsWith(() => checkProof(b, { ...p, blockHash: "22".repeat(32) }), /not the batch's blocks root/);
  failsWith(() => checkProof(b, { ...p, siblings: [p.siblings[1]!, p.siblings[0]!, ...p.siblings.slice(2)] }), /root/);
  failsWith(() => checkProof(b, { ...p, siblings: p.siblings.slice(1) }), /too few siblings|root/);
  failsWith(() => checkProof(b, { ...p, index: 4 }), /root/);
  failsWith(() => checkProof(b, { ...p, index: 9 }), /outside batch/);
});
