import { statSync } from "node:fs";
import type { BlockJson, StatusJson } from "../../node/api/index.ts";
import { summarize } from "../bench/stats.ts";
import {
  type ClusterNode,
  evidenceViolations,
  LocalCluster,
  postJson,
  type RedisServer,
  readEvidence,
  sleep,
  startRedisServers,
  stopRedisServers,
} from "../cluster/index.ts";
import { firstLineTime, scanSignatures } from "./scan.ts";

/**
 * The HA failover run (DESIGN section 14): 4 validators, validator 0 as two
 * instances (node0 and standby0) over 3 redis-servers, under load. Each
 * forced failover hits the current leader, alternating kill -9 (then a
 * restart: it comes back as a standby) and SIGSTOP past its lease (then
 * SIGCONT: its held messages must fail fencing and it must step down;
 * then both instances are offered a tx at one moment, which only a second
 * signer turns into a conflicting lane block).
 * Afterwards: conflicting signatures by validator 0's key among everything
 * the other validators received and the instances sent, finalized block
 * hashes compared across nodes, the longest finalization stall, and the
 * takeover time (fault -> the new leader's first signed message).
 */
export interface FailoverOptions {
  count: number;
  /** false: the negative control (both instances run with HA_TEST_DISABLE_FENCING=1). */
  fencing?: boolean;
  leaseTtlMs?: number;
  renewEveryMs?: number;
  /** Txs per second offered (spread over the validators and the leader). */
  loadTps?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  keepDir?: boolean;
  /** Stop early once a conflict shows (the negative control). */
  stopAtConflict?: boolean;
  /** The first failover's fault; they alternate from there (default kill9). */
  firstKind?: "kill9" | "pause";
}

export interface Failover {
  n: number;
  kind: "kill9" | "pause";
  from: string;
  to: string;
  epoch: number;
  takeoverMs: number;
}

export interface FailoverResult {
  failovers: Failover[];
  takeover: { p50: number | undefined; p99: number | undefined; max: number | undefined };
  conflicts: string[];
  journalLines: number;
  /**
   * What the nodes' `GET /evidence` says at the end: one line per node holding
   * equivocation evidence (by any signer) or not answering. Empty in a safe run.
   */
  evidence: string[];
  /** Indexes where nodes finalized different block hashes, lane ranges, txs or app hashes (a safety failure). */
  contentMismatches: string[];
  comparedIndexes: number;
  /** How long the slowest node took to serve (execute) the last compared index once asked. */
  servedAfterMs: number;
  finalizedIndex: number;
  longestStallMs: number;
  txsAccepted: number;
  /** Why a run without fencing ended early (an instance halted), else null. */
  aborted: string | null;
  dir: string;
  durationS: number;
}

const WAIT_MS = 60_000;
/** Deadline of one load request (a tx batch answers in milliseconds). */
const LOAD_REQUEST_TIMEOUT_MS = 1_000;
/** After each thaw: how many times both instances are offered a tx at one moment, and how far apart (a lane block finalizes within it at this load). */
const OFFER_BOTH_ROUNDS = 5;
const OFFER_BOTH_GAP_MS = 400;

