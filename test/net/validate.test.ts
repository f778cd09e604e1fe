import assert from "node:assert/strict";
import { test } from "node:test";
import { Committee } from "../../node/committee/index.ts";
import { aggregate, VerifyCache } from "../../node/crypto/index.ts";
import { checkGossip, checkLaneBlock, type ValidationContext } from "../../node/net/validate.ts";
import {
  type ConsensusMessage,
  codecs,
  consensusMessageCodec,
  DOMAINS,
  encodePayload,
  type TimeoutQc,
  timeoutVoteSigningBody,
} from "../../node/types/index.ts";
import { appVote, CHAIN_ID, commitQc, laneChain, laneVote, netCommittee, prepareVote } from "./fixtures.ts";

const c = netCommittee(4, 90);
const ctx: ValidationContext = {
  committee: c.committee,
  chainId: CHAIN_ID,
  maxConsensusMessageBytes: 1024 * 1024,
  cache: new VerifyCache(),
};

function timeoutQc(lockRounds: Array<number | null>, tamper = false): TimeoutQc {
  const view = { index: 3, round: 1 };
  const parts = lockRounds.map((lockRound, signer) => ({
    signer,
    signature: c.signers[signer]!.sign(DOMAINS.timeout, timeoutVoteSigningBody({ view, lockRound })),
  }));
  const agg = aggregate(parts, c.committee.size);
  return {
    view,
    signers: agg.signers,
    lockRounds: tamper ? lockRounds.map((r) => (r === null ? 0 : r + 1)) : lockRounds,
    signatures: agg.signatures,
    highQc: null,
  };
}

const consensusWith = (m: Parameters<typeof consensusMessageCodec.encode>[0], x: ValidationContext) =>
  checkGossip("consensus", consensusMessageCodec.encode(m), x);
const consensus = (m: Parameters<typeof consensusMessageCodec.encode>[0]) => consensusWith(m, ctx);

test("a TimeoutQC verifies each signer's own lock round, and a changed lock round fails", () => {
  assert.equal(consensus({ kind: "timeoutQc", msg: timeoutQc([null, null, null]) }).verdict, "accept");
  const bad = consensus({ kind: "timeoutQc", msg: timeoutQc([null, null, null], true) });
  assert.deepEqual(bad, { verdict: "reject", reason: "bad_certificate" });
});

test("a CommitQC below quorum is rejected", () => {
  const qc = commitQc(c, 2);
  const weak = { ...qc, signers: qc.signers.clone(), signatures: qc.signatures.slice(0, 2) };
  weak.signers.set(2, false);
  assert.equal(consensus({ kind: "commitQc", msg: qc }).verdict, "accept");
  assert.deepEqual(consensus({ kind: "commitQc", msg: weak }), { verdict: "reject", reason: "bad_certificate" });
});

test("a vote signed under another domain is rejected: a prepare is not a commit", () => {
  const prepare = prepareVote(c, 1, 4);
  assert.equal(consensus(prepare).verdict, "accept");
  assert.equal(consensus({ kind: "commit", msg: prepare.msg as never }).verdict, "reject");
});

test("timeout votes and TimeoutQCs the runtime calls redundant are ignored unchecked; a non-member's timeout vote is still rejected", () => {
  const view = { index: 3, round: 1 };
  const timeout = (signer: number, signature?: Uint8Array): ConsensusMessage => ({
    kind: "timeout",
    msg: {
      body: { view, lockRound: null },
      signer,
      signature:
        signature ?? c.signers[signer % 4]!.sign(DOMAINS.timeout, timeoutVoteSigningBody({ view, lockRound: null })),
      lock: null,
    },
  });
  const forged = timeout(1, new Uint8Array(64).fill(7));
  const forgedTc = { ...timeoutQc([null, null, null, null]), signatures: [new Uint8Array(64).fill(7)] };
  const asked: string[] = [];
  const redundant: ValidationContext = {
    ...ctx,
    cache: new VerifyCache(),
    isRedundantConsensus: (m) => {
      asked.push(m.kind);
      return true;
    },
  };
  const ignore = { verdict: "ignore", reason: "irrelevant" };
  assert.deepEqual(consensusWith(forged, redundant), ignore);
  assert.deepEqual(consensusWith({ kind: "timeoutQc", msg: forgedTc }, redundant), ignore);
  assert.deepEqual(consensusWith(timeout(9), redundant), { verdict: "reject", reason: "non_member" });
  assert.deepEqual(asked, ["timeout", "timeoutQc"], "the non-member's vote was not asked about");
  const needed: ValidationContext = { ...ctx, cache: new VerifyCache(), isRedundantConsensus: () => false };
  assert.equal(consensusWith(timeout(1), needed).verdict, "accept");
  assert.deepEqual(consensusWith(forged, needed), { verdict: "reject", reason: "bad_signature" });
});

