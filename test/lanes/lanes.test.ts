import assert from "node:assert/strict";
import { test } from "node:test";
import type { LanesEffect, LanesMachine } from "../../node/lanes/index.ts";
import {
  concatBytes,
  DOMAINS,
  headerHash,
  knownTxHashes,
  type LaneBlock,
  type LaneVote,
  laneVoteSigningBody,
  type SignedMessage,
  toHex,
  txHash,
  txHashList,
} from "../../node/types/index.ts";
import { laneBlock, laneChain } from "../fixtures/certs.ts";
import { type TestCommittee, testCommittee } from "../fixtures/committee.ts";
import { testProtocolConfig } from "../fixtures/config.ts";
import { freshLanes } from "../fixtures/lanes.ts";

/** The shipped lane defaults (config/default.toml through the loader). */
const DEFAULT_LANES = testProtocolConfig().lanes;

const tc4 = testCommittee(4);

function lanes(me: number, tc: TestCommittee = tc4, config = DEFAULT_LANES): LanesMachine {
  return freshLanes(tc, me, config);
}

const persisted = (out: LanesEffect[]) =>
  out.filter((e): e is Extract<LanesEffect, { kind: "persist" }> => e.kind === "persist");
/** Signed messages a write releases once durable (the outbox sends them then). */
const released = (out: LanesEffect[]) => persisted(out).flatMap((p) => p.release);
/** Identical re-sends (the outbox checks them against the durable record at once). */
const resent = (out: LanesEffect[]) => out.flatMap((e) => (e.kind === "resend" ? e.release : []));
const votes = (msgs: SignedMessage[]) => msgs.flatMap((m) => (m.kind === "laneVote" ? [m.msg] : []));
const ownBlocks = (msgs: SignedMessage[]) => msgs.flatMap((m) => (m.kind === "laneBlock" ? [m.msg] : []));

function vote(tc: TestCommittee, signer: number, block: LaneBlock): LaneVote {
  const body = { lane: block.header.lane, number: block.header.number, headerHash: headerHash(block.header) };
  return { body, signer, signature: tc.signers[signer]!.sign(DOMAINS.laneVote, laneVoteSigningBody(body)) };
}

test("a lane vote travels with its block's write (released once durable), in order", () => {
  const m = lanes(0);
  const [b0, b1] = laneChain(tc4, 1, 0, 2);
  const out0 = m.step({ kind: "laneBlock", block: b0! }, 1);
  const out1 = m.step({ kind: "laneBlock", block: b1! }, 2);
  assert.equal(resent([...out0, ...out1]).length, 0, "nothing leaves before durability");
  const [w0] = persisted(out0);
  const [w1] = persisted(out1);
  assert.ok(w0 && w1 && w0.write.kind === "laneBlock" && w1.write.kind === "laneBlock");
  assert.deepEqual(
    [w0, w1].map((w) => votes(w.release).map((v) => [v.body.number, v.signer])),
    [[[0, 0]], [[1, 0]]],
    "each block's write releases exactly this node's vote for it",
  );
  assert.deepEqual(votes(w1.release)[0]!.body.headerHash, headerHash(b1!.header));
  // Acknowledgements are bookkeeping: nothing is sent by the machine itself.
  assert.equal(resent(m.step({ kind: "durable", id: w0.id }, 3)).length, 0);
  assert.equal(resent(m.step({ kind: "durable", id: w1.id }, 4)).length, 0);
});

test("retransmission re-sends only the latest durable vote", () => {
  const m = lanes(0);
  const [b0, b1] = laneChain(tc4, 1, 0, 2);
  const w0 = persisted(m.step({ kind: "laneBlock", block: b0! }, 1))[0]!;
  persisted(m.step({ kind: "laneBlock", block: b1! }, 2));
  m.step({ kind: "durable", id: w0.id }, 3);
  const again = votes(resent(m.step({ kind: "timer" }, 10_000)));
  assert.deepEqual(
    again.map((v) => v.body.number),
    [0],
    "block 1 is not durable: its vote is not re-sent",
  );
});

