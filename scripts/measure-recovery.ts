/**
 * Measurement (not a test): how long a node takes to recover a home that
 * holds many finalized indexes.
 *
 *   node scripts/measure-recovery.ts [--validators 4] [--indexes 10000] [--txs 4] [--runs 5] [--dir DIR] [--keep]
 *
 * Build: a LocalCluster (scripts/cluster: `validator testnet`) creates real homes; then the real protocol
 * (ProtocolNode: lanes, consensus, execution) of every validator runs
 * in-process over its own real LevelDB through GroupCommitWriter, with
 * messages handed directly between the nodes and a clock that jumps to the
 * next timer when nothing else is pending (no network, no waiting for
 * timers), until every node has finalized `--indexes` indexes with `--txs`
 * key=value txs per lane block. The homes are exactly what running nodes
 * would have written: signed lane blocks, CommitQCs, app state, global
 * blocks, tx index, pruning anchors.
 *
 * Measure, on node0's home (a reused `--dir` skips the build):
 *   recover()        open LevelDB + openStorage + recover, timed separately
 *   startNode()      in-process, to the "recovered durable state" log line
 *                    and to "running" (network and API up)
 *   validator start  a child process, from spawn to the same two log lines
 * The OS page cache is warm (the build just wrote the files); a cold
 * cache would add disk reads.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Level } from "level";
import { pino } from "pino";
import { parseSetFlags } from "../node/config/index.ts";
import { VerifyCache } from "../node/crypto/index.ts";
import { loadNodeHome, type NodeHome, startNode } from "../node/runtime/index.ts";
import { nodeLevelOptions, openStorage, recover, writeBufferBytes } from "../node/storage/index.ts";
import { optionValue, parseScriptArgs, positiveInteger } from "./cli.ts";
import { LocalCluster } from "./cluster/index.ts";
import { buildHistory, historyNodeOf, skipFsync } from "./history/index.ts";

const RECOVERED_LINE = "recovered durable state";

const SCRIPT = "measure-recovery";
const USAGE = `usage: node scripts/measure-recovery.ts [--validators 4] [--indexes 10000] [--txs 4] [--runs 5] [--dir DIR] [--keep]
  How long a node takes to recover a home holding --indexes finalized indexes (built in-process, --txs txs per
  lane block; a reused --dir skips the build): recover(), startNode() and \`validator start\`, --runs times each.
`;
const args = parseScriptArgs({
  script: SCRIPT,
  usage: USAGE,
  options: {
    validators: { type: "string", default: "4" },
    indexes: { type: "string", default: "10000" },
    txs: { type: "string", default: "4" },
    runs: { type: "string", default: "5" },
    dir: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const [VALIDATORS, INDEXES, TXS_PER_BLOCK, RUNS] = optionValue({ script: SCRIPT, usage: USAGE }, () => [
  positiveInteger("validators", args.validators),
  positiveInteger("indexes", args.indexes),
  positiveInteger("txs", args.txs),
  positiveInteger("runs", args.runs),
]);

const dir = args.dir ?? mkdtempSync(join(tmpdir(), "measure-recovery-"));
const reuse = LocalCluster.exists(dir);
const cluster = reuse
  ? LocalCluster.open(dir)
  : await LocalCluster.create({ dir, validators: VALIDATORS, chainId: "measure", extraSlots: 0 });
const homeOf = (i: number) => cluster.node(`node${i}`).home;

function openDb(home: NodeHome): Level<Uint8Array, Uint8Array> {
  return new Level<Uint8Array, Uint8Array>(
    join(home.paths.dataDir, "db"),
    nodeLevelOptions(writeBufferBytes(home.config.storage)),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function summary(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${median(s).toFixed(1)} ms (min ${s[0]!.toFixed(1)}, max ${s.at(-1)!.toFixed(1)}, n=${s.length})`;
}

// ---- build ----

async function build(): Promise<void> {
  const nodes = [];
  for (let i = 0; i < VALIDATORS; i++) {
    // A block as soon as a tx waits 1 ms: one lane block per lane per index.
    const home = loadNodeHome({
      home: homeOf(i),
      env: {},
      overrides: parseSetFlags(["lanes.maxBlockDelayMs=1", "lanes.maxAdaptiveBlockDelayMs=1"]),
    });
    const db = openDb(home);
    await db.open();
    skipFsync(db);
    nodes.push(historyNodeOf(home, db));
  }
  const built = await buildHistory({
    nodes,
    indexes: INDEXES,
    txsPerRefill: TXS_PER_BLOCK,
    progress: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `built ${VALIDATORS} homes with ${built.finalized} finalized indexes and ${built.txs} txs in ${built.seconds.toFixed(1)} s ` +
      `(${(built.finalized / built.seconds).toFixed(0)} indexes/s)\n`,
  );
}

// ---- measure ----

/** Ports chosen by the OS, so the measurements never collide with anything. */
const ANY_PORT = ["p2p.listen=/ip4/127.0.0.1/tcp/0", "api.port=0"];