test("a lane vote the runtime calls redundant is ignored before its signature is checked; others are checked", () => {
  const [block] = laneChain(c, 1, 1);
  const vote = laneVote(c, 2, block!);
  const forged = { ...vote, signature: new Uint8Array(64).fill(7) };
  const redundant = { ...ctx, cache: new VerifyCache(), isRedundantLaneVote: () => true };
  const needed = { ...ctx, cache: new VerifyCache(), isRedundantLaneVote: () => false };
  // A forged signature is not even looked at: no verify is spent, and nobody is penalized for an ignore.
  assert.deepEqual(checkGossip("lane_vote", codecs.laneVote.encode(forged), redundant), {
    verdict: "ignore",
    reason: "irrelevant",
  });
  assert.equal(checkGossip("lane_vote", codecs.laneVote.encode(vote), needed).verdict, "accept");
  assert.deepEqual(checkGossip("lane_vote", codecs.laneVote.encode(forged), needed), {
    verdict: "reject",
    reason: "bad_signature",
  });
});

test("consensus votes and CommitQCs the runtime calls redundant are ignored unchecked; a non-member's vote is still rejected", () => {
  const vote = prepareVote(c, 1, 4);
  const forged = { ...vote, msg: { ...(vote.msg as object), signature: new Uint8Array(64).fill(7) } } as typeof vote;
  const commit = { kind: "commit", msg: forged.msg } as typeof vote;
  const stranger = { ...vote, msg: { ...(vote.msg as object), signer: 9 } } as typeof vote;
  const qc = commitQc(c, 2);
  const forgedQc = { ...qc, signatures: qc.signatures.map(() => new Uint8Array(64).fill(7)) };
  const asked: string[] = [];
  const redundant = {
    ...ctx,
    cache: new VerifyCache(),
    isRedundantConsensus: (m: { kind: string }) => {
      asked.push(m.kind);
      return true;
    },
  };
  const needed = { ...ctx, cache: new VerifyCache(), isRedundantConsensus: () => false };
  const check = (m: Parameters<typeof consensusMessageCodec.encode>[0], x: ValidationContext) =>
    checkGossip("consensus", consensusMessageCodec.encode(m), x);
  const ignore = { verdict: "ignore", reason: "irrelevant" };
  // No verify is spent on what adds nothing, and an ignore penalizes nobody.
  assert.deepEqual(check(forged, redundant), ignore);
  assert.deepEqual(check(commit, redundant), ignore);
  assert.deepEqual(check({ kind: "commitQc", msg: forgedQc }, redundant), ignore);
  assert.deepEqual(check(stranger, redundant), { verdict: "reject", reason: "non_member" });
  // The non-member's vote was not even asked about.
  assert.deepEqual(asked, ["prepare", "commit", "commitQc"]);
  assert.equal(check(vote, needed).verdict, "accept");
  assert.deepEqual(check(forged, needed), { verdict: "reject", reason: "bad_signature" });
  assert.deepEqual(check({ kind: "commitQc", msg: forgedQc }, needed), {
    verdict: "reject",
    reason: "bad_certificate",
  });
});

test("a vote on a lane owner's topic is for this node's lane only; an announced LaneQC is checked as a certificate", () => {
  const [block] = laneChain(c, 1, 1);
  const vote = laneVote(c, 2, block!);
  const owner = { ...ctx, cache: new VerifyCache(), ownLane: 1 };
  assert.equal(checkGossip("lane_vote_owner", codecs.laneVote.encode(vote), owner).verdict, "accept");
  // The lane is checked before the signature: a forged vote for another lane costs no verify.
  const forgedVote = { ...vote, signature: new Uint8Array(64).fill(7) };
  for (const ownLane of [3, null]) {
    for (const v of [vote, forgedVote]) {
      assert.deepEqual(checkGossip("lane_vote_owner", codecs.laneVote.encode(v), { ...owner, ownLane }), {
        verdict: "reject",
        reason: "wrong_lane",
      });
    }
  }
  const signed = [2, 3].map((s) => ({ signer: s, signature: laneVote(c, s, block!).signature }));
  const agg = aggregate(signed, c.committee.size);
  const qc = { body: vote.body, signers: agg.signers, signatures: agg.signatures };
  const fresh = () => ({ ...ctx, cache: new VerifyCache() });
  assert.equal(checkGossip("lane_qc", codecs.laneQc.encode(qc), fresh()).verdict, "accept");
  const forged = { ...qc, signatures: qc.signatures.map(() => new Uint8Array(64).fill(7)) };
  const bad = { verdict: "reject", reason: "bad_certificate" };
  assert.deepEqual(checkGossip("lane_qc", codecs.laneQc.encode(forged), fresh()), bad);
  const one = aggregate(signed.slice(0, 1), c.committee.size);
  const weak = { body: vote.body, signers: one.signers, signatures: one.signatures };
  assert.deepEqual(checkGossip("lane_qc", codecs.laneQc.encode(weak), fresh()), bad, "weight below A");
  const elsewhere = { ...qc, body: { ...qc.body, lane: 9 } };
  assert.deepEqual(checkGossip("lane_qc", codecs.laneQc.encode(elsewhere), fresh()), {
    verdict: "reject",
    reason: "wrong_lane",
  });
  // One the runtime knows already is ignored unchecked (a forged copy costs no verify and no penalty).
  assert.deepEqual(
    checkGossip("lane_qc", codecs.laneQc.encode(forged), { ...fresh(), isRedundantLaneQc: () => true }),
    {
      verdict: "ignore",
      reason: "irrelevant",
    },
  );
});

