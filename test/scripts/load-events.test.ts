import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { type ApiBackend, buildApi, EventHub } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";
import { toHex, txHash } from "../../node/types/index.ts";
import { parseSseChunk } from "../../scripts/bench/events-watcher.ts";
import { runLoad } from "../../scripts/load.ts";

test("parseSseChunk: complete frames become events, a partial frame is kept, other events and comments are skipped", () => {
  const text =
    ': hello\n\nid: 1\nevent: finalized\ndata: {"index":1,"txHashes":["aa"]}\n\nevent: other\ndata: {}\n\nid: 2\nevent: final';
  const r = parseSseChunk(text);
  assert.deepEqual(r.events, [{ index: 1, txHashes: ["aa"] }]);
  assert.equal(r.rest, "id: 2\nevent: final");
  const r2 = parseSseChunk(`${r.rest}ized\ndata: {"index":2,"txHashes":[]}\n\n`);
  assert.deepEqual(r2.events, [{ index: 2, txHashes: [] }]);
  assert.equal(r2.rest, "");
});

test("runLoad learns finality from GET /events: every accepted tx is seen final", async () => {
  const hub = new EventHub({ maxStreams: 4, bufferEvents: 64 });
  let index = 0;
  let queued: Uint8Array[] = [];
  // A fake node: accepts txs and "finalizes" what it got every 50 ms as one block.
  const timer = setInterval(() => {
    if (queued.length === 0) return;
    hub.publish(
      ++index,
      queued.map((t) => toHex(txHash(t))),
    );
    queued = [];
  }, 50);
  const backend = {
    submitTxs(txs: Uint8Array[]) {
      queued.push(...txs);
      return { accepted: true as const, hashes: txs.map((t) => toHex(txHash(t))) };
    },
  } as unknown as ApiBackend;
  const app = buildApi(backend, {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1 << 20,
    maxTxBytes: 1024,
    maxTxsPerRequest: 1000,
    limits: defaultConfig().api,
    logger: pino({ level: "silent" }),
    events: hub,
  });
  try {
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const r = await runLoad({ apis: [url], rateTps: 200, durationS: 1, drainS: 5 });
    assert.equal(r.sentTxs, 200);
    // The same through the binary intake: the hashes the node reports match (a mismatch is an error).
    const b = await runLoad({ apis: [url], rateTps: 100, durationS: 1, drainS: 5, binary: true });
    assert.equal(b.acceptedTxs, 100);
    assert.equal(b.finalizedTxs, 100, JSON.stringify(b.errors));
    assert.deepEqual(b.errors, []);
    assert.equal(r.acceptedTxs, 200);
    assert.equal(r.finalizedTxs, 200, JSON.stringify(r.errors));
    assert.equal(r.unfinalizedTxs, 0);
    assert.ok(r.blocks.fromIndex >= 1 && r.blocks.toIndex >= r.blocks.fromIndex);
    assert.ok((r.latencyMs.p50 ?? -1) >= 0);
    assert.deepEqual(r.errors, []);
  } finally {
    clearInterval(timer);
    await app.close();
  }
});
