import assert from "node:assert/strict";
import { test } from "node:test";
import { type ExecutionEffect, ExecutionMachine, KvApp } from "../../node/execution/index.ts";
import {
  type AppVote,
  appVoteSigningBody,
  type CommitQc,
  concatBytes,
  DOMAINS,
  headerHash,
  isUtf8,
  type LaneBlock,
  latin1,
  payloadTxs,
  sha256,
  txHashAt,
  txHashCount,
  ZERO_HASH,
} from "../../node/types/index.ts";
import { commitQc, laneChain } from "../fixtures/certs.ts";
import { testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

/** The shipped execution defaults (config/default.toml through the loader). */
const DEFAULT_EXECUTION = testProtocolConfig().execution;

// App votes on every index here: these tests follow one index's vote. The
// genesis checkpoint rule (every Nth index) has its own test below.
const tc = testCommittee(4, { params: { appVoteEveryIndexes: 1 } });
const chain = laneChain(tc, 0, 0, 2);
const ranges = tc.committee.members.map((_, lane) =>
  lane === 0
    ? { lane, first: 0, next: 2, lastHash: headerHash(chain[1]!.header) }
    : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
);
const qc1: CommitQc = commitQc(tc, { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges });

function exec(me: number, held: LaneBlock[] = chain, config = DEFAULT_EXECUTION): ExecutionMachine {
  return new ExecutionMachine({
    committee: tc.committee,
    me,
    signer: tc.signers[me]!,
    config,
    app: new KvApp(),
    recovered: { commitQcs: [qc1], anchor: null, app: { executedIndex: 0, appHash: ZERO_HASH }, chainTip: 0 },
    lookup: (lane, n) => held.find((b) => b.header.lane === lane && b.header.number === n),
  });
}

function appVote(signer: number, index: number, appHash: Uint8Array): AppVote {
  const body = { index, appHash };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.appVote, appVoteSigningBody(body)) };
}

const persisted = (out: ExecutionEffect[]) =>
  out.filter((e): e is Extract<ExecutionEffect, { kind: "persist" }> => e.kind === "persist");

test("a recovered, finalized index is executed in order; the app vote waits for durable app state", () => {
  const m = exec(1);
  const out = m.start(0);
  const writes = persisted(out);
  assert.deepEqual(
    writes.map((w) => w.write.kind),
    ["globalBlock", "appState"],
  );
  assert.equal(out.filter((e) => e.kind === "resend").length, 0, "no app vote leaves before the app state is durable");
  const appState = writes[1]!;
  assert.deepEqual(writes[0]!.release, [], "the global block releases nothing");
  const [v] = appState.release;
  assert.ok(v?.kind === "appVote", "the app state write releases the app vote");
  assert.equal(v.msg.body.index, 1);
  assert.deepEqual(v.msg.body.appHash, m.appHash);
  const acked = m.step({ kind: "durable", id: appState.id }, 1);
  assert.ok(acked.some((e) => e.kind === "deliver"));
  assert.equal(m.executedIndex, 1);
});

