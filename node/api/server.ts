import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import type { ApiBackend } from "./backend.ts";
import { parseBinaryTxs, registerBinaryTxsParser } from "./binary-txs.ts";
import { type ApiLimits, RequestBounds } from "./bounds.ts";
import { cachedEvery } from "./cache.ts";
import { registerCpuProfileRoute } from "./cpu-profile-route.ts";
import type { EventHub } from "./events.ts";
import { registerEventsRoute } from "./events-route.ts";
import { HttpError } from "./http-error.ts";
import { LoopMonitor } from "./loop-delay.ts";

export interface ApiOptions {
  host: string;
  port: number;
  /** Largest request body; larger bodies get 413. */
  maxBodyBytes: number;
  /** Largest single transaction, in UTF-8 bytes. */
  maxTxBytes: number;
  /** Most transactions in one POST /txs. */
  maxTxsPerRequest: number;
  /** Connection, request and time bounds (config [api]). */
  limits: ApiLimits;
  logger: Logger;
  /** Called for each request or connection refused by the bounds (a metric). */
  onRejected?: (reason: string) => void;
  /** The finality stream behind GET /events; without it the route is absent. */
  events?: EventHub;
  /** Longest GET /debug/cpu-profile in seconds (api.cpuProfileMaxSeconds); 0 or absent: profiling is off. */
  cpuProfileMaxSeconds?: number;
}

const HASH_HEX = /^[0-9a-f]{64}$/;
const INDEX = /^[0-9]{1,15}$/;
const MAX_KV_KEY_BYTES = 1024;
/** Largest request head (request line and headers); beyond it Node answers 431. */
const MAX_HEADER_BYTES = 16 * 1024;

class BadRequest extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

