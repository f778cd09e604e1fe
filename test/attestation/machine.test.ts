import assert from "node:assert/strict";
import { test } from "node:test";
import { type AttestationEffect, AttestationMachine, type ExecutedBlock } from "../../node/attestation/index.ts";
import { aggregate } from "../../node/crypto/index.ts";
import {
  type AttestationRecord,
  type Batch,
  type BatchQc,
  type BatchVote,
  batchVoteSigningBody,
  DOMAINS,
  sha256,
  toHex,
} from "../../node/types/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

const PARAMS = { batchMaxIndexes: 2, batchMaxMs: 1_000_000 };
const CONFIG = { voteWindow: 4, repushMs: 100, mainNode: false };
const tc = testCommittee(4);

const executed = (index: number, salt = 0): ExecutedBlock => ({
  index,
  blockHash: sha256(new Uint8Array([index, 1, salt])),
  createdAtMs: index,
  appHash: sha256(new Uint8Array([index, 2, salt])),
});

function machine(
  me: number | null,
  opts: {
    record?: AttestationRecord | null;
    lastBatch?: Batch | null;
    executedAfter?: ExecutedBlock[];
    batchQcNext?: number;
    mainNode?: boolean;
    committee?: typeof tc;
  } = {},
) {
  const c = opts.committee ?? tc;
  return new AttestationMachine({
    committee: c.committee,
    me,
    signer: me === null ? null : c.signers[me]!,
    config: { ...CONFIG, mainNode: opts.mainNode ?? false },
    params: PARAMS,
    recovered: {
      record: opts.record ?? null,
      lastBatch: opts.lastBatch ?? null,
      executedAfter: opts.executedAfter ?? [],
      batchQcNext: opts.batchQcNext ?? 0,
    },
    nowMs: 0,
  });
}

const of = <K extends AttestationEffect["kind"]>(effects: AttestationEffect[], kind: K) =>
  effects.filter((e): e is Extract<AttestationEffect, { kind: K }> => e.kind === kind);

/** Batch vote messages a step hands out: released with a write, or re-pushed. */
const votesOut = (effects: AttestationEffect[]) =>
  effects.flatMap((e) => (e.kind === "persist" || e.kind === "resend" ? e.release.map((r) => r.msg) : []));

/** Acknowledges every persist in `effects` (and what that triggers), returning all effects. */
function ackAll(m: AttestationMachine, effects: AttestationEffect[], nowMs = 0): AttestationEffect[] {
  const all = [...effects];
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!;
    if (e.kind === "persist") all.push(...m.step({ kind: "durable", id: e.id }, nowMs));
  }
  return all;
}

function vote(signer: number, number: number, hash: Uint8Array): BatchVote {
  const body = { number, hash };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.batchVote, batchVoteSigningBody(body)) };
}

const voteIn = (v: BatchVote, attempt = 0) => ({ kind: "batchVote" as const, msg: { vote: v, attempt } });

/** Runs executed 1..n through a machine, acknowledging writes; returns the batches closed. */
function feed(m: AttestationMachine, from: number, to: number): { batch: Batch; hash: Uint8Array }[] {
  const closed: { batch: Batch; hash: Uint8Array }[] = [];
  for (let i = from; i <= to; i++) {
    for (const e of ackAll(m, m.step({ kind: "executed", block: executed(i) }, 0))) {
      if (e.kind === "batchClosed") closed.push({ batch: e.batch, hash: e.hash });
    }
  }
  return closed;
}

function qcFor(number: number, hash: Uint8Array, signers: number[]): BatchQc {
  const agg = aggregate(
    signers.map((s) => vote(s, number, hash)),
    tc.committee.size,
  );
  return { body: { number, hash }, signers: agg.signers, signatures: agg.signatures };
}

test("an attester votes for the status batch only once it closed and its record is durable", () => {
  const m = machine(0);
  assert.deepEqual(m.step({ kind: "status", next: 0 }, 0), []);
  const first = m.step({ kind: "executed", block: executed(1) }, 0);
  assert.equal(of(first, "persist").length, 0, "batch 0 is not closed after index 1");
  const out = m.step({ kind: "executed", block: executed(2) }, 0);
  const closed = of(out, "batchClosed")[0]!;
  assert.equal(closed.batch.number, 0);
  const persists = of(out, "persist");
  assert.deepEqual(
    persists.map((p) => p.write.kind),
    ["batch", "attestation"],
  );
  // The vote rides on the attestation record's write: the outbox releases it once that is durable.
  assert.equal(persists[0]!.release.length, 0);
  const held = persists[1]!.release;
  assert.equal(held.length, 1);
  assert.equal(held[0]!.msg.vote.body.number, 0);
  assert.deepEqual(held[0]!.msg.vote.body.hash, closed.hash);
  assert.equal(of(out, "resend").length, 0);
  assert.equal(of(m.step({ kind: "durable", id: persists[0]!.id }, 0), "attested").length, 0);
  assert.equal(m.record, null, "not recorded before its write is durable");
  const released = m.step({ kind: "durable", id: persists[1]!.id }, 5);
  assert.equal(of(released, "attested").length, 1);
  assert.deepEqual(m.record, { number: 0, hash: closed.hash });
});

