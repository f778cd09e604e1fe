import { existsSync } from "node:fs";
import { join } from "node:path";
import type { StatusJson } from "../api/index.ts";
import { loadConfig, parseSetFlags } from "../config/index.ts";
import { CliError, UsageError } from "./errors.ts";
import { resolveHome } from "./options.ts";

export interface StatusOptions {
  api?: string;
  home?: string;
  set?: string[];
  json?: boolean;
}

const REQUEST_TIMEOUT_MS = 5000;

/** `validator status`: asks a running node's API and prints what it says. */
export async function status(opts: StatusOptions): Promise<void> {
  const base = apiBase(opts);
  let res: Response;
  try {
    res = await fetch(new URL("/status", base), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`no answer from ${base} (${cause}); is the node running?`);
  }
  if (!res.ok) throw new CliError(`${base}/status answered ${res.status}`);
  const s = (await res.json()) as StatusJson;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  const lines = [
    `chain:      ${s.chainId}`,
    `node:       ${s.moniker} (${s.validatorIndex === null ? "observer" : `validator ${s.validatorIndex}`}) ${s.peerId}`,
    `finalized:  ${s.finalizedIndex}`,
    `view:       index ${s.view.index}, round ${s.view.round}`,
    `lock:       ${s.lock ? `index ${s.lock.index}, round ${s.lock.round}` : "none"}`,
    `app hash:   ${s.appHash}`,
    `peers:      ${s.peers}`,
    `mempool:    ${s.mempoolTxs} txs`,
    `lanes:      ${s.lanes.map((l) => `${l.lane}:${l.finalizedNext}/${l.next}`).join(" ")}  (finalized/held)`,
    // Absent from nodes older than double-sign protection.
    ...(s.signing
      ? [
          `signing:    ${s.signing.state}${s.signing.floor ? `, nothing at or below view (${s.signing.floor.index}, ${s.signing.floor.round})` : ""} (${s.signing.reason})`,
        ]
      : []),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** `validator health`: GET /health; 200 and 206 are healthy. */
export async function health(opts: StatusOptions): Promise<void> {
  const base = apiBase(opts);
  let res: Response;
  try {
    res = await fetch(new URL("/health", base), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`no answer from ${base} (${cause}); is the node running?`);
  }
  const body = await res.text();
  if (res.status !== 200 && res.status !== 206) throw new CliError(`${base}/health answered ${res.status}: ${body}`);
  process.stdout.write(`${body}\n`);
}

function apiBase(opts: StatusOptions): string {
  if (opts.api !== undefined) {
    try {
      return new URL(opts.api).origin;
    } catch {
      throw new UsageError(`--api ${JSON.stringify(opts.api)} is not a URL (e.g. http://127.0.0.1:26657)`);
    }
  }
  const home = resolveHome(opts.home, process.env);
  if (!existsSync(join(home, "config.toml"))) {
    const chosen = opts.home !== undefined ? "--home" : process.env.VALIDATOR_HOME ? "$VALIDATOR_HOME" : null;
    // A home named on purpose that is not there is a mistake, not a reason to ask some other node.
    if (chosen !== null) {
      throw new CliError(
        `no node home at ${home} (from ${chosen}): no config.toml there; check the path, or give the node's API with --api http://host:port`,
      );
    }
    return "http://127.0.0.1:26657";
  }
  const config = loadConfig({ home, env: process.env, overrides: parseSetFlags(opts.set ?? []) });
  const host = config.api.host === "0.0.0.0" || config.api.host === "::" ? "127.0.0.1" : config.api.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.api.port}`;
}
