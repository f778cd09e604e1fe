import type { BlockJson, StatusJson } from "../../node/api/index.ts";
import { type HttpResult, postJson, request } from "./http.ts";
import { logTail } from "./logs.ts";
import { runningPid } from "./process.ts";
import type { NodeEntry } from "./state.ts";

/** How long a final index may take to be executed and served by GET /blocks. */
const FINAL_BLOCK_SERVED_MS = 30_000;

/** One node of a LocalCluster: where it lives and how to ask it things over its API. */
export class ClusterNode {
  readonly name: string;
  readonly role: NodeEntry["role"];
  readonly home: string;
  readonly p2pPort: number;
  readonly apiPort: number;
  /** Where its API listens: 127.0.0.1 unless it runs in a network namespace (see apiUrl). */
  apiHost = "127.0.0.1";
  /** stdout and stderr of every run, appended. */
  readonly logFile: string;
  readonly pidFile: string;
  /** Starts by this process. */
  starts = 0;

  constructor(entry: NodeEntry, files: { home: string; logFile: string; pidFile: string }) {
    this.name = entry.name;
    this.role = entry.role;
    this.p2pPort = entry.p2pPort;
    this.apiPort = entry.apiPort;
    this.home = files.home;
    this.logFile = files.logFile;
    this.pidFile = files.pidFile;
  }

  /** http://<apiHost>:<apiPort> */
  get apiUrl(): string {
    return `http://${this.apiHost}:${this.apiPort}`;
  }

  /** Its pid while it runs (also when another process started it); a stale pid file does not count. */
  get pid(): number | undefined {
    return runningPid(this.pidFile, this.home);
  }

  /** True while its process exists (a SIGSTOPped node counts as running). */
  get running(): boolean {
    return this.pid !== undefined;
  }

  /** The last lines of its log, for failure messages. */
  logTail(lines = 25): string {
    return logTail(this.logFile, lines);
  }

  /** GET /status, or null when it does not answer 200. */
  async status(): Promise<StatusJson | null> {
    try {
      const r = await request(`${this.apiUrl}/status`);
      return r.status === 200 ? (r.body as StatusJson) : null;
    } catch {
      return null;
    }
  }

  /** GET /blocks/:index; null while it is not final (or not yet executed) there. */
  async block(index: number): Promise<BlockJson | null> {
    const r = await request(`${this.apiUrl}/blocks/${index}`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`${this.name} GET /blocks/${index}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as BlockJson;
  }

  /**
   * GET /blocks/:index for an index its /status already reports final: it is
   * served once the node has executed it, a moment later (longer on a loaded
   * machine or after a restart), so a 404 is retried until `timeoutMs`. Null
   * only when it is still not served then.
   */
  async finalBlock(index: number, timeoutMs = FINAL_BLOCK_SERVED_MS): Promise<BlockJson | null> {
    const deadline = Date.now() + timeoutMs;
    let b = await this.block(index);
    while (b === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      b = await this.block(index);
    }
    return b;
  }

  get(path: string): Promise<HttpResult> {
    return request(`${this.apiUrl}${path}`);
  }

  post(path: string, json: unknown): Promise<HttpResult> {
    return postJson(`${this.apiUrl}${path}`, json);
  }
}
