/**
 * Issue 11 evidence: every signed kind's equivocation is detected with both
 * signed statements, verified, kept bounded, and survives a restart.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryLevel } from "memory-level";
import { EquivocationDetector, EVIDENCE_KINDS, verifyEvidence } from "../../node/evidence/index.ts";
import { MAX_EVIDENCE_PER_MEMBER_KIND, openStorage, WriteSet } from "../../node/storage/index.ts";
import {
  type AppVote,
  appVoteSigningBody,
  batchVoteSigningBody,
  type ConsensusMessage,
  codecs,
  DOMAINS,
  type Evidence,
  headerHash,
  type LaneVote,
  laneVoteSigningBody,
  type ProposalMessage,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { cutA, cutB, phaseVote, proposalMsg, timeoutVote } from "../consensus/helpers.ts";
import { laneBlock, prepareQc } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";

const tc = testCommittee(4);
const committee = tc.committee;

function laneVote(signer: number, lane: number, number: number, hash: Uint8Array): LaneVote {
  const body = { lane, number, headerHash: hash };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.laneVote, laneVoteSigningBody(body)) };
}

function batchVote(signer: number, n: number, fill: number) {
  const body = { number: n, hash: new Uint8Array(32).fill(fill) };
  return {
    kind: "batchVote",
    msg: {
      vote: { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.batchVote, batchVoteSigningBody(body)) },
      attempt: fill,
    },
  };
}

function appVote(signer: number, index: number, fill: number): AppVote {
  const body = { index, appHash: new Uint8Array(32).fill(fill) };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.appVote, appVoteSigningBody(body)) };
}

/** Two conflicting messages of each kind, by member 1 (the leader of view (1, 0) is member 1). */
function conflicting(): Record<string, [{ kind: string }, { kind: string }]> {
  const b1 = laneBlock(tc, 1, 0, ZERO_HASH, [new TextEncoder().encode("a")]);
  const b2 = laneBlock(tc, 1, 0, ZERO_HASH, [new TextEncoder().encode("b")]);
  const view = { index: 1, round: 0 };
  const pA: ProposalMessage = proposalMsg(view, cutA);
  const pB: ProposalMessage = proposalMsg(view, cutB);
  const lock = prepareQc(tc, pA.proposal);
  const c = (msg: ConsensusMessage) => ({ kind: "consensus", msg });
  return {
    laneBlock: [
      { kind: "laneBlock", block: b1 },
      { kind: "syncLaneBlocks", blocks: [b2] },
    ] as never,
    laneVote: [
      { kind: "laneVote", vote: laneVote(1, 2, 5, headerHash(b1.header)) },
      { kind: "laneVote", vote: laneVote(1, 2, 5, headerHash(b2.header)) },
    ] as never,
    proposal: [c({ kind: "proposal", msg: pA }), c({ kind: "proposal", msg: pB })] as never,
    prepare: [c(phaseVote("prepare", 1, pA.proposal)), c(phaseVote("prepare", 1, pB.proposal))] as never,
    commit: [c(phaseVote("commit", 1, pA.proposal)), c(phaseVote("commit", 1, pB.proposal))] as never,
    timeout: [c(timeoutVote(1, view, null)), c(timeoutVote(1, view, lock))] as never,
    appVote: [
      { kind: "appVote", vote: appVote(1, 7, 1) },
      { kind: "appVote", vote: appVote(1, 7, 2) },
    ] as never,
    batchVote: [batchVote(1, 4, 1), batchVote(1, 4, 2)] as never,
  };
}

