import assert from "node:assert/strict";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import pino from "pino";
import { type ApiBackend, buildApi, EventHub, finalizedFrame } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";
import { toHex, txHash } from "../../node/types/index.ts";

/** The backend is not used by /events; every call fails loudly if it is. */
const backend = new Proxy({} as ApiBackend, {
  get: (_t, name) => () => {
    throw new Error(`backend.${String(name)} called`);
  },
});

const enc = new TextEncoder();
/** The hex tx hashes of a block of n txs, as the runtime hands them to the hub. */
const txsOf = (index: number, n: number) =>
  Array.from({ length: n }, (_, i) => toHex(txHash(enc.encode(`k${index}-${i}=v`))));

async function serve(hub: EventHub, idleTimeoutMs?: number) {
  const limits = defaultConfig().api;
  const app = buildApi(backend, {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 4096,
    maxTxBytes: 100,
    maxTxsPerRequest: 10,
    limits: idleTimeoutMs === undefined ? limits : { ...limits, idleTimeoutMs },
    logger: pino({ level: "silent" }),
    events: hub,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, port };
}

interface Client {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  events: { index: number; txHashes: string[] }[];
  ended: Promise<void>;
  close(): void;
  pause(): void;
}

/** Opens GET /events with node:http and parses the SSE frames as they arrive. */
function connect(port: number, onEvent?: () => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/events", method: "GET" }, (res) => {
      const events: Client["events"] = [];
      let buf = "";
      let endedResolve!: () => void;
      const ended = new Promise<void>((r) => {
        endedResolve = r;
      });
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        for (let cut = buf.indexOf("\n\n"); cut >= 0; cut = buf.indexOf("\n\n")) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const data = frame.split("\n").find((l) => l.startsWith("data: "));
          if (data) {
            events.push(JSON.parse(data.slice(6)));
            onEvent?.();
          }
        }
      });
      res.on("end", endedResolve);
      res.on("close", endedResolve);
      res.on("error", endedResolve);
      // A paused response does not emit end/close; its socket closing is what the server's cut-off looks like.
      res.socket.on("close", endedResolve);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        ended,
        close: () => req.destroy(),
        pause: () => res.pause(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const until = async (cond: () => boolean, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("GET /events", () => {
  const apps: { close(): Promise<unknown> }[] = [];
  after(async () => {
    for (const a of apps) await a.close();
  });

  test("events arrive in order with the hex sha256 of each tx", async () => {
    const drops: string[] = [];
    const hub = new EventHub({ maxStreams: 4, bufferEvents: 8, onDrop: (r) => drops.push(r) });
    const { app, port } = await serve(hub);
    apps.push(app);
    const a = await connect(port);
    const b = await connect(port);
    assert.equal(a.status, 200);
    assert.match(String(a.headers["content-type"]), /^text\/event-stream/);
    await until(() => hub.streams === 2, "two streams");
    for (let i = 1; i <= 50; i++) hub.publish(i, txsOf(i, i % 3));
    await until(() => a.events.length === 50 && b.events.length === 50, "50 events on both streams");
    for (const c of [a, b]) {
      assert.deepEqual(
        c.events.map((e) => e.index),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    }
    assert.deepEqual(
      a.events[4]!.txHashes,
      [`k5-0=v`, `k5-1=v`].map((tx) => toHex(txHash(enc.encode(tx)))),
    );
    assert.match(a.events[4]!.txHashes[0]!, /^[0-9a-f]{64}$/);
    assert.deepEqual(drops, []);
    a.close();
    b.close();
    await until(() => hub.streams === 0, "streams forgotten after the clients left");
  });

  test("an idle stream outlives the server's idle-socket timeout (heartbeat comments) and still gets events", async () => {
    const hub = new EventHub({ maxStreams: 4, bufferEvents: 8, onDrop: () => {} });
    const { app, port } = await serve(hub, 400);
    apps.push(app);
    const a = await connect(port);
    let ended = false;
    void a.ended.then(() => {
      ended = true;
    });
    await until(() => hub.streams === 1, "one stream");
    // Three idle timeouts with nothing finalized.
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(ended, false, "the idle stream was closed");
    hub.publish(1, txsOf(1, 1));
    await until(() => a.events.length === 1, "the event after the idle period");
    a.close();
  });

  test("the cap holds: one stream more gets 503 with Retry-After; a slot frees when a client leaves", async () => {
    const drops: string[] = [];
    const hub = new EventHub({ maxStreams: 2, bufferEvents: 8, onDrop: (r) => drops.push(r) });
    const { app, port } = await serve(hub);
    apps.push(app);
    const a = await connect(port);
    const b = await connect(port);
    const c = await connect(port);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(c.status, 503);
    assert.ok(Number(c.headers["retry-after"]) >= 1);
    assert.equal(hub.streams, 2);
    a.close();
    await until(() => hub.streams === 1, "a's slot freed");
    const d = await connect(port);
    assert.equal(d.status, 200);
    assert.equal(hub.streams, 2);
    b.close();
    d.close();
    await until(() => hub.streams === 0, "all gone");
  });

  test("a client that does not read is cut off; a reading one keeps every event", async () => {
    const drops: string[] = [];
    const hub = new EventHub({ maxStreams: 4, bufferEvents: 4, onDrop: (r) => drops.push(r) });
    const { app, port } = await serve(hub);
    apps.push(app);
    const fast = await connect(port);
    const slow = await connect(port);
    slow.pause();
    await until(() => hub.streams === 2, "two streams");
    // Big frames (200 txs = ~13 KiB each) fill the slow client's socket and then its 4-frame buffer.
    const total = 400;
    for (let i = 1; i <= total; i++) {
      hub.publish(i, txsOf(i, 200));
      // Yield after each block so the fan-out runs and the fast client reads (a live chain finalizes a block at a time).
      await new Promise((r) => setTimeout(r, 0));
    }
    await until(() => drops.includes("slow_client"), "the slow client cut off");
    assert.deepEqual(drops, ["slow_client"]);
    slow.close();
    await until(() => fast.events.length === total, `${total} events on the fast stream`);
    assert.deepEqual(
      fast.events.map((e) => e.index),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    assert.equal(hub.streams, 1);
    fast.close();
  });

  test("closing the server ends open streams; publish without streams does nothing", async () => {
    const hub = new EventHub({ maxStreams: 2, bufferEvents: 4 });
    hub.publish(1, txsOf(1, 1)); // nobody listens: no work, no throw
    const { app, port } = await serve(hub);
    const a = await connect(port);
    await until(() => hub.streams === 1, "one stream");
    await app.close();
    await a.ended;
    assert.equal(hub.streams, 0);
    assert.equal(finalizedFrame(7, ["ab"]), 'id: 7\nevent: finalized\ndata: {"index":7,"txHashes":["ab"]}\n\n');
  });
});