test("app votes only at the genesis checkpoints: executed indexes 1 and 2 with every 2, one vote; a restart re-sends only a checkpoint's", () => {
  const t2 = testCommittee(4, { params: { appVoteEveryIndexes: 2 } });
  const blocks = laneChain(t2, 0, 0, 2);
  const range = (first: number, next: number) =>
    t2.committee.members.map((_, lane) =>
      lane === 0
        ? { lane, first, next, lastHash: headerHash(blocks[next - 1]!.header) }
        : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
    );
  const qcs = [
    commitQc(t2, { view: { index: 1, round: 0 }, createdAtMs: 1000, ranges: range(0, 1) }),
    commitQc(t2, { view: { index: 2, round: 0 }, createdAtMs: 1001, ranges: range(1, 2) }),
  ];
  const machine = (executedIndex: number, appHash: Uint8Array) =>
    new ExecutionMachine({
      committee: t2.committee,
      me: 1,
      signer: t2.signers[1]!,
      config: DEFAULT_EXECUTION,
      app: new KvApp(),
      recovered: { commitQcs: qcs, anchor: null, app: { executedIndex, appHash }, chainTip: executedIndex },
      lookup: (lane, n) => blocks.find((b) => b.header.lane === lane && b.header.number === n),
    });
  const m = machine(0, ZERO_HASH);
  const votes: number[] = [];
  let out = m.start(0);
  for (let turn = 0; turn < 10 && m.executedIndex < 2; turn++) {
    const writes = persisted(out);
    for (const w of writes.filter((x) => x.write.kind === "appState")) {
      for (const r of w.release) if (r.kind === "appVote") votes.push(r.msg.body.index);
    }
    out = writes.flatMap((w) => m.step({ kind: "durable", id: w.id }, 1));
  }
  for (const w of persisted(out)) for (const r of w.release) if (r.kind === "appVote") votes.push(r.msg.body.index);
  assert.equal(m.executedIndex, 2);
  assert.deepEqual(votes, [2], "index 1 is not a checkpoint: no vote; index 2 is");
  const resent = (executed: number) =>
    machine(executed, m.appHash)
      .start(0)
      .filter((e) => e.kind === "resend");
  assert.equal(resent(1).length, 0, "a restart at index 1 has no vote to re-send");
  assert.equal(resent(2).length, 1, "a restart at checkpoint 2 re-sends its vote");
  // A vote off the checkpoints is refused, with the reason.
  const vote = (signer: number, index: number, appHash: Uint8Array): AppVote => {
    const body = { index, appHash };
    return { body, signer, signature: t2.signers[signer]!.sign(DOMAINS.appVote, appVoteSigningBody(body)) };
  };
  const offCheckpoint = m.step({ kind: "appVote", vote: vote(0, 1, m.appHash) }, 2);
  assert.ok(offCheckpoint.some((e) => e.kind === "event" && e.msg === "app vote refused"));
  // A history that differed anywhere up to the checkpoint shows in its hash: a quorum on another one halts.
  const other = sha256(new TextEncoder().encode("another history"));
  const quorum = [0, 2, 3].flatMap((s) => m.step({ kind: "appVote", vote: vote(s, 2, other) }, 3));
  const halt = quorum.find((e) => e.kind === "halt");
  assert.ok(halt?.kind === "halt");
  assert.match(halt.reason, /divergence at index 2/);
});

test("each tx of a block is hashed once: the chain write and the delivery carry the same hash list", () => {
  const m = exec(1);
  const writes = persisted(m.start(0));
  const gb = writes[0]!.write;
  assert.ok(gb.kind === "globalBlock");
  const txs = chain.flatMap((b) => payloadTxs(b.payload));
  assert.ok(txs.length > 0);
  assert.equal(txHashCount(gb.txHashes), txs.length);
  for (const [i, tx] of txs.entries()) assert.deepEqual(txHashAt(gb.txHashes, i), sha256(tx));
  const delivered = m.step({ kind: "durable", id: writes[1]!.id }, 1).find((e) => e.kind === "deliver");
  assert.ok(delivered?.kind === "deliver");
  assert.equal(delivered.txHashes, gb.txHashes, "the very same list, not a second hashing");
});

test("the kv app: key=value sets a key, other bytes are opaque, the hash chains", () => {
  const app = new KvApp();
  app.beginBlock(1, ZERO_HASH);
  assert.deepEqual(app.apply(new TextEncoder().encode("a=1")), { kind: "set", key: new TextEncoder().encode("a") });
  assert.deepEqual(app.apply(new Uint8Array([0xff, 0x3d, 0x01])), { kind: "opaque" });
  assert.deepEqual(app.apply(new TextEncoder().encode("=x")), { kind: "opaque" });
  const h1 = app.hash();
  const w = app.takeWrites();
  assert.equal(w.puts.length, 1);
  assert.equal(new TextDecoder().decode(w.puts[0]![0]), "kv/a");
  app.beginBlock(1, ZERO_HASH);
  app.apply(new TextEncoder().encode("a=1"));
  app.apply(new Uint8Array([0xff, 0x3d, 0x01]));
  app.apply(new TextEncoder().encode("=x"));
  assert.deepEqual(app.hash(), h1, "deterministic");
  app.beginBlock(2, ZERO_HASH);
  assert.notDeepEqual(app.hash(), sha256(), "the index is committed");
});

