import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { after, test } from "node:test";
import { pino } from "pino";
import { AttestationPoller, type PollErrorKind } from "../../node/runtime/attestation-poller.ts";

const GENESIS = { chainId: "testchain", genesisHash: "ab".repeat(32) };
const logger = pino({ level: "silent" });

/** A main node stand-in on 127.0.0.1 whose answer the test sets. */
async function mainNode(): Promise<{ server: Server; url: string; answer: { status: number; body: string } }> {
  const answer = { status: 200, body: "" };
  const server = createServer((_req, res) => {
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, answer };
}

const status = (next: number, genesis = GENESIS) => JSON.stringify({ genesis, nextBatchToAttest: next });

function poller(url: string, requestTimeoutMs = 300) {
  const seen = { statuses: [] as number[], errors: [] as PollErrorKind[], stopped: [] as string[] };
  const p = new AttestationPoller({
    url,
    pollIntervalMs: 100,
    requestTimeoutMs,
    maxBackoffMs: 1600,
    genesis: GENESIS,
    onStatus: (n) => seen.statuses.push(n),
    onError: (k) => seen.errors.push(k),
    onStopped: (r) => seen.stopped.push(r),
    logger,
  });
  return { p, seen };
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

test("publishes only changes, never backwards (logged and ignored)", async () => {
  const m = await mainNode();
  closers.push(() => new Promise((r) => m.server.close(() => r())));
  const { p, seen } = poller(m.url);
  m.answer.body = status(3);
  await p.pollOnce();
  await p.pollOnce(); // unchanged: no second notification
  m.answer.body = status(5);
  await p.pollOnce();
  m.answer.body = status(4); // backwards
  await p.pollOnce();
  m.answer.body = status(5);
  await p.pollOnce();
  m.answer.body = status(6);
  await p.pollOnce();
  assert.deepEqual(seen.statuses, [3, 5, 6]);
  assert.deepEqual(seen.errors, ["backwards"]);
  assert.equal(p.published, 6);
});

test("a main node on another genesis stops attesting, naming both genesis hashes", async () => {
  const m = await mainNode();
  closers.push(() => new Promise((r) => m.server.close(() => r())));
  const { p, seen } = poller(m.url);
  m.answer.body = status(2);
  await p.pollOnce();
  const other = { chainId: "testchain", genesisHash: "cd".repeat(32) };
  m.answer.body = status(7, other);
  await p.pollOnce();
  assert.equal(seen.stopped.length, 1);
  assert.ok(seen.stopped[0]!.includes(GENESIS.genesisHash) && seen.stopped[0]!.includes(other.genesisHash));
  assert.equal(p.stopped, true);
  // Nothing more is polled or published, whatever the main node says next.
  m.answer.body = status(9);
  await p.pollOnce();
  assert.deepEqual(seen.statuses, [2]);
  assert.deepEqual(seen.errors, ["genesis_mismatch"]);
});

test("bad answers are errors by kind, and the interval backs off up to its cap", async () => {
  const m = await mainNode();
  closers.push(() => new Promise((r) => m.server.close(() => r())));
  const { p, seen } = poller(m.url);
  m.answer.status = 500;
  m.answer.body = "boom";
  await p.pollOnce();
  assert.equal(p.nextDelayMs(), 200);
  m.answer.status = 200;
  m.answer.body = "{not json";
  await p.pollOnce();
  m.answer.body = JSON.stringify({ genesis: GENESIS, nextBatchToAttest: -1 });
  await p.pollOnce();
  m.answer.body = "x".repeat(20_000);
  await p.pollOnce();
  assert.deepEqual(seen.errors, ["http_status", "bad_response", "bad_response", "bad_response"]);
  for (let i = 0; i < 6; i++) await p.pollOnce();
  assert.equal(p.nextDelayMs(), 1600, "capped at maxBackoffMs");
  m.answer.body = status(1);
  await p.pollOnce();
  assert.equal(p.nextDelayMs(), 100, "a good answer resets the interval");
  assert.deepEqual(seen.statuses, [1]);
});

test("a main node that goes down is unreachable; when it is back the poller resumes", async () => {
  const m = await mainNode();
  const { p, seen } = poller(m.url);
  m.answer.body = status(4);
  await p.pollOnce();
  const port = (m.server.address() as { port: number }).port;
  m.server.closeAllConnections();
  await new Promise<void>((r) => m.server.close(() => r()));
  await p.pollOnce();
  await p.pollOnce();
  assert.deepEqual(seen.errors, ["unreachable", "unreachable"]);
  // Back on the same port, further along.
  const again = createServer((_req, res) => res.end(status(6)));
  await new Promise<void>((resolve) => again.listen(port, "127.0.0.1", resolve));
  closers.push(() => new Promise((r) => again.close(() => r())));
  await p.pollOnce();
  assert.deepEqual(seen.statuses, [4, 6]);
});

test("a main node that accepts TCP and never answers: the poll ends with a timeout", { timeout: 10_000 }, async () => {
  const sockets: Socket[] = [];
  const silent: TcpServer = createTcpServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });
  const { port } = silent.address() as { port: number };
  const { p, seen } = poller(`http://127.0.0.1:${port}`, 250);
  await p.pollOnce();
  await p.pollOnce();
  assert.deepEqual(seen.errors, ["timeout", "timeout"]);
  assert.ok(sockets.length >= 1, "the connection was accepted");
  assert.deepEqual(seen.statuses, []);
});

test("started, it polls on its own and notifies the change; stop() ends it", { timeout: 10_000 }, async () => {
  const m = await mainNode();
  closers.push(() => new Promise((r) => m.server.close(() => r())));
  m.answer.body = status(2);
  const { p, seen } = poller(m.url);
  const got = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (seen.statuses.includes(3)) {
        clearInterval(check);
        resolve();
      } else if (seen.statuses.includes(2)) m.answer.body = status(3);
    }, 20);
  });
  p.start();
  await got;
  p.stop();
  const polls = p.polls;
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(p.polls <= polls + 1, "no polling after stop");
  assert.deepEqual(seen.statuses, [2, 3]);
});