test("an equivocating lane block is never voted and is counted", () => {
  const m = lanes(0);
  const b0 = laneBlock(tc4, 2, 0, new Uint8Array(32));
  const twin = laneBlock(tc4, 2, 0, new Uint8Array(32), [new TextEncoder().encode("other")]);
  const out = m.step({ kind: "laneBlock", block: b0 }, 1);
  const second = m.step({ kind: "laneBlock", block: twin }, 2);
  assert.equal(persisted(second).length, 0);
  assert.equal(resent(second).length, 0);
  assert.equal(m.counters.equivocations, 1);
  const voted = votes(released(out));
  assert.equal(voted.length, 1);
  assert.deepEqual(voted[0]!.body.headerHash, headerHash(b0.header));
});

test("blocks that do not chain, are badly signed or are beyond the window are refused", () => {
  const tc = testCommittee(4, { params: { laneWindow: 2 } });
  const m = lanes(0, tc);
  const chain = laneChain(tc, 1, 0, 3);
  const forged = { ...chain[0]!, signature: new Uint8Array(64) };
  assert.equal(persisted(m.step({ kind: "laneBlock", block: forged }, 1)).length, 0);
  const notChained = laneBlock(tc, 1, 0, new Uint8Array(32).fill(7));
  assert.equal(persisted(m.step({ kind: "laneBlock", block: notChained }, 1)).length, 0);
  assert.equal(persisted(m.step({ kind: "laneBlock", block: chain[0]! }, 1)).length, 1);
  assert.equal(persisted(m.step({ kind: "laneBlock", block: chain[1]! }, 1)).length, 1);
  const outside = m.step({ kind: "laneBlock", block: chain[2]! }, 1);
  assert.equal(persisted(outside).length, 0, "block 2 is outside a window of 2 above finalized 0");
});

test("a gap is buffered and fetched, then filled in order", () => {
  const m = lanes(0);
  const chain = laneChain(tc4, 3, 0, 3);
  const out = m.step({ kind: "laneBlock", block: chain[2]! }, 1);
  const fetch = out.find((e) => e.kind === "fetchLaneBlocks");
  assert.ok(fetch?.kind === "fetchLaneBlocks" && fetch.lane === 3 && fetch.from === 0 && fetch.to === 2);
  assert.equal(persisted(m.step({ kind: "laneBlock", block: chain[0]! }, 2)).length, 1);
  const filled = persisted(m.step({ kind: "laneBlock", block: chain[1]! }, 3));
  assert.deepEqual(
    filled.map((p) => (p.write.kind === "laneBlock" ? p.write.block.header.number : -1)),
    [1, 2],
  );
});

test("a LaneQC needs lane votes of weight A", () => {
  // Weights 3,1,1,1: W = 6, f = 1, A = 2.
  const tc = testCommittee([3, 1, 1, 1]);
  const m = lanes(1, tc);
  const b = laneBlock(tc, 2, 0, new Uint8Array(32));
  const qcs = (out: LanesEffect[]) => out.filter((e) => e.kind === "laneQc");
  assert.equal(qcs(m.step({ kind: "laneVote", vote: vote(tc, 2, b) }, 1)).length, 0, "weight 1 < A");
  const formed = qcs(m.step({ kind: "laneVote", vote: vote(tc, 3, b) }, 2));
  assert.equal(formed.length, 1, "weight 2 = A");
  const m2 = lanes(1, tc);
  assert.equal(qcs(m2.step({ kind: "laneVote", vote: vote(tc, 0, b) }, 1)).length, 1, "one member of weight 3 >= A");
  const bad = { ...vote(tc, 2, b), signature: new Uint8Array(64) };
  const m3 = lanes(1, tc);
  m3.step({ kind: "laneVote", vote: bad }, 1);
  assert.equal(qcs(m3.step({ kind: "laneVote", vote: vote(tc, 3, b) }, 2)).length, 0, "a bad signature adds no weight");
});