export async function runFailover(opts: FailoverOptions): Promise<FailoverResult> {
  const log = opts.log ?? (() => {});
  const fencing = opts.fencing ?? true;
  // The shipped defaults unless given (config/default.toml [ha]).
  const leaseTtlMs = opts.leaseTtlMs ?? 3000;
  const renewEveryMs = opts.renewEveryMs ?? 500;
  const started = Date.now();
  let redis: RedisServer[] = [];
  let cluster: LocalCluster | null = null;
  let undo = () => {};
  let failed = true;
  try {
    redis = await startRedisServers(3);
    const haSets = [
      "ha.enabled=true",
      `ha.redisUrls=${redis.map((r) => r.url).join(",")}`,
      `ha.leaseTtlMs=${leaseTtlMs}`,
      `ha.renewEveryMs=${renewEveryMs}`,
      `ha.publishTimeoutMs=${Math.min(200, Math.floor(renewEveryMs / 2))}`,
      `ha.connectTimeoutMs=${Math.min(300, Math.floor(renewEveryMs / 2))}`,
    ];
    cluster = await LocalCluster.create({ validators: 4, logLevel: "debug" });
    undo = cluster.stopOnExit({ keepDir: opts.keepDir === true });
    const c = cluster;
    const node0 = c.node("node0");
    const standby = await c.addNode({ role: "standby", keyOf: node0, name: "standby0", sets: haSets });
    const others = c.validators.filter((v) => v !== node0);
    const instances = [node0, standby];
    const env: Record<string, string> = fencing ? {} : { HA_TEST_DISABLE_FENCING: "1" };
    const startInstance = (n: ClusterNode) => c.startAndWait(n, { sets: n === node0 ? haSets : [], env });

    await c.startAll(others);
    await startInstance(node0);
    await waitLeader(c, instances, undefined);
    await startInstance(standby);
    log(`cluster up in ${c.dir}; redis ${redis.map((r) => r.port).join(", ")}`);

    // Load and the finalization watch run in the background.
    let stop = false;
    let accepted = 0;
    let seq = 0;
    const perTickTxs = Math.max(1, Math.round((opts.loadTps ?? 40) / 10));
    const load = (async () => {
      let turn = 0;
      while (!stop) {
        const targets = [...others, ...instances.filter((n) => n.running)];
        const node = targets[turn++ % targets.length]!;
        const txs = Array.from({ length: perTickTxs }, () => `fo-${seq++}=${node.name}`);
        try {
          // A paused instance accepts the connection and never answers: a short
          // deadline keeps one hung target from stopping the whole load (with
          // the usual 10 s, the chain went idle while the paused leader was
          // asked, and a new leader with nothing to sign looked 10 s slow).
          const r = await postJson(`${node.apiUrl}/txs`, { txs }, LOAD_REQUEST_TIMEOUT_MS);
          if (r.status === 202) accepted += txs.length;
        } catch {
          // a paused or restarting node
        }
        await sleep(100);
      }
    })();
    let longestStallMs = 0;
    let lastIndex = -1;
    let lastProgress = Date.now();
    const watch = (async () => {
      while (!stop) {
        const s = await others[0]!.status().catch(() => null);
        const now = Date.now();
        if (s !== null && s.finalizedIndex > lastIndex) {
          lastIndex = s.finalizedIndex;
          lastProgress = now;
        }
        longestStallMs = Math.max(longestStallMs, now - lastProgress);
        await sleep(100);
      }
    })();

    await c.waitFinalized(others[0]!, 2);
    const failovers: Failover[] = [];
    const conflictShown = () =>
      scanSignatures(
        logsOf(c),
        instances.map((i) => i.logFile),
        0,
      ).conflicts.length > 0;
    let aborted: string | null = null;
    for (let n = 1; n <= opts.count && aborted === null; n++) {
      try {
        await oneFailover(n);
      } catch (err) {
        // Without fencing the instances may halt on what the other signed:
        // that ends the run, and the scan below still reports.
        if (fencing) throw err;
        aborted = (err as Error).message.split("\n")[0]!;
        log(`run ended early: ${aborted}`);
      }
      if (opts.stopAtConflict && conflictShown()) break;
    }

    async function oneFailover(n: number): Promise<void> {
      const { leader, status } = await waitLeader(c, instances, undefined);
      const next = instances.find((i) => i !== leader)!;
      await c.waitFor(
        next,
        `${next.name} to run as a standby`,
        async () => (await next.status())?.ha?.role === "standby",
      );
      const firstKind = opts.firstKind ?? "kill9";
      const kind = n % 2 === 1 ? firstKind : firstKind === "kill9" ? "pause" : "kill9";
      const offset = fileSize(next.logFile);
      const t0 = Date.now();
      if (kind === "kill9") {
        await c.kill9(leader);
      } else {
        c.pause(leader);
      }
      const { status: newStatus } = await waitLeader(c, [next], status.ha!.epoch);
      let first: number | undefined;
      await c.waitFor(next, `${next.name}'s first signature as leader`, async () => {
        first = firstLineTime(next.logFile, "first signed message as leader", offset);
        return first !== undefined;
      });
      const takeoverMs = first! - t0;
      if (kind === "kill9") {
        await startInstance(leader);
      } else {
        // Past its lease for sure, then thaw: it must step down, sending nothing it held.
        const pausedFor = Date.now() - t0;
        if (pausedFor < leaseTtlMs + 500) await sleep(leaseTtlMs + 500 - pausedFor);
        c.resume(leader);
        await offerBoth(n, leader, next);
      }
      failovers.push({ n, kind, from: leader.name, to: next.name, epoch: newStatus.ha!.epoch, takeoverMs });
      log(
        `failover ${n}/${opts.count}: ${kind} ${leader.name} -> ${next.name} epoch ${newStatus.ha!.epoch}, takeover ${takeoverMs} ms`,
      );
      // The chain goes on under the new leader before the next fault.
      const base = (await others[0]!.status())?.finalizedIndex ?? 0;
      await c.waitFinalized(others[0]!, base + 2, WAIT_MS);
    }

    /**
     * After a thaw the two instances both hold the key, and the thawed one
     * held a lease it lost while frozen. Each is offered its own tx at one
     * moment, a few times over. An instance that still signs makes a lane
     * block at the number the other makes one (both lanes idle, or both
     * batching to one deadline): with fencing the thawed instance has
     * stepped down and signs nothing, so the fenced run shows the stimulus
     * is harmless; without fencing this is the conflict the negative control
     * must show. Before, that control waited for validator 0 to propose
     * while both signed, and a loaded CI run saw no conflict in ten pauses.
     */
    async function offerBoth(n: number, thawed: ClusterNode, successor: ClusterNode): Promise<void> {
      // The thawed instance catches up with the chain first (as a standby, or unfenced as a second signer).
      const target = (await others[0]!.status().catch(() => null))?.finalizedIndex ?? 0;
      await c.waitFinalized(thawed, target, WAIT_MS);
      for (let round = 1; round <= OFFER_BOTH_ROUNDS; round++) {
        await Promise.all(
          [thawed, successor].map((i) =>
            postJson(`${i.apiUrl}/txs`, { txs: [`both-${n}-${round}=${i.name}`] }, LOAD_REQUEST_TIMEOUT_MS).catch(
              () => null,
            ),
          ),
        );
        await sleep(OFFER_BOTH_GAP_MS);
        if (opts.stopAtConflict && conflictShown()) return;
      }
    }

    stop = true;
    await Promise.all([load, watch]);
    const scan = scanSignatures(
      logsOf(c),
      instances.map((i) => i.logFile),
      0,
    );
    const compared = [...others];
    const leaderNow = await findLeader(instances);
    if (leaderNow) compared.push(leaderNow);
    // compareFinalized waits for every node to have executed what it finalized.
    const { mismatches, upTo, servedAfterMs } = await compareFinalized(compared);
    log(
      `compared ${upTo} indexes on ${compared.map((n) => n.name).join(", ")}; the last served after ${servedAfterMs} ms`,
    );
    const evidence = evidenceViolations(await readEvidence(c.nodes));
    const result: FailoverResult = {
      failovers,
      takeover: (() => {
        const s = summarize(failovers.map((f) => f.takeoverMs));
        return { p50: s.p50, p99: s.p99, max: s.max };
      })(),
      conflicts: scan.conflicts,
      journalLines: scan.lines,
      evidence,
      contentMismatches: mismatches,
      comparedIndexes: upTo,
      servedAfterMs,
      finalizedIndex: lastIndex,
      longestStallMs,
      txsAccepted: accepted,
      aborted,
      dir: c.dir,
      durationS: (Date.now() - started) / 1000,
    };
    failed = false;
    return result;
  } finally {
    if (cluster !== null) {
      for (const n of cluster.nodes) if (n.running) cluster.signal(n, "SIGCONT");
      // A failed run keeps its logs for a look.
      const keepDir = opts.keepDir === true || failed;
      if (failed) log(`run failed; logs kept in ${cluster.dir}`);
      await cluster.destroy({ keepDir });
    }
    undo();
    await stopRedisServers(redis);
  }
}

