import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { type ApiBackend, buildApi, encodeBinaryTxs, parseBinaryTxs } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";
import { toHex, txHash } from "../../node/types/index.ts";

const enc = new TextEncoder();

function app() {
  const submitted: Uint8Array[][] = [];
  const backend = {
    submitTxs(txs: Uint8Array[]) {
      submitted.push(txs.map((t) => Uint8Array.from(t)));
      return { accepted: true as const, hashes: txs.map((t) => toHex(txHash(t))) };
    },
  } as unknown as ApiBackend;
  const server = buildApi(backend, {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 4096,
    maxTxBytes: 100,
    maxTxsPerRequest: 10,
    limits: defaultConfig().api,
    logger: pino({ level: "silent" }),
  });
  return { server, submitted };
}

const post = (
  server: ReturnType<typeof app>["server"],
  payload: Uint8Array | string,
  type = "application/octet-stream",
) => server.inject({ method: "POST", url: "/txs", headers: { "content-type": type }, payload: Buffer.from(payload) });

test("binary POST /txs admits length-prefixed txs with the same hashes as JSON", async () => {
  const { server, submitted } = app();
  const txs = ["a=1", "b=2", "color=blue"].map((t) => enc.encode(t));
  const res = await post(server, encodeBinaryTxs(txs));
  assert.equal(res.statusCode, 202, res.body);
  assert.deepEqual(
    res.json().hashes,
    txs.map((t) => toHex(txHash(t))),
  );
  assert.deepEqual(submitted[0], txs);
  const json = await server.inject({ method: "POST", url: "/txs", payload: { txs: ["a=1", "b=2", "color=blue"] } });
  assert.deepEqual(json.json().hashes, res.json().hashes);
});

test("malformed binary bodies are 400 with a clear message", async () => {
  const { server, submitted } = app();
  const good = encodeBinaryTxs([enc.encode("a=1")]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /empty body/],
    ["truncated prefix", Uint8Array.of(...good, 0, 0), /tx 1 at byte 7 has a truncated length prefix \(2 of 4 bytes\)/],
    ["length beyond the body", Uint8Array.of(0, 0, 0, 9, 0x61), /tx 0 declares 9 bytes but only 1 follow at byte 4/],
    ["zero-length tx", Uint8Array.of(0, 0, 0, 0), /tx 0 at byte 0 is empty/],
    ["tx above maxTxBytes", encodeBinaryTxs([new Uint8Array(101).fill(0x61)]), /tx 0 is 101 bytes; the limit is 100/],
  ];
  for (const [what, body, message] of cases) {
    const res = await post(server, body);
    assert.equal(res.statusCode, 400, what);
    assert.match(res.json().error, message, what);
  }
  assert.equal(submitted.length, 0);
});

test("binary bodies beyond the per-request count or the body limit are 413", async () => {
  const { server, submitted } = app();
  const eleven = encodeBinaryTxs(Array.from({ length: 11 }, (_, i) => enc.encode(`k${i}=v`)));
  const many = await post(server, eleven);
  assert.equal(many.statusCode, 413);
  assert.match(many.json().error, /at most 10 txs per request/);
  const big = await post(server, new Uint8Array(5000));
  assert.equal(big.statusCode, 413);
  assert.equal(submitted.length, 0);
  // Ten is fine.
  const ten = await post(server, encodeBinaryTxs(Array.from({ length: 10 }, (_, i) => enc.encode(`k${i}=v`))));
  assert.equal(ten.statusCode, 202);
  // The JSON route gives the same answer for too many txs.
  const json = await server.inject({
    method: "POST",
    url: "/txs",
    payload: { txs: Array.from({ length: 11 }, (_, i) => `k${i}=v`) },
  });
  assert.equal(json.statusCode, 413);
  assert.match(json.json().error, /at most 10 txs per request, got 11/);
});

test("parseBinaryTxs returns views, and encodeBinaryTxs round-trips", () => {
  const txs = [enc.encode("x"), enc.encode("yy"), new Uint8Array(100)];
  assert.deepEqual(parseBinaryTxs(encodeBinaryTxs(txs), { maxTxBytes: 100, maxTxsPerRequest: 3 }), txs);
});
