import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StatusJson } from "../../node/api/index.ts";
import { createTestnetHomes, writeExtraHome } from "./homes.ts";
import { ClusterNode } from "./node.ts";
import { type ClusterLayout, homeOf, LAYOUT_ENTRIES, layoutOf, logFileOf, pidFileOf } from "./paths.ts";
import { allPortsFree, pickBasePort } from "./ports.ts";
import { removePidFile, sleep } from "./proc.ts";
import { type NodeSignal, type SpawnedNode, type StopOutcome, spawnNode, stopPid } from "./process.ts";
import {
  ClusterError,
  type ClusterState,
  findNode,
  hasState,
  nextSlot,
  plannedNodes,
  readState,
  writeState,
} from "./state.ts";

/** Default deadline of a wait: generous, since several nodes share two loaded cores. */
export const WAIT_MS = 60_000;
const POLL_MS = 250;
const STOP_DEADLINE_MS = 20_000;

/** How every node of a cluster is run (per cluster; start() can add to it per run). */
export interface RunOptions {
  /** Nodes outlive this process in their own process group (the devnet); default: they are our children. */
  detached?: boolean;
  /** `--log-level` for every start (e.g. "debug" for the vote journal). */
  logLevel?: string;
  /** `--set section.key=value` for every start (not written into the homes). */
  startSets?: readonly string[];
}

export interface CreateClusterOptions extends RunOptions {
  validators: number;
  /** Observers made by `validator testnet` with the validators (observer0..). */
  observers?: number;
  /** The cluster directory (must not hold a cluster); default: a fresh temp dir. */
  dir?: string;
  /** Default "localnet". */
  chainId?: string;
  /** `--set section.key=value` written into every home's config.toml (extra homes too). */
  sets?: readonly string[];
  /** Port slots (2 ports each) kept free for addNode(); default 8. */
  extraSlots?: number;
  /** Genesis batch params, passed to `validator testnet` (--batch-max-indexes, --batch-max-ms). */
  batchMaxIndexes?: number;
  batchMaxMs?: number;
}

export interface StartOptions {
  /** More `--set` overrides for this run. */
  sets?: readonly string[];
  /** Extra Node arguments for this run (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** This run's `--log-level`, instead of the cluster's. */
  logLevel?: string;
  /** Tee of this run's output (see spawnNode). */
  onOutput?: (chunk: string) => void;
  /** Variables added to this run's environment, or removed with undefined (test switches; VALIDATOR_* are config). */
  env?: Readonly<Record<string, string | undefined>>;
  /** A command the node runs under (see spawnNode), e.g. `ip netns exec <ns>`. */
  wrapper?: readonly string[];
}

export interface StopResult {
  outcome: StopOutcome;
  /** Exit code when this process started it and it exited by itself; else null. */
  code: number | null;
  /** The signal that ended it, when this process saw it end by one. */
  signal: string | null;
}

export interface AddNodeOptions {
  /** "observer" (default) or "standby": a second home holding a copy of `keyOf`'s validator key. */
  role?: "observer" | "standby";
  keyOf?: ClusterNode;
  /** Default observer<k> / standby<k>. */
  name?: string;
  /** `--set` for this home's config.toml, after the cluster's own. */
  sets?: readonly string[];
}

/**
 * A local cluster of real `validator` processes on 127.0.0.1. See index.ts
 * for the overview; every method that waits fails with the node's state and
 * log tail.
 */
export class LocalCluster {
  readonly layout: ClusterLayout;
  readonly #run: RunOptions;
  readonly #children = new Map<string, SpawnedNode>();
  #state: ClusterState;
  #nodes: ClusterNode[];

  private constructor(layout: ClusterLayout, state: ClusterState, run: RunOptions) {
    this.layout = layout;
    this.#state = state;
    this.#run = run;
    this.#nodes = state.nodes.map((n) => this.#nodeOf(n));
  }

