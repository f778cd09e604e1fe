import assert from "node:assert/strict";
import { test } from "node:test";
import { KvApp, MAX_PENDING_EXECUTION } from "../../node/execution/index.ts";
import { type NodeEffect, type NodeInput, ProtocolNode } from "../../node/protocol/index.ts";
import { headerHash, payloadTxs, sha256 } from "../../node/types/index.ts";
import { commitQc, laneChain, proposal } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { emptyRecovered } from "../fixtures/recovered.ts";
import { SIM_PARAMS, SIM_PROTOCOL_CONFIG } from "../sim/sim-config.ts";

/** A fresh one-validator node with nothing on disk. */
function singleValidator() {
  // App votes on every index: the test follows index 1 all the way to its app vote.
  const tc = testCommittee(1, { params: { ...SIM_PARAMS, appVoteEveryIndexes: 1 } });
  const node = new ProtocolNode({
    committee: tc.committee,
    me: 0,
    signer: tc.signers[0]!,
    config: SIM_PROTOCOL_CONFIG,
    recovered: emptyRecovered(1),
    app: new KvApp(),
  });
  return { tc, node };
}

/** One step of the hand-driven chain: the input and the effects it gave. */
interface DrivenStep {
  input: NodeInput | { kind: "start" };
  effects: NodeEffect[];
}

/**
 * A single-validator chain driven by hand: every persist is acknowledged (in
 * persist order), every timer fired at its deadline. A tx goes from the
 * mempool through a lane block, LaneQC, proposal, votes and CommitQC to
 * execution; the steps are returned once the block is delivered.
 */
function driveOneTx(node: ProtocolNode, onEffect: (e: NodeEffect) => void = () => {}): DrivenStep[] {
  const steps: DrivenStep[] = [];
  const timers = new Map<string, { key: string; deadlineMs: number }>();
  let now = 0;
  const queue: NodeInput[] = [];
  const run = (input: DrivenStep["input"], effects: NodeEffect[]) => {
    steps.push({ input, effects });
    for (const e of effects) {
      onEffect(e);
      if (e.kind === "persist") queue.push({ kind: "durable", id: e.id });
      if (e.kind === "setTimer") timers.set(e.timer, { key: e.key, deadlineMs: e.deadlineMs });
    }
  };
  run({ kind: "start" }, node.start(now));
  const tx: NodeInput = { kind: "tx", tx: new TextEncoder().encode("hello=world") };
  run(tx, node.step(tx, now));
  const delivered = () => steps.some((s) => s.effects.some((e) => e.kind === "deliver"));
  for (let i = 0; i < 200 && !delivered(); i++) {
    const input = queue.shift();
    if (input !== undefined) {
      run(input, node.step(input, now));
      continue;
    }
    // Nothing pending: advance virtual time to the earliest timer.
    const [name, t] = [...timers].sort((a, b) => a[1].deadlineMs - b[1].deadlineMs)[0]!;
    timers.delete(name);
    now = Math.max(now, t.deadlineMs);
    const timer: NodeInput = { kind: "timer", timer: name as "lanes", key: t.key };
    run(timer, node.step(timer, now));
  }
  return steps;
}

test("one validator: a tx is finalized and executed through the pure driver", () => {
  const { node } = singleValidator();
  let heldAtFinality: boolean | undefined;
  const seen = driveOneTx(node, (e) => {
    if (e.kind === "finalized") heldAtFinality = node.lanes.heldBlock(0, 0) !== undefined;
  }).flatMap((s) => s.effects);
  const delivered = seen.find((e) => e.kind === "deliver");
  assert.ok(delivered?.kind === "deliver");
  assert.equal(delivered.block.index, 1);
  assert.equal(new TextDecoder().decode(payloadTxs(delivered.block.blocks[0]!.payload)[0]), "hello=world");
  assert.equal(node.consensus.finalizedIndex, 1);
  assert.equal(node.execution.executedIndex, 1);
  // The lane block stays in memory until its index is executed and durable, then only its hash does.
  assert.equal(heldAtFinality, true);
  assert.equal(node.lanes.heldBlock(0, 0), undefined);
  const kinds = new Set(
    seen.map((e) => (e.kind === "broadcast" ? `${e.topic}:${e.topic === "consensus" ? e.msg.kind : ""}` : e.kind)),
  );
  for (const k of [
    "pushBlock",
    "lane_vote:",
    "consensus:proposal",
    "consensus:prepare",
    "consensus:commit",
    "app_vote:",
    "finalized",
  ]) {
    assert.ok(kinds.has(k), `expected a ${k} effect`);
  }
  // The leader sends its proposal and its prepare vote once each per view
  // (its own proposal is not fed back to re-send the vote).
  for (const kind of ["proposal", "prepare", "commit"]) {
    const sent = seen.filter((e) => e.kind === "broadcast" && e.topic === "consensus" && e.msg.kind === kind);
    assert.equal(sent.length, 1, `${kind} sent ${sent.length} times`);
  }
});