test("BatchQC at attester quorum, stored gap-free after its own commitment matched; re-push stops then", () => {
  const m = machine(0);
  m.step({ kind: "status", next: 0 }, 0);
  const [{ hash }] = feed(m, 1, 2) as [{ batch: Batch; hash: Uint8Array }];
  // Re-push: the same signed vote with the next attempt number.
  const r1 = votesOut(m.step({ kind: "timer" }, 100));
  const r2 = votesOut(m.step({ kind: "timer" }, 200));
  assert.equal(r1.length, 1);
  assert.equal(r2[0]!.attempt, r1[0]!.attempt + 1);
  assert.deepEqual(r2[0]!.vote, r1[0]!.vote);
  assert.equal(of(m.step(voteIn(vote(1, 0, hash)), 210), "persist").length, 0, "2 of 4 is below Qa = 3");
  const out = m.step(voteIn(vote(2, 0, hash)), 220);
  const p = of(out, "persist");
  assert.equal(p.length, 1);
  assert.equal(p[0]!.write.kind, "batchQc");
  const qc = (p[0]!.write as { qc: BatchQc }).qc;
  assert.deepEqual(qc.signers.getTrueBitIndexes(), [0, 1, 2]);
  const stored = of(m.step({ kind: "durable", id: p[0]!.id }, 230), "batchQcStored");
  assert.equal(stored.length, 1);
  assert.equal(m.nextBatchQc, 1);
  assert.equal(votesOut(m.step({ kind: "timer" }, 400)).length, 0, "no re-push after the QC");
  assert.equal(m.counters.votes.accepted, 2);
});

test("never a second hash for one number, across a restart: identical vote re-sent, lower status ignored", () => {
  const a = machine(1);
  a.step({ kind: "status", next: 0 }, 0);
  const [{ batch, hash }] = feed(a, 1, 2) as [{ batch: Batch; hash: Uint8Array }];
  const before = vote(1, 0, hash);
  // Restart from the durable state.
  const b = machine(1, { record: { number: 0, hash }, lastBatch: batch });
  const start = b.start(1000);
  const resent = of(start, "resend").flatMap((e) => e.release);
  assert.equal(resent.length, 1);
  assert.deepEqual(resent[0]!.msg.vote, before, "identical signature");
  assert.equal(of(start, "persist").length, 0);
  // Status 0 again: no new record.
  assert.equal(of(b.step({ kind: "status", next: 0 }, 1001), "persist").length, 0);
  // A recovered record above the status: nothing is signed for the lower number.
  const c = machine(1, { record: { number: 3, hash }, lastBatch: { ...batch, number: 3 } });
  c.start(0);
  c.step({ kind: "status", next: 2 }, 0);
  assert.equal(of(feed2(c), "persist").filter((p) => p.write.kind === "attestation").length, 0);
});

function feed2(m: AttestationMachine): AttestationEffect[] {
  return [3, 4, 5, 6].flatMap((i) => m.step({ kind: "executed", block: executed(i) }, 0));
}

