import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { homePaths, loadConfig, parseSetFlags, renderConfig } from "../../node/config/index.ts";
import { ClusterError, type ClusterNode, isRunning, type LocalCluster, sleep, startRedis } from "../cluster/index.ts";

/**
 * The devnet's HA mode (DESIGN section 14): three redis-servers in the
 * background (ports and pids in <dir>/ha.json) and a standby instance of
 * node0 (standby0: same validator key, its own node key and ports). Both
 * instances run with ha.enabled; one of them signs.
 */
export interface HaState {
  redis: { port: number; pid: number }[];
  standby: string;
  primary: string;
}

const HA_FILE = "ha.json";
const TAKEOVER_WAIT_MS = 30_000;

export function haStateOf(dir: string): HaState | null {
  const file = join(dir, HA_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as HaState) : null;
}

function redisUrls(state: HaState): string[] {
  return state.redis.map((r) => `redis://127.0.0.1:${r.port}`);
}

export function haSets(state: HaState): string[] {
  return ["ha.enabled=true", `ha.redisUrls=${redisUrls(state).join(",")}`];
}

/** Starts the redis-servers of an HA devnet that are not running (new ones on new ports when none exist). */
export async function ensureRedis(existing: HaState | null): Promise<HaState["redis"]> {
  const out: HaState["redis"] = [];
  for (let i = 0; i < 3; i++) {
    const prev = existing?.redis[i];
    if (prev !== undefined && isRunning(prev.pid)) {
      out.push(prev);
      continue;
    }
    const r = await startRedis({ detached: true, ...(prev !== undefined && { port: prev.port }) });
    out.push({ port: r.port, pid: r.pid! });
  }
  return out;
}

/** `up --ha` on a new devnet: redis-servers, node0 switched to HA in its config, a standby home for it. */
export async function addHa(dir: string, cluster: LocalCluster): Promise<HaState> {
  const primary = cluster.node("node0");
  const redis = await ensureRedis(null);
  const state: HaState = { redis, standby: "standby0", primary: primary.name };
  enableHaInHome(primary.home, haSets(state));
  await cluster.addNode({ role: "standby", keyOf: primary, name: state.standby, sets: haSets(state) });
  writeFileSync(join(dir, HA_FILE), `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** Rewrites a home's config.toml with the [ha] settings (everything else as it was). */
function enableHaInHome(home: string, sets: readonly string[]): void {
  const file = join(home, "config.toml");
  const config = loadConfig({ home, file, overrides: parseSetFlags(sets) });
  writeFileSync(homePaths(home, config).configFile, renderConfig(config), { mode: 0o644 });
}

/** Stops the redis-servers of an HA devnet (clean). */
export function stopRedis(state: HaState): void {
  for (const r of state.redis) {
    if (!isRunning(r.pid)) continue;
    try {
      process.kill(r.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

export interface FailoverOutcome {
  killed: string;
  leader: string;
  epoch: number;
  takeoverMs: number;
}

/**
 * `failover`: kill -9 the instance that signs now, wait until the other
 * leads (with a higher epoch), then start the killed one again (it comes
 * back as the standby).
 */
export async function failover(dir: string, cluster: LocalCluster): Promise<FailoverOutcome> {
  const state = haStateOf(dir);
  if (state === null) throw new ClusterError("this devnet has no HA instances; create one with `up --ha`");
  const instances = [cluster.node(state.primary), cluster.node(state.standby)];
  const before = await leaderOf(instances);
  if (before === undefined) throw new ClusterError(`neither ${state.primary} nor ${state.standby} leads now`);
  const other = instances.find((n) => n !== before.node)!;
  const t0 = Date.now();
  await cluster.kill9(before.node);
  for (;;) {
    const now = await leaderOf([other]);
    if (now !== undefined && now.epoch > before.epoch) {
      const takeoverMs = Date.now() - t0;
      cluster.start(before.node);
      await cluster.waitReady(before.node);
      return { killed: before.node.name, leader: other.name, epoch: now.epoch, takeoverMs };
    }
    if (Date.now() - t0 > TAKEOVER_WAIT_MS) {
      cluster.start(before.node);
      throw new ClusterError(
        `${other.name} did not take over within ${TAKEOVER_WAIT_MS} ms; ${before.node.name} restarted`,
      );
    }
    await sleep(100);
  }
}

async function leaderOf(nodes: readonly ClusterNode[]): Promise<{ node: ClusterNode; epoch: number } | undefined> {
  for (const node of nodes) {
    const s = await node.status().catch(() => null);
    if (s?.ha?.role === "leader") return { node, epoch: s.ha.epoch };
  }
  return undefined;
}
