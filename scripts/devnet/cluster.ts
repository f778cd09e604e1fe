import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join as joinPath } from "node:path";
import { type LoadOptions, type LoadResult, runLoad } from "../load.ts";
import { runningPid, type StartNodeOptions, type StopOutcome, startNode, stopNode } from "./node-process.ts";
import { writeObserverHome } from "./observer-home.ts";
import { type DevnetLayout, homeOf, REPO_ROOT, VALIDATOR_MAIN } from "./paths.ts";
import { allPortsFree, pickBasePort } from "./ports.ts";
import {
  DevnetError,
  type DevnetState,
  findNode,
  hasState,
  type NodeEntry,
  nextObserver,
  plannedValidators,
  readState,
  writeState,
} from "./state.ts";

export const DEVNET_CHAIN_ID = "devnet";
export const DEFAULT_VALIDATORS = 4;
/** Observers `join` can add inside the port range `up` checked. */
export const JOIN_SLOTS = 8;

export interface UpOptions {
  validators?: number;
  sets?: readonly string[];
  readyTimeoutMs?: number;
  /** Extra Node arguments per node name (e.g. --cpu-prof for one node). */
  nodeArgs?: Readonly<Record<string, readonly string[]>>;
}

export interface UpResult {
  state: DevnetState;
  created: boolean;
  started: { name: string; pid: number }[];
}

/** Runs `validator testnet` for a new devnet; its output goes to `log`. */
function createTestnet(layout: DevnetLayout, validators: number, basePort: number, sets: readonly string[]): string {
  const args = [
    VALIDATOR_MAIN,
    "testnet",
    "--validators",
    String(validators),
    "--out",
    layout.homesDir,
    "--base-port",
    String(basePort),
    "--chain-id",
    DEVNET_CHAIN_ID,
    ...sets.flatMap((s) => ["--set", s]),
  ];
  const res = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  if (res.status !== 0) {
    throw new DevnetError(`validator testnet failed (exit ${res.status}): ${(res.stderr || res.stdout).trim()}`);
  }
  return res.stdout;
}

/**
 * `up [N]`: a new devnet (random free ports, `validator testnet`, every node
 * started) or, when one exists in the directory, starts its stopped nodes
 * again from their data.
 */
export async function up(layout: DevnetLayout, opts: UpOptions = {}): Promise<UpResult> {
  let state: DevnetState;
  let created = false;
  if (hasState(layout)) {
    state = readState(layout);
    const have = state.nodes.filter((n) => n.role === "validator").length;
    if (opts.validators !== undefined && opts.validators !== have) {
      throw new DevnetError(
        `${layout.dir} holds a devnet of ${have} validators; run \`down\` and \`clean\` first for one of ${opts.validators}`,
      );
    }
    // --set shapes the homes when they are created; ignoring it on an existing devnet would look applied.
    const sets = opts.sets ?? [];
    if (sets.length > 0 && sets.join("\n") !== state.sets.join("\n")) {
      throw new DevnetError(
        `${layout.dir} holds a devnet created with ${state.sets.length > 0 ? state.sets.map((x) => `--set ${x}`).join(" ") : "no --set"}; ` +
          `--set applies only when a devnet is created: run \`down\` and \`clean\` first, then \`up --set ...\` ` +
          `(or edit the config.toml files in ${layout.homesDir} and restart the nodes)`,
      );
    }
  } else {
    if (existsSync(layout.homesDir)) {
      throw new DevnetError(`${layout.homesDir} exists without a devnet.json; run \`clean\` first`);
    }
    const validators = opts.validators ?? DEFAULT_VALIDATORS;
    if (!Number.isInteger(validators) || validators < 1 || validators > 64) {
      throw new DevnetError(`validators ${validators}: expected an integer from 1 to 64`);
    }
    const reservedPorts = 2 * (validators + JOIN_SLOTS);
    const basePort = await pickBasePort({ count: reservedPorts });
    const sets = [...(opts.sets ?? [])];
    createTestnet(layout, validators, basePort, sets);
    state = {
      version: 1,
      chainId: DEVNET_CHAIN_ID,
      basePort,
      reservedPorts,
      createdAtMs: Date.now(),
      sets,
      nodes: plannedValidators(validators, basePort),
    };
    writeState(layout, state);
    created = true;
  }
  const toStart = state.nodes.filter((n) => runningPid(layout, n) === undefined);
  const results = await Promise.allSettled(
    toStart.map(async (n) => ({
      name: n.name,
      pid: await startNode(layout, n, startOptions(opts, n)),
    })),
  );
  const failures = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
  if (failures.length > 0) throw new DevnetError(`${failures.join("\n")}\n(stop the others with \`down\`)`);
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  return { state, created, started };
}

