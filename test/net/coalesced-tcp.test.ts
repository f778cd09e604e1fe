/**
 * The TCP transport's write coalescing: the writes of one event-loop turn
 * (over all its ticks) leave in one `writev`, in order and intact; the next
 * turn corks again; a write that reaches the high-water mark and a destroy
 * flush first, so `write`'s answer and the bytes sent before a destroy are
 * what they were without the cork; and the real hosts cork both ends of a
 * connection.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";
import { after, test } from "node:test";
import type { MultiaddrConnection } from "@libp2p/interface";
import { coalesceWrites } from "../../node/net/coalesced-tcp.ts";
import { netCommittee, startNode, stopAll, type TestNode, until } from "./fixtures.ts";

const servers: Server[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

/** A connected client socket and the bytes its peer receives. */
async function pair(): Promise<{ client: Socket; received: () => Buffer; chunks: () => number }> {
  const parts: Buffer[] = [];
  const server = createServer((conn) => {
    sockets.push(conn);
    conn.on("data", (d: Buffer) => parts.push(d));
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const client = new Socket();
  sockets.push(client);
  client.connect(port, "127.0.0.1");
  await once(client, "connect");
  return { client, received: () => Buffer.concat(parts), chunks: () => parts.length };
}

/** Counts the calls of the socket's single-chunk and vectored write paths. */
function countWrites(socket: Socket): { single: number; vectored: number } {
  const counts = { single: 0, vectored: 0 };
  const s = socket as unknown as Record<"_write" | "_writev", (...a: unknown[]) => unknown>;
  const single = s._write!;
  const vectored = s._writev!;
  s._write = function (this: unknown, ...a: unknown[]) {
    counts.single++;
    return single.apply(this, a);
  };
  s._writev = function (this: unknown, ...a: unknown[]) {
    counts.vectored++;
    return vectored.apply(this, a);
  };
  return counts;
}

const asConnection = (socket: unknown) => ({ socket }) as unknown as MultiaddrConnection;

test("the writes of one turn leave as one vectored write, in order, even across ticks", async () => {
  const { client, received } = await pair();
  const counts = countWrites(client);
  coalesceWrites(asConnection(client));
  const pieces = [0, 1, 2, 3, 4, 5].map((i) => Buffer.alloc(2 + i * 10, i));
  for (const p of pieces.slice(0, 3)) assert.equal(client.write(p), true);
  // Later ticks of the same turn (what separate I/O callbacks and promise
  // continuations are) join the same writev.
  await new Promise((r) => process.nextTick(r));
  await Promise.resolve();
  for (const p of pieces.slice(3)) assert.equal(client.write(p), true);
  assert.equal(counts.single + counts.vectored, 0, "nothing written before the turn's I/O callbacks are done");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(counts, { single: 0, vectored: 1 });
  await until("all bytes", () => received().byteLength === Buffer.concat(pieces).byteLength);
  assert.deepEqual(received(), Buffer.concat(pieces));
});

test("each turn corks again: two turns, two writes", async () => {
  const { client, received } = await pair();
  const counts = countWrites(client);
  coalesceWrites(asConnection(client));
  client.write(Buffer.from("ab"));
  client.write(Buffer.from("cd"));
  await new Promise((r) => setImmediate(r));
  client.write(Buffer.from("ef"));
  client.write(Buffer.from("gh"));
  await new Promise((r) => setImmediate(r));
  assert.equal(counts.vectored, 2);
  await until("all bytes", () => received().byteLength === 8);
  assert.equal(received().toString(), "abcdefgh");
});

test("a write that reaches the high-water mark flushes the turn first and goes out as before", async () => {
  const { client, received } = await pair();
  const counts = countWrites(client);
  coalesceWrites(asConnection(client));
  client.write(Buffer.from("small "));
  const big = Buffer.alloc(client.writableHighWaterMark + 1, 7);
  // Uncorked, the kernel takes it at once and write says true; corked, it would
  // have said false and paused libp2p's stream until 'drain'.
  assert.equal(client.write(big), true);
  assert.equal(counts.single + counts.vectored, 2, "the small write was flushed, then the big one went out");
  client.write(Buffer.from(" after"));
  await new Promise((r) => setImmediate(r));
  await until("all bytes", () => received().byteLength === big.byteLength + 12);
  assert.deepEqual(received(), Buffer.concat([Buffer.from("small "), big, Buffer.from(" after")]));
});

test("a destroy in the same turn sends what the turn wrote first", async () => {
  const { client, received } = await pair();
  coalesceWrites(asConnection(client));
  client.write(Buffer.alloc(100, 1));
  client.write(Buffer.alloc(100, 2));
  client.destroy();
  await until("the 200 bytes written before the destroy", () => received().byteLength === 200);
});

test("the libp2p hosts cork both ends of a connection: the dialled socket and the accepted one", async () => {
  const corked = new Set<Socket>();
  const cork = Socket.prototype.cork;
  Socket.prototype.cork = function (this: Socket) {
    corked.add(this);
    return cork.call(this);
  };
  const c = netCommittee(2, 140);
  const nodes: TestNode[] = [];
  try {
    nodes.push(await startNode(c, { index: 0 }));
    nodes.push(await startNode(c, { index: 1, peers: nodes[0]!.net.addresses() }));
    const port = Number(/\/tcp\/(\d+)/.exec(nodes[0]!.net.addresses()[0]!)![1]);
    await until("both ends of the link to corked writes", () => {
      const ends = [...corked];
      return ends.some((s) => s.remotePort === port) && ends.some((s) => s.localPort === port);
    });
  } finally {
    Socket.prototype.cork = cork;
    await stopAll(nodes);
  }
});

test("a connection without a TCP socket is left as it is", () => {
  const notASocket = { write: () => true };
  const before = notASocket.write;
  coalesceWrites(asConnection(notASocket));
  assert.equal(notASocket.write, before);
  coalesceWrites({} as MultiaddrConnection);
});
