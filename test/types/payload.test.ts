import assert from "node:assert/strict";
import { test } from "node:test";
import { BitArray, ByteVectorType, ContainerType } from "@chainsafe/ssz";
import {
  checkPayload,
  codecs,
  DecodeError,
  encodePayload,
  forEachTx,
  type LaneBlock,
  MAX_TX_BYTES,
  payloadHash,
  payloadTxCount,
  payloadTxs,
  sha256,
} from "../../node/types/index.ts";
import { LaneBlockHeaderType, TxListType } from "../../node/types/schema.ts";

const enc = new TextEncoder();
const txs = [enc.encode("a=1"), new Uint8Array(0), new Uint8Array(700).fill(7)];

/** The lane block as it was encoded before payloads were kept as bytes: a container with a tx list. */
const OldLaneBlockType = new ContainerType({
  header: LaneBlockHeaderType,
  signature: new ByteVectorType(64),
  txs: TxListType,
});

function block(list: Uint8Array[]): LaneBlock {
  const payload = encodePayload(list);
  return {
    header: {
      lane: 1,
      number: 2,
      parent: new Uint8Array(32),
      payloadHash: payloadHash(payload),
      txCount: list.length,
      createdAtMs: 5,
    },
    signature: new Uint8Array(64).fill(3),
    payload,
  };
}

test("the payload is the canonical tx list encoding; txs are read as views of it", () => {
  const payload = encodePayload(txs);
  assert.deepEqual(payload, TxListType.serialize(txs));
  assert.equal(checkPayload(payload), 3);
  assert.equal(payloadTxCount(payload), 3);
  assert.deepEqual(payloadTxs(payload), txs);
  const seen: number[] = [];
  forEachTx(payload, (tx, i) => {
    assert.equal(tx.buffer, payload.buffer, "a view, not a copy");
    seen.push(i);
  });
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(checkPayload(new Uint8Array(0)), 0);
  assert.deepEqual(payloadTxs(new Uint8Array(0)), []);
  assert.deepEqual(payloadHash(payload), sha256(payload));
});

test("a malformed payload is named: short, a gap after the table, offsets out of order or beyond, a tx too big", () => {
  const p = encodePayload(txs);
  const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  assert.match(String(checkPayload(new Uint8Array(3))), /shorter than one offset/);
  const gap = p.slice();
  dv(gap).setUint32(0, 16, true);
  assert.match(String(checkPayload(gap)), /out of order|beyond/);
  const odd = p.slice();
  dv(odd).setUint32(0, 6, true);
  assert.match(String(checkPayload(odd)), /multiple of 4/);
  const backwards = p.slice();
  dv(backwards).setUint32(8, 13, true);
  assert.match(String(checkPayload(backwards)), /out of order/);
  const beyond = p.slice();
  dv(beyond).setUint32(8, p.byteLength + 1, true);
  assert.match(String(checkPayload(beyond)), /beyond/);
  const big = encodePayload([new Uint8Array(MAX_TX_BYTES + 1)]);
  assert.match(String(checkPayload(big)), /exceeds the limit/);
});

test("the lane block's wire bytes are unchanged: old and new schema encode alike, the decoder keeps the signed payload", () => {
  const b = block(txs);
  const bytes = codecs.laneBlock.encode(b);
  const old = OldLaneBlockType.serialize({ header: b.header, signature: b.signature, txs });
  assert.deepEqual(bytes, old, "stored and pushed blocks of the previous version decode as they are");
  const back = codecs.laneBlock.decode(bytes);
  assert.deepEqual(back, b);
  assert.deepEqual(back.payload, bytes.subarray(bytes.byteLength - b.payload.byteLength));
  // An empty block too.
  assert.deepEqual(codecs.laneBlock.decode(codecs.laneBlock.encode(block([]))), block([]));
});

test("the lane block decoder refuses a malformed payload and a moved payload offset", () => {
  const bytes = codecs.laneBlock.encode(block(txs));
  const fixed = bytes.byteLength - encodePayload(txs).byteLength;
  const bad = bytes.slice();
  new DataView(bad.buffer).setUint32(fixed + 4, 1, true);
  assert.throws(
    () => codecs.laneBlock.decode(bad),
    (e: unknown) => e instanceof DecodeError && /payload/.test(e.message),
  );
  const moved = bytes.slice();
  new DataView(moved.buffer).setUint32(fixed - 4, fixed + 4, true);
  assert.throws(() => codecs.laneBlock.decode(moved), /payload offset/);
});

test("a global block round-trips with its lane blocks' payloads as bytes", () => {
  const commitQc = {
    proposal: { view: { index: 4, round: 1 }, createdAtMs: 9, ranges: [] },
    signers: BitArray.fromBitLen(4),
    signatures: [],
  };
  const g = { index: 4, commitQc, blocks: [block(txs), block([]), block([enc.encode("z")])] };
  const bytes = codecs.globalBlock.encode(g);
  assert.deepEqual(codecs.globalBlock.decode(bytes), g);
  assert.throws(() => codecs.globalBlock.decode(bytes.subarray(0, bytes.byteLength - 2)), DecodeError);
});