test("an index is executed in the turn its CommitQC forms: one durable batch carries both, and nothing is delivered before it", () => {
  const { node } = singleValidator();
  const steps = driveOneTx(node);
  const persistOf = (s: DrivenStep, kind: string) =>
    s.effects.findIndex((e) => e.kind === "persist" && e.write.kind === kind);
  const decidedAt = steps.findIndex((s) => persistOf(s, "commitQc") >= 0);
  assert.ok(decidedAt > 0, "a CommitQC is written");
  const decided = steps[decidedAt]!;
  // Execution's writes come in the same turn, after the CommitQC's: the
  // group commit puts them in one batch, in this order, so an executed
  // index is never durable without its CommitQC.
  const qcPos = persistOf(decided, "commitQc");
  assert.ok(persistOf(decided, "globalBlock") > qcPos, "the global block is written in the CommitQC's turn, after it");
  assert.ok(persistOf(decided, "appState") > qcPos, "the app state is written in the CommitQC's turn, after it");
  // Nothing leaves before that batch is durable: finality is announced on
  // the CommitQC's durable acknowledgement, the block delivered on the app state's.
  const commitQcWrite = decided.effects[qcPos]!;
  const appStateWrite = decided.effects[persistOf(decided, "appState")]!;
  assert.ok(commitQcWrite.kind === "persist" && appStateWrite.kind === "persist");
  const ackOf = (id: number) => steps.findIndex((s) => s.input.kind === "durable" && s.input.id === id);
  const firstWith = (kind: NodeEffect["kind"]) => steps.findIndex((s) => s.effects.some((e) => e.kind === kind));
  assert.ok(ackOf(commitQcWrite.id) > decidedAt, "the CommitQC's write is acknowledged after it was emitted");
  assert.equal(firstWith("finalized"), ackOf(commitQcWrite.id));
  assert.equal(firstWith("deliver"), ackOf(appStateWrite.id));
  assert.ok(ackOf(commitQcWrite.id) < ackOf(appStateWrite.id));
  // The app vote for the index is signed in that turn too, and sent only once its record is durable.
  const appVoteSent = steps.findIndex((s) => s.effects.some((e) => e.kind === "broadcast" && e.topic === "app_vote"));
  assert.ok(appVoteSent >= ackOf(appStateWrite.id), "the app vote leaves after the app state is durable");
});

test("sync catch-up runs no further ahead of execution than execution can queue", () => {
  const { tc, node } = singleValidator();
  // 700 certified indexes whose lane blocks this node does not have: execution stays at 0.
  const qcs = Array.from({ length: 700 }, (_, i) =>
    commitQc(
      tc,
      proposal({ index: i + 1, round: 0 }, [
        { lane: 0, first: i, next: i + 1, lastHash: sha256(new Uint8Array([i % 256, i >> 8])) },
      ]),
    ),
  );
  // Delivered as catch-up does: 64 at a time, each chunk's writes acknowledged.
  for (let from = 0; from < qcs.length; from += 64) {
    const queue: NodeInput[] = [{ kind: "syncCommitQcs", qcs: qcs.slice(from, from + 64) }];
    for (let steps = 0; queue.length > 0 && steps < 10_000; steps++) {
      for (const e of node.step(queue.shift()!, 0)) if (e.kind === "persist") queue.push({ kind: "durable", id: e.id });
    }
  }
  assert.equal(node.execution.executedIndex, 0);
  assert.equal(node.consensus.finalizedIndex, MAX_PENDING_EXECUTION / 2);
  assert.equal(node.halted, null);
});

test("a restart holds in memory only the recovered lane blocks its last executed index had not reached", () => {
  const tc = testCommittee(1, { params: SIM_PARAMS });
  const chain = laneChain(tc, 0, 0, 4);
  const range = (next: number) => [{ lane: 0, first: 0, next, lastHash: headerHash(chain[next - 1]!.header) }];
  // Index 1 finalized blocks 0-1 and was executed; index 2 finalized block 2, not executed before the crash.
  const qc1 = commitQc(tc, proposal({ index: 1, round: 0 }, range(2)));
  const qc2 = commitQc(tc, proposal({ index: 2, round: 0 }, [{ ...range(3)[0]!, first: 2 }]));
  const node = new ProtocolNode({
    committee: tc.committee,
    me: 0,
    signer: tc.signers[0]!,
    config: SIM_PROTOCOL_CONFIG,
    recovered: emptyRecovered(1, {
      lanes: [{ lane: 0, first: 0, next: 4, blocks: chain }],
      commitQcs: [qc1, qc2],
      finalizedIndex: 2,
      app: { executedIndex: 1, appHash: sha256(new Uint8Array([1])) },
      chainTip: 1,
    }),
    app: new KvApp(),
  });
  assert.deepEqual(
    chain.map((_, n) => node.lanes.heldBlock(0, n) !== undefined),
    [false, false, true, true],
    "blocks 0-1 (executed) as hashes; block 2 (final, execution redoes it) and 3 (not final) held",
  );
});