test("a status that moves backwards is logged as an error and ignored", () => {
  const m = machine(0);
  m.step({ kind: "status", next: 3 }, 0);
  const out = m.step({ kind: "status", next: 1 }, 0);
  const errors = of(out, "event").filter((e) => e.level === "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg, /backwards/);
  assert.equal(m.status, 3);
});

test("votes by verdict: old, out of window, invalid, non-attester, duplicate, superseded, equivocation", () => {
  const weights = testCommittee(4, { attesterWeights: [1, 1, 1, 0] });
  const m = machine(null, { batchQcNext: 2, committee: weights });
  const h = sha256(new Uint8Array([1]));
  const h2 = sha256(new Uint8Array([2]));
  m.step(voteIn(vote(0, 1, h)), 0); // old
  m.step(voteIn(vote(0, 6, h)), 0); // 2 + window 4 = 6: out
  const forged = { ...vote(0, 2, h), signature: vote(1, 2, h).signature };
  m.step(voteIn(forged), 0); // invalid
  m.step(voteIn(vote(3, 2, h)), 0); // attester weight 0: invalid
  m.step(voteIn(vote(0, 3, h)), 0); // accepted
  m.step(voteIn(vote(0, 3, h), 7), 0); // duplicate (a re-push)
  m.step(voteIn(vote(0, 2, h)), 0); // superseded by 3
  const eq = m.step(voteIn(vote(0, 3, h2)), 0); // equivocation
  assert.equal(of(eq, "event")[0]?.level, "warn");
  assert.deepEqual(m.counters.votes, {
    accepted: 1,
    duplicate: 1,
    invalid: 2,
    old: 1,
    out_of_window: 1,
    superseded: 1,
    equivocation: 1,
  });
});

test("divergence: a quorum on a hash that is not ours halts the node, naming both hashes", () => {
  const m = machine(null);
  const [{ hash }] = feed(m, 1, 2) as [{ batch: Batch; hash: Uint8Array }];
  const other = sha256(new Uint8Array([9]));
  m.step(voteIn(vote(0, 0, other)), 0);
  m.step(voteIn(vote(1, 0, other)), 0);
  const out = m.step(voteIn(vote(2, 0, other)), 0);
  const halt = of(out, "halt")[0];
  assert.ok(halt);
  assert.ok(halt.reason.includes(toHex(hash)) && halt.reason.includes(toHex(other)), halt.reason);
  assert.equal(of(out, "persist").length, 0);
  assert.equal(m.halted, halt.reason);
  assert.deepEqual(m.step(voteIn(vote(3, 0, other)), 0), []);
});

test("a BatchQC waits for this node's own batch; a later one waits for the gap, which is fetched by sync", () => {
  const m = machine(null);
  const batches = feed(m, 1, 2); // batch 0 only
  const h0 = batches[0]!.hash;
  // Votes for batch 1 form a QC, but batch 1 is not closed here and BatchQC 0 is missing.
  const probe = machine(null);
  const b = feed(probe, 1, 4);
  const h1 = b[1]!.hash;
  // A vote for batch 1 shows BatchQC 0 exists: fetched at once, then at most every repushMs.
  const out = [0, 1, 2].flatMap((s) => m.step(voteIn(vote(s, 1, h1)), 10));
  assert.equal(of(out, "persist").length, 0);
  assert.deepEqual(of(out, "fetchBatchQcs"), [{ kind: "fetchBatchQcs", from: 0 }]);
  assert.deepEqual(of(m.step({ kind: "timer" }, 110), "fetchBatchQcs"), [{ kind: "fetchBatchQcs", from: 0 }]);
  // Sync brings BatchQC 0 (and a forged one that is ignored): 0 is stored; 1 waits for batch 1.
  const forged = { ...qcFor(0, h0, [0, 1, 2]), signatures: qcFor(0, h1, [0, 1, 2]).signatures };
  const synced = m.step({ kind: "batchQcs", qcs: [forged, qcFor(0, h0, [0, 1, 3])] }, 20);
  assert.deepEqual(
    of(synced, "persist").map((p) => (p.write as { qc: BatchQc }).qc.body.number),
    [0],
  );
  ackAll(m, synced, 20);
  assert.equal(m.nextBatchQc, 1);
  const later = ackAll(m, [
    ...m.step({ kind: "executed", block: executed(3) }, 30),
    ...m.step({ kind: "executed", block: executed(4) }, 30),
  ]);
  assert.equal(of(later, "batchQcStored")[0]?.qc.body.number, 1);
  assert.equal(m.nextBatchQc, 2);
});

test("the main node attests its own next BatchQC; a batch not held is read back from storage", () => {
  const m = machine(0, { mainNode: true });
  assert.equal(m.status, 0);
  const [{ batch, hash }] = feed(m, 1, 2) as [{ batch: Batch; hash: Uint8Array }];
  assert.deepEqual(m.record, { number: 0, hash });
  // A restarted attester whose status names a batch closed before the restart loads it.
  const later = machine(2, {
    lastBatch: { ...batch, number: 5, firstIndex: 9, lastIndex: 10 },
    batchQcNext: 3,
  });
  const out = later.step({ kind: "status", next: 3 }, 0);
  assert.deepEqual(of(out, "loadBatch"), [{ kind: "loadBatch", number: 3 }]);
  const b3 = { ...batch, number: 3, firstIndex: 5, lastIndex: 6 };
  const loaded = later.step({ kind: "batchLoaded", batch: b3 }, 1);
  assert.equal(of(loaded, "persist")[0]?.write.kind, "attestation");
});

test("recovered executed indexes are cut again at start and their batch rewritten", () => {
  const m = machine(null, { executedAfter: [executed(1), executed(2), executed(3)] });
  const out = m.start(0);
  assert.deepEqual(
    of(out, "batchClosed").map((e) => e.batch.number),
    [0],
  );
  assert.equal(m.openBatch, 1);
});

test("stopAttesting: nothing more is signed or re-pushed; votes are still collected", () => {
  const m = machine(0);
  m.step({ kind: "status", next: 0 }, 0);
  const [{ hash }] = feed(m, 1, 2) as [{ batch: Batch; hash: Uint8Array }];
  assert.equal(votesOut(m.step({ kind: "timer" }, 100)).length, 1);
  m.step({ kind: "stopAttesting" }, 150);
  assert.equal(votesOut(m.step({ kind: "timer" }, 200)).length, 0);
  m.step({ kind: "status", next: 1 }, 200);
  const later = feed(m, 3, 4);
  assert.equal(later.length, 1);
  assert.equal(m.record?.number, 0, "no vote for batch 1");
  m.step(voteIn(vote(1, 0, hash)), 300);
  const out = m.step(voteIn(vote(2, 0, hash)), 300);
  assert.equal(of(out, "persist")[0]?.write.kind, "batchQc");
});