test("the kv app's UTF-8 rule: well-formed UTF-8 sets a key, anything else is opaque (edge cases pinned)", () => {
  // Expected answers written out (the well-formed UTF-8 of Unicode 3.9, table 3-7), and a
  // fatal TextDecoder, the app's rule before, must agree with them too.
  const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const decodes = (b: Uint8Array) => {
    try {
      fatal.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  const cases: [number[], boolean, string][] = [
    [[], true, "empty"],
    [[0x00], true, "NUL"],
    [[0x7f], true, "DEL"],
    [[0xef, 0xbb, 0xbf], true, "BOM"],
    [[0xc2, 0x80], true, "U+0080"],
    [[0xc0, 0x80], false, "overlong NUL"],
    [[0xc1, 0xbf], false, "overlong 2-byte"],
    [[0xe0, 0x80, 0x80], false, "overlong 3-byte"],
    [[0xe0, 0xa0, 0x80], true, "U+0800"],
    [[0xed, 0x9f, 0xbf], true, "U+D7FF"],
    [[0xed, 0xa0, 0x80], false, "surrogate U+D800"],
    [[0xed, 0xbf, 0xbf], false, "surrogate U+DFFF"],
    [[0xef, 0xbf, 0xbe], true, "U+FFFE, a noncharacter, is well-formed"],
    [[0xf0, 0x80, 0x80, 0x80], false, "overlong 4-byte"],
    [[0xf4, 0x8f, 0xbf, 0xbf], true, "U+10FFFF"],
    [[0xf4, 0x90, 0x80, 0x80], false, "past U+10FFFF"],
    [[0xf5, 0x80, 0x80, 0x80], false, "lead byte F5"],
    [[0xff], false, "byte FF"],
    [[0x80], false, "lone continuation"],
    [[0xe2, 0x82], false, "cut sequence"],
    [[0x61, 0xe2, 0x82, 0xac, 0x62], true, "a€b"],
  ];
  for (const [c, wellFormed, what] of cases) {
    const bytes = new Uint8Array(c);
    assert.equal(isUtf8(bytes), wellFormed, what);
    assert.equal(decodes(bytes), wellFormed, `TextDecoder: ${what}`);
    // A view at an offset into a larger buffer is checked on its own bytes only.
    const padded = new Uint8Array([0xff, ...c, 0xff]);
    assert.equal(isUtf8(padded.subarray(1, 1 + c.length)), wellFormed, `view: ${what}`);
    // And through the app: as a value, and as a key.
    const app = new KvApp();
    app.beginBlock(1, ZERO_HASH);
    const asValue = app.apply(concatBytes(new TextEncoder().encode("k="), bytes)).kind;
    assert.equal(asValue, wellFormed ? "set" : "opaque", `value: ${what}`);
    if (bytes.byteLength > 0 && !c.includes(0x3d)) {
      const asKey = app.apply(concatBytes(bytes, new TextEncoder().encode("=v"))).kind;
      assert.equal(asKey, wellFormed ? "set" : "opaque", `key: ${what}`);
    }
  }
});

test("the kv app keys by bytes: a key with a leading BOM and the same key without are two keys (issue 16 item 7)", () => {
  const enc = new TextEncoder();
  const app = new KvApp();
  app.beginBlock(1, ZERO_HASH);
  const bom = app.apply(enc.encode("\uFEFFa=1"));
  const plain = app.apply(enc.encode("a=2"));
  assert.deepEqual(bom, { kind: "set", key: enc.encode("\uFEFFa") });
  assert.deepEqual(plain, { kind: "set", key: enc.encode("a") });
  const hash = app.hash();
  const puts = app.takeWrites().puts.map(([k, v]) => [Buffer.from(k).toString("hex"), Buffer.from(v).toString()]);
  assert.deepEqual(puts, [
    [Buffer.from("kv/\uFEFFa").toString("hex"), "1"],
    [Buffer.from("kv/a").toString("hex"), "2"],
  ]);
  // Determinism: the same txs give the same hash and the same writes in the same order.
  app.beginBlock(1, ZERO_HASH);
  app.apply(enc.encode("\uFEFFa=1"));
  app.apply(enc.encode("a=2"));
  assert.deepEqual(app.hash(), hash);
  assert.deepEqual(
    app.takeWrites().puts.map(([k]) => Buffer.from(k).toString("hex")),
    puts.map(([k]) => k),
  );
  // The last write of one key in a block still wins.
  app.beginBlock(2, hash);
  app.apply(enc.encode("a=3"));
  app.apply(enc.encode("a=4"));
  assert.deepEqual(
    app.takeWrites().puts.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]),
    [["kv/a", "4"]],
  );
});

test("the kv app's key map is byte-exact: keys that differ in a byte from 0x80 to 0x9f stay two keys", () => {
  // latin1() is the map key: every byte value is its own character, none merged
  // (the WHATWG "latin1" decoder, windows-1252, would map 0x80..0x9f elsewhere).
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = latin1(all);
  assert.equal(text.length, 256);
  for (let i = 0; i < 256; i++) assert.equal(text.charCodeAt(i), i);
  const enc = new TextEncoder();
  const app = new KvApp();
  app.beginBlock(1, ZERO_HASH);
  // U+0080 and U+0081 are C2 80 and C2 81 in UTF-8.
  app.apply(enc.encode("\u0080=1"));
  app.apply(enc.encode("\u0081=2"));
  app.apply(enc.encode("\u0080=3"));
  assert.deepEqual(
    app.takeWrites().puts.map(([k, v]) => [Buffer.from(k).toString("hex"), Buffer.from(v).toString()]),
    [
      [Buffer.from("kv/\u0080").toString("hex"), "3"],
      [Buffer.from("kv/\u0081").toString("hex"), "2"],
    ],
  );
});

