/**
 * A local cluster of real node processes for the cluster tests: homes made
 * by `validator testnet` in a temp dir on a free port range, one
 * `validator start` child per node whose stdout and stderr are appended to
 * one log file per node (across restarts), and polling helpers with
 * generous deadlines whose failures quote the node's log tail.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BlockJson, StatusJson } from "../../node/api/index.ts";
import { getJson, type HttpResult, sleep } from "./http.ts";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = join(REPO, "node", "main.ts");

/** Default deadline of a wait: generous, since 4-5 nodes share 2 loaded cores. */
export const WAIT_MS = 60_000;
const POLL_MS = 250;
const STOP_DEADLINE_MS = 20_000;
const LOG_TAIL_LINES = 25;

/**
 * A port range of `count` ports starting at a random base, each checked free
 * by binding it. Below Linux's ephemeral range (32768+), so an outgoing
 * connection cannot take one of them between the check and the node's bind.
 */
export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * (6_000 - count));
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await canBind(p);
    if (free) return base;
  }
  throw new Error(`no free range of ${count} ports found on 127.0.0.1`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export class ClusterNode {
  readonly name: string;
  readonly home: string;
  readonly apiUrl: string;
  readonly logFile: string;
  child: ChildProcess | null = null;
  /** Resolves with the exit code (or the signal's name) of the current child. */
  exited: Promise<number | string> | null = null;
  starts = 0;

  constructor(name: string, home: string, apiPort: number, logFile: string) {
    this.name = name;
    this.home = home;
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.logFile = logFile;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines of this node's log, for failure messages. */
  logTail(lines = LOG_TAIL_LINES): string {
    if (!existsSync(this.logFile)) return "(no log)";
    const all = readFileSync(this.logFile, "utf8").trimEnd().split("\n");
    return all.slice(-lines).join("\n");
  }

  async status(): Promise<StatusJson | null> {
    try {
      const r = await getJson(`${this.apiUrl}/status`);
      return r.status === 200 ? (r.body as StatusJson) : null;
    } catch {
      return null;
    }
  }

  async block(index: number): Promise<BlockJson | null> {
    const r = await getJson(`${this.apiUrl}/blocks/${index}`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`${this.name} GET /blocks/${index}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as BlockJson;
  }

  get(path: string): Promise<HttpResult> {
    return getJson(`${this.apiUrl}${path}`);
  }
}

export interface ClusterOptions {
  validators: number;
  observers?: number;
  /** `--set section.key=value` for every start. */
  set?: string[];
}

export class Cluster {
  readonly dir: string;
  readonly nodes: ClusterNode[];
  readonly #set: string[];

  private constructor(dir: string, nodes: ClusterNode[], set: string[]) {
    this.dir = dir;
    this.nodes = nodes;
    this.#set = set;
  }

  /** Runs `validator testnet` into a fresh temp dir on a free port range. */
  static async create(opts: ClusterOptions): Promise<Cluster> {
    const observers = opts.observers ?? 0;
    const total = opts.validators + observers;
    const dir = mkdtempSync(join(tmpdir(), "validator-cluster-"));
    const basePort = await freeBasePort(2 * total);
    const out = join(dir, "homes");
    const r = spawnSync(
      process.execPath,
      [
        MAIN,
        "testnet",
        "--validators",
        String(opts.validators),
        "--observers",
        String(observers),
        "--out",
        out,
        "--base-port",
        String(basePort),
      ],
      { cwd: REPO, env: childEnv(dir), encoding: "utf8", timeout: 60_000 },
    );
    if (r.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`validator testnet failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
    const nodes: ClusterNode[] = [];
    for (let j = 0; j < total; j++) {
      const name = j < opts.validators ? `node${j}` : `observer${j - opts.validators}`;
      nodes.push(new ClusterNode(name, join(out, name), basePort + 2 * j + 1, join(dir, `${name}.log`)));
    }
    return new Cluster(dir, nodes, opts.set ?? []);
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  get validators(): ClusterNode[] {
    return this.nodes.filter((n) => n.name.startsWith("node"));
  }

  running(): ClusterNode[] {
    return this.nodes.filter((n) => n.running);
  }

  /** Starts the node at debug level (the vote journal), appending its output to its log file. */
  start(node: ClusterNode): void {
    if (node.running) throw new Error(`${node.name} is already running`);
    const fd = openSync(node.logFile, "a");
    const args = [MAIN, "start", "--home", node.home, "--log-level", "debug"];
    for (const s of this.#set) args.push("--set", s);
    const child = spawn(process.execPath, args, { cwd: REPO, env: childEnv(this.dir), stdio: ["ignore", fd, fd] });
    closeSync(fd);
    node.child = child;
    node.starts++;
    node.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    });
  }

  /** Starts the node and waits until its API answers /status. */
  async startAndWait(node: ClusterNode): Promise<void> {
    this.start(node);
    await this.waitFor(node, `${node.name} to serve /status`, async () => (await node.status()) !== null);
  }

  /** kill -9: no chance to flush anything. */
  async kill9(node: ClusterNode): Promise<void> {
    if (!node.running) throw new Error(`${node.name} is not running`);
    node.child!.kill("SIGKILL");
    await node.exited;
  }

  /** SIGTERM; resolves with the exit code (a signal name if it died of one). */
  async stop(node: ClusterNode): Promise<number | string> {
    if (!node.running) throw new Error(`${node.name} is not running`);
    node.child!.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("did not stop in time"), STOP_DEADLINE_MS);
    });
    const code = await Promise.race([node.exited!, deadline]);
    clearTimeout(timer);
    if (code === "did not stop in time") node.child!.kill("SIGKILL");
    return code;
  }

  /**
   * Polls `check` until it returns true. On timeout fails with `what`, the
   * last error seen, whether the node is still running, and its log tail.
   */
  async waitFor(
    node: ClusterNode,
    what: string | (() => string),
    check: () => Promise<boolean>,
    timeoutMs = WAIT_MS,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = "";
    for (;;) {
      try {
        if (await check()) return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) {
        const state = node.running
          ? "running"
          : `not running (exit ${String(node.child?.exitCode ?? node.child?.signalCode)})`;
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}${lastError ? ` (last error: ${lastError})` : ""}; ` +
            `${node.name} is ${state}; last lines of ${node.logFile}:\n${node.logTail()}`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** Waits until the node has finalized at least `index`; returns its status then. */
  async waitFinalized(node: ClusterNode, index: number, timeoutMs = WAIT_MS): Promise<StatusJson> {
    let last: StatusJson | null = null;
    await this.waitFor(
      node,
      () => `${node.name} to finalize index ${index} (last status: ${JSON.stringify(last)})`,
      async () => {
        last = await node.status();
        return last !== null && last.finalizedIndex >= index;
      },
      timeoutMs,
    );
    return last!;
  }

  /** Highest index finalized by every given node. */
  async minFinalized(nodes: readonly ClusterNode[]): Promise<number> {
    let min = Number.POSITIVE_INFINITY;
    for (const n of nodes) {
      const s = await n.status();
      if (s === null) throw new Error(`${n.name} does not answer /status`);
      min = Math.min(min, s.finalizedIndex);
    }
    return min;
  }

  /** Kills every child that is still running (SIGKILL) and removes the temp dir. */
  async destroy(keepDir = false): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const n of this.nodes) {
      if (n.running) {
        n.child!.kill("SIGKILL");
        waits.push(n.exited!);
      }
    }
    await Promise.all(waits);
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous last resort for process exit: SIGKILL whatever still runs. */
  killAllSync(): void {
    for (const n of this.nodes) if (n.running) n.child!.kill("SIGKILL");
  }
}

/** A minimal environment: no VALIDATOR_* variables leak in from the caller. */
function childEnv(dir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir };
}
