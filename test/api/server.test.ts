import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pino from "pino";
import { type ApiBackend, type BatchJson, type BlockJson, buildApi } from "../../node/api/index.ts";
import { sha256, toHex } from "../../node/types/index.ts";

function fakeBackend(opts: { full?: boolean } = {}): ApiBackend & { submitted: Uint8Array[][] } {
  const kv = new Map<string, string>([["color", "blue"]]);
  const block: BlockJson = {
    index: 1,
    hash: "ab".repeat(32),
    appHash: "cd".repeat(32),
    lanes: [{ lane: 0, first: 0, next: 1 }],
    txCount: 1,
    txHashes: [toHex(sha256(new TextEncoder().encode("color=blue")))],
    commitQc: {
      view: { index: 1, round: 0 },
      proposalHash: "ab".repeat(32),
      signers: [0],
      signatures: ["00".repeat(64)],
    },
  };
  const batch0: BatchJson = {
    number: 0,
    firstIndex: 1,
    lastIndex: 1,
    hash: "02".repeat(32),
    appHash: "cd".repeat(32),
    blocksRoot: "01".repeat(32),
    lastBlockHash: block.hash,
    firstCreatedAtMs: 5,
    qc: { signers: [0], signatures: ["00".repeat(64)] },
  };
  const submitted: Uint8Array[][] = [];
  return {
    submitted,
    status: () => ({
      chainId: "test",
      moniker: "n0",
      validatorIndex: 0,
      peerId: "p",
      finalizedIndex: 1,
      view: { index: 2, round: 0 },
      lock: null,
      appHash: "cd".repeat(32),
      peers: 0,
      mempoolTxs: 0,
      lanes: [{ lane: 0, next: 1, finalizedNext: 1 }],
      signing: { state: "active", floor: null, reason: "safety record present" },
    }),
    submitTxs(txs) {
      if (opts.full) return { accepted: false, reason: "mempool_full", retryAfterMs: 1500 };
      submitted.push(txs);
      return { accepted: true, hashes: txs.map((t) => toHex(sha256(t))) };
    },
    txStatus: async (hash) =>
      toHex(hash) === block.txHashes[0] ? { hash: toHex(hash), status: "finalized", index: 1 } : null,
    block: async (index) => (index === 1 || index === "latest" ? block : null),
    kvGet: async (key) => {
      const v = kv.get(new TextDecoder().decode(key));
      return v === undefined ? null : new TextEncoder().encode(v);
    },
    peers: () => [{ peerId: "p1", addrs: ["/ip4/127.0.0.1/tcp/1"], validatorIndex: 1 }],
    attestationStatus: () => ({ genesis: { chainId: "test", genesisHash: "ee".repeat(32) }, nextBatchToAttest: 1 }),
    batch: async (n) => (n === 0 || n === "latest" ? batch0 : null),
    batchProof: async (n, index) => {
      if (n !== 0) return { ok: false, reason: "unknown_batch", message: `batch ${n} has not closed here` };
      if (index !== 1) return { ok: false, reason: "not_in_batch", message: `index ${index} is not in batch 0` };
      return {
        ok: true,
        proof: {
          batch: 0,
          index: 1,
          blockHash: block.hash,
          leafIndex: 0,
          leafCount: 1,
          siblings: [],
          blocksRoot: "01".repeat(32),
          batchHash: batch0.hash,
        },
      };
    },
    metrics: async () => ({ contentType: "text/plain; version=0.0.4", body: "validator_up 1\n" }),
    evidence: () => [],
  };
}

const opts = {
  host: "127.0.0.1",
  port: 0,
  maxBodyBytes: 4096,
  maxTxBytes: 100,
  maxTxsPerRequest: 10,
  limits: {
    maxConnections: 16,
    maxInflightPerConnection: 4,
    maxInflight: 8,
    maxBodyBytesInFlight: 16384,
    requestTimeoutMs: 2000,
    headersTimeoutMs: 1000,
    idleTimeoutMs: 5000,
    keepAliveTimeoutMs: 1000,
    metricsCacheMs: 1000,
    maxEventLoopDelayMs: 0,
    maxEventLoopUtilization: 1,
  },
  logger: pino({ level: "silent" }),
};

