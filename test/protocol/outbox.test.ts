import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KvApp } from "../../node/execution/index.ts";
import { type NodeEffect, Outbox, type OutboxEvent, ProtocolNode } from "../../node/protocol/index.ts";
import {
  appVoteSigningBody,
  batchVoteSigningBody,
  DOMAINS,
  type DurableWrite,
  headerHash,
  type LaneBlock,
  laneVoteSigningBody,
  type PhaseVoteBody,
  type PrepareQc,
  phaseVoteSigningBody,
  proposalHash,
  type RecoveredState,
  type SafetyRecord,
  type SignedMessage,
  sha256,
  type TimeoutVoteBody,
  timeoutVoteSigningBody,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { laneBlock, laneChain, prepareQc, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { emptyRecovered } from "../fixtures/recovered.ts";
import { SIM_PARAMS, SIM_PROTOCOL_CONFIG } from "../sim/sim-config.ts";

const tc = testCommittee(4);
const ME = 1;
const signer = tc.signers[ME]!;

function recovered(overrides: Partial<RecoveredState> = {}): RecoveredState {
  return emptyRecovered(4, overrides);
}

const view = { index: 3, round: 1 };
const p1 = proposal(view, []);
const h1 = proposalHash(p1);
const h2 = sha256(new Uint8Array([2]));

function phase(kind: "prepare" | "commit", body: PhaseVoteBody): SignedMessage {
  const domain = kind === "prepare" ? DOMAINS.prepare : DOMAINS.commit;
  return { kind, msg: { body, signer: ME, signature: signer.sign(domain, phaseVoteSigningBody(body)) } };
}

function laneVote(block: LaneBlock): SignedMessage {
  const body = { lane: block.header.lane, number: block.header.number, headerHash: headerHash(block.header) };
  return {
    kind: "laneVote",
    msg: { body, signer: ME, signature: signer.sign(DOMAINS.laneVote, laneVoteSigningBody(body)) },
  };
}

function appVote(index: number, appHash: Uint8Array): SignedMessage {
  const body = { index, appHash };
  return {
    kind: "appVote",
    msg: { body, signer: ME, signature: signer.sign(DOMAINS.appVote, appVoteSigningBody(body)) },
  };
}

function record(partial: Partial<SafetyRecord>): SafetyRecord {
  return { prepare: null, commit: null, timeout: null, lock: null, ...partial };
}

const safety = (r: SafetyRecord): DurableWrite => ({ kind: "safety", record: r });
const released = (events: OutboxEvent[]) => events.flatMap((e) => (e.kind === "release" ? [e.msg] : []));
const halt = (events: OutboxEvent[]) => events.find((e) => e.kind === "halt")?.reason;

describe("outbox", () => {
  test("holds a release until its write is durable, then releases it and acknowledges the owner", () => {
    const box = new Outbox(ME, recovered());
    const vote = phase("prepare", { view, proposalHash: h1 });
    const p = box.persist("consensus", {
      kind: "persist",
      id: 7,
      write: safety(record({ prepare: { view, proposalHash: h1 } })),
      release: [vote],
    });
    assert.deepEqual(p.signed, [vote], "the persist effect names what it will release (for the HA hook)");
    assert.equal(box.pendingWrites, 1);
    const events = box.durable(p.id);
    assert.deepEqual(events, [
      { kind: "release", msg: vote },
      { kind: "ack", owner: "consensus", id: 7 },
    ]);
    assert.equal(box.pendingWrites, 0);
    assert.deepEqual(box.durable(p.id), [], "a second acknowledgement is a no-op");
  });

  test("an acknowledgement covers every earlier write, each checked against the record as of that write", () => {
    const box = new Outbox(ME, recovered());
    const [b0, b1] = laneChain(tc, 2, 0, 2);
    const w0 = box.persist("lanes", {
      kind: "persist",
      id: 0,
      write: { kind: "laneBlock", block: b0! },
      release: [laneVote(b0!)],
    });
    const w1 = box.persist("lanes", {
      kind: "persist",
      id: 1,
      write: { kind: "laneBlock", block: b1! },
      release: [laneVote(b1!)],
    });
    const events = box.durable(w1.id);
    assert.deepEqual(
      events.map((e) => (e.kind === "release" ? `release ${e.msg.kind}` : e.kind === "ack" ? `ack ${e.id}` : e.kind)),
      ["release laneVote", "ack 0", "release laneVote", "ack 1"],
    );
    assert.deepEqual(box.durable(w0.id), []);
  });

  test("identical re-sends pass against the recovered record", () => {
    const [b0] = laneChain(tc, ME, 0, 1);
    const box = new Outbox(
      ME,
      recovered({
        safety: record({ prepare: { view, proposalHash: h1 } }),
        lanes: [0, 1, 2, 3].map((lane) => ({
          lane,
          first: 0,
          next: lane === ME ? 1 : 0,
          blocks: lane === ME ? [b0!] : [],
        })),
        app: { executedIndex: 4, appHash: h2 },
      }),
    );
    const msgs = [
      phase("prepare", { view, proposalHash: h1 }),
      { kind: "laneBlock", msg: b0! } as SignedMessage,
      laneVote(b0!),
      appVote(4, h2),
    ];
    assert.deepEqual(released(box.resend(msgs)), msgs);
    assert.equal(box.halted, null);
  });

  test("a release before its record is durable halts, naming the message and the record", () => {
    const box = new Outbox(ME, recovered());
    const [b0] = laneChain(tc, 2, 0, 1);
    // The vote leaves at once while its block's write is still pending.
    box.persist("lanes", { kind: "persist", id: 0, write: { kind: "laneBlock", block: b0! }, release: [] });
    const events = box.resend([laneVote(b0!)]);
    assert.equal(released(events).length, 0, "nothing leaves");
    assert.match(
      halt(events) ?? "",
      /lane vote for 2\/0 .* not covered by the durable record \(the durable block 2\/0 is none\)/,
    );
    assert.ok(box.halted !== null);
    // Halted: even the acknowledged write releases nothing more.
    assert.deepEqual(released(box.durable(0 as never)), []);
  });

  test("a batch vote leaves with its attestation record; one that is not the durable record halts", () => {
    const h = sha256(new Uint8Array([7]));
    const body = { number: 4, hash: h };
    const msg: SignedMessage = {
      kind: "batchVote",
      msg: {
        vote: { body, signer: ME, signature: signer.sign(DOMAINS.batchVote, batchVoteSigningBody(body)) },
        attempt: 0,
      },
    };
    const box = new Outbox(ME, recovered());
    const w = box.persist("attestation", {
      kind: "persist",
      id: 3,
      write: { kind: "attestation", record: { number: 4, hash: h } },
      release: [msg],
    });
    assert.deepEqual(box.durable(w.id), [
      { kind: "release", msg },
      { kind: "ack", owner: "attestation", id: 3 },
    ]);
    // A re-push of the same signed vote (new attempt) passes against the durable record.
    const again: SignedMessage = { kind: "batchVote", msg: { vote: msg.msg.vote, attempt: 1 } as never };
    assert.equal(released(box.resend([again])).length, 1);
    // Recovered record for batch 4: a vote for another hash, or batch 5, is never sent.
    const other = sha256(new Uint8Array([8]));
    const body2 = { number: 4, hash: other };
    const bad: SignedMessage = {
      kind: "batchVote",
      msg: {
        vote: { body: body2, signer: ME, signature: signer.sign(DOMAINS.batchVote, batchVoteSigningBody(body2)) },
        attempt: 0,
      },
    };
    const fresh = new Outbox(
      ME,
      recovered({
        attestation: { record: { number: 4, hash: h }, lastBatch: null, executedAfter: [], batchQcNext: 0 },
      }),
    );
    assert.match(halt(fresh.resend([bad])) ?? "", /batch vote for batch 4 .* durable attestation record is batch 4/);
  });

  describe("one rule per signed kind", () => {
    const breach = (rec: Partial<RecoveredState>, msg: SignedMessage): string => {
      const box = new Outbox(ME, recovered(rec));
      return halt(box.resend([msg])) ?? "released";
    };

    test("prepare and commit: same view and hash as the durable record", () => {
      const rec = { safety: record({ prepare: { view, proposalHash: h1 } }) };
      assert.equal(breach(rec, phase("prepare", { view, proposalHash: h1 })), "released");
      assert.match(
        breach(rec, phase("prepare", { view, proposalHash: h2 })),
        /prepare vote at 3\/1 .*the durable record's prepare is 3\/1/,
      );
      assert.match(
        breach(rec, phase("prepare", { view: { index: 3, round: 2 }, proposalHash: h1 })),
        /prepare vote at 3\/2/,
      );
      assert.match(breach({}, phase("commit", { view, proposalHash: h1 })), /the durable record's commit is none/);
    });

    test("commit: covered by a durable lock", () => {
      const commit = { view, proposalHash: h1 };
      assert.match(
        breach({ safety: record({ commit }) }, phase("commit", commit)),
        /commit vote at 3\/1 .*the durable lock is none/,
      );
      const lock = prepareQc(tc, p1);
      assert.equal(breach({ safety: record({ commit, lock }) }, phase("commit", commit)), "released");
      const other = prepareQc(tc, { ...p1, createdAtMs: p1.createdAtMs + 1 });
      assert.match(
        breach({ safety: record({ commit, lock: other }) }, phase("commit", commit)),
        /the durable lock is 3\/1/,
      );
    });

    test("proposal: leaves with the leader's own durable prepare vote", () => {
      const pm = { proposal: p1, signature: new Uint8Array(64), laneQcs: [], timeoutQc: null, prevCommitQc: null };
      const rec = { safety: record({ prepare: { view, proposalHash: h1 } }) };
      assert.equal(breach(rec, { kind: "proposal", msg: pm }), "released");
      assert.match(breach({}, { kind: "proposal", msg: pm }), /proposal at 3\/1 .*prepare is none/);
    });

    test("timeout: the durable timeout record, and its lock", () => {
      const body: TimeoutVoteBody = { view, lockRound: null };
      const tv = (b: TimeoutVoteBody, lock: PrepareQc | null = null): SignedMessage => ({
        kind: "timeout",
        msg: {
          body: b,
          signer: ME,
          signature: signer.sign(DOMAINS.timeout, timeoutVoteSigningBody(b)),
          lock,
        },
      });
      assert.equal(breach({ safety: record({ timeout: body }) }, tv(body)), "released");
      assert.match(breach({}, tv(body)), /timeout vote at 3\/1 .*timeout is none/);
      const locked: TimeoutVoteBody = { view, lockRound: 1 };
      const lock = prepareQc(tc, p1);
      assert.equal(breach({ safety: record({ timeout: locked, lock }) }, tv(locked, lock)), "released");
      assert.match(breach({ safety: record({ timeout: locked }) }, tv(locked, lock)), /the durable lock is none/);
    });

    test("own lane block: equal to the durable one", () => {
      const [b0] = laneChain(tc, ME, 0, 1);
      const twin = laneBlock(tc, ME, 0, ZERO_HASH, [new TextEncoder().encode("other")]);
      const rec = {
        lanes: [0, 1, 2, 3].map((lane) => ({
          lane,
          first: 0,
          next: lane === ME ? 1 : 0,
          blocks: lane === ME ? [b0!] : [],
        })),
      };
      assert.equal(breach(rec, { kind: "laneBlock", msg: b0! }), "released");
      assert.match(
        breach(rec, { kind: "laneBlock", msg: twin }),
        /own lane block 1\/0 .*the durable own block 1\/0 is/,
      );
      const foreign = laneChain(tc, 2, 0, 1)[0]!;
      assert.match(breach(rec, { kind: "laneBlock", msg: foreign }), /lane 2's block, not this node's/);
    });

    test("app vote: equal to the durable app state", () => {
      const rec = { app: { executedIndex: 4, appHash: h2 } };
      assert.equal(breach(rec, appVote(4, h2)), "released");
      assert.match(breach(rec, appVote(4, h1)), /app vote for index 4 .*durable app state is index 4/);
      assert.match(breach(rec, appVote(5, h2)), /app vote for index 5/);
    });

    test("an observer releases nothing", () => {
      const box = new Outbox(null, recovered());
      assert.match(halt(box.resend([appVote(0, ZERO_HASH)])) ?? "", /an observer never signs/);
    });
  });
});

describe("outbox negative control in the protocol node", () => {
  function node(laneVotesEarly: boolean) {
    const tc4 = testCommittee(4, { params: SIM_PARAMS });
    return {
      tc4,
      node: new ProtocolNode({
        committee: tc4.committee,
        me: 0,
        signer: tc4.signers[0]!,
        config: SIM_PROTOCOL_CONFIG,
        recovered: recovered(),
        app: new KvApp(),
        testFaults: { laneVotesEarly },
      }),
    };
  }

  test("a lane vote handed out before its block is durable halts the node", () => {
    const { tc4, node: n } = node(true);
    n.start(0);
    const [b0] = laneChain(tc4, 2, 0, 1);
    const out = n.step({ kind: "laneBlock", block: b0! }, 1);
    const h = out.find((e): e is Extract<NodeEffect, { kind: "halt" }> => e.kind === "halt");
    assert.ok(h !== undefined, "the node halts");
    assert.match(h.reason, /outbox: lane vote for 2\/0 .*the durable block 2\/0 is none/);
    assert.equal(
      out.filter((e) => e.kind === "broadcast" || e.kind === "sendLaneVote").length,
      0,
      "the early vote never reaches the network",
    );
    assert.equal(n.halted, h.reason);
    assert.deepEqual(n.step({ kind: "laneBlock", block: b0! }, 2), [], "a halted node does nothing");
  });

  test("without the fault the same vote leaves only after the durable acknowledgement", () => {
    const { tc4, node: n } = node(false);
    n.start(0);
    const [b0] = laneChain(tc4, 2, 0, 1);
    const out = n.step({ kind: "laneBlock", block: b0! }, 1);
    assert.equal(out.filter((e) => e.kind === "broadcast" || e.kind === "sendLaneVote").length, 0);
    const p = out.find((e) => e.kind === "persist" && e.write.kind === "laneBlock");
    assert.ok(p?.kind === "persist");
    const after = n.step({ kind: "durable", id: p.id }, 2);
    // To the block's owner (lane 2) only: lanes/vote-routing.ts.
    const votes = after.filter((e) => e.kind === "sendLaneVote");
    assert.equal(votes.length, 1);
    assert.equal(
      after.some((e) => e.kind === "broadcast" && e.topic === "lane_vote"),
      false,
    );
    assert.equal(n.halted, null);
  });
});