  /**
   * A new cluster: a free port range (with `extraSlots` spare), the homes
   * made by `validator testnet`, cluster.json written. No node runs yet.
   */
  static async create(opts: CreateClusterOptions): Promise<LocalCluster> {
    const validators = opts.validators;
    const observers = opts.observers ?? 0;
    if (!Number.isInteger(validators) || validators < 1 || validators > 64) {
      throw new ClusterError(`validators ${validators}: expected an integer from 1 to 64`);
    }
    if (!Number.isInteger(observers) || observers < 0 || observers > 64) {
      throw new ClusterError(`observers ${observers}: expected an integer from 0 to 64`);
    }
    const ownDir = opts.dir === undefined;
    const layout = layoutOf(opts.dir ?? mkdtempSync(join(tmpdir(), "validator-cluster-")));
    if (hasState(layout)) throw new ClusterError(`${layout.dir} already holds a cluster`);
    if (existsSync(layout.homesDir)) {
      throw new ClusterError(
        `${layout.homesDir} exists without a cluster.json (a devnet of an older checkout?); stop its nodes and remove it first (npm run devnet -- clean)`,
      );
    }
    const reservedPorts = 2 * (validators + observers + (opts.extraSlots ?? 8));
    const basePort = await pickBasePort({ count: reservedPorts });
    const chainId = opts.chainId ?? "localnet";
    const sets = [...(opts.sets ?? [])];
    try {
      createTestnetHomes({
        out: layout.homesDir,
        validators,
        observers,
        basePort,
        chainId,
        sets,
        ...(opts.batchMaxIndexes !== undefined && { batchMaxIndexes: opts.batchMaxIndexes }),
        ...(opts.batchMaxMs !== undefined && { batchMaxMs: opts.batchMaxMs }),
      });
    } catch (err) {
      if (ownDir) rmSync(layout.dir, { recursive: true, force: true });
      throw err;
    }
    const state: ClusterState = {
      version: 1,
      chainId,
      basePort,
      reservedPorts,
      createdAtMs: Date.now(),
      sets,
      nodes: plannedNodes(validators, observers, basePort),
    };
    writeState(layout, state);
    return new LocalCluster(layout, state, opts);
  }

  /** The cluster recorded in `dir` (made by create(), maybe by another process). */
  static open(dir: string, run: RunOptions = {}): LocalCluster {
    const layout = layoutOf(dir);
    return new LocalCluster(layout, readState(layout), run);
  }

  /** Whether `dir` holds a cluster. */
  static exists(dir: string): boolean {
    return hasState(layoutOf(dir));
  }

  get dir(): string {
    return this.layout.dir;
  }

  get state(): ClusterState {
    return this.#state;
  }

  get nodes(): readonly ClusterNode[] {
    return this.#nodes;
  }

  get validators(): ClusterNode[] {
    return this.#nodes.filter((n) => n.role === "validator");
  }

  get observers(): ClusterNode[] {
    return this.#nodes.filter((n) => n.role === "observer");
  }

