/**
 * Open-loop load generator for a running cluster.
 *
 * Offers `--rate` tx/s of `--tx-bytes` (512) byte `key=value` txs for
 * `--duration` seconds, spread round-robin over every given API and batched
 * into one POST /txs per API per tick. The schedule never waits for answers
 * (open loop): a slow cluster sees the same offered rate, and what it cannot
 * take comes back as 503 (counted as rejected). It records each tx's submit
 * time and learns finalization from the first node's GET /events stream
 * (finalized indexes with their tx hashes, pushed), so it needs no request
 * per tx. Latency = submit to the event that said the tx is final.
 * With --binary the txs go as application/octet-stream (length-prefixed)
 * instead of JSON. With --poll it uses the old path instead: GET /status every 100 ms and each
 * newly finalized GET /blocks/:index once (latency then includes up to one
 * poll interval).
 *
 *   node scripts/load.ts --api http://127.0.0.1:26657 [--api URL ...] [--rate 200] [--duration 10] [--binary] [--poll] [--json]
 *   npm run devnet -- load [--rate R] [--duration S]   (the devnet's validators)
 */
import { randomBytes } from "node:crypto";
import { encodeBinaryTxs } from "../node/api/index.ts";
import { EventsWatcher } from "./bench/events-watcher.ts";
import { type LatencySummary, latencyTimeline, summarize, type TimelineBucket } from "./bench/stats.ts";
import { dueTxs, makeTx, planBatches, txHashHex } from "./bench/txgen.ts";
import { optionValue, parseScriptArgs, positiveNumber, usageExit } from "./cli.ts";

export interface LoadOptions {
  /** API base URLs (http://host:port) to spread txs over. */
  apis: readonly string[];
  rateTps: number;
  durationS: number;
  txBytes?: number;
  /** How often due txs are sent. */
  tickMs?: number;
  maxTxsPerRequest?: number;
  /** Requests without an answer yet; beyond it due txs are skipped (counted), so memory stays bounded. */
  maxInFlightRequests?: number;
  /** Period of GET /blocks/latest. */
  pollMs?: number;
  /** After the offered period, how long to wait for the last txs to finalize. */
  drainS?: number;
  requestTimeoutMs?: number;
  /** Send txs as application/octet-stream (u32-big-endian-length-prefixed) instead of JSON. */
  binary?: boolean;
  /** How finality is learned: the GET /events stream (default) or polling /status and /blocks. */
  finality?: "events" | "poll";
  /** Called when the offered period ends (before the drain). */
  onOfferEnd?: () => void;
  /**
   * Called with the hashes of every batch a node accepted (202), that node's
   * API and when the request was sent (Date.now(): the node accepted the
   * txs between then and now).
   */
  onAccepted?: (hashes: readonly string[], api: string, sentAtMs: number) => void;
}

export interface LoadResult {
  runId: string;
  apis: number;
  offeredTps: number;
  durationS: number;
  txBytes: number;
  sentTxs: number;
  acceptedTxs: number;
  /** 503 from the node (mempool full or not accepting). */
  rejectedTxs: number;
  /** Other errors: 4xx, connection refused, timeouts. */
  failedTxs: number;
  /** Due but not sent because maxInFlightRequests requests were waiting. */
  skippedTxs: number;
  finalizedTxs: number;
  /** Accepted but not seen final by the end of the drain. */
  unfinalizedTxs: number;
  /** sentTxs / durationS. */
  sentTps: number;
  /** finalizedTxs over the longer of the offered period and first submit to last finalization. */
  finalizedTps: number;
  /** finalizedTps x txBytes, in MB/s (10^6 bytes). */
  finalizedMBps: number;
  latencyMs: LatencySummary;
  /** The same latency by submit second (bench/stats.ts latencyTimeline). */
  timeline: TimelineBucket[];
  /** CPU of this load generator over the offered period, % of one core (it shares the machine with the nodes). */
  generatorCpuPercent: number;
  requests: { sent: number; accepted: number; rejected: number; failed: number };
  blocks: { fromIndex: number; toIndex: number };
  /** The first few distinct error messages. */
  errors: string[];
}