function startOptions(opts: UpOptions, n: NodeEntry): StartNodeOptions {
  return {
    ...(opts.readyTimeoutMs !== undefined && { readyTimeoutMs: opts.readyTimeoutMs }),
    ...(opts.nodeArgs?.[n.name] !== undefined && { nodeArgs: opts.nodeArgs[n.name] }),
  };
}

/** `down`: SIGTERM to every node (SIGKILL after the timeout); data stays. */
export async function down(layout: DevnetLayout): Promise<{ name: string; outcome: StopOutcome }[]> {
  const state = readState(layout);
  return Promise.all(state.nodes.map(async (n) => ({ name: n.name, outcome: await stopNode(layout, n, "SIGTERM") })));
}

/**
 * `clean`: `down`, then delete the devnet directory. Refuses a directory
 * that holds anything but a devnet, so a wrong --dir cannot wipe other files.
 */
export async function clean(layout: DevnetLayout): Promise<void> {
  if (!existsSync(layout.dir)) return;
  const ours = new Set(["devnet.json", "devnet.json.tmp", "homes", "logs", "pids", "profiles"]);
  const foreign = readdirSync(layout.dir).filter((e) => !ours.has(e));
  if (foreign.length > 0) {
    throw new DevnetError(
      `${layout.dir} holds more than a devnet (${foreign.slice(0, 5).join(", ")}); not deleting it`,
    );
  }
  if (hasState(layout)) await down(layout);
  rmSync(layout.dir, { recursive: true, force: true });
}

/** `kill I` (SIGKILL: a crash) and `stop I` (SIGTERM: a clean shutdown). */
export async function stopOne(layout: DevnetLayout, which: string, signal: "SIGTERM" | "SIGKILL") {
  const node = findNode(readState(layout), which);
  return { node, outcome: await stopNode(layout, node, signal) };
}

/** `restart I`: a clean stop when it runs, then start from its data. */
export async function restartOne(layout: DevnetLayout, which: string, opts: StartNodeOptions = {}) {
  const node = findNode(readState(layout), which);
  const stopped = await stopNode(layout, node, "SIGTERM");
  const pid = await startNode(layout, node, opts);
  return { node, stopped, pid };
}

/** Where `restart --cpu-prof` makes Node write its profiles. */
export function profilesDir(layout: DevnetLayout): string {
  return joinPath(layout.dir, "profiles");
}

/**
 * `join`: a new observer home (fresh node key, the cluster's genesis, the
 * validators as peers) on the next free slot of the port range, started
 * like the others. It catches up by sync and follows the chain from there.
 */
export async function join(layout: DevnetLayout, opts: StartNodeOptions = {}) {
  const state = readState(layout);
  const slot = nextObserver(state);
  // The next slot of the cluster's range, or any free pair when something else holds it.
  const p2pPort = (await allPortsFree(slot.p2pPort, 2)) ? slot.p2pPort : await pickBasePort({ count: 2 });
  const node: NodeEntry = { ...slot, p2pPort, apiPort: p2pPort + 1 };
  const validators = state.nodes.filter((n) => n.role === "validator");
  const { peerId } = writeObserverHome({
    home: homeOf(layout, node.name),
    node,
    genesisFile: joinPath(homeOf(layout, validators[0]!.name), "genesis.json"),
    validatorP2pPorts: validators.map((v) => v.p2pPort),
    sets: state.sets,
  });
  const next: DevnetState = { ...state, nodes: [...state.nodes, node] };
  writeState(layout, next);
  const pid = await startNode(layout, node, opts);
  return { node, peerId, pid };
}

/** The API base URLs of the running validators. */
export function validatorApis(layout: DevnetLayout, state: DevnetState): { apis: string[]; down: string[] } {
  const validators = state.nodes.filter((n) => n.role === "validator");
  const running = validators.filter((n) => runningPid(layout, n) !== undefined);
  return {
    apis: running.map((n) => `http://127.0.0.1:${n.apiPort}`),
    down: validators.filter((n) => !running.includes(n)).map((n) => n.name),
  };
}

/** `load`: the load generator against every running validator. */
export async function load(
  layout: DevnetLayout,
  opts: Omit<LoadOptions, "apis">,
): Promise<{ result: LoadResult; down: string[] }> {
  const { apis, down: stopped } = validatorApis(layout, readState(layout));
  if (apis.length === 0) throw new DevnetError("no validator is running; start them with `up`");
  return { result: await runLoad({ ...opts, apis }), down: stopped };
}