function parseHash(raw: string): Uint8Array {
  const hex = raw.toLowerCase();
  if (!HASH_HEX.test(hex))
    throw new BadRequest(`invalid hash ${JSON.stringify(raw.slice(0, 80))}: expected 64 hex digits`);
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function parseIndex(raw: string): number {
  if (!INDEX.test(raw))
    throw new BadRequest(
      `invalid block index ${JSON.stringify(raw.slice(0, 80))}: expected a positive integer or "latest"`,
    );
  const n = Number(raw);
  if (n < 1) throw new BadRequest("block indexes start at 1");
  return n;
}

function parseBatchNumber(raw: string): number {
  if (!INDEX.test(raw))
    throw new BadRequest(
      `invalid batch number ${JSON.stringify(raw.slice(0, 80))}: expected an integer from 0, or "latest"`,
    );
  return Number(raw);
}

/**
 * Builds the HTTP API (fastify). Every route validates its input; errors are
 * JSON `{ error }` with a 4xx status, and nothing a client sends can throw
 * past the handler into the node.
 */
export function buildApi(backend: ApiBackend, opts: ApiOptions): FastifyInstance {
  const { limits } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: opts.maxBodyBytes,
    return503OnClosing: true,
    // A request (headers and body) must arrive within requestTimeoutMs; a
    // socket idle for idleTimeoutMs is closed; keep-alive ends sooner.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // How often Node checks the two timeouts above (its default is 30 s).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    // Errors fastify raises before routing (a malformed URL) get our shape too.
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as unknown as FastifyReply).status(status).send({ error: err.message });
    },
    // Room for the longest kv key (1 KiB) in a path parameter; longer gets 414.
    routerOptions: { maxParamLength: 1100 },
  });

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) opts.logger.error({ err }, "api handler failed");
    void reply.status(status).send({ error: status >= 500 ? "internal error" : err.message });
  });
  // The loop is sampled only while the server listens (and only when shedding for it is on).
  const loop = new LoopMonitor();
  if (limits.maxEventLoopDelayMs > 0 || limits.maxEventLoopUtilization < 1) {
    app.addHook("onListen", async () => loop.start());
    app.addHook("onClose", async () => loop.stop());
  }
  const bounds = new RequestBounds(limits, opts.maxBodyBytes, (reason) => opts.onRejected?.(reason), loop);
  app.server.maxConnections = limits.maxConnections;
  app.server.on("drop", () => opts.onRejected?.("connections"));
  app.addHook("onRequest", (req, reply, done) => {
    const refusal = bounds.admit(req.raw, reply.raw);
    if (refusal === null) {
      done();
      return;
    }
    if (refusal === "close") return; // the connection is already destroyed
    void reply
      .status(503)
      .header("Retry-After", "1")
      .header("Connection", "close")
      .send({ error: `the API is at its bound (${refusal}); retry later` });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url.slice(0, 200)}` });
  });

  app.get("/health", async (_req, reply) => {
    const h = backend.health?.() ?? { status: "ok" };
    const code = h.status === "ok" ? 200 : h.status === "syncing" ? 206 : 503;
    if (code === 503) void reply.header("Retry-After", "10");
    return reply.status(code).send(h);
  });
  app.get("/status", async () => backend.status());

  registerBinaryTxsParser(app);
  app.post("/txs", async (req, reply) => {
    const txs = req.body instanceof Uint8Array ? parseBinaryTxs(req.body, opts) : parseTxsBody(req.body, opts);
    const result = backend.submitTxs(txs);
    if (result.accepted) return reply.status(202).send({ hashes: result.hashes });
    if (result.reason === "mempool_full") {
      return reply
        .status(503)
        .header("Retry-After", String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))))
        .send({ error: "mempool is full; retry later" });
    }
    if (result.reason === "too_many") return reply.status(413).send({ error: result.message });
    return reply
      .status(503)
      .header("Retry-After", String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))))
      .send({ error: result.message });
  });

  app.get<{ Params: { hash: string } }>("/txs/:hash", async (req, reply) => {
    const found = await backend.txStatus(parseHash(req.params.hash));
    if (found === null) return reply.status(404).send({ error: "unknown transaction" });
    return found;
  });

  app.get<{ Params: { index: string } }>("/blocks/:index", async (req, reply) => {
    const index = req.params.index === "latest" ? "latest" : parseIndex(req.params.index);
    const block = await backend.block(index);
    if (block === null) return reply.status(404).send({ error: `block ${index} is not finalized yet` });
    return block;
  });

  app.get("/attestation/status", async () => backend.attestationStatus());

  app.get<{ Params: { n: string } }>("/batches/:n", async (req, reply) => {
    const n = req.params.n === "latest" ? "latest" : parseBatchNumber(req.params.n);
    const batch = await backend.batch(n);
    if (batch === null)
      return reply
        .status(404)
        .send({ error: n === "latest" ? "no batch has closed yet" : `batch ${n} has not closed here` });
    return batch;
  });

  app.get<{ Params: { n: string; index: string } }>("/batches/:n/proof/:index", async (req, reply) => {
    const n = parseBatchNumber(req.params.n);
    const index = parseIndex(req.params.index);
    const r = await backend.batchProof(n, index);
    if (r.ok) return r.proof;
    return reply.status(r.reason === "unknown_batch" ? 404 : 400).send({ error: r.message });
  });

  app.get<{ Params: { key: string } }>("/kv/:key", async (req, reply) => {
    const key = new TextEncoder().encode(req.params.key);
    if (key.byteLength === 0 || key.byteLength > MAX_KV_KEY_BYTES) {
      throw new BadRequest(`keys are 1 to ${MAX_KV_KEY_BYTES} bytes`);
    }
    const value = await backend.kvGet(key);
    if (value === null) return reply.status(404).send({ error: "key not found" });
    // ignoreBOM: a value that starts with a BOM is returned as stored.
    return { key: req.params.key, value: new TextDecoder("utf-8", { ignoreBOM: true }).decode(value) };
  });

  app.get("/peers", async () => backend.peers());

  // Rendered at most once per interval, however many clients ask.
  // Encoded once per render too: every response in the interval sends the
  // same bytes (a flood of GET /metrics allocated one copy per response).
  const metrics = cachedEvery(limits.metricsCacheMs, async () => {
    const { contentType, body } = await backend.metrics();
    return { contentType, body: Buffer.from(body, "utf8") };
  });
  if (opts.events) registerEventsRoute(app, opts.events, Math.max(1, Math.floor(limits.idleTimeoutMs / 2)));

  app.get("/metrics", async (_req, reply) => {
    const { contentType, body } = await metrics();
    return reply.header("Content-Type", contentType).send(body);
  });

  app.get("/evidence", async () => {
    const evidence = backend.evidence();
    return { count: evidence.length, evidence };
  });

  registerCpuProfileRoute(app, opts.cpuProfileMaxSeconds ?? 0, opts.logger);

  return app;
}

function parseTxsBody(body: unknown, opts: ApiOptions): Uint8Array[] {
  if (typeof body !== "object" || body === null || !Array.isArray((body as { txs?: unknown }).txs)) {
    throw new BadRequest('expected a JSON body {"txs": ["key=value", ...]}');
  }
  const raw = (body as { txs: unknown[] }).txs;
  if (raw.length === 0) throw new BadRequest("txs is empty");
  if (raw.length > opts.maxTxsPerRequest) {
    // The same answer as the binary route (binary-txs.ts): the body is too large, not malformed.
    throw new HttpError(413, `at most ${opts.maxTxsPerRequest} txs per request, got ${raw.length}`);
  }
  const enc = new TextEncoder();
  return raw.map((tx, i) => {
    if (typeof tx !== "string" || tx.length === 0) throw new BadRequest(`txs[${i}] must be a non-empty string`);
    const bytes = enc.encode(tx);
    if (bytes.byteLength > opts.maxTxBytes) {
      throw new BadRequest(`txs[${i}] is ${bytes.byteLength} bytes; the limit is ${opts.maxTxBytes}`);
    }
    return bytes;
  });
}