const MAX_ERRORS_KEPT = 5;

interface BlockJson {
  index: number;
  txHashes: string[];
}

/**
 * Reads finalized blocks from one node (another when it fails) and reports
 * their tx hashes. It polls the cheap GET /status and fetches each new block
 * exactly once by index: re-reading /blocks/latest on every poll would make
 * the node decode and hash a large block again and again (measured: a
 * tenth of a node's CPU at saturation).
 */
class FinalityWatcher {
  readonly #apis: readonly string[];
  readonly #timeoutMs: number;
  #api = 0;
  lastIndex = 0;
  firstIndex = 0;

  constructor(apis: readonly string[], timeoutMs: number) {
    this.#apis = apis;
    this.#timeoutMs = timeoutMs;
  }

  async #get<T>(path: string): Promise<T | null> {
    for (let attempt = 0; attempt < this.#apis.length; attempt++) {
      const base = this.#apis[this.#api]!;
      try {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(this.#timeoutMs) });
        if (res.status === 404) {
          await res.body?.cancel();
          return null;
        }
        if (!res.ok) throw new Error(`${res.status}`);
        return (await res.json()) as T;
      } catch {
        this.#api = (this.#api + 1) % this.#apis.length;
      }
    }
    throw new Error(`no API answered GET ${path}`);
  }

  async #finalizedIndex(): Promise<number> {
    const status = await this.#get<{ finalizedIndex: number }>("/status");
    return status?.finalizedIndex ?? 0;
  }

  async init(): Promise<void> {
    this.lastIndex = await this.#finalizedIndex();
    this.firstIndex = this.lastIndex + 1;
  }

  /** Blocks finalized since the last call, oldest first. */
  async poll(onBlock: (b: BlockJson) => void): Promise<void> {
    const finalized = await this.#finalizedIndex();
    for (let i = this.lastIndex + 1; i <= finalized; i++) {
      const b = await this.#get<BlockJson>(`/blocks/${i}`);
      if (b === null) return; // not final on the node that answered: next poll
      onBlock(b);
      this.lastIndex = i;
    }
  }
}

export function validateLoadOptions(opts: LoadOptions): void {
  if (opts.apis.length === 0) throw new Error("no API to send txs to");
  if (!(opts.rateTps > 0 && opts.rateTps <= 100_000))
    throw new Error(`rate ${opts.rateTps}: expected 0 < rate <= 100000 tx/s`);
  if (!(opts.durationS > 0 && opts.durationS <= 3600))
    throw new Error(`duration ${opts.durationS}: expected 0 < s <= 3600`);
  const txBytes = opts.txBytes ?? 512;
  if (!(Number.isInteger(txBytes) && txBytes >= 64 && txBytes <= 128 * 1024)) {
    throw new Error(`tx bytes ${txBytes}: expected an integer from 64 to 131072`);
  }
}

