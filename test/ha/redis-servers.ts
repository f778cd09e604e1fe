import { createServer, type Server, type Socket } from "node:net";

/**
 * Test helpers: real redis-servers on free 127.0.0.1 ports (no persistence;
 * the spawner lives in scripts/cluster, shared with the failover script and
 * the devnet), and a "half-alive" server that accepts TCP and never answers.
 */
export {
  type RedisServer,
  startRedis,
  startRedisServers,
  stopRedisServers as stopAll,
} from "../../scripts/cluster/index.ts";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Accepts connections and never answers a byte. */
export interface HalfAlive {
  readonly url: string;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startHalfAlive(): Promise<HalfAlive> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return accepted;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