test("a vote for a held block that is certified (or final) already is redundant; one for another hash is not", () => {
  const m = lanes(1);
  const b = laneBlock(tc4, 2, 0, new Uint8Array(32));
  const other = laneBlock(tc4, 2, 0, new Uint8Array(32).fill(1));
  m.step({ kind: "laneBlock", block: b }, 0);
  assert.equal(m.isRedundantVote(vote(tc4, 3, b)), false, "held, not certified: the vote counts");
  m.step({ kind: "laneVote", vote: vote(tc4, 0, b) }, 1);
  assert.equal(m.step({ kind: "laneVote", vote: vote(tc4, 2, b) }, 2).filter((e) => e.kind === "laneQc").length, 1);
  assert.equal(m.isRedundantVote(vote(tc4, 3, b)), true, "certified: one more vote tells nothing");
  assert.equal(m.isRedundantVote(vote(tc4, 3, other)), false, "another hash at that number may be an equivocation");
  const unheld = laneBlock(tc4, 3, 0, new Uint8Array(32));
  assert.equal(m.isRedundantVote(vote(tc4, 0, unheld)), false, "a block not held");
  m.step({ kind: "finalized", ranges: [{ lane: 2, first: 0, next: 1, lastHash: headerHash(b.header) }] }, 3);
  assert.equal(m.isRedundantVote(vote(tc4, 3, b)), true, "final and held");
});

test("the own block is persisted first and pushed only once durable; the window is backpressure", () => {
  const tc = testCommittee(4, { params: { laneWindow: 2 } });
  const m = lanes(0, tc, { ...DEFAULT_LANES, maxBlockDelayMs: 10 });
  const produce = (i: number, now: number) => [
    ...m.step({ kind: "tx", tx: new TextEncoder().encode(`k${i}=v`) }, now),
    ...m.step({ kind: "timer" }, now + 10),
  ];
  const out = produce(0, 0);
  const w = persisted(out);
  assert.equal(w.length, 1);
  assert.equal(resent(out).length, 0, "not pushed before durable");
  assert.equal(ownBlocks(w[0]!.release).length, 1, "the block's write releases the block");
  assert.equal(votes(w[0]!.release).length, 1, "and the own vote for it");
  m.step({ kind: "durable", id: w[0]!.id }, 20);
  assert.equal(persisted(produce(1, 30)).length, 1);
  assert.equal(persisted(produce(2, 60)).length, 0, "window of 2 full: no third block");
  assert.equal(m.mempoolSize, 1);
  // Finality moves the window: production resumes.
  const resumed = m.step(
    {
      kind: "finalized",
      ranges: tc.committee.members.map((_, lane) => ({
        lane,
        first: 0,
        next: lane === 0 ? 2 : 0,
        lastHash: new Uint8Array(32),
      })),
    },
    100,
  );
  assert.equal(persisted(resumed).length, 1);
});

test("an own block carries the hashes its txs were admitted with: execution does not hash them again", () => {
  const m = lanes(0, tc4, { ...DEFAULT_LANES, maxBlockDelayMs: 10 });
  const txs = ["a=1", "b=2", "c=3"].map((t) => new TextEncoder().encode(t));
  // As the runtime submits them: with the hex hash the API computed; or without (the machine hashes).
  m.step({ kind: "tx", tx: txs[0]!, hash: toHex(txHash(txs[0]!)) }, 0);
  m.step({ kind: "tx", tx: txs[1]! }, 0);
  m.step({ kind: "tx", tx: txs[2]!, hash: toHex(txHash(txs[2]!)) }, 0);
  const w = persisted(m.step({ kind: "timer" }, 10));
  const block = w[0]?.write.kind === "laneBlock" ? w[0].write.block : undefined;
  assert.equal(block?.header.txCount, 3);
  const recorded = knownTxHashes(block!.payload);
  assert.ok(recorded, "the produced payload has its admission hashes recorded");
  assert.deepEqual(recorded, concatBytes(...txs.map(txHash)));
  assert.deepEqual(txHashList([block!]), recorded);
  // A block decoded or read back (another payload object) is hashed, to the same list.
  assert.deepEqual(txHashList([{ payload: block!.payload.slice() }]), recorded);
});

