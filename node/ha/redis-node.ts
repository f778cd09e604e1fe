import { Redis } from "ioredis";
import { withDeadline } from "./deadline.ts";
import type { LuaScript } from "./scripts.ts";

export interface RedisNodeOptions {
  url: string;
  /** Bound on opening the connection (TCP + handshake). */
  connectTimeoutMs: number;
  /** Bound on one command, from sending to the reply. */
  commandTimeoutMs: number;
  /** Commands in flight to this server at most; beyond, an op fails at once. */
  maxInFlight: number;
  /** Called for each op refused because maxInFlight were in flight (for a metric). */
  onRefused?: () => void;
}

export class RedisOpError extends Error {
  override readonly name = "RedisOpError";
}

/**
 * One redis-server, reached through one cached ioredis connection. Every
 * operation is bounded twice: by ioredis's own timeouts and by a timer here
 * that does not trust them (a half-alive server that accepts TCP and never
 * answers must cost at most the bound). ioredis's defaults would queue
 * commands forever while disconnected and retry them on reconnect; here the
 * offline queue is off, nothing is retried or resent, and there is no
 * automatic reconnect: a connection that failed or timed out is dropped and
 * the next operation opens a fresh one.
 */
export class RedisNode {
  readonly url: string;
  readonly #opts: RedisNodeOptions;
  #client: Redis | null = null;
  #connecting: Promise<Redis> | null = null;
  #inFlight = 0;
  /** Outcome of the last finished operation (for /status). */
  ok = false;
  lastError: string | null = null;

  constructor(opts: RedisNodeOptions) {
    this.url = opts.url;
    this.#opts = opts;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs a script (EVALSHA, falling back to EVAL once when the server lacks it). */
  async eval(s: LuaScript, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    return this.#run(async (c) => {
      try {
        return await c.callBuffer("EVALSHA", s.sha, s.keys, ...keys, ...args);
      } catch (err) {
        if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
        return await c.callBuffer("EVAL", s.lua, s.keys, ...keys, ...args);
      }
    });
  }

  /** Drops the connection (after an error, or at shutdown). */
  drop(): void {
    const c = this.#client;
    this.#client = null;
    this.#connecting = null;
    if (c) {
      c.removeAllListeners("error");
      c.on("error", () => {});
      c.disconnect(false);
    }
  }

  async #run<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.#opts.maxInFlight) {
      this.#opts.onRefused?.();
      this.ok = false;
      this.lastError = `more than ${this.#opts.maxInFlight} commands in flight`;
      throw new RedisOpError(`${this.url}: ${this.lastError}`);
    }
    this.#inFlight++;
    try {
      const client = await withDeadline(this.#connect(), this.#opts.connectTimeoutMs, () =>
        timedOut("connect", this.#opts.connectTimeoutMs),
      );
      const out = await withDeadline(fn(client), this.#opts.commandTimeoutMs, () =>
        timedOut("command", this.#opts.commandTimeoutMs),
      );
      this.ok = true;
      this.lastError = null;
      return out;
    } catch (err) {
      this.ok = false;
      this.lastError = (err as Error).message;
      this.drop();
      throw err instanceof RedisOpError ? err : new RedisOpError(`${this.url}: ${(err as Error).message}`);
    } finally {
      this.#inFlight--;
    }
  }

  #connect(): Promise<Redis> {
    if (this.#client !== null && this.#client.status === "ready") return Promise.resolve(this.#client);
    if (this.#connecting !== null) return this.#connecting;
    const client = new Redis(this.#opts.url, {
      lazyConnect: true,
      // Backstops only: the bound is this class's own timer (withDeadline).
      connectTimeout: this.#opts.connectTimeoutMs * 2,
      commandTimeout: this.#opts.commandTimeoutMs * 2,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      autoResendUnfulfilledCommands: false,
      enableReadyCheck: false,
      disableClientInfo: true,
    });
    // An error event without a listener would crash the process.
    client.on("error", (err: Error) => {
      this.lastError = err.message;
    });
    client.on("close", () => {
      if (this.#client === client) {
        this.#client = null;
        this.#connecting = null;
      }
    });
    this.#client = client;
    const connecting = client.connect().then(
      () => client,
      (err: Error) => {
        if (this.#client === client) this.drop();
        throw err;
      },
    );
    this.#connecting = connecting;
    connecting.then(
      () => {
        if (this.#connecting === connecting) this.#connecting = null;
      },
      () => {},
    );
    return connecting;
  }
}

const timedOut = (what: string, ms: number) => new RedisOpError(`${what} timed out after ${ms} ms`);
