import { existsSync } from "node:fs";
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
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
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
  if (!existsSync(home)) return "http://127.0.0.1:26657";
  const config = loadConfig({ home, env: process.env, overrides: parseSetFlags(opts.set ?? []) });
  const host = config.api.host === "0.0.0.0" || config.api.host === "::" ? "127.0.0.1" : config.api.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.api.port}`;
}
