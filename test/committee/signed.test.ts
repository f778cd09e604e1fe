import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkLaneChain, linksToParent, rememberOwnSigned, SIGNED, verifySigned } from "../../node/committee/index.ts";
import { VerifyCache } from "../../node/crypto/index.ts";
import { LanesMachine } from "../../node/lanes/index.ts";
import {
  appVoteSigningBody,
  batchVoteSigningBody,
  codecs,
  DOMAINS,
  encodePayload,
  headerHash,
  laneVoteSigningBody,
  type PhaseVoteBody,
  phaseVoteSigningBody,
  proposalHash,
  type SignedKind,
  type SignedMessage,
  sha256,
  timeoutVoteSigningBody,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { commitQc, laneBlock, laneChain, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { SIM_PROTOCOL_CONFIG } from "../sim/sim-config.ts";

const tc = testCommittee(4);
const c = tc.committee;
const view = { index: 2, round: 1 };
const p = proposal(view, []);
const phaseBody: PhaseVoteBody = { view, proposalHash: proposalHash(p) };

/** One valid message of every signed kind, signed by the right member. */
function samples(): Record<SignedKind, SignedMessage> {
  const block = laneBlock(tc, 2, 0, ZERO_HASH);
  const laneBody = { lane: 2, number: 0, headerHash: headerHash(block.header) };
  const leader = c.leader(view);
  const timeoutBody = { view, lockRound: null };
  const appBody = { index: 8, appHash: sha256(new Uint8Array([5])) };
  const batchBody = { number: 3, hash: sha256(new Uint8Array([3])) };
  return {
    laneBlock: { kind: "laneBlock", msg: block },
    laneVote: {
      kind: "laneVote",
      msg: {
        body: laneBody,
        signer: 1,
        signature: tc.signers[1]!.sign(DOMAINS.laneVote, laneVoteSigningBody(laneBody)),
      },
    },
    proposal: {
      kind: "proposal",
      msg: {
        proposal: p,
        signature: tc.signers[leader]!.sign(DOMAINS.proposal, codecs.proposal.encode(p)),
        laneQcs: [],
        timeoutQc: null,
        prevCommitQc: commitQc(tc, proposal({ index: 1, round: 0 }, [])),
      },
    },
    prepare: {
      kind: "prepare",
      msg: {
        body: phaseBody,
        signer: 3,
        signature: tc.signers[3]!.sign(DOMAINS.prepare, phaseVoteSigningBody(phaseBody)),
      },
    },
    commit: {
      kind: "commit",
      msg: {
        body: phaseBody,
        signer: 3,
        signature: tc.signers[3]!.sign(DOMAINS.commit, phaseVoteSigningBody(phaseBody)),
      },
    },
    timeout: {
      kind: "timeout",
      msg: {
        body: timeoutBody,
        signer: 0,
        signature: tc.signers[0]!.sign(DOMAINS.timeout, timeoutVoteSigningBody(timeoutBody)),
        lock: null,
      },
    },
    appVote: {
      kind: "appVote",
      msg: { body: appBody, signer: 2, signature: tc.signers[2]!.sign(DOMAINS.appVote, appVoteSigningBody(appBody)) },
    },
    batchVote: {
      kind: "batchVote",
      msg: {
        vote: {
          body: batchBody,
          signer: 1,
          signature: tc.signers[1]!.sign(DOMAINS.batchVote, batchVoteSigningBody(batchBody)),
        },
        attempt: 4,
      },
    },
  };
}

describe("the signed-message table", () => {
  test("every kind verifies when signed by its signer under its own domain", () => {
    for (const m of Object.values(samples())) {
      assert.deepEqual(verifySigned(c, m), { ok: true }, m.kind);
    }
  });

  test("a signature made for one kind never verifies as another", () => {
    const s = samples();
    const prepareAsCommit: SignedMessage = {
      kind: "commit",
      msg: (s.prepare as Extract<SignedMessage, { kind: "prepare" }>).msg,
    };
    const check = verifySigned(c, prepareAsCommit);
    assert.equal(check.ok, false);
    assert.match((check as { reason: string }).reason, /invalid signature of voter 3/);
  });

  test("who signs: the lane owner, the view's leader, the voter", () => {
    const s = samples();
    const byOther = laneBlock(tc, 2, 0, ZERO_HASH);
    byOther.signature = tc.signers[1]!.sign(DOMAINS.laneBlock, codecs.laneBlockHeader.encode(byOther.header));
    assert.match((verifySigned(c, { kind: "laneBlock", msg: byOther }) as { reason: string }).reason, /lane owner 2/);
    const pm = (s.proposal as Extract<SignedMessage, { kind: "proposal" }>).msg;
    const notLeader = (c.leader(view) + 1) % c.size;
    const forged = { ...pm, signature: tc.signers[notLeader]!.sign(DOMAINS.proposal, codecs.proposal.encode(p)) };
    assert.match((verifySigned(c, { kind: "proposal", msg: forged }) as { reason: string }).reason, /of leader/);
    const vote = (s.appVote as Extract<SignedMessage, { kind: "appVote" }>).msg;
    const stranger = verifySigned(c, { kind: "appVote", msg: { ...vote, signer: 9 } });
    assert.deepEqual(stranger, { ok: false, code: "non_member", reason: "voter 9 is not a committee member" });
  });

  test("an app vote off the genesis checkpoints is refused before its signature is checked", () => {
    const body = { index: 9, appHash: new Uint8Array(32).fill(4) };
    const vote = { body, signer: 2, signature: tc.signers[2]!.sign(DOMAINS.appVote, appVoteSigningBody(body)) };
    const refused = {
      ok: false,
      code: "bad_content",
      reason: "index 9 is not an app-vote checkpoint (every 8)",
    };
    assert.deepEqual(verifySigned(c, { kind: "appVote", msg: vote }), refused);
    // With a bad signature too, the answer is the content's: the signature was never checked.
    const forged = { ...vote, signature: new Uint8Array(64).fill(9) };
    assert.deepEqual(verifySigned(c, { kind: "appVote", msg: forged }), refused);
  });

  test("a lane block's payload: checked against its hash, or the hash the edge already computed", () => {
    const b = laneBlock(tc, 2, 0, ZERO_HASH);
    const tampered = { ...b, payload: encodePayload([new TextEncoder().encode("other")]) };
    assert.equal(verifySigned(c, { kind: "laneBlock", msg: tampered }).ok, false);
    // Given a known payload hash, the table uses it instead of hashing again.
    const wrongKnown = verifySigned(c, { kind: "laneBlock", msg: b }, undefined, { payloadHash: ZERO_HASH });
    assert.deepEqual(wrongKnown, {
      ok: false,
      code: "bad_content",
      reason: "payload hash does not match its transactions",
    });
    assert.equal(
      verifySigned(c, { kind: "laneBlock", msg: b }, undefined, { payloadHash: b.header.payloadHash }).ok,
      true,
    );
  });

  test("view and parent link per kind", () => {
    const s = samples();
    const row = <K extends SignedKind>(k: K) => ({
      view: SIGNED[k].view(s[k].msg as never),
      parent: SIGNED[k].parent(s[k].msg as never),
    });
    assert.deepEqual(row("laneBlock"), { view: null, parent: ZERO_HASH });
    assert.deepEqual(
      row("laneVote").parent,
      (s.laneVote as { msg: { body: { headerHash: Uint8Array } } }).msg.body.headerHash,
    );
    assert.deepEqual(row("proposal").view, view);
    assert.deepEqual(row("proposal").parent, proposalHash(proposal({ index: 1, round: 0 }, [])));
    assert.deepEqual(row("prepare"), { view, parent: phaseBody.proposalHash });
    assert.deepEqual(row("commit"), { view, parent: phaseBody.proposalHash });
    assert.deepEqual(row("timeout"), { view, parent: null });
    assert.deepEqual(row("appVote"), { view: { index: 8, round: 0 }, parent: null });
    assert.deepEqual(row("batchVote"), { view: null, parent: null });
  });

  test("a batch vote: only an attester signs one, and its attempt counter is outside the signature", () => {
    const vote = (samples().batchVote as Extract<SignedMessage, { kind: "batchVote" }>).msg;
    assert.deepEqual(verifySigned(c, { kind: "batchVote", msg: { ...vote, attempt: 99 } }), { ok: true });
    const noAttesters = testCommittee(4, { attesterWeights: [1, 0, 1, 1] }).committee;
    assert.deepEqual(verifySigned(noAttesters, { kind: "batchVote", msg: vote }), {
      ok: false,
      code: "bad_content",
      reason: "member 1 is not an attester",
    });
  });

  test("the node's own signatures seed the verify cache", () => {
    const cache = new VerifyCache(16);
    const m = samples().prepare;
    rememberOwnSigned(c, m, cache);
    assert.equal(cache.size, 1);
    assert.deepEqual(verifySigned(c, m, cache), { ok: true });
    assert.equal(cache.hits, 1, "checking it again is a lookup");
    assert.equal(cache.misses, 0);
  });
});

describe("the lane parent link", () => {
  const chain = laneChain(tc, 1, 0, 4);

  test("a run links block to block, block 0 to the zero hash, and ends where certified", () => {
    assert.equal(checkLaneChain(chain, { lane: 1, first: 0 }), null);
    assert.equal(checkLaneChain(chain.slice(2), { lane: 1, first: 2, parent: headerHash(chain[1]!.header) }), null);
    assert.equal(checkLaneChain(chain.slice(2), { lane: 1, first: 2, parent: null }), null, "unknown parent");
    assert.equal(checkLaneChain(chain, { lane: 1, first: 0, last: headerHash(chain[3]!.header) }), null);
    assert.match(
      checkLaneChain(chain, { lane: 1, first: 0, last: ZERO_HASH }) ?? "",
      /does not end at the certified header/,
    );
    assert.ok(linksToParent(chain[1]!, headerHash(chain[0]!.header)));
  });

  test("breaks: a wrong parent, a gap, another lane, block 0 with a parent", () => {
    assert.match(
      checkLaneChain(chain.slice(2), { lane: 1, first: 2, parent: ZERO_HASH }) ?? "",
      /lane 1 block 2: parent .* does not match the previous header 0000000000000000/,
    );
    assert.match(checkLaneChain([chain[0]!, chain[2]!], { lane: 1, first: 0 }) ?? "", /expected lane 1 block 1/);
    assert.match(checkLaneChain(chain, { lane: 2, first: 0 }) ?? "", /expected lane 2 block 0/);
    const orphan = laneBlock(tc, 1, 0, sha256(new Uint8Array([1])));
    assert.match(checkLaneChain([orphan], { lane: 1, first: 0 }) ?? "", /block 0: parent/);
  });
});

test("a message verified at the edge is not verified again by the machine", () => {
  const cache = new VerifyCache(64);
  const m = new LanesMachine({
    committee: c,
    me: 0,
    signer: tc.signers[0]!,
    config: SIM_PROTOCOL_CONFIG.lanes,
    recoveredLanes: c.members.map((_, lane) => ({ lane, first: 0, next: 0, blocks: [] })),
    finalizedRanges: null,
    verifyCache: cache,
  });
  const [b0, b1] = laneChain(tc, 2, 0, 2);
  const accepted = (out: ReturnType<LanesMachine["step"]>) => out.filter((e) => e.kind === "persist").length;
  assert.equal(accepted(m.step({ kind: "laneBlock", block: b0!, verified: true }, 1)), 1);
  assert.equal(cache.hits + cache.misses, 0, "no signature looked at for a verified block");
  // Unverified input (a test, the simulator's sync responses): the machine checks it.
  assert.equal(accepted(m.step({ kind: "laneBlock", block: b1! }, 2)), 1);
  assert.equal(cache.misses, 1);
});
