/** The API's own bounds at the handler level (the real-socket attacks are in test/cluster/hostile-api.test.ts). */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { type ApiBackend, buildApi, SHED_MIN_INFLIGHT } from "../../node/api/index.ts";
import { apiOptions } from "./options.ts";

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

const opts = apiOptions;

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

/** One request on a fresh connection, written once the connection is up; resolves with the raw answer. */
function rawGet(port: number, path: string, thenBlockMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let text = "";
    s.on("data", (d) => {
      text += d.toString("latin1");
    });
    s.on("error", reject);
    s.on("close", () => resolve(text));
    s.on("connect", () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      // Hold this process's event loop as a long synchronous task would.
      const until = performance.now() + thenBlockMs;
      while (performance.now() < until) {}
    });
  });
}

/** `count` requests admitted and left waiting for their bodies (in flight until closed). */
async function busyRequests(port: number, count: number): Promise<Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: "127.0.0.1", port }, () => {
            s.write("POST /txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
            resolve(s);
          });
          s.on("error", reject);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 200));
  return sockets;
}

test("while the event loop runs late and the API is busy, requests get 503 + Retry-After (health, metrics and the CPU profile still answered); then served again", async () => {
  const rejected: string[] = [];
  const app = buildApi(backend({ n: 0 }), {
    ...opts({ maxEventLoopDelayMs: 100, maxEventLoopUtilization: 1, metricsCacheMs: 0, requestTimeoutMs: 60_000 }),
    onRejected: (r: string) => rejected.push(r),
    cpuProfileMaxSeconds: 1,
  });
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  const busy: Socket[] = [];
  try {
    const port = Number(url.port);
    // A late loop with an idle API is not the API's doing: nothing is shed.
    assert.match(await rawGet(port, "/evidence", 400), /^HTTP\/1.1 200/, "a late loop alone sheds nothing");
    await new Promise((r) => setTimeout(r, 500)); // the late sample leaves the ~200 ms window
    busy.push(...(await busyRequests(port, SHED_MIN_INFLIGHT)));
    const late = await rawGet(port, "/evidence", 400);
    assert.match(late, /^HTTP\/1.1 503/);
    assert.match(late, /retry-after: 1/i);
    assert.match(late, /event loop delay/);
    assert.deepEqual(rejected, ["event_loop_delay"]);
    assert.match(await rawGet(port, "/health", 400), /^HTTP\/1.1 200/, "health is never shed");
    assert.match(await rawGet(port, "/metrics", 400), /^HTTP\/1.1 200/, "metrics are never shed");
    // Reaching the route's own check (a 400 for seconds=0) means it was admitted.
    assert.match(
      await rawGet(port, "/debug/cpu-profile?seconds=0", 400),
      /^HTTP\/1.1 400/,
      "the profile is never shed",
    );
    // Served again once the loop is on time (a liveness bound: a loaded machine can make it late too).
    let again = "";
    for (const t0 = Date.now(); Date.now() - t0 < 5000 && !again.startsWith("HTTP/1.1 200"); ) {
      await new Promise((r) => setTimeout(r, 300));
      again = await rawGet(port, "/evidence");
    }
    assert.match(again, /^HTTP\/1.1 200/, "served again once the loop is on time");
  } finally {
    for (const s of busy) s.destroy();
    await app.close();
  }
});

test("while the event loop is busy and the API is busy, requests get 503 (event_loop_busy)", async () => {
  const rejected: string[] = [];
  const app = buildApi(backend({ n: 0 }), {
    ...opts({ maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0.5, requestTimeoutMs: 60_000 }),
    onRejected: (r: string) => rejected.push(r),
  });
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  const busy: Socket[] = [];
  try {
    const port = Number(url.port);
    busy.push(...(await busyRequests(port, SHED_MIN_INFLIGHT)));
    // 400 ms of the last ~500 spent in a callback: utilization about 0.8.
    const answer = await rawGet(port, "/evidence", 400);
    assert.match(answer, /^HTTP\/1.1 503/);
    assert.match(answer, /event loop busy/);
    assert.deepEqual(rejected, ["event_loop_busy"]);
  } finally {
    for (const s of busy) s.destroy();
    await app.close();
  }
});

test("maxEventLoopDelayMs = 0 and maxEventLoopUtilization = 1 never shed", async () => {
  const app = buildApi(
    backend({ n: 0 }),
    opts({ maxEventLoopDelayMs: 0, maxEventLoopUtilization: 1, requestTimeoutMs: 60_000 }),
  );
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  const busy = await busyRequests(Number(url.port), SHED_MIN_INFLIGHT);
  try {
    assert.match(await rawGet(Number(url.port), "/evidence", 400), /^HTTP\/1.1 200/);
  } finally {
    for (const s of busy) s.destroy();
    await app.close();
  }
});