/** Runs one open-loop load and waits for its txs to finalize (or the drain to end). */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  validateLoadOptions(opts);
  const txBytes = opts.txBytes ?? 512;
  const tickMs = opts.tickMs ?? 50;
  const maxPerRequest = opts.maxTxsPerRequest ?? 256;
  const maxInFlight = opts.maxInFlightRequests ?? 64;
  const pollMs = opts.pollMs ?? 100;
  const drainMs = (opts.drainS ?? 15) * 1000;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const apis = opts.apis.map((a) => a.replace(/\/+$/, ""));
  const runId = randomBytes(4).toString("hex");
  const totalTxs = Math.round(opts.rateTps * opts.durationS);

  const r = {
    sent: 0,
    accepted: 0,
    rejected: 0,
    failed: 0,
    skipped: 0,
    requests: { sent: 0, accepted: 0, rejected: 0, failed: 0 },
  };
  const errors = new Set<string>();
  const noteError = (msg: string) => {
    if (errors.size < MAX_ERRORS_KEPT) errors.add(msg);
  };
  /** hash -> submit time (performance.now()); removed when final, rejected or failed. */
  const pending = new Map<string, number>();
  const latencies: number[] = [];
  /** Submit time of each finalized tx, in the order of `latencies` (for the timeline). */
  const submittedAt: number[] = [];
  let lastFinalAt = 0;
  let inFlight = 0;

  const usePoll = opts.finality === "poll";
  const watcher = new FinalityWatcher(apis, timeoutMs);
  const events = new EventsWatcher(apis[0]!);
  const onBlock = (b: BlockJson) => {
    const now = performance.now();
    for (const h of b.txHashes) {
      const at = pending.get(h);
      if (at === undefined) continue;
      pending.delete(h);
      latencies.push(now - at);
      submittedAt.push(at);
      lastFinalAt = now;
    }
  };

  if (usePoll) await watcher.init();
  else await events.start(onBlock, noteError);

  const encoder = new TextEncoder();
  const send = async (api: string, txs: string[], hashes: string[]) => {
    inFlight++;
    r.requests.sent++;
    const sentAtMs = Date.now();
    try {
      const res = await fetch(`${api}/txs`, {
        method: "POST",
        headers: { "content-type": opts.binary ? "application/octet-stream" : "application/json" },
        body: opts.binary ? encodeBinaryTxs(txs.map((t) => encoder.encode(t))) : JSON.stringify({ txs }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status === 202) {
        r.requests.accepted++;
        r.accepted += txs.length;
        const body = JSON.parse(text) as { hashes?: string[] };
        if (body.hashes?.[0] !== hashes[0]) noteError(`hash mismatch from ${api}: node says ${body.hashes?.[0]}`);
        opts.onAccepted?.(hashes, api, sentAtMs);
        return;
      }
      for (const h of hashes) pending.delete(h);
      if (res.status === 503) {
        r.requests.rejected++;
        r.rejected += txs.length;
      } else {
        r.requests.failed++;
        r.failed += txs.length;
        noteError(`POST ${api}/txs: ${res.status} ${text.slice(0, 120)}`);
      }
    } catch (err) {
      for (const h of hashes) pending.delete(h);
      r.requests.failed++;
      r.failed += txs.length;
      noteError(`POST ${api}/txs: ${(err as Error).message}`);
    } finally {
      inFlight--;
    }
  };

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let cpuPercent = 0;
  let generated = 0;
  const tick = () => {
    const due = dueTxs(opts.rateTps, performance.now() - t0, totalTxs);
    if (due <= generated) return;
    const plan = planBatches(generated, due, apis.length, maxPerRequest);
    generated = due;
    const now = performance.now();
    plan.forEach((batches, target) => {
      for (const seqs of batches) {
        if (inFlight >= maxInFlight) {
          r.skipped += seqs.length;
          continue;
        }
        const txs = seqs.map((s) => makeTx(runId, s, txBytes));
        const hashes = txs.map(txHashHex);
        for (const h of hashes) pending.set(h, now);
        r.sent += txs.length;
        void send(apis[target]!, txs, hashes);
      }
    });
  };

  let polling = usePoll;
  const pollLoop = (async () => {
    while (polling) {
      try {
        await watcher.poll(onBlock);
      } catch (err) {
        noteError((err as Error).message);
      }
      await new Promise((res) => setTimeout(res, pollMs));
    }
  })();

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      tick();
      if (generated >= totalTxs) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
    tick();
  });
  const cpu = process.cpuUsage(cpu0);
  cpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
  opts.onOfferEnd?.();
  // Every request ends within its timeout.
  while (inFlight > 0) await new Promise((res) => setTimeout(res, 20));
  const drainUntil = performance.now() + drainMs;
  while (pending.size > 0 && performance.now() < drainUntil) {
    await new Promise((res) => setTimeout(res, pollMs));
  }
  polling = false;
  await pollLoop;
  await events.stop();

  const windowMs = Math.max(opts.durationS * 1000, lastFinalAt - t0);
  const finalized = latencies.length;
  const finalizedTps = finalized / (windowMs / 1000);
  return {
    runId,
    apis: apis.length,
    offeredTps: opts.rateTps,
    durationS: opts.durationS,
    txBytes,
    sentTxs: r.sent,
    acceptedTxs: r.accepted,
    rejectedTxs: r.rejected,
    failedTxs: r.failed,
    skippedTxs: r.skipped,
    finalizedTxs: finalized,
    unfinalizedTxs: pending.size,
    sentTps: r.sent / opts.durationS,
    finalizedTps,
    finalizedMBps: (finalizedTps * txBytes) / 1e6,
    latencyMs: summarize(latencies),
    timeline: latencyTimeline(submittedAt, latencies, t0),
    generatorCpuPercent: cpuPercent,
    requests: r.requests,
    blocks: usePoll
      ? { fromIndex: watcher.firstIndex, toIndex: watcher.lastIndex }
      : { fromIndex: events.firstIndex, toIndex: events.lastIndex },
    errors: [...errors],
  };
}