  /** By name ("node2", "observer0") or position in the cluster ("2"). */
  node(which: string | number): ClusterNode {
    const entry = findNode(this.#state, String(which));
    return this.#nodes.find((n) => n.name === entry.name)!;
  }

  running(): ClusterNode[] {
    return this.#nodes.filter((n) => n.running);
  }

  /** Starts the node (it must not run); returns its pid at once. See waitReady / startAndWait. */
  start(node: ClusterNode, opts: StartOptions = {}): number {
    const pid = node.pid;
    if (pid !== undefined) throw new ClusterError(`${node.name} is already running (pid ${pid})`);
    const logLevel = opts.logLevel ?? this.#run.logLevel;
    const onOutput = opts.onOutput;
    const spawned = spawnNode({
      home: node.home,
      logFile: node.logFile,
      pidFile: node.pidFile,
      sets: [...(this.#run.startSets ?? []), ...(opts.sets ?? [])],
      ...(logLevel !== undefined && { logLevel }),
      ...(opts.nodeArgs !== undefined && { nodeArgs: opts.nodeArgs }),
      ...(this.#run.detached !== undefined && { detached: this.#run.detached }),
      ...(onOutput !== undefined && { onOutput }),
      ...(opts.env !== undefined && { env: opts.env }),
      ...(opts.wrapper !== undefined && { wrapper: opts.wrapper }),
    });
    this.#children.set(node.name, spawned);
    node.starts++;
    return spawned.pid;
  }

  /** Waits until the node's API answers GET /status; fails early when the process exits. */
  async waitReady(node: ClusterNode, timeoutMs = WAIT_MS): Promise<StatusJson> {
    let status: StatusJson | null = null;
    await this.waitFor(
      node,
      `${node.name} to serve /status on port ${node.apiPort}`,
      async () => {
        if (!this.#alive(node)) throw new ExitedError(`${node.name} exited during start`);
        status = await node.status();
        return status !== null;
      },
      timeoutMs,
    );
    return status!;
  }

  async startAndWait(node: ClusterNode, opts: StartOptions = {}, timeoutMs = WAIT_MS): Promise<number> {
    const pid = this.start(node, opts);
    await this.waitReady(node, timeoutMs);
    return pid;
  }

  /**
   * Starts every given node that is not running (default: every node that
   * testnet made, i.e. the validators and their observers), then waits until
   * each is ready. Errors of all nodes are reported together.
   */
  async startAll(
    nodes: readonly ClusterNode[] = this.#nodes.filter((n) => n.role !== "standby"),
    opts: (node: ClusterNode) => StartOptions = () => ({}),
  ): Promise<{ name: string; pid: number }[]> {
    const toStart = nodes.filter((n) => !n.running);
    const pids = toStart.map((n) => ({ name: n.name, pid: this.start(n, opts(n)) }));
    const results = await Promise.allSettled(toStart.map((n) => this.waitReady(n)));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
    if (failures.length > 0) throw new ClusterError(failures.join("\n"));
    return pids;
  }

  /**
   * Whether the node's process still exists. For a child of this process,
   * its exit is what counts: behind a wrapper that execs the node (`ip
   * netns exec`), /proc shows an empty command line for a moment, which the
   * pid file's marker check would take for an exit.
   */
  #alive(node: ClusterNode): boolean {
    const child = this.#children.get(node.name)?.child;
    if (child !== undefined) return child.exitCode === null && child.signalCode === null;
    return node.running;
  }

  /** How the node's current run ends, when this process started it (undefined otherwise). */
  exited(node: ClusterNode): Promise<{ code: number | null; signal: string | null }> | undefined {
    return this.#children.get(node.name)?.exited;
  }

  /** Sends a signal to a running node: SIGKILL (crash), SIGSTOP (freeze), SIGCONT (thaw), SIGTERM (clean stop). */
  signal(node: ClusterNode, signal: NodeSignal): void {
    const pid = node.pid;
    if (pid === undefined) throw new ClusterError(`${node.name} is not running`);
    process.kill(pid, signal);
  }

  /** kill -9: no chance to flush anything. Resolves once the process is gone. */
  async kill9(node: ClusterNode): Promise<void> {
    await this.#end(node, "SIGKILL", 5000);
  }

  /** SIGSTOP: the process freezes (its sockets stay open, it answers nothing). */
  pause(node: ClusterNode): void {
    this.signal(node, "SIGSTOP");
  }

  /** SIGCONT after pause(). */
  resume(node: ClusterNode): void {
    this.signal(node, "SIGCONT");
  }

  /** SIGTERM and wait (SIGKILL after `timeoutMs`); the exit code when this process started it. */
  async stop(node: ClusterNode, timeoutMs = STOP_DEADLINE_MS): Promise<StopResult> {
    return this.#end(node, "SIGTERM", timeoutMs);
  }

  /** A clean stop when it runs, then a start from its data; waits until it is ready. */
  async restart(node: ClusterNode, opts: StartOptions = {}): Promise<{ stopped: StopOutcome; pid: number }> {
    const { outcome } = await this.stop(node);
    const pid = await this.startAndWait(node, opts);
    return { stopped: outcome, pid };
  }

  /** Stops every running node (SIGTERM waits for clean exits); data stays. */
  async stopAll(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<{ name: string; outcome: StopOutcome }[]> {
    return Promise.all(
      this.#nodes.map(async (n) => ({ name: n.name, outcome: (await this.#end(n, signal, STOP_DEADLINE_MS)).outcome })),
    );
  }

  async #end(node: ClusterNode, signal: "SIGTERM" | "SIGKILL", timeoutMs: number): Promise<StopResult> {
    const child = this.#children.get(node.name);
    if (child === undefined || node.pid !== child.pid) {
      return { outcome: await stopPid(node.pidFile, node.home, signal, timeoutMs), code: null, signal: null };
    }
    child.child.kill(signal);
    if (signal === "SIGTERM") child.child.kill("SIGCONT");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    let ended = await Promise.race([child.exited, late]);
    clearTimeout(timer);
    let outcome: StopOutcome = signal === "SIGKILL" ? "killed" : "stopped";
    if (ended === "late") {
      child.child.kill("SIGKILL");
      outcome = "killed";
      ended = await child.exited;
    }
    removePidFile(node.pidFile);
    return { outcome, code: ended.code, signal: ended.signal };
  }

  /**
   * A new home on the next free port slot: an observer (fresh node key, the
   * cluster's genesis, the validators as peers) or, with role "standby" and
   * `keyOf`, a second home of that validator (HA). Recorded in cluster.json;
   * not started.
   */
  async addNode(opts: AddNodeOptions = {}): Promise<ClusterNode> {
    const role = opts.role ?? "observer";
    if (role === "standby" && opts.keyOf?.role !== "validator") {
      throw new ClusterError("a standby needs keyOf: the validator whose key it holds");
    }
    const slot = nextSlot(this.#state, role, opts.name);
    // The next slot of the reserved range, or any free pair when something else holds it.
    const inRange = slot.p2pPort + 1 < this.#state.basePort + this.#state.reservedPorts;
    const p2pPort = inRange && (await allPortsFree(slot.p2pPort, 2)) ? slot.p2pPort : await pickBasePort({ count: 2 });
    const entry = { ...slot, p2pPort, apiPort: p2pPort + 1 };
    const validators = this.validators;
    writeExtraHome({
      home: homeOf(this.layout, entry.name),
      node: entry,
      genesisFile: join(validators[0]!.home, "genesis.json"),
      validatorP2pPorts: validators.map((v) => v.p2pPort),
      sets: [...this.#state.sets, ...(opts.sets ?? [])],
      ...(opts.keyOf !== undefined && { validatorKeyFile: join(opts.keyOf.home, "validator_key.json") }),
    });
    this.#state = { ...this.#state, nodes: [...this.#state.nodes, entry] };
    writeState(this.layout, this.#state);
    const node = this.#nodeOf(entry);
    this.#nodes = [...this.#nodes, node];
    return node;
  }

  /**
   * Polls `check` until it returns true. On timeout fails with `what`, the
   * last error seen, whether the node still runs, and its log tail. A check
   * that throws ExitedError ends the wait at once.
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
      let exited = false;
      try {
        if (await check()) return;
      } catch (err) {
        lastError = (err as Error).message;
        exited = err instanceof ExitedError;
      }
      if (exited || Date.now() > deadline) {
        const child = this.#children.get(node.name)?.child;
        const state = node.running
          ? "running"
          : `not running (exit ${String(child?.exitCode ?? child?.signalCode ?? "unknown")})`;
        throw new ClusterError(
          `${exited ? "gave up" : `timed out after ${timeoutMs} ms`} waiting for ${typeof what === "string" ? what : what()}` +
            `${lastError ? ` (last error: ${lastError})` : ""}; ${node.name} is ${state}; last lines of ${node.logFile}:\n${node.logTail()}`,
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

  /** Highest index finalized by every given node (each must answer /status). */
  async minFinalized(nodes: readonly ClusterNode[] = this.running()): Promise<number> {
    let min = Number.POSITIVE_INFINITY;
    for (const n of nodes) {
      const s = await n.status();
      if (s === null) throw new ClusterError(`${n.name} does not answer /status`);
      min = Math.min(min, s.finalizedIndex);
    }
    return min;
  }

  /** Waits until each given node reports at least `peers` connected peers (default: all others given). */
  async waitConnected(nodes: readonly ClusterNode[] = this.validators, peers = nodes.length - 1): Promise<void> {
    for (const node of nodes) {
      await this.waitFor(node, `${node.name} to have ${peers} peers`, async () => {
        const s = await node.status();
        return s !== null && s.peers >= peers;
      });
    }
  }

  /** Synchronous last resort (process exit, signal handlers): SIGKILL every node that runs. */
  killAllSync(): void {
    for (const n of this.#nodes) {
      const pid = n.pid;
      if (pid !== undefined) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }

  /**
   * Ends every node (SIGKILL by default, or SIGTERM for clean stops), then
   * deletes the cluster directory unless `keepDir`. Refuses to delete a
   * directory that holds anything but a cluster.
   */
  async destroy(opts: { keepDir?: boolean; signal?: "SIGTERM" | "SIGKILL" } = {}): Promise<void> {
    await this.stopAll(opts.signal ?? "SIGKILL");
    if (!opts.keepDir) removeClusterDir(this.layout);
  }

  /**
   * No node outlives this process: on its exit every node gets SIGKILL; on
   * SIGINT or SIGTERM of this process, too, then the directory is removed
   * (unless `keepDir`) and the signal is raised again. Returns the undo.
   */
  stopOnExit(opts: { keepDir?: boolean } = {}): () => void {
    const onExit = () => this.killAllSync();
    const onSignal = (signal: NodeJS.Signals) => {
      this.killAllSync();
      if (!opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
      process.kill(process.pid, signal);
    };
    process.once("exit", onExit);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    return () => {
      process.off("exit", onExit);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
  }

  #nodeOf(entry: ClusterState["nodes"][number]): ClusterNode {
    return new ClusterNode(entry, {
      home: homeOf(this.layout, entry.name),
      logFile: logFileOf(this.layout, entry.name),
      pidFile: pidFileOf(this.layout, entry.name),
    });
  }
}

/** A check's way to end a wait at once (the node is gone). */
class ExitedError extends Error {}

/** Deletes a cluster directory; refuses one that holds anything else, so a wrong dir cannot wipe other files. */
export function removeClusterDir(layout: ClusterLayout): void {
  if (!existsSync(layout.dir)) return;
  const foreign = readdirSync(layout.dir).filter((e) => !LAYOUT_ENTRIES.has(e));
  if (foreign.length > 0) {
    throw new ClusterError(
      `${layout.dir} holds more than a cluster (${foreign.slice(0, 5).join(", ")}); not deleting it`,
    );
  }
  rmSync(layout.dir, { recursive: true, force: true });
}
