import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchBuilder, type ExecutedBlock } from "../../node/attestation/index.ts";
import { Committee, genesisHash, parseGenesis } from "../../node/committee/index.ts";
import { type Batch, batchCommitmentHash, leafHash, merkleRoot, sha256 } from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

const block = (index: number, createdAtMs: number): ExecutedBlock => ({
  index,
  blockHash: sha256(new Uint8Array([index, 1])),
  createdAtMs,
  appHash: sha256(new Uint8Array([index, 2])),
});

function cut(params: { batchMaxIndexes: number; batchMaxMs: number }, times: number[], last: Batch | null = null) {
  const b = new BatchBuilder(params, last);
  const first = last === null ? 1 : last.lastIndex + 1;
  return times
    .map((t, i) => b.add(block(first + i, t)))
    .filter((x) => x !== null)
    .map((x) => x.batch);
}

test("batches close at batchMaxIndexes: 1..4, 5..8, and the rest stays open", () => {
  const batches = cut({ batchMaxIndexes: 4, batchMaxMs: 1e9 }, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(
    batches.map((b) => [b.number, b.firstIndex, b.lastIndex]),
    [
      [0, 1, 4],
      [1, 5, 8],
    ],
  );
  const b0 = batches[0]!;
  assert.deepEqual(b0.lastBlockHash, block(4, 0).blockHash);
  assert.deepEqual(b0.appHash, block(4, 0).appHash);
  assert.deepEqual(b0.blocksRoot, merkleRoot([1, 2, 3, 4].map((i) => leafHash(i, block(i, 0).blockHash))));
  assert.equal(b0.firstCreatedAtMs, 0);
});

test("a batch closes at the first index whose proposal time is batchMaxMs past its first", () => {
  // times: 1000 (first), 1500, 1999 -> open; 2000 closes (== first + 1000)
  const batches = cut({ batchMaxIndexes: 100, batchMaxMs: 1000 }, [1000, 1500, 1999, 2000, 2100, 5000]);
  assert.deepEqual(
    batches.map((b) => [b.firstIndex, b.lastIndex]),
    [
      [1, 4],
      [5, 6],
    ],
  );
});

test("boundaries depend only on the chain: restarting from the last batch cuts the same", () => {
  const params = { batchMaxIndexes: 3, batchMaxMs: 250 };
  const times = Array.from({ length: 40 }, (_, i) => i * 97 + (i % 5) * 13);
  const whole = cut(params, times);
  const resumed = [...whole.slice(0, 4), ...cut(params, times.slice(whole[3]!.lastIndex), whole[3]!)];
  assert.deepEqual(resumed, whole);
});

test("a closed batch comes with its block hashes, in index order", () => {
  const b = new BatchBuilder({ batchMaxIndexes: 3, batchMaxMs: 1e9 }, null);
  b.add(block(1, 0));
  b.add(block(2, 0));
  const closed = b.add(block(3, 0));
  assert.deepEqual(
    closed?.blockHashes,
    [1, 2, 3].map((i) => block(i, 0).blockHash),
  );
});

test("an index out of order is a bug, refused", () => {
  const b = new BatchBuilder({ batchMaxIndexes: 4, batchMaxMs: 1000 }, null);
  assert.throws(() => b.add(block(2, 0)), /out of order/);
});

test("the commitment covers every field, the chain id and the genesis hash", () => {
  const tc = testCommittee(4);
  const [batch] = cut({ batchMaxIndexes: 2, batchMaxMs: 1e9 }, [0, 1]);
  const h = batchCommitmentHash("testchain", tc.committee.genesisHash, batch!);
  const variants: Batch[] = [
    { ...batch!, number: 1 },
    { ...batch!, firstIndex: 2 },
    { ...batch!, lastIndex: 3 },
    { ...batch!, lastBlockHash: sha256(new Uint8Array([9])) },
    { ...batch!, appHash: sha256(new Uint8Array([9])) },
    { ...batch!, blocksRoot: sha256(new Uint8Array([9])) },
  ];
  for (const v of variants) assert.notDeepEqual(batchCommitmentHash("testchain", tc.committee.genesisHash, v), h);
  assert.notDeepEqual(batchCommitmentHash("otherchain", tc.committee.genesisHash, batch!), h);
  assert.notDeepEqual(batchCommitmentHash("testchain", sha256(new Uint8Array([1])), batch!), h);
  assert.deepEqual(batchCommitmentHash("testchain", tc.committee.genesisHash, { ...batch! }), h);
});

test("genesis hash: formatting and key order do not matter, content does; attester weights in genesis", () => {
  const tc = testCommittee(4, { attesterWeights: [1, 0, 2, 1] });
  const g = tc.genesis;
  const { validators, params, ...rest } = g;
  const reordered = JSON.parse(JSON.stringify({ validators, params, ...rest }));
  assert.deepEqual(genesisHash(parseGenesis(reordered)), genesisHash(g));
  assert.notDeepEqual(genesisHash({ ...g, genesisTimeMs: 1 }), genesisHash(g));
  const c = new Committee(g);
  assert.equal(c.attesters.totalWeight, 4);
  assert.equal(c.attesters.quorum, 3);
  assert.equal(c.attesters.isAttester(1), false);
  assert.equal(c.attesters.weight(2), 2);
  // defaults: 1 per validator, batch params present
  const raw = JSON.parse(JSON.stringify(g));
  for (const v of raw.validators) delete v.attesterWeight;
  delete raw.params;
  const parsed = parseGenesis(raw);
  assert.deepEqual(
    parsed.validators.map((v) => v.attesterWeight),
    [1, 1, 1, 1],
  );
  assert.equal(typeof parsed.params.batchMaxIndexes, "number");
  assert.equal(typeof parsed.params.batchMaxMs, "number");
  assert.throws(
    () => parseGenesis({ ...raw, validators: raw.validators.map((v: object) => ({ ...v, attesterWeight: 0 })) }),
    /attesterWeight above 0/,
  );
});
