import assert from "node:assert/strict";
import { test } from "node:test";
import { BatchBuilder, type ExecutedBlock } from "../../node/attestation/index.ts";
import { aggregate, VerifyCache } from "../../node/crypto/index.ts";
import { openStorage, RecoveryError, recover, space, u64Key } from "../../node/storage/index.ts";
import {
  type Batch,
  type BatchQc,
  batchCommitmentHash,
  batchVoteSigningBody,
  codecs,
  DOMAINS,
  type DurableWrite,
  proposalHash,
} from "../../node/types/index.ts";
import { globalBlockWrite } from "../fixtures/certs.ts";
import { history, type memoryDb, openMemory, tc, writeRaw } from "./helpers.ts";

type Db = ReturnType<typeof memoryDb>;
const appHash = (k: number) => new Uint8Array(32).fill(k);
const hashOf = (b: Batch) => batchCommitmentHash(tc.committee.chainId, tc.committee.genesisHash, b);

function batchQc(b: Batch, signers = [0, 1, 2]): BatchQc {
  const body = { number: b.number, hash: hashOf(b) };
  const agg = aggregate(
    signers.map((s) => ({ signer: s, signature: tc.signers[s]!.sign(DOMAINS.batchVote, batchVoteSigningBody(body)) })),
    tc.committee.size,
  );
  return { body, signers: agg.signers, signatures: agg.signatures };
}

/** Indexes 1..5 finalized, stored and executed; batches of 2: 0 = 1..2, 1 = 3..4 (5 open). */
async function chainState(): Promise<{ db: Db; batches: Batch[]; executed: ExecutedBlock[] }> {
  const { db, writer } = await openMemory();
  const h = history(5, 5);
  await writer.submit([
    ...h.lane0.map((block) => ({ kind: "laneBlock" as const, block })),
    ...h.qcs.map((qc) => ({ kind: "commitQc" as const, qc })),
  ]);
  const writes: DurableWrite[] = [];
  const executed: ExecutedBlock[] = [];
  for (let k = 1; k <= 5; k++) {
    const qc = h.qcs[k - 1]!;
    writes.push(globalBlockWrite({ index: k, commitQc: qc, blocks: [h.lane0[k - 1]!] }));
    writes.push({ kind: "appState", index: k, appHash: appHash(k), puts: [], dels: [] });
    executed.push({
      index: k,
      blockHash: proposalHash(qc.proposal),
      createdAtMs: qc.proposal.createdAtMs,
      appHash: appHash(k),
    });
  }
  await writer.submit(writes);
  const builder = new BatchBuilder({ batchMaxIndexes: 2, batchMaxMs: 1e9 }, null);
  const closed = executed.map((e) => builder.add(e)).filter((b) => b !== null);
  const batches = closed.map((c) => c.batch);
  await writer.submit(closed.map((c) => ({ kind: "batch" as const, batch: c.batch, blockHashes: c.blockHashes })));
  await writer.close();
  return { db, batches, executed };
}

async function recoverDb(db: Db) {
  return recover(await openStorage(db, tc.committee), tc.committee, new VerifyCache(1000));
}

async function rejects(db: Db, keyRange: RegExp, problem: RegExp): Promise<void> {
  await assert.rejects(recoverDb(db), (err: unknown) => {
    assert.ok(err instanceof RecoveryError, `expected a RecoveryError, got ${err}`);
    assert.match(err.keyRange, keyRange);
    assert.match(err.message, problem);
    return true;
  });
}

test("record, batches and BatchQCs recover; the open batch's executed indexes come back", async () => {
  const { db, batches, executed } = await chainState();
  const { writer } = await openMemory(db);
  await writer.submit([
    { kind: "attestation", record: { number: 1, hash: hashOf(batches[1]!) } },
    { kind: "batchQc", qc: batchQc(batches[0]!) },
    { kind: "batchQc", qc: batchQc(batches[1]!) },
  ]);
  await writer.close();
  const s = await recoverDb(db);
  assert.deepEqual(s.attestation.record, { number: 1, hash: hashOf(batches[1]!) });
  assert.deepEqual(s.attestation.lastBatch, batches[1]);
  assert.equal(s.attestation.batchQcNext, 2);
  assert.deepEqual(s.attestation.executedAfter, [executed[4]]);
  const storage = await openStorage(db, tc.committee);
  assert.deepEqual(await storage.batchBlockHashes(1), [executed[2]!.blockHash, executed[3]!.blockHash]);
  assert.equal(await storage.batchBlockHashes(2), undefined);
  await storage.close();
});

