import { rmSync, writeFileSync } from "node:fs";
import { join as joinPath, resolve } from "node:path";
import {
  ClusterError,
  type ClusterNode,
  LocalCluster,
  layoutOf,
  REPO_ROOT,
  removeClusterDir,
  type StartOptions,
  type StopOutcome,
} from "../cluster/index.ts";
import { type LoadOptions, type LoadResult, runLoad } from "../load.ts";
import { addHa, ensureRedis, haStateOf, stopRedis } from "./ha.ts";

export const DEVNET_CHAIN_ID = "devnet";
export const DEFAULT_VALIDATORS = 4;
/** Observers `join` can add inside the port range `up` checked. */
export const JOIN_SLOTS = 8;

/** Where a devnet keeps its state: --dir, else $DEVNET_DIR, else <repo>/.devnet (git-ignored). */
export function devnetDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return resolve(flag ?? env.DEVNET_DIR ?? joinPath(REPO_ROOT, ".devnet"));
}

/** A devnet is a LocalCluster whose nodes outlive the command that started them. */
export function openDevnet(dir: string): LocalCluster {
  return LocalCluster.open(dir, { detached: true });
}

export interface UpOptions {
  validators?: number;
  sets?: readonly string[];
  /** HA: 3 redis-servers and a standby instance of node0 (a new devnet only). */
  ha?: boolean;
}

export interface UpResult {
  cluster: LocalCluster;
  created: boolean;
  started: { name: string; pid: number }[];
}

/**
 * `up [N]`: a new devnet (random free ports, `validator testnet`, every node
 * started) or, when one exists in the directory, starts its stopped nodes
 * again from their data.
 */
export async function up(dir: string, opts: UpOptions = {}): Promise<UpResult> {
  let cluster: LocalCluster;
  let created = false;
  if (LocalCluster.exists(dir)) {
    cluster = openDevnet(dir);
    const have = cluster.validators.length;
    if (opts.validators !== undefined && opts.validators !== have) {
      throw new ClusterError(
        `${dir} holds a devnet of ${have} validators; run \`down\` and \`clean\` first for one of ${opts.validators}`,
      );
    }
    // --set shapes the homes when they are created; ignoring it on an existing devnet would look applied.
    const sets = opts.sets ?? [];
    const createdWith = cluster.state.sets;
    if (sets.length > 0 && sets.join("\n") !== createdWith.join("\n")) {
      throw new ClusterError(
        `${dir} holds a devnet created with ${createdWith.length > 0 ? createdWith.map((x) => `--set ${x}`).join(" ") : "no --set"}; ` +
          "--set applies only when a devnet is created: run `down` and `clean` first, then `up --set ...` " +
          `(or edit the config.toml files in ${cluster.layout.homesDir} and restart the nodes)`,
      );
    }
  } else {
    cluster = await LocalCluster.create({
      dir,
      validators: opts.validators ?? DEFAULT_VALIDATORS,
      chainId: DEVNET_CHAIN_ID,
      sets: opts.sets ?? [],
      extraSlots: JOIN_SLOTS,
      detached: true,
    });
    created = true;
    if (opts.ha) await addHa(dir, cluster);
  }
  const ha = haStateOf(dir);
  if (!created && opts.ha && ha === null) {
    throw new ClusterError(`${dir} holds a devnet without HA; run \`clean\` first, then \`up --ha\``);
  }
  // An HA devnet's redis-servers come back on their ports (empty: they keep no data).
  if (ha !== null && !created) {
    const redis = await ensureRedis(ha);
    if (redis.some((r, i) => r.pid !== ha.redis[i]?.pid)) {
      writeFileSync(joinPath(dir, "ha.json"), `${JSON.stringify({ ...ha, redis }, null, 2)}\n`);
    }
  }
  try {
    const started = await cluster.startAll(cluster.nodes);
    return { cluster, created, started };
  } catch (err) {
    throw new ClusterError(`${(err as Error).message}\n(stop the others with \`down\`)`);
  }
}

/** `down`: SIGTERM to every node (SIGKILL after the timeout); data stays. */
export function down(dir: string): Promise<{ name: string; outcome: StopOutcome }[]> {
  return openDevnet(dir).stopAll("SIGTERM");
}

/**
 * `clean`: `down`, then delete the devnet directory. Refuses a directory
 * that holds anything but a devnet, so a wrong --dir cannot wipe other files.
 */
export async function clean(dir: string): Promise<void> {
  const ha = haStateOf(dir);
  if (ha !== null) {
    stopRedis(ha);
    rmSync(joinPath(dir, "ha.json"), { force: true });
  }
  if (LocalCluster.exists(dir)) await openDevnet(dir).destroy({ signal: "SIGTERM" });
  else removeClusterDir(layoutOf(dir));
}

/** `kill I` (SIGKILL: a crash) and `stop I` (SIGTERM: a clean shutdown). */
export async function stopOne(dir: string, which: string, signal: "SIGTERM" | "SIGKILL") {
  const cluster = openDevnet(dir);
  const node = cluster.node(which);
  const { outcome } = signal === "SIGKILL" ? await killed(cluster, node) : await cluster.stop(node);
  return { node, outcome };
}

async function killed(cluster: LocalCluster, node: ClusterNode): Promise<{ outcome: StopOutcome }> {
  if (!node.running) return { outcome: "not running" };
  await cluster.kill9(node);
  return { outcome: "killed" };
}

/** `restart I`: a clean stop when it runs, then start from its data. */
export async function restartOne(dir: string, which: string, opts: StartOptions = {}) {
  const cluster = openDevnet(dir);
  const node = cluster.node(which);
  const { stopped, pid } = await cluster.restart(node, opts);
  return { node, stopped, pid };
}

/**
 * `join`: a new observer home (fresh node key, the cluster's genesis, the
 * validators as peers) on the next free slot of the port range, started
 * like the others. It catches up by sync and follows the chain from there.
 */
export async function join(dir: string) {
  const cluster = openDevnet(dir);
  const node = await cluster.addNode({ role: "observer" });
  const pid = cluster.start(node);
  const { peerId } = await cluster.waitReady(node);
  return { node, peerId, pid };
}

/** The API base URLs of the running validators, and the names of the others. */
export function validatorApis(cluster: LocalCluster): { apis: string[]; down: string[] } {
  const running = cluster.validators.filter((n) => n.running);
  return {
    apis: running.map((n) => n.apiUrl),
    down: cluster.validators.filter((n) => !running.includes(n)).map((n) => n.name),
  };
}

/** `load`: the load generator against every running validator. */
export async function load(
  dir: string,
  opts: Omit<LoadOptions, "apis">,
): Promise<{ result: LoadResult; down: string[] }> {
  const { apis, down: stopped } = validatorApis(openDevnet(dir));
  if (apis.length === 0) throw new ClusterError("no validator is running; start them with `up`");
  return { result: await runLoad({ ...opts, apis }), down: stopped };
}