test("every signed kind in the registry: a second, different statement for one slot is evidence", () => {
  const cases = conflicting();
  assert.deepEqual(Object.keys(cases).sort(), [...EVIDENCE_KINDS].sort(), "a case for every kind");
  for (const [kind, [a, b]] of Object.entries(cases)) {
    const d = new EquivocationDetector(committee);
    assert.deepEqual(d.observe(a), [], `${kind}: the first statement is no evidence`);
    assert.deepEqual(d.observe(a), [], `${kind}: the same statement again is none either`);
    const found = d.observe(b);
    assert.equal(found.length, 1, `${kind}: detected`);
    const e = found[0]!;
    assert.equal(e.kind, kind);
    assert.equal(e.signer, 1);
    assert.equal(verifyEvidence(committee, e), null, `${kind}: both signatures verify`);
    assert.deepEqual(d.observe(b), [], `${kind}: reported once`);
  }
});

test("a forged statement is never evidence", () => {
  const d = new EquivocationDetector(committee);
  const good = appVote(2, 3, 1);
  const forged: AppVote = { ...appVote(2, 3, 9), signature: new Uint8Array(64).fill(1) };
  d.observe({ kind: "appVote", vote: good });
  assert.deepEqual(d.observe({ kind: "appVote", vote: forged } as never), []);
  // A forged one seen first does not hide the genuine pair.
  const d2 = new EquivocationDetector(committee);
  d2.observe({ kind: "appVote", vote: forged } as never);
  d2.observe({ kind: "appVote", vote: good });
  assert.equal(d2.observe({ kind: "appVote", vote: appVote(2, 3, 5) }).length, 1);
});

test("a kept statement owns its bytes: it does not pin the frame its message was decoded from", () => {
  const d = new EquivocationDetector(committee);
  const hash = new Uint8Array(32).fill(3);
  const vote = laneVote(1, 2, 5, hash);
  // As decoded from the network: the signature is a view into a 64 KiB frame.
  const frame = new Uint8Array(65_536);
  frame.set(vote.signature, 1000);
  const fromWire: LaneVote = { ...vote, signature: frame.subarray(1000, 1064) };
  assert.deepEqual(d.observe({ kind: "laneVote", vote: fromWire }), []);
  const [e] = d.observe({ kind: "laneVote", vote: laneVote(1, 2, 5, new Uint8Array(32).fill(4)) });
  assert.ok(e !== undefined, "detected");
  assert.notEqual(e.first.signature.buffer, frame.buffer, "the kept signature is a copy");
  assert.ok(e.first.signature.buffer.byteLength < 1024, "and its buffer holds only the statement");
  assert.deepEqual(e.first.signature, vote.signature);
  assert.equal(verifyEvidence(committee, e), null, "the copy still verifies");
});

test("evidence survives a restart, is bounded per member and kind, and is verified when read back", async () => {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: "view", valueEncoding: "view" });
  const storage = await openStorage(db, committee);
  const d = new EquivocationDetector(committee);
  const found: Evidence[] = [];
  for (let index = 1; index <= MAX_EVIDENCE_PER_MEMBER_KIND + 3; index++) {
    d.observe({ kind: "appVote", vote: appVote(3, index, 1) });
    found.push(...d.observe({ kind: "appVote", vote: appVote(3, index, 2) }));
  }
  assert.equal(found.length, MAX_EVIDENCE_PER_MEMBER_KIND + 3, "every equivocation is detected");
  const ws = new WriteSet();
  for (const e of found) storage.stage(ws, { kind: "evidence", evidence: e });
  storage.stage(ws, { kind: "evidence", evidence: found[0]! }); // a duplicate is a no-op
  await db.batch(
    ws.ops.map((o) => (o.type === "put" ? { ...o, sublevel: o.space } : { ...o, sublevel: o.space })) as never,
  );
  assert.equal(storage.evidence.size, MAX_EVIDENCE_PER_MEMBER_KIND);
  await db.close();
  const again = await openStorage(db, committee);
  const back = again.evidence.list();
  assert.equal(back.length, MAX_EVIDENCE_PER_MEMBER_KIND);
  for (const e of back) assert.equal(verifyEvidence(committee, e), null);
  assert.deepEqual(back[0]!.first.body, codecs.appVoteBody.encode({ index: 1, appHash: new Uint8Array(32).fill(1) }));
  await again.close();
});
