/**
 * One side of the raw libp2p stream benchmark, run as its own process:
 * the node's own host (node/net createHost: TCP + Noise + Yamux and the
 * node's settings), one stream, no framing or validation on top.
 *
 *   node scripts/bench/stream-peer.ts receive
 *       prints {"addr": "<multiaddr>"}; after the sender closes its stream,
 *       prints {"bytes", "ms"} (first to last byte received) and exits
 *   node scripts/bench/stream-peer.ts send <multiaddr> <seconds> <chunkBytes>
 *       writes chunks as fast as the stream drains for <seconds>, then closes
 */
import type { Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { generateKeyPair, libp2pPrivateKey } from "../../node/crypto/index.ts";
import { createHost, protocolIds, resolveLimits } from "../../node/net/index.ts";

export const STREAM_PROTOCOL = "/validator-bench/stream/1";

function host() {
  return createHost({
    privateKey: libp2pPrivateKey(generateKeyPair()),
    listen: ["/ip4/127.0.0.1/tcp/0"],
    ids: protocolIds("benchnet", 0),
    limits: resolveLimits(),
  });
}

function drained(stream: Stream): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      stream.removeEventListener("close", onClose);
      resolve();
    };
    const onClose = () => {
      stream.removeEventListener("drain", onDrain);
      reject(new Error("stream closed"));
    };
    stream.addEventListener("drain", onDrain, { once: true });
    stream.addEventListener("close", onClose, { once: true });
  });
}

async function receive(): Promise<void> {
  const node = await host();
  let bytes = 0;
  let first = 0;
  let last = 0;
  const done = Promise.withResolvers<void>();
  await node.handle(STREAM_PROTOCOL, (stream) => {
    stream.addEventListener("message", (evt) => {
      const now = performance.now();
      if (first === 0) first = now;
      last = now;
      bytes += evt.data.byteLength;
    });
    stream.addEventListener("remoteCloseWrite", () => done.resolve(), { once: true });
    stream.addEventListener("close", () => done.resolve(), { once: true });
  });
  await node.start();
  process.stdout.write(`${JSON.stringify({ addr: node.getMultiaddrs()[0]!.toString() })}\n`);
  await done.promise;
  process.stdout.write(`${JSON.stringify({ bytes, ms: last - first })}\n`);
  await node.stop();
}

async function send(addr: string, seconds: number, chunkBytes: number): Promise<void> {
  const node = await host();
  await node.start();
  const stream = await node.dialProtocol(multiaddr(addr), STREAM_PROTOCOL);
  const chunk = new Uint8Array(chunkBytes).fill(7);
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    if (!stream.send(chunk)) await drained(stream);
  }
  await stream.close();
  await node.stop();
}

const [mode, addr, seconds, chunk] = process.argv.slice(2);
if (mode === "receive") await receive();
else if (mode === "send" && addr) await send(addr, Number(seconds ?? 3), Number(chunk ?? 65536));
else {
  process.stderr.write("usage: stream-peer.ts receive | send <multiaddr> <seconds> <chunkBytes>\n");
  process.exitCode = 2;
}