test("app votes are checked under their own domain", () => {
  const v = appVote(c, 2, 7);
  assert.equal(checkGossip("app_vote", codecs.appVote.encode(v), ctx).verdict, "accept");
  const forged = { ...v, signer: 3 };
  assert.deepEqual(checkGossip("app_vote", codecs.appVote.encode(forged), ctx), {
    verdict: "reject",
    reason: "bad_signature",
  });
});

test("an app vote off the genesis checkpoints is rejected before its signature is checked", () => {
  const every8 = new Committee({ ...c.genesis, params: { ...c.genesis.params, appVoteEveryIndexes: 8 } });
  const cache = new VerifyCache();
  const at = (index: number) =>
    checkGossip("app_vote", codecs.appVote.encode(appVote(c, 2, index)), { ...ctx, committee: every8, cache });
  assert.equal(at(16).verdict, "accept");
  assert.deepEqual(at(7), { verdict: "reject", reason: "bad_payload" });
  // A forged signature off the checkpoints is refused for its content: no signature check was spent on it.
  const forged = { ...appVote(c, 2, 7), signature: new Uint8Array(64).fill(9) };
  assert.deepEqual(checkGossip("app_vote", codecs.appVote.encode(forged), { ...ctx, committee: every8, cache }), {
    verdict: "reject",
    reason: "bad_payload",
  });
});

test("a lane block whose transactions do not match its signed header is rejected", () => {
  const b = laneChain(c, 0, 1)[0]!;
  assert.equal(checkLaneBlock(codecs.laneBlock.encode(b), c.committee).verdict, "accept");
  const swapped = { ...b, payload: encodePayload([new Uint8Array([1])]) };
  assert.deepEqual(checkLaneBlock(codecs.laneBlock.encode(swapped), c.committee), {
    verdict: "reject",
    reason: "bad_payload",
  });
  const big = new Uint8Array(c.committee.params.maxLaneBlockBytes + 1);
  assert.deepEqual(checkLaneBlock(big, c.committee), { verdict: "reject", reason: "oversize" });
});

test("a block over any tx list is accepted as its received payload bytes", async () => {
  const { payloadHash, headerHash } = await import("../../node/types/index.ts");
  for (const sizes of [[0], [1], [5, 0, 300], Array.from({ length: 40 }, (_, i) => i * 7)]) {
    const txs = sizes.map((n) => new Uint8Array(n).fill(n % 256));
    const b = laneChain(c, 1, 1)[0]!;
    const header = { ...b.header, payloadHash: payloadHash(encodePayload(txs)), txCount: txs.length };
    const signed = {
      header,
      payload: encodePayload(txs),
      signature: c.signers[1]!.sign(DOMAINS.laneBlock, codecs.laneBlockHeader.encode(header)),
    };
    const r = checkLaneBlock(codecs.laneBlock.encode(signed), c.committee);
    assert.equal(r.verdict, "accept", `tx sizes ${sizes.join(",")}`);
    assert.ok(r.verdict === "accept" && headerHash(r.value.header).byteLength === 32);
  }
});

test("ha_announce: a member's signed announcement is accepted; a forged, non-member or other-domain one is rejected", () => {
  const body = { validator: 2, nodePublicKey: new Uint8Array(32).fill(7), epoch: 5, atMs: 1000 };
  const bytes = codecs.haAnnouncementBody.encode(body);
  const good = { body, signature: c.signers[2]!.sign(DOMAINS.haAnnouncement, bytes) };
  const ok = checkGossip("ha_announce", codecs.haAnnouncement.encode(good), ctx);
  assert.equal(ok.verdict, "accept");
  // Signed by another member's key.
  const forged = { body, signature: c.signers[1]!.sign(DOMAINS.haAnnouncement, bytes) };
  assert.deepEqual(checkGossip("ha_announce", codecs.haAnnouncement.encode(forged), ctx), {
    verdict: "reject",
    reason: "bad_signature",
  });
  // The right key under another domain (a replayed signature of another kind).
  const replay = { body, signature: c.signers[2]!.sign(DOMAINS.appVote, bytes) };
  assert.equal(checkGossip("ha_announce", codecs.haAnnouncement.encode(replay), ctx).verdict, "reject");
  const outsider = { body: { ...body, validator: 9 }, signature: good.signature };
  assert.deepEqual(checkGossip("ha_announce", codecs.haAnnouncement.encode(outsider), ctx), {
    verdict: "reject",
    reason: "non_member",
  });
});
