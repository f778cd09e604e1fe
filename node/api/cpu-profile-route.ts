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
 * seconds (1 to api.cpuProfileMaxSeconds, 10 by default) and answers with
 * the V8 CPU profile as JSON: save it as a `.cpuprofile` file for Chrome's
 * DevTools, or summarize it with `node scripts/bench/cpu-profile.ts`.
 * Off by default (api.cpuProfileMaxSeconds = 0: the route answers 404
 * saying how to turn it on): a profile names every function the node runs
 * and costs CPU while it runs. One profile at a time (409 while one runs);
 * closing the server ends a profile in progress early.
 */
export function registerCpuProfileRoute(app: FastifyInstance, maxSeconds: number, log: Logger): void {
  const profiler = new CpuProfiler();
  const closing = new AbortController();
  app.addHook("preClose", async () => closing.abort());
  app.get("/debug/cpu-profile", async (req, reply) => {
    if (maxSeconds === 0) {
      throw new HttpError(404, "CPU profiling is off: set api.cpuProfileMaxSeconds above 0 to turn it on");
    }
    const seconds = parseSeconds((req.query as { seconds?: unknown }).seconds, maxSeconds);
    if (profiler.running) throw new HttpError(409, new ProfilerBusy().message);
    // The answer comes after the profile: the socket must not count as idle meanwhile.
    // (An injected request, as in the tests, has no real socket to set.)
    const socket = req.raw.socket as { setTimeout?: (ms: number) => unknown } | undefined;
    socket?.setTimeout?.(seconds * 1000 + SOCKET_SLACK_MS);
    log.info({ seconds }, "CPU profile started");
    let profile: Awaited<ReturnType<CpuProfiler["take"]>>;
    try {
      profile = await profiler.take(seconds, closing.signal);
    } catch (err) {
      if (err instanceof ProfilerBusy) throw new HttpError(409, err.message);
      throw err;
    }
    log.info({ seconds, samples: profile.samples?.length ?? 0 }, "CPU profile taken");
    return reply.header("Content-Type", "application/json; charset=utf-8").send(profile);
  });
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