test("the attestation record refuses a second hash for one number and a lower number", async () => {
  const { db, batches } = await chainState();
  const { writer } = await openMemory(db);
  await writer.submit([{ kind: "attestation", record: { number: 1, hash: hashOf(batches[1]!) } }]);
  await assert.rejects(
    writer.submit([{ kind: "attestation", record: { number: 1, hash: hashOf(batches[0]!) } }]),
    /second hash for batch 1/,
  );
  await assert.rejects(
    writer.submit([{ kind: "attestation", record: { number: 0, hash: hashOf(batches[0]!) } }]),
    /below the recorded 1/,
  );
  // The identical record again is fine (a re-sent vote's record).
  await writer.submit([{ kind: "attestation", record: { number: 1, hash: hashOf(batches[1]!) } }]);
  await assert.rejects(
    writer.submit([{ kind: "attestation", record: { number: 2, hash: hashOf(batches[1]!) } }]),
    /not closed here/,
  );
  await writer.close();
});

test("BatchQCs are gap-free and only for stored batches; batches link and never pass execution", async () => {
  const { db, batches } = await chainState();
  const { writer } = await openMemory(db);
  await assert.rejects(writer.submit([{ kind: "batchQc", qc: batchQc(batches[1]!) }]), /gap/);
  await assert.rejects(
    writer.submit([{ kind: "batchQc", qc: batchQc({ ...batches[1]!, number: 2 }) }]),
    /not stored here/,
  );
  await assert.rejects(
    writer.submit([
      { kind: "batch", batch: { ...batches[1]!, number: 2, firstIndex: 6, lastIndex: 6 }, blockHashes: [appHash(6)] },
    ]),
    /beyond the executed index 5/,
  );
  await assert.rejects(
    writer.submit([
      {
        kind: "batch",
        batch: { ...batches[1]!, number: 2, firstIndex: 4, lastIndex: 5 },
        blockHashes: [appHash(4), appHash(5)],
      },
    ]),
    /expected to start at 5/,
  );
  await writer.close();
});

test("recovery rejects a BatchQC WAL with a hole", async () => {
  const { db, batches } = await chainState();
  const storage = await openStorage(db, tc.committee);
  await writeRaw(storage, (ws) => storage.attestation.batchQcs.append(ws, 0, batchQc(batches[0]!)));
  await space(db, ["bqc"]).put(u64Key(2), codecs.batchQc.encode(batchQc(batches[1]!)));
  await storage.close();
  await rejects(db, /^bqc\/2$/, /outside the contiguous run/);
});

test("recovery rejects a BatchQC that does not verify or names another commitment", async () => {
  const { db, batches } = await chainState();
  await space(db, ["bqc"]).put(u64Key(0), codecs.batchQc.encode(batchQc(batches[0]!, [0, 1])));
  await rejects(db, /^bqc\/0$/, /below the threshold 3/);
  const again = await chainState();
  await space(again.db, ["bqc"]).put(
    u64Key(0),
    codecs.batchQc.encode({ ...batchQc(batches[1]!), body: { number: 0, hash: hashOf(batches[1]!) } }),
  );
  await rejects(again.db, /^bqc\/0/, /invalid batch_vote signature|commitment/);
});

test("recovery rejects an attestation record that does not name a stored batch's commitment", async () => {
  const { db, batches } = await chainState();
  await space(db, ["meta"]).put(
    new TextEncoder().encode("attestation"),
    codecs.attestationRecord.encode({ number: 1, hash: hashOf(batches[0]!) }),
  );
  await rejects(db, /meta\/attestation/, /whose stored commitment is/);
});
