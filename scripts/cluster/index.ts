/**
 * Local clusters of real `validator` processes on 127.0.0.1: the one library
 * behind `npm run devnet`, the benchmarks, scripts/measure-recovery.ts and
 * the cluster tests (scripts never import test/; tests import this).
 *
 *   const cluster = await LocalCluster.create({ validators: 4, observers: 1, sets: ["consensus.viewTimeoutMs=2000"] });
 *   const undo = cluster.stopOnExit();          // no node outlives us (exit, SIGINT, SIGTERM)
 *   await cluster.startAll(cluster.validators); // spawn, then wait until each serves /status
 *   await cluster.waitFinalized(cluster.node("node0"), 10);
 *   await cluster.kill9(cluster.node("node3"));  // also: pause/resume (SIGSTOP/SIGCONT), stop (SIGTERM), signal()
 *   await cluster.startAndWait(cluster.node("node3"), { sets: ["log.level=debug"] });
 *   const standby = await cluster.addNode({ role: "standby", keyOf: cluster.node("node0") });
 *   await cluster.destroy();                     // SIGKILL all, delete the directory
 *   undo();
 *
 * A cluster is a directory (a temp dir unless `dir` is given): cluster.json
 * (chain id, ports, nodes, --set overrides), homes/<name> made by the real
 * CLI (`validator testnet`; extra homes from node/config and node/crypto),
 * logs/<name>.log (stdout and stderr of every run, appended) and
 * pids/<name>.pid. Any process can LocalCluster.open(dir) it again: the
 * devnet commands do. Ports: a random free range below the kernel's
 * ephemeral ports, node j on p2p base + 2j and API base + 2j + 1, with
 * spare slots for addNode().
 *
 * Nodes: validators node0.., testnet observers observer0.., then extra
 * nodes; ClusterNode has its ports, home, log file, pid/running (checked in
 * /proc against its home) and API helpers (status, block, get, post).
 */
export {
  type AddNodeOptions,
  type CreateClusterOptions,
  LocalCluster,
  type RunOptions,
  removeClusterDir,
  type StartOptions,
  type StopResult,
  WAIT_MS,
} from "./cluster.ts";
export { type EvidenceReport, evidenceViolations, readEvidence } from "./evidence.ts";
export { apiUrl, getJson, getText, HttpError, type HttpResult, postJson, request } from "./http.ts";
export { scanVotes, type VoteScan, voteSlot } from "./journal.ts";
export { type FollowOptions, followLog, lineFormatter, logTail, tailOffset } from "./logs.ts";
export { ClusterNode } from "./node.ts";
export { type ClusterLayout, layoutOf, REPO_ROOT, VALIDATOR_MAIN } from "./paths.ts";
export {
  allPortsFree,
  baseRange,
  clusterPortWindow,
  ephemeralPortRange,
  freePorts,
  isPortFree,
  type PickPortOptions,
  pickBasePort,
} from "./ports.ts";
export {
  type AnonMaps,
  CLOCK_TICKS_PER_SECOND,
  isRunning,
  type ProcMemory,
  type ProcSample,
  parseAnonMaps,
  parseProcMemory,
  parseProcStat,
  parseProcStatName,
  parseVmRssBytes,
  sampleAnonMaps,
  sampleMemory,
  sampleProcess,
  sampleThreads,
  sleep,
  THREAD_GROUPS,
  type ThreadGroup,
  type ThreadSample,
  threadGroupOf,
  threadShares,
} from "./proc.ts";
export type { NodeSignal, StopOutcome } from "./process.ts";
export {
  REDIS_SERVER_BIN,
  type RedisServer,
  redisServerAvailable,
  startRedis,
  startRedisServers,
  stopRedisServers,
} from "./redis.ts";
export {
  ClusterError,
  type ClusterState,
  findNode,
  type NodeEntry,
  nextSlot,
  plannedNodes,
  readState,
  writeState,
} from "./state.ts";
