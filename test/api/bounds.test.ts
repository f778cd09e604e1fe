/** The API's own bounds at the handler level (the real-socket attacks are in test/cluster/hostile-api.test.ts). */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import pino from "pino";
import { type ApiBackend, buildApi } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";

function backend(renders: { n: number }): ApiBackend {
  return {
    status: () => ({}) as never,
    submitTxs: () => ({ accepted: true, hashes: [] }),
    txStatus: async () => null,
    block: async () => null,
    kvGet: async () => null,
    peers: () => [],
    metrics: async () => {
      renders.n++;
      return { contentType: "text/plain", body: `render ${renders.n}\n` };
    },
    attestationStatus: () => ({}) as never,
    batch: async () => null,
    batchProof: async () => ({}) as never,
    evidence: () => [
      {
        kind: "prepare",
        signer: 2,
        slot: "view 5/0",
        first: { body: "aa", signature: "11".repeat(64) },
        second: { body: "bb", signature: "22".repeat(64) },
      },
    ],
  };
}

const opts = (limits: Partial<ReturnType<typeof defaultConfig>["api"]> = {}) => ({
  host: "127.0.0.1",
  port: 0,
  maxBodyBytes: 4096,
  maxTxBytes: 100,
  maxTxsPerRequest: 10,
  limits: { ...defaultConfig().api, ...limits },
  logger: pino({ level: "silent" }),
});

test("GET /metrics is rendered at most once per interval", async () => {
  const renders = { n: 0 };
  const app = buildApi(backend(renders), opts({ metricsCacheMs: 60_000 }));
  const bodies = await Promise.all([1, 2, 3].map(() => app.inject("/metrics")));
  bodies.push(await app.inject("/metrics"));
  assert.equal(renders.n, 1);
  assert.ok(bodies.every((b) => b.body === "render 1\n"));
});

test("GET /evidence lists the proofs on record", async () => {
  const app = buildApi(backend({ n: 0 }), opts());
  const res = (await app.inject("/evidence")).json();
  assert.equal(res.count, 1);
  assert.equal(res.evidence[0].kind, "prepare");
  assert.equal(res.evidence[0].second.signature, "22".repeat(64));
});

test("a connection pipelining more requests than allowed is closed; a normal client is still served", async () => {
  const app = buildApi(backend({ n: 0 }), opts({ maxInflightPerConnection: 2, metricsCacheMs: 0 }));
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  try {
    const port = Number(url.port);
    const closed = await new Promise<{ bytes: number }>((resolve) => {
      const s = connect({ host: "127.0.0.1", port });
      let bytes = 0;
      s.on("data", (d) => {
        bytes += d.byteLength;
      });
      s.on("error", () => {});
      s.on("close", () => resolve({ bytes }));
      s.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(500));
    });
    assert.ok(closed.bytes < 500 * 20, "closed long before 500 answers");
    const res = await fetch(`${url.origin}/evidence`);
    assert.equal(res.status, 200);
  } finally {
    await app.close();
  }
});
