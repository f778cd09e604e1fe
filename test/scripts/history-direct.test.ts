import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryLevel } from "memory-level";
import { Committee, linksToParent, verifyCommitQc, verifyLaneBlock } from "../../node/committee/index.ts";
import { VerifyCache } from "../../node/crypto/index.ts";
import { openStorage } from "../../node/storage/index.ts";
import { codecs, type GlobalBlock, headerHash, payloadTxs, txHash } from "../../node/types/index.ts";
import {
  catchUpInProcess,
  DIRECT_CHAIN_ID,
  directGenesis,
  storeGlobalBlocks,
  writeDirectHistory,
} from "../../scripts/history/index.ts";
import { testProtocolConfig } from "../fixtures/config.ts";

const BYTES = { keyEncoding: "view", valueEncoding: "view" } as const;

/**
 * The directly written history (scripts/history/direct.ts, used to measure
 * catch-up 30,000 indexes behind without running consensus for hours) is a
 * chain a real node accepts: every certificate and lane block verifies, the
 * lanes link, and a node catches up on it through the real protocol.
 */
describe("direct history", () => {
  const encoded: Uint8Array[] = [];
  const { txs } = writeDirectHistory({ indexes: 150, txsPerLaneBlock: 3, write: (_k, b) => encoded.push(b) });
  const committee = new Committee(directGenesis());
  const blocks: GlobalBlock[] = encoded.map((b) => codecs.globalBlock.decode(b));

  test("signed by the testnet keys: CommitQCs and lane blocks verify, lanes are hash-linked", () => {
    assert.equal(committee.chainId, DIRECT_CHAIN_ID);
    assert.equal(txs, 150 * 4 * 3);
    const cache = new VerifyCache(1024);
    for (const [i, g] of blocks.entries()) {
      assert.equal(g.index, i + 1);
      assert.deepEqual(verifyCommitQc(committee, g.commitQc, cache), { ok: true });
      for (const b of g.blocks) {
        assert.deepEqual(verifyLaneBlock(committee, b, cache), { ok: true });
        if (i > 0) assert.ok(linksToParent(b, headerHash(blocks[i - 1]!.blocks[b.header.lane]!.header)));
      }
    }
  });

  test("a node catches up on it through the real protocol and CatchUp", async () => {
    const source = await openStorage(new MemoryLevel<Uint8Array, Uint8Array>(BYTES), committee);
    await storeGlobalBlocks(source, encoded);
    assert.equal(source.chain.tip, 150);
    const node = await catchUpInProcess({
      source,
      committee,
      me: null,
      signer: null,
      config: testProtocolConfig(),
      db: new MemoryLevel<Uint8Array, Uint8Array>(BYTES),
      liveTail: blocks.slice(100).map((g) => g.commitQc),
      target: 100,
      maxRequests: 20,
    });
    assert.ok(node.protocol.execution.executedIndex >= 100, `executed ${node.protocol.execution.executedIndex}`);
    assert.equal((await node.storage.globalBlock(100))?.blocks.length, 4);
    // The global-block path writes the tx index too (GET /txs/:hash): every
    // tx of a synced block is found at its index and position.
    for (const k of [1, 57, 100]) {
      const g = blocks[k - 1]!;
      for (const [p, tx] of g.blocks.flatMap((b) => payloadTxs(b.payload)).entries())
        assert.deepEqual(await node.storage.txLocation(txHash(tx)), { index: k, position: p }, `tx ${p} of ${k}`);
    }
    await node.storage.close();
    await source.close();
  });
});
