import assert from "node:assert/strict";
import { test } from "node:test";
import { codecs, payloadTxs } from "../../node/types/index.ts";
import { measureDataPath, sampleBlock } from "../../scripts/bench-datapath.ts";

test("the data-path bench runs the real codecs on a well-formed block and reports CPU per tx", () => {
  const b = sampleBlock(20, 64);
  const back = codecs.laneBlock.decode(codecs.laneBlock.encode(b));
  assert.equal(payloadTxs(back.payload).length, 20);
  assert.match(new TextDecoder().decode(payloadTxs(back.payload)[3]!), /^key-3-\d+=a+$/);
  const r = measureDataPath(5, 20, 64);
  assert.equal(r.blocks, 5);
  assert.ok(Number.isFinite(r.cpuMicrosPerTx) && r.cpuMicrosPerTx > 0);
});