test("txs split over two own blocks: each block's recorded hashes are its own txs', in order", () => {
  // Room for two txs per block: 4-byte length prefixes plus 3-byte txs.
  const m = lanes(0, tc4, { ...DEFAULT_LANES, maxBlockDelayMs: 10, maxBlockBytes: 14 });
  const txs = ["a=1", "b=2", "c=3", "d=4"].map((t) => new TextEncoder().encode(t));
  for (const tx of txs) m.step({ kind: "tx", tx, hash: toHex(txHash(tx)) }, 0);
  const first = persisted(m.step({ kind: "timer" }, 10));
  // The rest waited past the delay too: the next step makes the second block.
  const second = persisted(m.step({ kind: "durable", id: first[0]!.id }, 11));
  const blocks = [...first, ...second].flatMap((w) => (w.write.kind === "laneBlock" ? [w.write.block] : []));
  assert.deepEqual(
    blocks.map((b) => b.header.txCount),
    [2, 2],
  );
  assert.deepEqual(knownTxHashes(blocks[0]!.payload), concatBytes(txHash(txs[0]!), txHash(txs[1]!)));
  assert.deepEqual(knownTxHashes(blocks[1]!.payload), concatBytes(txHash(txs[2]!), txHash(txs[3]!)));
  assert.deepEqual(txHashList(blocks), concatBytes(...txs.map(txHash)));
});

test("an admission id that is not a lowercase hex tx hash is refused: it would become the tx index", () => {
  const rejected = (out: LanesEffect[]) => out.flatMap((e) => (e.kind === "txRejected" ? [e] : []));
  const m = lanes(0, tc4, { ...DEFAULT_LANES, maxBlockDelayMs: 10 });
  const tx = new TextEncoder().encode("a=1");
  const hex = toHex(txHash(tx));
  for (const id of ["not-a-hash", hex.toUpperCase(), `0x${hex}`, hex.slice(2), `${"zz"}${hex.slice(2)}`]) {
    const out = rejected(m.step({ kind: "tx", tx, hash: id }, 0));
    assert.equal(out.length, 1, id);
    assert.equal(out[0]!.code, "invalid");
    assert.match(out[0]!.reason, /not a lowercase hex tx hash/);
  }
  assert.equal(m.mempoolSize, 0);
  assert.equal(rejected(m.step({ kind: "tx", tx, hash: hex }, 0)).length, 0);
});

test("an idle lane sends a block at once; under load txs are batched until the delay or a full block", () => {
  const m = lanes(0, tc4, { ...DEFAULT_LANES, sendWhenIdle: true, maxBlockDelayMs: 50, maxBlockBytes: 64 * 1024 });
  const tx = (i: number) => ({ kind: "tx" as const, tx: new TextEncoder().encode(`k${i}=v`) });
  const first = persisted(m.step(tx(0), 0));
  assert.equal(first.length, 1, "idle: the first tx goes out in its own block, no delay");
  // Block 0 is not final: the lane is busy, txs wait.
  assert.equal(persisted(m.step(tx(1), 1)).length, 0);
  assert.equal(persisted(m.step(tx(2), 20)).length, 0);
  const batched = persisted(m.step({ kind: "timer" }, 51));
  assert.equal(batched.length, 1, "after maxBlockDelayMs the waiting txs go out together");
  const block = batched[0]!.write.kind === "laneBlock" ? batched[0]!.write.block : undefined;
  assert.equal(block?.header.txCount, 2);
  // A full block does not wait for the delay.
  const big = (i: number) => ({ kind: "tx" as const, tx: new Uint8Array(40 * 1024).fill(i) });
  assert.equal(persisted(m.step(big(1), 60)).length, 0);
  assert.equal(persisted(m.step(big(2), 61)).length, 1, "the mempool holds maxBlockBytes: out at once");
});

test("with sendWhenIdle off, an idle lane batches too: the first tx waits for the delay", () => {
  const m = lanes(0, tc4, { ...DEFAULT_LANES, maxBlockDelayMs: 50, maxBlockBytes: 64 * 1024, sendWhenIdle: false });
  assert.equal(persisted(m.step({ kind: "tx", tx: new TextEncoder().encode("a=1") }, 0)).length, 0);
  assert.equal(persisted(m.step({ kind: "timer" }, 50)).length, 1);
});

