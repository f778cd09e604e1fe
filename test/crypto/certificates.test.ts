import assert from "node:assert/strict";
import { test } from "node:test";
import { BitArray } from "@chainsafe/ssz";
import {
  aggregate,
  type CertificateInput,
  type Signer,
  VerifyCache,
  verifyCertificate,
  verifyMemberSignature,
} from "../../node/crypto/index.ts";
import {
  DOMAINS,
  type Domain,
  phaseVoteSigningBody,
  timeoutVoteSigningBody,
  type View,
} from "../../node/types/index.ts";
import { type TestCommittee, testCommittee } from "../fixtures/committee.ts";

const view: View = { index: 7, round: 1 };
const body = phaseVoteSigningBody({ view, proposalHash: new Uint8Array(32).fill(0x5a) });

/** A certificate over `body` by the given members, signed under `domain`. */
function certify(
  tc: TestCommittee,
  members: number[],
  opts: { domain?: Domain; signers?: Signer[]; signed?: Uint8Array } = {},
): CertificateInput {
  const domain = opts.domain ?? DOMAINS.prepare;
  const signers = opts.signers ?? tc.signers;
  const parts = members.map((i) => ({ signer: i, signature: signers[i]!.sign(domain, opts.signed ?? body) }));
  return {
    domain: DOMAINS.prepare,
    chainId: tc.committee.chainId,
    ...aggregate(parts, tc.committee.size),
    body,
    threshold: tc.committee.quorum,
  };
}

const four = testCommittee(4);

test("a quorum certificate verifies and reports its weight", () => {
  assert.deepEqual(verifyCertificate(four.committee, certify(four, [0, 1, 2])), { ok: true, weight: 3 });
  assert.deepEqual(verifyCertificate(four.committee, certify(four, [3, 1, 0, 2])), { ok: true, weight: 4 });
});

test("aggregate sorts by signer and refuses duplicates and non-members", () => {
  const sig = (b: number) => new Uint8Array(64).fill(b);
  const agg = aggregate(
    [
      { signer: 2, signature: sig(2) },
      { signer: 0, signature: sig(0) },
      { signer: 3, signature: sig(3) },
    ],
    4,
  );
  assert.deepEqual(agg.signers.getTrueBitIndexes(), [0, 2, 3]);
  assert.equal(agg.signers.bitLen, 4);
  assert.deepEqual(
    agg.signatures.map((s) => s[0]),
    [0, 2, 3],
  );
  const dup = [
    { signer: 1, signature: sig(1) },
    { signer: 1, signature: sig(9) },
  ];
  assert.throws(() => aggregate(dup, 4), /duplicate signer 1/);
  for (const bad of [4, -1, 1.5, Number.NaN]) {
    assert.throws(() => aggregate([{ signer: bad, signature: sig(0) }], 4), /is not a committee member/);
  }
});

test("a signer bitmap longer or shorter than the committee is rejected", () => {
  const valid = certify(four, [0, 1, 2]);
  const longer = BitArray.fromBitLen(5);
  for (const i of [0, 1, 4]) longer.set(i, true); // index 4: no such member
  const r1 = verifyCertificate(four.committee, { ...valid, signers: longer });
  assert.deepEqual(r1, { ok: false, reason: "signer bitmap has 5 bits for a committee of 4" });
  const shorter = BitArray.fromBoolArray([true, true, true]);
  const r2 = verifyCertificate(four.committee, { ...valid, signers: shorter });
  assert.equal(r2.ok, false);
});

test("a non-member's vote is rejected", () => {
  const outsider = testCommittee(1, { salt: 100 }).signers[0]!;
  const sig = outsider.sign(DOMAINS.prepare, body);
  for (const index of [4, 99, -1, 0.5]) {
    assert.equal(verifyMemberSignature(four.committee, index, DOMAINS.prepare, "testchain", body, sig), false);
  }
  // An outsider's signature in a member's slot fails that member's key.
  const cert = certify(four, [0, 1, 2]);
  cert.signatures[1] = sig;
  assert.deepEqual(verifyCertificate(four.committee, cert), {
    ok: false,
    reason: "invalid prepare signature from signer 1",
  });
});

test("insufficient weight is rejected", () => {
  assert.deepEqual(verifyCertificate(four.committee, certify(four, [0, 3])), {
    ok: false,
    reason: "signers' weight 2 is below the threshold 3",
  });
  assert.equal(verifyCertificate(four.committee, certify(four, [])).ok, false);
});

test("signatures from another domain are rejected (commit votes are not a PrepareQC)", () => {
  for (const domain of [DOMAINS.commit, DOMAINS.timeout, DOMAINS.laneVote, DOMAINS.proposal]) {
    const r = verifyCertificate(four.committee, certify(four, [0, 1, 2], { domain }));
    assert.deepEqual(r, { ok: false, reason: "invalid prepare signature from signer 0" });
  }
  // The same votes are a valid CommitQC.
  const commit = { ...certify(four, [0, 1, 2], { domain: DOMAINS.commit }), domain: DOMAINS.commit };
  assert.equal(verifyCertificate(four.committee, commit).ok, true);
});

