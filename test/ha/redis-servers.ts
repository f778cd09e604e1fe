import { type ChildProcess, spawn } from "node:child_process";
import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * Test helpers: real redis-servers on free 127.0.0.1 ports (no persistence),
 * and a "half-alive" server that accepts TCP and never answers.
 */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops it (SIGKILL: a crash; the data is gone with --save ''). */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that holds connections and answers nothing. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same port (empty). */
  restart(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on("error", () => done(false));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    REDIS_SERVER,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    if (await ping(port)) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not answer within 10 s`);
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child = await spawnRedis(port);
  live.add(child);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
    live.delete(child);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: stop,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    async restart() {
      await stop();
      child = await spawnRedis(port);
      live.add(child);
    },
  };
}

export async function startRedisServers(n: number): Promise<RedisServer[]> {
  return Promise.all(Array.from({ length: n }, () => startRedis()));
}

export async function stopAll(servers: readonly RedisServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.kill()));
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