const ms = (v: number | undefined) => (v === undefined ? "-" : `${Math.round(v)} ms`);

/** The latency by submit second, one line each (`--timeline`). */
export function formatTimeline(timeline: readonly TimelineBucket[]): string {
  const rows = timeline.map(
    (b) =>
      `  ${String(b.fromS).padStart(4)} s  ${String(b.finalized).padStart(7)} final  p50 ${ms(b.p50Ms).padStart(8)}  p99 ${ms(b.p99Ms).padStart(8)}`,
  );
  return ["latency by submit second:", ...rows].join("\n");
}

/** A short human summary of one load run. */
export function formatLoadResult(res: LoadResult): string {
  const l = res.latencyMs;
  return [
    `offered ${res.offeredTps} tx/s x ${res.durationS} s of ${res.txBytes} B txs over ${res.apis} APIs (run ${res.runId})`,
    `sent ${res.sentTxs}  accepted ${res.acceptedTxs}  rejected(503) ${res.rejectedTxs}  failed ${res.failedTxs}  skipped ${res.skippedTxs}`,
    `finalized ${res.finalizedTxs} (${res.finalizedTps.toFixed(1)} tx/s, ${res.finalizedMBps.toFixed(3)} MB/s)  not final ${res.unfinalizedTxs}`,
    `latency submit->final: p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`,
    `blocks ${res.blocks.fromIndex}..${res.blocks.toIndex}`,
    ...res.errors.map((e) => `error: ${e}`),
  ].join("\n");
}

const USAGE = `usage: node scripts/load.ts --api http://127.0.0.1:PORT [--api URL ...] [--rate 200] [--duration 10] [--tx-bytes 512]
                          [--drain 15] [--poll] [--binary] [--json] [--timeline]
  Offers --rate tx/s of key=value txs over the given APIs for --duration s (open loop) and measures
  submit-to-final latency from GET /events (--poll: from polling); --binary sends application/octet-stream.
`;

async function main(): Promise<number> {
  const cli = { script: "load", usage: USAGE };
  const values = parseScriptArgs({
    ...cli,
    options: {
      api: { type: "string", multiple: true },
      rate: { type: "string" },
      duration: { type: "string" },
      "tx-bytes": { type: "string" },
      drain: { type: "string" },
      poll: { type: "boolean", default: false },
      binary: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      timeline: { type: "boolean", default: false },
    },
  });
  const apis = values.api ?? usageExit(cli.script, cli.usage, "--api is required");
  const [rateTps, durationS, txBytes, drainS] = optionValue(cli, () => [
    positiveNumber("rate", values.rate, 200),
    positiveNumber("duration", values.duration, 10),
    positiveNumber("tx-bytes", values["tx-bytes"], 512),
    positiveNumber("drain", values.drain, 15),
  ]);
  const result = await runLoad({
    apis,
    rateTps,
    durationS,
    txBytes,
    drainS,
    finality: values.poll ? "poll" : "events",
    binary: values.binary ?? false,
  });
  const text = values.json ? JSON.stringify(result) : formatLoadResult(result);
  process.stdout.write(`${text}${values.timeline && !values.json ? `\n${formatTimeline(result.timeline)}` : ""}\n`);
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`load: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
