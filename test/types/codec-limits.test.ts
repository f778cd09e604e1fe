/**
 * Limits the decoders enforce: list limits (with hand-built lists one over
 * the limit), the size bound checked before parsing, u64 values a JS number
 * cannot hold, and union / optional selectors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  codecs,
  concatBytes,
  consensusMessageCodec,
  MAX_GLOBAL_BLOCK_LANE_BLOCKS,
  MAX_TX_BYTES,
  MAX_TXS_PER_BLOCK,
  MAX_VALIDATORS,
  payloadTxs,
} from "../../node/types/index.ts";
import { type AnyCodec, assertRejects, checkDecodeContract } from "./decode-contract.ts";
import { bitList, container, fixedList, optional, uint, variableList } from "./ssz-builder.ts";

// ---- hand-built encodings, parameterized by the size of one list ----

const zeros = (n: number) => new Uint8Array(n);
const view = (index = 5, round = 2) => concatBytes(uint(index, 8), uint(round, 4));
const sig = () => new Uint8Array(64).fill(0xab);
const sigs = (n: number) => fixedList(Array.from({ length: n }, sig));
const bits = (n: number) => bitList(Array.from({ length: n }, () => true));
const header = () => concatBytes(uint(1, 2), uint(7, 8), zeros(32), zeros(32), uint(0, 4), uint(0, 8));
const laneBlock = (txs: Uint8Array[]) =>
  container([{ fixed: header() }, { fixed: sig() }, { variable: variableList(txs) }]);
const range = (lane: number) => concatBytes(uint(lane, 2), uint(0, 8), uint(1, 8), zeros(32));
const proposal = (ranges: number) =>
  container([
    { fixed: view() },
    { fixed: uint(1000, 8) },
    { variable: fixedList(Array.from({ length: ranges }, (_, i) => range(i))) },
  ]);
const laneVoteBody = () => concatBytes(uint(1, 2), uint(7, 8), zeros(32));
const laneQc = (signers: number, signatures = signers) =>
  container([{ fixed: laneVoteBody() }, { variable: bits(signers) }, { variable: sigs(signatures) }]);
const appQc = (signers: number, signatures = signers) =>
  container([
    { fixed: concatBytes(uint(3, 8), zeros(32)) },
    { variable: bits(signers) },
    { variable: sigs(signatures) },
  ]);
const proposalQc = (o: { ranges?: number; signers?: number; signatures?: number } = {}) =>
  container([
    { variable: proposal(o.ranges ?? 2) },
    { variable: bits(o.signers ?? 3) },
    { variable: sigs(o.signatures ?? o.signers ?? 3) },
  ]);
const proposalMessage = (laneQcs: number, ranges = 2) =>
  container([
    { variable: proposal(ranges) },
    { fixed: sig() },
    { variable: variableList(Array.from({ length: laneQcs }, () => laneQc(0))) },
    { variable: optional(null) },
    { variable: optional(null) },
  ]);
const timeoutQc = (o: { lockRounds?: number; signers?: number }) => {
  const signers = o.signers ?? 3;
  return container([
    { fixed: view() },
    { variable: bits(signers) },
    {
      variable: variableList(
        Array.from({ length: o.lockRounds ?? signers }, (_, i) => optional(i % 2 ? uint(i, 4) : null)),
      ),
    },
    { variable: sigs(signers) },
    { variable: optional(null) },
  ]);
};
const globalBlock = (blocks: number) => {
  const block = laneBlock([]);
  return container([
    { fixed: uint(9, 8) },
    { variable: proposalQc() },
    { variable: variableList(Array.from({ length: blocks }, () => block)) },
  ]);
};
const union = (selector: number, body: Uint8Array) => concatBytes(new Uint8Array([selector]), body);

interface ListCase {
  what: string;
  codec: AnyCodec;
  limit: number;
  build(n: number): Uint8Array;
}

const listCases: ListCase[] = [
  {
    what: "transactions in a TxList",
    codec: codecs.txList,
    limit: MAX_TXS_PER_BLOCK,
    build: (n) => variableList(Array.from({ length: n }, () => zeros(0))),
  },
  { what: "bytes of a Tx", codec: codecs.tx, limit: MAX_TX_BYTES, build: zeros },
  {
    what: "bytes of a tx in a LaneBlock",
    codec: codecs.laneBlock,
    limit: MAX_TX_BYTES,
    build: (n) => laneBlock([zeros(n)]),
  },
  {
    what: "transactions in a LaneBlock",
    codec: codecs.laneBlock,
    limit: MAX_TXS_PER_BLOCK,
    build: (n) => laneBlock(Array.from({ length: n }, () => zeros(0))),
  },
  { what: "signer bits of a LaneQC", codec: codecs.laneQc, limit: MAX_VALIDATORS, build: (n) => laneQc(n) },
  {
    what: "signatures of a LaneQC",
    codec: codecs.laneQc,
    limit: MAX_VALIDATORS,
    build: (n) => laneQc(MAX_VALIDATORS, n),
  },
  { what: "signer bits of an AppQC", codec: codecs.appQc, limit: MAX_VALIDATORS, build: (n) => appQc(n) },
  {
    what: "signatures of an AppQC",
    codec: codecs.appQc,
    limit: MAX_VALIDATORS,
    build: (n) => appQc(MAX_VALIDATORS, n),
  },
  { what: "ranges of a Proposal", codec: codecs.proposal, limit: MAX_VALIDATORS, build: proposal },
  {
    what: "signer bits of a ProposalQC",
    codec: codecs.proposalQc,
    limit: MAX_VALIDATORS,
    build: (n) => proposalQc({ signers: n }),
  },
  {
    what: "signatures of a ProposalQC",
    codec: codecs.proposalQc,
    limit: MAX_VALIDATORS,
    build: (n) => proposalQc({ signers: MAX_VALIDATORS, signatures: n }),
  },
  {
    what: "ranges in a ProposalQC",
    codec: codecs.proposalQc,
    limit: MAX_VALIDATORS,
    build: (n) => proposalQc({ ranges: n }),
  },
  {
    what: "LaneQCs of a ProposalMessage",
    codec: codecs.proposalMessage,
    limit: MAX_VALIDATORS,
    build: (n) => proposalMessage(n),
  },
  {
    what: "lock rounds of a TimeoutQC",
    codec: codecs.timeoutQc,
    limit: MAX_VALIDATORS,
    build: (n) => timeoutQc({ signers: MAX_VALIDATORS, lockRounds: n }),
  },
  {
    what: "signer bits of a TimeoutQC",
    codec: codecs.timeoutQc,
    limit: MAX_VALIDATORS,
    build: (n) => timeoutQc({ signers: n }),
  },
  {
    what: "lane blocks of a GlobalBlock",
    codec: codecs.globalBlock,
    limit: MAX_GLOBAL_BLOCK_LANE_BLOCKS,
    build: globalBlock,
  },
  {
    what: "commit QC signers of an Anchor",
    codec: codecs.anchor,
    limit: MAX_VALIDATORS,
    build: (n) => container([{ variable: proposalQc({ signers: n }) }, { variable: appQc(1) }]),
  },
  {
    what: "lock ranges of a SafetyRecord",
    codec: codecs.safetyRecord,
    limit: MAX_VALIDATORS,
    build: (n) =>
      container([
        { variable: optional(null) },
        { variable: optional(null) },
        { variable: optional(null) },
        { variable: optional(proposalQc({ ranges: n })) },
      ]),
  },
  {
    what: "signers of a CommitQC announcement",
    codec: consensusMessageCodec as AnyCodec,
    limit: MAX_VALIDATORS,
    build: (n) => union(4, proposalQc({ signers: n })),
  },
  {
    what: "ranges of a proposal message",
    codec: consensusMessageCodec as AnyCodec,
    limit: MAX_VALIDATORS,
    build: (n) => union(0, proposalMessage(1, n)),
  },
];

for (const c of listCases) {
  test(`${c.codec.name}: ${c.what} are accepted up to ${c.limit} and rejected at ${c.limit + 1}`, () => {
    // At the limit the hand-built bytes decode and re-encode identically,
    // which checks the builder; one more must fail.
    assert.equal(checkDecodeContract(c.codec, c.build(c.limit)), "accepted");
    assert.equal(checkDecodeContract(c.codec, c.build(c.limit - 1)), "accepted");
    assertRejects(c.codec, c.build(c.limit + 1));
  });
}

test("the hand-built encoder matches the real one on a small value", () => {
  const qc = codecs.laneQc.decode(laneQc(3));
  assert.equal(qc.signers.bitLen, 3);
  assert.equal(qc.signatures.length, 3);
  assert.deepEqual(codecs.laneQc.encode(qc), laneQc(3));
  const block = codecs.laneBlock.decode(laneBlock([zeros(2), zeros(0), zeros(5)]));
  assert.deepEqual(
    payloadTxs(block.payload).map((t) => t.byteLength),
    [2, 0, 5],
  );
});

// ---- the size bound comes before any parsing ----

/** Bytes that claim a length and throw if a parser reads them. */
function unreadable(claimedBytes: number): Uint8Array {
  const input = new Uint8Array(1);
  Object.defineProperty(input, "byteLength", { value: claimedBytes });
  Object.defineProperty(input, "buffer", {
    get() {
      throw new Error("the parser read the input");
    },
  });
  return input;
}