test("the own lane's window is bounded in bytes: no new block while unfinalized payloads would pass maxWindowBytes", () => {
  const m = lanes(0, tc4, {
    ...DEFAULT_LANES,
    sendWhenIdle: true,
    maxBlockDelayMs: 1,
    maxBlockBytes: 64 * 1024,
    maxWindowBytes: 50_000,
  });
  const big = (i: number) => ({ kind: "tx" as const, tx: new Uint8Array(30_000).fill(i) });
  assert.equal(persisted(m.step(big(1), 0)).length, 1, "idle: block 0 (30 KB)");
  // Busy lane: batched until the delay; 20 KB of room left, and a block always takes at least one tx.
  m.step(big(2), 1);
  assert.equal(persisted(m.step({ kind: "timer" }, 5)).length, 1, "block 1: 60 KB in flight now");
  m.step(big(3), 6);
  assert.equal(persisted(m.step({ kind: "timer" }, 20)).length, 0, "the byte window is full");
  assert.equal(m.mempoolSize, 1);
  const ranges = tc4.committee.members.map((_, lane) => ({
    lane,
    first: 0,
    next: lane === 0 ? 2 : 0,
    lastHash: new Uint8Array(32),
  }));
  assert.equal(persisted(m.step({ kind: "finalized", ranges }, 30)).length, 1, "finality frees the window");
});

test("a full mempool rejects transactions", () => {
  const m = lanes(0, tc4, {
    ...DEFAULT_LANES,
    mempoolMaxTxs: 2,
    maxBlockDelayMs: 1_000_000,
    maxBlockBytes: 1 << 20,
    maxWindowBytes: 1,
    sendWhenIdle: true,
  });
  const rejected = (out: LanesEffect[]) => out.filter((e) => e.kind === "txRejected");
  // The idle lane sends its first tx at once; then its byte window is full and txs wait in the mempool.
  assert.equal(persisted(m.step({ kind: "tx", tx: new Uint8Array([9]) }, 0)).length, 1);
  assert.equal(rejected(m.step({ kind: "tx", tx: new Uint8Array([1]) }, 0)).length, 0);
  const dup = rejected(m.step({ kind: "tx", tx: new Uint8Array([1]) }, 0));
  assert.ok(dup.length === 1 && dup[0]?.kind === "txRejected" && dup[0].code === "duplicate");
  assert.equal(rejected(m.step({ kind: "tx", tx: new Uint8Array([2]) }, 0)).length, 0);
  const full = rejected(m.step({ kind: "tx", tx: new Uint8Array([3]) }, 0));
  assert.ok(full[0]?.kind === "txRejected" && full[0].reason === "mempool full" && full[0].code === "full");
  assert.equal(m.mempoolFull, true);
});

test("pruning below an anchor keeps a foreign branch's link block out of recovery's check", () => {
  const chain = laneChain(tc4, 2, 0, 2);
  const held = lanes(0);
  const ids = [0, 1].map((i) => persisted(held.step({ kind: "laneBlock", block: chain[i]! }, i))[0]!.id);
  for (const id of ids) held.step({ kind: "durable", id }, 5);
  const rangesFor = (lastHash: Uint8Array) =>
    tc4.committee.members.map((_, lane) =>
      lane === 2 ? { lane, first: 2, next: 2, lastHash } : { lane, first: 0, next: 0, lastHash: new Uint8Array(32) },
    );
  const pruneTo = (out: LanesEffect[]) =>
    persisted(out).map((p) => (p.write.kind === "pruneLane" ? p.write.before : -1));
  // The anchor's (empty) range for lane 2 ends at our block 1: prune everything below 2.
  assert.deepEqual(pruneTo(held.step({ kind: "prune", ranges: rangesFor(headerHash(chain[1]!.header)) }, 6)), [2]);
  // Another node holds the same numbers, but the finalized branch is another one: keep block 1.
  const other = lanes(0);
  const ids2 = [0, 1].map((i) => persisted(other.step({ kind: "laneBlock", block: chain[i]! }, i))[0]!.id);
  for (const id of ids2) other.step({ kind: "durable", id }, 5);
  assert.deepEqual(pruneTo(other.step({ kind: "prune", ranges: rangesFor(new Uint8Array(32).fill(9)) }, 6)), [1]);
});