async function measureRecover(): Promise<void> {
  const home = loadNodeHome({ home: homeOf(0), env: {}, overrides: [] });
  const open: number[] = [];
  const storageOpen: number[] = [];
  const rec: number[] = [];
  let held = "";
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const db = openDb(home);
    await db.open();
    const t1 = performance.now();
    const storage = await openStorage(db, home.committee);
    const t2 = performance.now();
    const state = await recover(storage, home.committee, new VerifyCache(65_536));
    const t3 = performance.now();
    held =
      `finalized ${state.finalizedIndex}, chain tip ${state.chainTip}, anchor ${state.anchor?.commitQc.proposal.view.index ?? 0}, ` +
      `${state.commitQcs.length} CommitQCs and ${state.lanes.reduce((n, l) => n + l.blocks.length, 0)} lane blocks after it`;
    await storage.close();
    open.push(t1 - t0);
    storageOpen.push(t2 - t1);
    rec.push(t3 - t2);
  }
  process.stdout.write(
    `recover() on node0 (${held}):\n` +
      `  open LevelDB   ${summary(open)}\n` +
      `  openStorage    ${summary(storageOpen)}\n` +
      `  recover        ${summary(rec)}\n` +
      `  total          ${summary(open.map((x, i) => x + storageOpen[i]! + rec[i]!))}\n`,
  );
}

async function measureStartNode(): Promise<void> {
  const toRecovered: number[] = [];
  const toRunning: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let recoveredAt = Number.NaN;
    const sink = new Writable({
      write(chunk, _enc, done) {
        if (Number.isNaN(recoveredAt) && String(chunk).includes(RECOVERED_LINE)) recoveredAt = performance.now();
        done();
      },
    });
    const logger = pino({ level: "info" }, sink);
    const t0 = performance.now();
    const node = await startNode({
      home: homeOf(0),
      env: {},
      overrides: parseSetFlags(ANY_PORT),
      logger,
    });
    toRunning.push(performance.now() - t0);
    toRecovered.push(recoveredAt - t0);
    await node.stop();
    await node.exited;
  }
  process.stdout.write(
    `startNode() in-process on node0:\n` +
      `  to "${RECOVERED_LINE}"  ${summary(toRecovered)}\n` +
      `  to running (p2p + API up)        ${summary(toRunning)}\n`,
  );
}

async function measureChildProcess(): Promise<void> {
  const toRecovered: number[] = [];
  const toApi: number[] = [];
  const node0 = cluster.node("node0");
  for (let r = 0; r < RUNS; r++) {
    const seen = Promise.withResolvers<{ recovered: number; api: number }>();
    let recovered = Number.NaN;
    let carry = "";
    const t0 = performance.now();
    cluster.start(node0, {
      sets: ANY_PORT,
      onOutput: (chunk) => {
        const now = performance.now();
        const text = carry + chunk;
        carry = text.slice(-64); // a line split across two chunks is still seen
        if (Number.isNaN(recovered) && text.includes(RECOVERED_LINE)) recovered = now;
        if (text.includes("HTTP API listening")) seen.resolve({ recovered, api: now });
      },
    });
    void cluster.exited(node0)?.then(({ code }) => {
      seen.reject(new Error(`validator start exited ${code}; its log ends with:\n${node0.logTail()}`));
    });
    const times = await seen.promise;
    toRecovered.push(times.recovered - t0);
    toApi.push(times.api - t0);
    await cluster.stop(node0);
  }
  process.stdout.write(
    `validator start (child process) on node0, from spawn:\n` +
      `  to "${RECOVERED_LINE}"  ${summary(toRecovered)}\n` +
      `  to "HTTP API listening"          ${summary(toApi)}\n`,
  );
}

/** A node still running when this script exits (e.g. killed by a closed pipe) is killed with it. */
const undoStopOnExit = cluster.stopOnExit({ keepDir: true });

try {
  if (reuse) process.stdout.write(`reusing homes in ${dir}\n`);
  else await build();
  await measureRecover();
  await measureStartNode();
  await measureChildProcess();
} finally {
  undoStopOnExit();
  if (args.keep || args.dir !== undefined) process.stdout.write(`homes kept in ${dir}\n`);
  else await cluster.destroy();
}
