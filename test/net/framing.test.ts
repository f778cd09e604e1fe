import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeFrame, FrameDecoder, FrameError } from "../../node/net/framing.ts";
import { decodeRequest, encodeRequest, syncCodecs } from "../../node/net/sync-wire.ts";

test("frames survive any split of the byte stream", () => {
  const payloads = [
    new Uint8Array(0),
    new Uint8Array(5).fill(1),
    new Uint8Array(300).fill(2),
    new Uint8Array(70_000).fill(3),
  ];
  const wire = Buffer.concat(payloads.map((p) => encodeFrame(p).subarray()));
  for (const chunk of [1, 7, 128, 4096, wire.length]) {
    const d = new FrameDecoder(100_000);
    const out: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += chunk) out.push(...d.push(wire.subarray(i, i + chunk)));
    assert.deepEqual(
      out.map((f) => f.byteLength),
      payloads.map((p) => p.byteLength),
    );
    assert.equal(d.bufferedBytes, 0);
  }
});

test("an oversize or malformed length is an error before the body arrives", () => {
  assert.throws(() => new FrameDecoder(1000).push(encodeFrame(new Uint8Array(1001)).subarray(0, 3)), FrameError);
  assert.throws(() => new FrameDecoder(1000).push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), FrameError);
  assert.throws(() => new FrameDecoder(1000).push(new Uint8Array([0x85, 0x00])), /non-minimal/);
});

test("sync requests round-trip and reject unknown kinds and empty ranges", () => {
  const r = { kind: "laneBlocks", lane: 3, first: 10, last: 20 } as const;
  assert.deepEqual(decodeRequest(encodeRequest(r)), r);
  assert.deepEqual(decodeRequest(encodeRequest({ kind: "status" })), { kind: "status" });
  const bad = syncCodecs.request.encode({ kind: 9, lane: 0, first: 0, last: 0 });
  assert.throws(() => decodeRequest(bad), /unknown sync request kind/);
  const empty = syncCodecs.request.encode({ kind: 1, lane: 0, first: 5, last: 4 });
  assert.throws(() => decodeRequest(empty), /empty/);
  assert.throws(() => decodeRequest(new Uint8Array(3)), /cannot decode/);
});
