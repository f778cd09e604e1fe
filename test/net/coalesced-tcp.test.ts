/**
 * The TCP transport's write coalescing: the writes of one tick leave in one
 * `writev`, in order and intact; the next tick corks again; backpressure and
 * 'drain' still work. The libp2p hosts of every other net test run on it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";
import { after, test } from "node:test";
import type { MultiaddrConnection } from "@libp2p/interface";
import { coalesceWrites } from "../../node/net/coalesced-tcp.ts";

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

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("the writes of one tick leave as one vectored write, in order", async () => {
  const { client, received } = await pair();
  const counts = countWrites(client);
  coalesceWrites(asConnection(client));
  const pieces = [0, 1, 2, 3, 4, 5].map((i) => Buffer.alloc(2 + i * 10, i));
  for (const p of pieces) assert.equal(client.write(p), true);
  assert.equal(counts.single + counts.vectored, 0, "nothing written before the tick ends");
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(counts, { single: 0, vectored: 1 });
  await until(() => received().byteLength === Buffer.concat(pieces).byteLength);
  assert.deepEqual(received(), Buffer.concat(pieces));
});

test("each tick corks again: two ticks, two writes", async () => {
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
  await until(() => received().byteLength === 8);
  assert.equal(received().toString(), "abcdefgh");
});

test("backpressure is unchanged: past the high-water mark write says false, and drain follows", async () => {
  const { client, received } = await pair();
  coalesceWrites(asConnection(client));
  const big = Buffer.alloc(client.writableHighWaterMark + 1, 7);
  assert.equal(client.write(big), false);
  await once(client, "drain");
  await until(() => received().byteLength === big.byteLength);
});

test("a connection without a TCP socket is left as it is", () => {
  const notASocket = { write: () => true };
  const before = notASocket.write;
  coalesceWrites(asConnection(notASocket));
  assert.equal(notASocket.write, before);
  coalesceWrites({} as MultiaddrConnection);
});