test("missing lane blocks are fetched, then matched by hash", () => {
  const m = exec(1, []);
  const out = m.start(0);
  const fetch = out.find((e) => e.kind === "fetchLaneBlocks");
  assert.ok(fetch?.kind === "fetchLaneBlocks" && fetch.lane === 0 && fetch.from === 0 && fetch.to === 2);
  // A forged block under the right number is ignored; the certified ones are used.
  const forged = laneChain(tc, 0, 0, 2, new Uint8Array(32).fill(1));
  assert.equal(persisted(m.step({ kind: "blocks", blocks: forged }, 1)).length, 0);
  const done = persisted(m.step({ kind: "blocks", blocks: chain }, 2));
  assert.deepEqual(
    done.map((w) => w.write.kind),
    ["globalBlock", "appState"],
  );
});

test("an app hash that differs from a quorum's halts the node, naming both hashes", () => {
  const m = exec(1);
  m.start(0);
  const other = sha256(new TextEncoder().encode("another history"));
  const out = [0, 2, 3].flatMap((s) => m.step({ kind: "appVote", vote: appVote(s, 1, other) }, 5));
  const halt = out.find((e) => e.kind === "halt");
  assert.ok(halt?.kind === "halt");
  assert.match(halt.reason, /divergence at index 1/);
  assert.ok(halt.reason.includes(Buffer.from(other).toString("hex")));
  assert.ok(halt.reason.includes(Buffer.from(m.appHash).toString("hex")));
  assert.equal(m.halted, halt.reason);
  assert.deepEqual(m.step({ kind: "timer" }, 6), [], "a halted machine does nothing");
});

test("f votes for another hash do not halt; a matching AppQC anchors and then prunes", () => {
  const m = exec(1, chain, { ...DEFAULT_EXECUTION, anchorEveryIndexes: 1 });
  const started = m.start(0);
  m.step({ kind: "durable", id: persisted(started)[1]!.id }, 1);
  const other = sha256(new TextEncoder().encode("x"));
  assert.equal(m.step({ kind: "appVote", vote: appVote(0, 1, other) }, 2).filter((e) => e.kind === "halt").length, 0);
  const out = [2, 3].flatMap((s) => m.step({ kind: "appVote", vote: appVote(s, 1, m.appHash) }, 3));
  // Own vote (looped back by the driver) + 2 others = Q.
  const own = appVote(1, 1, m.appHash);
  const formed = [...out, ...m.step({ kind: "appVote", vote: own }, 4)];
  const anchorWrite = persisted(formed).find((w) => w.write.kind === "anchor");
  assert.ok(anchorWrite !== undefined);
  assert.equal(formed.filter((e) => e.kind === "anchored").length, 0, "nothing pruned before the anchor is durable");
  const after = m.step({ kind: "durable", id: anchorWrite.id }, 5);
  const anchored = after.find((e) => e.kind === "anchored");
  assert.ok(anchored?.kind === "anchored");
  assert.equal(anchored.anchor.commitQc.proposal.view.index, 1);
  assert.equal(anchored.anchor.appQc.body.index, 1);
  assert.ok(persisted(after).some((w) => w.write.kind === "pruneCommitQcs" && w.write.before === 1));
});

test("finality running more than MAX_PENDING indexes ahead of missing blocks halts instead of stalling silently", async () => {
  const { MAX_PENDING_EXECUTION } = await import("../../node/execution/index.ts");
  const m = exec(1, []);
  m.start(0);
  // Index 1 (recovered) and the ones below wait for lane 0's blocks, which this node lacks.
  let halted: ExecutionEffect | undefined;
  for (let k = 2; k <= MAX_PENDING_EXECUTION + 2 && halted === undefined; k++) {
    const r = tc.committee.members.map((_, lane) =>
      lane === 0
        ? { lane, first: k, next: k + 1, lastHash: sha256(new Uint8Array([k % 256])) }
        : { lane, first: 0, next: 0, lastHash: ZERO_HASH },
    );
    // Execution trusts CommitQCs from its own consensus machine; signatures are not needed here.
    const qc = { ...qc1, proposal: { view: { index: k, round: 0 }, createdAtMs: 1000 + k, ranges: r } } as CommitQc;
    halted = m.step({ kind: "finalized", qc }, k).find((e) => e.kind === "halt");
  }
  assert.ok(halted?.kind === "halt");
  assert.match(halted.reason, /behind finality .* restart the node/);
  assert.equal(m.executedIndex, 0);
});