test("signatures made for another chain id are rejected", () => {
  const otherChain = testCommittee(4, { chainId: "otherchain" });
  const r = verifyCertificate(four.committee, certify(four, [0, 1, 2], { signers: otherChain.signers }));
  assert.deepEqual(r, { ok: false, reason: "invalid prepare signature from signer 0" });
});

test("a signature count that does not match the signers is rejected", () => {
  const cert = certify(four, [0, 1, 2]);
  assert.deepEqual(verifyCertificate(four.committee, { ...cert, signatures: cert.signatures.slice(0, 2) }), {
    ok: false,
    reason: "3 signers but 2 signatures",
  });
  const extra = [...cert.signatures, cert.signatures[0]!];
  assert.deepEqual(verifyCertificate(four.committee, { ...cert, signatures: extra }), {
    ok: false,
    reason: "3 signers but 4 signatures",
  });
});

test("a tampered signature, swapped signatures or another body are rejected", () => {
  const cert = certify(four, [0, 1, 2, 3]);
  for (let pos = 0; pos < 4; pos++) {
    const tampered = cert.signatures.map((s) => s.slice());
    tampered[pos]![10]! ^= 0x01;
    assert.deepEqual(verifyCertificate(four.committee, { ...cert, signatures: tampered }), {
      ok: false,
      reason: `invalid prepare signature from signer ${pos}`,
    });
  }
  const swapped = [cert.signatures[1]!, cert.signatures[0]!, ...cert.signatures.slice(2)];
  assert.equal(verifyCertificate(four.committee, { ...cert, signatures: swapped }).ok, false);
  const otherBody = phaseVoteSigningBody({ view: { ...view, round: 2 }, proposalHash: new Uint8Array(32).fill(0x5a) });
  assert.equal(verifyCertificate(four.committee, { ...cert, body: otherBody }).ok, false);
});

test("weighted committees count weight, not heads", () => {
  const weighted = testCommittee([1, 2, 3, 4]);
  assert.equal(weighted.committee.totalWeight, 10);
  assert.equal(weighted.committee.quorum, 7);
  // Two members holding 7 of 10 are a quorum...
  assert.deepEqual(verifyCertificate(weighted.committee, certify(weighted, [2, 3])), { ok: true, weight: 7 });
  // ...three members holding 6 are not.
  assert.deepEqual(verifyCertificate(weighted.committee, certify(weighted, [0, 1, 2])), {
    ok: false,
    reason: "signers' weight 6 is below the threshold 7",
  });
  assert.deepEqual(verifyCertificate(weighted.committee, certify(weighted, [0, 1, 2, 3])), { ok: true, weight: 10 });
});

test("per-signer bodies (TimeoutQC style) verify, each against its own signer's body", () => {
  const tc = testCommittee(4);
  const members = [0, 2, 3];
  const lockRounds = [null, 0, 5];
  const bodyOf = (lockRound: number | null) => timeoutVoteSigningBody({ view, lockRound });
  const parts = members.map((m, i) => ({
    signer: m,
    signature: tc.signers[m]!.sign(DOMAINS.timeout, bodyOf(lockRounds[i]!)),
  }));
  const { signers, signatures } = aggregate(parts, 4);
  const calls: [number, number][] = [];
  const cert: CertificateInput = {
    domain: DOMAINS.timeout,
    chainId: "testchain",
    signers,
    signatures,
    body: (pos, signer) => {
      calls.push([pos, signer]);
      return bodyOf(lockRounds[pos]!);
    },
    threshold: tc.committee.quorum,
  };
  assert.deepEqual(verifyCertificate(tc.committee, cert), { ok: true, weight: 3 });
  assert.deepEqual(calls, [
    [0, 0],
    [1, 2],
    [2, 3],
  ]);
  // A signer's lock round claimed as another's: the signature no longer matches.
  const shuffled = [5, 0, null];
  const r = verifyCertificate(tc.committee, { ...cert, body: (pos) => bodyOf(shuffled[pos]!) });
  assert.deepEqual(r, { ok: false, reason: "invalid timeout signature from signer 0" });
});

test("with a cache, a certificate's signatures are verified once", () => {
  const cache = new VerifyCache(64);
  const cert = certify(four, [0, 1, 2]);
  assert.equal(verifyCertificate(four.committee, cert, cache).ok, true);
  assert.equal(cache.size, 3);
  const hits = cache.hits;
  assert.equal(verifyCertificate(four.committee, cert, cache).ok, true);
  assert.equal(cache.hits, hits + 3);
  // A cache never turns a bad certificate good.
  const tampered = cert.signatures.map((s) => s.slice());
  tampered[2]![0]! ^= 1;
  assert.equal(verifyCertificate(four.committee, { ...cert, signatures: tampered }, cache).ok, false);
  assert.equal(cache.size, 3);
});