const allCodecs: AnyCodec[] = [...Object.values(codecs), consensusMessageCodec] as AnyCodec[];

for (const codec of allCodecs) {
  test(`${codec.name}: input over ${codec.maxBytes} bytes is rejected before parsing`, () => {
    assertRejects(
      codec,
      unreadable(codec.maxBytes + 1),
      new RegExp(`${codec.maxBytes + 1} bytes exceeds the limit of ${codec.maxBytes}`),
    );
    // Control: within the limit the same input does reach the parser.
    assertRejects(codec, unreadable(codec.maxBytes), /the parser read the input/);
    if (codec.maxBytes <= 8 * 1024 * 1024) {
      assertRejects(codec, zeros(codec.maxBytes + 1), /exceeds the limit/);
    }
  });
}

test("a Tx of exactly the size limit decodes", () => {
  assert.equal(codecs.tx.decode(zeros(MAX_TX_BYTES)).byteLength, MAX_TX_BYTES);
});

test("input that is not bytes is a DecodeError", () => {
  for (const codec of allCodecs) {
    for (const input of [null, undefined, "00", [0, 1, 2], { length: 3 }, new ArrayBuffer(12), new Uint16Array(6)]) {
      assertRejects(codec, input as unknown as Uint8Array, /not bytes|cannot decode/);
    }
  }
});