function logsOf(c: LocalCluster): string[] {
  return c.nodes.map((n) => n.logFile);
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

async function findLeader(instances: readonly ClusterNode[]): Promise<ClusterNode | undefined> {
  for (const i of instances) {
    const s = await i.status().catch(() => null);
    if (s?.ha?.role === "leader") return i;
  }
  return undefined;
}

/** Waits until one of `instances` leads with an epoch above `aboveEpoch`. */
async function waitLeader(
  c: LocalCluster,
  instances: readonly ClusterNode[],
  aboveEpoch: number | undefined,
): Promise<{ leader: ClusterNode; status: StatusJson }> {
  let found: { leader: ClusterNode; status: StatusJson } | undefined;
  await c.waitFor(instances[0]!, `a leader among ${instances.map((i) => i.name).join(", ")}`, async () => {
    for (const i of instances) {
      const s = await i.status().catch(() => null);
      if (s?.ha?.role === "leader" && (aboveEpoch === undefined || s.ha.epoch > aboveEpoch)) {
        found = { leader: i, status: s };
        return true;
      }
    }
    return false;
  });
  return found!;
}

/**
 * Every node's block at each index up to the lowest finalized index they all
 * report. A node serves an index once it has executed it, which can trail its
 * /status by a few indexes (longer on a loaded machine): each node's last
 * index is waited for first (ClusterNode.finalBlock), and how long that took
 * is returned. Execution goes in order, so the lower indexes are there too;
 * one still missing after the wait is reported as a mismatch.
 */
async function compareFinalized(
  nodes: readonly ClusterNode[],
): Promise<{ mismatches: string[]; upTo: number; servedAfterMs: number }> {
  const statuses = await Promise.all(nodes.map((n) => n.status().catch(() => null)));
  const live = nodes.filter((_, i) => statuses[i] !== null);
  if (live.length === 0) return { mismatches: ["no node answers GET /status"], upTo: 0, servedAfterMs: 0 };
  const upTo = Math.min(...statuses.filter((s) => s !== null).map((s) => s!.finalizedIndex));
  const waitStarted = Date.now();
  await Promise.all(live.map((n) => n.finalBlock(upTo).catch(() => null)));
  const servedAfterMs = Date.now() - waitStarted;
  const mismatches: string[] = [];
  for (let i = 1; i <= upTo; i++) {
    const blocks = await Promise.all(live.map((n) => n.block(i).catch(() => null)));
    // What was finalized: the lane ranges, the txs, the app hash after them,
    // and the block hash (round-independent, so equal on every node even when
    // a cut was committed under CommitQCs of two rounds).
    const content = (b: BlockJson | null) =>
      b === null ? "missing" : JSON.stringify([b.hash, b.lanes, b.txHashes, b.appHash]);
    const contents = new Set(blocks.map(content));
    const who = (f: (b: BlockJson | null) => string) =>
      live.map((n, j) => `${n.name}=${f(blocks[j] ?? null)}`).join(" ");
    if ((contents.size > 1 || contents.has("missing")) && mismatches.length < 20) {
      mismatches.push(`index ${i}: ${who((b) => (b ? `${b.commitQc.view.round}:${b.hash.slice(0, 12)}` : "missing"))}`);
    }
  }
  return { mismatches, upTo, servedAfterMs };
}
