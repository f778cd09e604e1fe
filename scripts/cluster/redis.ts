import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { pickBasePort } from "./ports.ts";

/**
 * Local redis-servers for the HA mode (DESIGN section 14): independent
 * `redis-server` processes on 127.0.0.1, no persistence, each on its own
 * free port (below the ephemeral range, like the nodes). Used by the HA
 * unit tests, the failover test and `npm run devnet -- up --ha`.
 */
export const REDIS_SERVER_BIN =
  process.env.REDIS_SERVER ?? (existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server");
const READY_TIMEOUT_MS = 10_000;

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** SIGKILL (a crash; the data is gone: no persistence). */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that keeps its connections and answers nothing. */
  pause(): void;
  resume(): void;
  /** Starts it again, empty, on the same port. */
  restart(): Promise<void>;
}

/** Whether the binary exists (a bare name is looked up in PATH when spawned). */
export function redisServerAvailable(): boolean {
  return !REDIS_SERVER_BIN.includes("/") || existsSync(REDIS_SERVER_BIN);
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

async function spawnRedis(port: number, detached: boolean): Promise<ChildProcess> {
  if (!redisServerAvailable()) {
    throw new Error(`${REDIS_SERVER_BIN} not found: install the redis-server package (apt-get install redis-server)`);
  }
  const child = spawn(
    REDIS_SERVER_BIN,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
    { stdio: "ignore", detached },
  );
  if (detached) child.unref();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    if (await ping(port)) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not answer within ${READY_TIMEOUT_MS} ms`);
}

const live = new Set<ChildProcess>();
let exitHook = false;

/** One redis-server on a free port. `detached`: it outlives this process (devnet). */
export async function startRedis(opts: { port?: number; detached?: boolean } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await pickBasePort({ count: 1 }));
  const detached = opts.detached ?? false;
  let child = await spawnRedis(port, detached);
  if (!detached) {
    live.add(child);
    if (!exitHook) {
      exitHook = true;
      const killLive = () => {
        for (const c of live) c.kill("SIGKILL");
      };
      process.on("exit", killLive);
      // A signal ends the process without "exit" handlers (LocalCluster's
      // own handler re-raises it): stop the servers first, and re-raise it
      // ourselves when no other handler is left to do so.
      const onSignal = (signal: NodeJS.Signals) => {
        killLive();
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      };
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
    }
  }
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
    get pid() {
      return child.pid;
    },
    kill: stop,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    async restart() {
      await stop();
      child = await spawnRedis(port, detached);
      if (!detached) live.add(child);
    },
  };
}

export function startRedisServers(n: number, opts: { detached?: boolean } = {}): Promise<RedisServer[]> {
  return Promise.all(Array.from({ length: n }, () => startRedis(opts)));
}

export async function stopRedisServers(servers: readonly RedisServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.kill()));
}
