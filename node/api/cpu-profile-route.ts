import { isIP } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { CpuProfiler, ProfilerBusy } from "./cpu-profile.ts";
import { HttpError } from "./http-error.ts";

/** The profile length when the request names none (capped by the setting). */
const DEFAULT_SECONDS = 10;
/** Room the socket keeps past the profile before it counts as idle. */
const SOCKET_SLACK_MS = 30_000;
const SECONDS = /^[0-9]{1,6}$/;

/**
 * `GET /debug/cpu-profile?seconds=N`: samples the running node for N
 * seconds (1 to api.cpuProfileMaxSeconds; 10, or the maximum if lower, when
 * absent) and answers with the V8 CPU profile as JSON: save it as a
 * `.cpuprofile` file for Chrome's DevTools, or summarize it with
 * `node scripts/bench/cpu-profile.ts`.
 *
 * Off by default (api.cpuProfileMaxSeconds = 0: 404 saying how to turn it
 * on), and served to loopback clients only (403 otherwise), though the API
 * may listen wider to take txs: a profile names every function and file the
 * node runs, and costs CPU while it runs. One profile at a time (409 while
 * one runs); a client that disconnects, or the server closing, ends it early.
 */
export function registerCpuProfileRoute(app: FastifyInstance, maxSeconds: number, log: Logger): void {
  const profiler = new CpuProfiler();
  const closing = new AbortController();
  app.addHook("preClose", async () => closing.abort());
  app.get("/debug/cpu-profile", async (req, reply) => {
    if (maxSeconds === 0) {
      throw new HttpError(404, "CPU profiling is off: set api.cpuProfileMaxSeconds above 0 to turn it on");
    }
    const from = req.raw.socket?.remoteAddress ?? "";
    if (!isLoopback(from)) {
      throw new HttpError(403, `the CPU profile is served to loopback clients only, not to ${from || "this client"}`);
    }
    const seconds = parseSeconds((req.query as { seconds?: unknown }).seconds, maxSeconds);
    const gone = new AbortController();
    reply.raw.once("close", () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    let pending: ReturnType<CpuProfiler["take"]>;
    try {
      pending = profiler.take(seconds, AbortSignal.any([closing.signal, gone.signal]));
    } catch (err) {
      if (err instanceof ProfilerBusy) throw new HttpError(409, err.message);
      throw err;
    }
    // The answer comes after the profile: the socket must not count as idle meanwhile
    // (an injected request, as in the tests, has no real socket to set).
    const socket = req.raw.socket as { setTimeout?: (ms: number) => unknown } | undefined;
    socket?.setTimeout?.(seconds * 1000 + SOCKET_SLACK_MS);
    log.info({ seconds }, "CPU profile started");
    const profile = await pending;
    const samples = profile.samples?.length ?? 0;
    if (gone.signal.aborted) {
      log.info({ seconds, samples }, "CPU profile ended early: the client went away");
      return reply;
    }
    log.info({ seconds, samples }, "CPU profile taken");
    return reply.header("Content-Type", "application/json; charset=utf-8").send(profile);
  });
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}

function parseSeconds(raw: unknown, maxSeconds: number): number {
  if (raw === undefined) return Math.min(DEFAULT_SECONDS, maxSeconds);
  const text = typeof raw === "string" ? raw : "";
  const n = SECONDS.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= maxSeconds)) {
    throw new HttpError(
      400,
      `invalid seconds ${JSON.stringify(String(raw).slice(0, 40))}: expected an integer from 1 to ${maxSeconds} (api.cpuProfileMaxSeconds)`,
    );
  }
  return n;
}