test("an executed index leaves only the hashes of its blocks in memory; the anchor still prunes them", () => {
  const chain = laneChain(tc4, 2, 0, 4);
  const m = lanes(0);
  const ids = chain.map((b, i) => persisted(m.step({ kind: "laneBlock", block: b }, i))[0]!.id);
  for (const id of ids) m.step({ kind: "durable", id }, 5);
  const rangesTo = (next: number) =>
    tc4.committee.members.map((_, lane) =>
      lane === 2
        ? { lane, first: 0, next, lastHash: headerHash(chain[next - 1]!.header) }
        : { lane, first: 0, next: 0, lastHash: new Uint8Array(32) },
    );
  m.step({ kind: "finalized", ranges: rangesTo(3) }, 6);
  const bytesOf = (ns: number[]) => ns.reduce((sum, n) => sum + chain[n]!.payload.byteLength, 0);
  assert.equal(m.heldPayloadBytes, bytesOf([0, 1, 2, 3]));
  // Executing asks nothing of storage or the network.
  assert.deepEqual(m.step({ kind: "executed", ranges: rangesTo(2) }, 7), []);
  assert.deepEqual(
    chain.map((_, n) => m.heldBlock(2, n) !== undefined),
    [false, false, true, true],
    "blocks 0 and 1 executed: bytes dropped; 2 final but not executed, 3 not final: held",
  );
  assert.equal(m.heldPayloadBytes, bytesOf([2, 3]));
  // An execution claim past finality drops nothing that is not final here.
  m.step({ kind: "executed", ranges: rangesTo(4) }, 8);
  assert.deepEqual(
    chain.map((_, n) => m.heldBlock(2, n) !== undefined),
    [false, false, false, true],
  );
  // The hashes stay: a re-sent copy of an executed block is a duplicate, not an equivocation.
  const again = m.step({ kind: "laneBlock", block: chain[1]! }, 9);
  assert.deepEqual(
    again.filter((e) => e.kind === "event" || e.kind === "persist"),
    [],
  );
  // The anchor prunes the executed blocks as before; its (empty) range ends at
  // block 2, whose kept hash passes the link check.
  const anchorRanges = rangesTo(3).map((r) => (r.lane === 2 ? { ...r, first: 3 } : r));
  const pruned = persisted(m.step({ kind: "prune", ranges: anchorRanges }, 10));
  assert.deepEqual(
    pruned.map((p) => (p.write.kind === "pruneLane" ? [p.write.lane, p.write.before] : null)),
    [[2, 3]],
  );
});

test("a node whose own lane is finalized beyond what it holds (data reset) produces nothing until sync fills it", () => {
  const m = lanes(0, tc4, { ...DEFAULT_LANES, maxBlockDelayMs: 10 });
  // Catch-up tells it that blocks 0 and 1 of its own lane are final; it holds none.
  const [, b1] = laneChain(tc4, 0, 0, 2);
  m.step(
    {
      kind: "finalized",
      ranges: tc4.committee.members.map((_, lane) => ({
        lane,
        first: 0,
        next: lane === 0 ? 2 : 0,
        lastHash: lane === 0 ? headerHash(b1!.header) : new Uint8Array(32),
      })),
    },
    0,
  );
  m.step({ kind: "tx", tx: new TextEncoder().encode("k=v") }, 0);
  const out = m.step({ kind: "timer" }, 20);
  assert.equal(persisted(out).length, 0, "signing a new block 0 would equivocate with the finalized one");
  assert.equal(ownBlocks(resent(out)).length, 0);
});

test("a full byte window arms no production timer: a waiting tx does not wake the machine every millisecond", () => {
  const m = lanes(0, tc4, {
    ...DEFAULT_LANES,
    sendWhenIdle: false,
    maxBlockDelayMs: 5,
    maxBlockBytes: 64 * 1024,
    maxWindowBytes: 20_000,
    retransmitMs: 500,
  });
  const big = (i: number) => ({ kind: "tx" as const, tx: new Uint8Array(30_000).fill(i) });
  m.step(big(1), 0);
  assert.equal(persisted(m.step({ kind: "timer" }, 5)).length, 1, "block 0 (30 KB) fills the byte window");
  m.step(big(2), 6);
  const timers = (out: LanesEffect[]) => out.flatMap((e) => (e.kind === "setTimer" ? [e.deadlineMs] : []));
  // The waiting tx's delay passes with the window still full: the next wake-up is the retransmission, not now + 1.
  let at = 11;
  const armed: number[] = [];
  for (let i = 0; i < 5; i++) {
    const out = m.step({ kind: "timer" }, at);
    assert.equal(persisted(out).length, 0, "no block while the byte window is full");
    armed.push(...timers(out));
    at = armed.at(-1) ?? at + 100;
  }
  assert.ok(armed.length > 0 && armed.every((d) => d >= 500), `timer deadlines ${armed.join(", ")}`);
});