// ---- u64 ----

test("u64 values above 2^53 - 1 are rejected, wherever they sit", () => {
  const max = Number.MAX_SAFE_INTEGER;
  assert.deepEqual(codecs.view.decode(view(max, 0)), { index: max, round: 0 });
  const tooBig: [string, Uint8Array][] = [
    ["2^53", concatBytes(uint(0, 6), new Uint8Array([0x20, 0]))],
    ["2^53 + 2", concatBytes(new Uint8Array([2]), uint(0, 5), new Uint8Array([0x20, 0]))],
    ["2^60", concatBytes(uint(0, 7), new Uint8Array([0x10]))],
    ["2^64 - 1", new Uint8Array(8).fill(0xff)],
  ];
  for (const [, u64] of tooBig) {
    assertRejects(codecs.view, concatBytes(u64, uint(0, 4)), /exceeds 2\^53 - 1/);
    // LaneBlockHeader.number and createdAtMs.
    const h = header();
    h.set(u64, 2);
    assertRejects(codecs.laneBlockHeader, h, /exceeds 2\^53 - 1/);
    const h2 = header();
    h2.set(u64, 78);
    assertRejects(codecs.laneBlockHeader, h2, /exceeds 2\^53 - 1/);
    // Nested: the view of a proposal inside a union.
    const qc = proposalQc();
    qc.set(u64, 12); // after the three offsets of a ProposalQC: its proposal's view.index
    assertRejects(consensusMessageCodec as AnyCodec, union(4, qc), /exceeds 2\^53 - 1/);
  }
});

test("encoding a u64 a JS number cannot carry exactly throws", () => {
  for (const index of [2 ** 53, 2 ** 60, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => codecs.view.encode({ index, round: 0 }), /u64 .* is not an integer in \[0, 2\^53 - 1\]/);
  }
});

// ---- selectors ----

test("unknown union selectors are rejected", () => {
  const vote = codecs.phaseVote.encode({
    body: { view: { index: 1, round: 0 }, proposalHash: zeros(32) },
    signer: 0,
    signature: sig(),
  });
  assert.equal(consensusMessageCodec.decode(union(1, vote)).kind, "prepare");
  assert.equal(consensusMessageCodec.decode(union(2, vote)).kind, "commit");
  for (let selector = 6; selector <= 255; selector++) {
    assertRejects(consensusMessageCodec as AnyCodec, union(selector, vote));
  }
  assertRejects(consensusMessageCodec as AnyCodec, new Uint8Array(0));
  assertRejects(consensusMessageCodec as AnyCodec, new Uint8Array([1]));
});

test("an optional value with a selector other than 1 is rejected", () => {
  const body = (lockRound: Uint8Array) => container([{ fixed: view() }, { variable: lockRound }]);
  assert.equal(codecs.timeoutVoteBody.decode(body(optional(uint(3, 4)))).lockRound, 3);
  assert.equal(codecs.timeoutVoteBody.decode(body(optional(null))).lockRound, null);
  for (const selector of [0, 2, 255]) {
    assertRejects(codecs.timeoutVoteBody, body(concatBytes(new Uint8Array([selector]), uint(3, 4))));
  }
});