describe("HTTP API", () => {
  test("attestation status, batches and inclusion proofs; bad numbers are 400, unknown ones 404", async () => {
    const app = buildApi(fakeBackend(), opts);
    const status = await app.inject({ method: "GET", url: "/attestation/status" });
    assert.deepEqual(status.json(), {
      genesis: { chainId: "test", genesisHash: "ee".repeat(32) },
      nextBatchToAttest: 1,
    });
    assert.equal((await app.inject({ method: "GET", url: "/batches/0" })).json().number, 0);
    assert.equal((await app.inject({ method: "GET", url: "/batches/latest" })).json().qc.signers[0], 0);
    assert.equal((await app.inject({ method: "GET", url: "/batches/7" })).statusCode, 404);
    assert.equal((await app.inject({ method: "GET", url: "/batches/-1" })).statusCode, 400);
    assert.equal((await app.inject({ method: "GET", url: "/batches/x" })).statusCode, 400);
    const proof = await app.inject({ method: "GET", url: "/batches/0/proof/1" });
    assert.equal(proof.statusCode, 200);
    assert.equal(proof.json().leafCount, 1);
    assert.equal((await app.inject({ method: "GET", url: "/batches/0/proof/2" })).statusCode, 400);
    assert.equal((await app.inject({ method: "GET", url: "/batches/3/proof/1" })).statusCode, 404);
    assert.equal((await app.inject({ method: "GET", url: "/batches/0/proof/0" })).statusCode, 400);
    await app.close();
  });

  test("health, status, peers and metrics", async () => {
    const app = buildApi(fakeBackend(), opts);
    assert.deepEqual((await app.inject("/health")).json(), { status: "ok" });
    const status = (await app.inject("/status")).json();
    assert.equal(status.chainId, "test");
    assert.equal(status.view.index, 2);
    assert.equal((await app.inject("/peers")).json()[0].validatorIndex, 1);
    const metrics = await app.inject("/metrics");
    assert.match(metrics.headers["content-type"] as string, /text\/plain/);
    assert.equal(metrics.body, "validator_up 1\n");
  });

  test("POST /txs admits txs and returns their sha256 hashes", async () => {
    const backend = fakeBackend();
    const app = buildApi(backend, opts);
    const res = await app.inject({ method: "POST", url: "/txs", payload: { txs: ["a=1", "b=2"] } });
    assert.equal(res.statusCode, 202);
    assert.deepEqual(res.json().hashes, [
      toHex(sha256(new TextEncoder().encode("a=1"))),
      toHex(sha256(new TextEncoder().encode("b=2"))),
    ]);
    assert.equal(backend.submitted.length, 1);
  });

  test("POST /txs rejects bad bodies with 400 and never reaches the mempool", async () => {
    const backend = fakeBackend();
    const app = buildApi(backend, opts);
    const bad: [string, string | object][] = [
      ["not json", "{nope"],
      ["no txs field", { tx: ["a=1"] }],
      ["txs not an array", { txs: "a=1" }],
      ["empty list", { txs: [] }],
      ["non-string tx", { txs: [1] }],
      ["empty tx", { txs: [""] }],
      ["tx too large", { txs: ["x".repeat(101)] }],
    ];
    for (const [name, payload] of bad) {
      const res = await app.inject({
        method: "POST",
        url: "/txs",
        headers: { "content-type": "application/json" },
        payload: typeof payload === "string" ? payload : JSON.stringify(payload),
      });
      assert.equal(res.statusCode, 400, name);
      assert.equal(typeof res.json().error, "string", name);
    }
    assert.equal(backend.submitted.length, 0);
  });

  test("a body over the limit gets 413", async () => {
    const app = buildApi(fakeBackend(), opts);
    const res = await app.inject({ method: "POST", url: "/txs", payload: { txs: ["x".repeat(5000)] } });
    assert.equal(res.statusCode, 413);
  });

  test("a full mempool answers 503 with Retry-After", async () => {
    const app = buildApi(fakeBackend({ full: true }), opts);
    const res = await app.inject({ method: "POST", url: "/txs", payload: { txs: ["a=1"] } });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers["retry-after"], "2");
  });

  test("txs, blocks and kv: found, unknown and malformed", async () => {
    const app = buildApi(fakeBackend(), opts);
    const hash = toHex(sha256(new TextEncoder().encode("color=blue")));
    assert.deepEqual((await app.inject(`/txs/${hash}`)).json(), { hash, status: "finalized", index: 1 });
    assert.equal((await app.inject(`/txs/${"00".repeat(32)}`)).statusCode, 404);
    assert.equal((await app.inject("/txs/xyz")).statusCode, 400);
    assert.equal((await app.inject("/blocks/latest")).json().index, 1);
    assert.equal((await app.inject("/blocks/1")).json().hash, "ab".repeat(32));
    assert.equal((await app.inject("/blocks/2")).statusCode, 404);
    assert.equal((await app.inject("/blocks/0")).statusCode, 400);
    assert.equal((await app.inject("/blocks/-1")).statusCode, 400);
    assert.equal((await app.inject("/blocks/abc")).statusCode, 400);
    assert.deepEqual((await app.inject("/kv/color")).json(), { key: "color", value: "blue" });
    assert.equal((await app.inject("/kv/missing")).statusCode, 404);
    assert.equal((await app.inject(`/kv/${"k".repeat(1025)}`)).statusCode, 400);
    assert.equal((await app.inject(`/kv/${"k".repeat(2000)}`)).statusCode, 414);
  });

  test("a malformed URL gets 400 with the API's error shape", async () => {
    const app = buildApi(fakeBackend(), opts);
    const res = await app.inject("/kv/%E0%A4%A");
    assert.equal(res.statusCode, 400);
    assert.equal(typeof res.json().error, "string");
  });

  test("unknown routes and methods get 404 JSON", async () => {
    const app = buildApi(fakeBackend(), opts);
    for (const url of ["/nope", "/blocks", "/txs"]) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 404, url);
      assert.match(res.json().error, /no route/);
    }
    assert.equal((await app.inject({ method: "DELETE", url: "/status" })).statusCode, 404);
  });
});
