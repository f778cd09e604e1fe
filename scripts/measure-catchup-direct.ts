/**
 * Measurement (not a test): catch-up of a node far behind, before and after
 * a change, on one history and with one harness (issue 16 item 4).
 *
 *   node scripts/measure-catchup-direct.ts --build FILE [--indexes 30300] [--txs 4]
 *   node scripts/measure-catchup-direct.ts --history FILE [--root CHECKOUT] [--target observer|validator]
 *                                          [--live 300] [--max-seconds 900]
 *
 * `--build` writes a finalized history directly (scripts/history/direct.ts:
 * the testnet keys are known, so nothing runs consensus; seconds, not hours).
 *
 * `--history` runs one node catching up on it in this process: the node
 * code of `--root` (default: this checkout; another checkout of the
 * repository, e.g. a worktree of an older commit, for "before") — its
 * ProtocolNode over its storage (LevelDB in a temp dir, group commit,
 * durable acks) and its runtime CatchUp — fed by a peer that pruned
 * everything but finalized global blocks (answers decoded with that
 * checkout's codecs). The target is `--live` indexes below the history's
 * tip; those last CommitQCs arrive by gossip meanwhile, one per turn, as a
 * live chain's would; the machines' timers fire when due and a status probe
 * runs every 3 s, as in the runtime. No network and no other process. It prints the rate:
 * indexes executed per second of wall time and per CPU-second of this
 * process, with the global-block requests made.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Level } from "level";
import { pino } from "pino";
import { optionValue, parseScriptArgs, positiveInteger, usageExit } from "./cli.ts";
import { REPO_ROOT } from "./cluster/index.ts";
import {
  DIRECT_CHAIN_ID,
  directGenesis,
  directKeys,
  readDirectHistoryFile,
  writeDirectHistoryFile,
} from "./history/index.ts";

/** The runtime's status probe period (node/runtime/node.ts, the same in the older checkouts). */
const PROBE_INTERVAL_MS = 3000;

const SCRIPT = "measure-catchup-direct";
const USAGE = `usage: node scripts/measure-catchup-direct.ts --build FILE [--indexes 30300] [--txs 4]
       node scripts/measure-catchup-direct.ts --history FILE [--root CHECKOUT] [--target observer|validator]
                                              [--live 300] [--max-seconds 900]
  --build writes a finalized history directly; --history runs one node (the code of --root) catching up on it
  in this process and prints indexes executed per second of wall time and per CPU-second.
`;
const args = parseScriptArgs({
  script: SCRIPT,
  usage: USAGE,
  options: {
    build: { type: "string" },
    indexes: { type: "string", default: "30300" },
    txs: { type: "string", default: "4" },
    history: { type: "string" },
    root: { type: "string", default: REPO_ROOT },
    target: { type: "string", default: "observer" },
    live: { type: "string", default: "300" },
    "max-seconds": { type: "string", default: "900" },
  },
});

/** A count option, or a usage error. */
function positive(name: string, text: string): number {
  return optionValue({ script: SCRIPT, usage: USAGE }, () => positiveInteger(name, text));
}

if (args.build !== undefined) {
  const indexes = positive("indexes", args.indexes);
  const t0 = performance.now();
  const { txs } = writeDirectHistoryFile(args.build, indexes, positive("txs", args.txs));
  process.stdout.write(
    `wrote ${indexes} indexes (${txs} txs) of chain ${DIRECT_CHAIN_ID} to ${args.build} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
} else if (args.history !== undefined) {
  await measure(args.history);
} else {
  usageExit(SCRIPT, USAGE, "give --build FILE or --history FILE");
}

// The node code is loaded from --root at run time: a checkout's module
// shapes differ across versions, so they are used through these loose types.
// biome-ignore lint/suspicious/noExplicitAny: modules of another checkout
type Any = any;

async function load(root: string, path: string): Promise<Any> {
  return import(pathToFileURL(join(root, "node", path, "index.ts")).href);
}

async function measure(file: string): Promise<void> {
  const root = resolve(args.root);
  const live = positive("live", args.live);
  const maxSeconds = positive("max-seconds", args["max-seconds"]);
  const target = args.target;
  if (target !== "observer" && target !== "validator")
    usageExit(SCRIPT, USAGE, `--target ${target}: observer or validator`);
  const [committeeMod, crypto, types, protocolMod, storageMod, execution] = await Promise.all(
    ["committee", "crypto", "types", "protocol", "storage", "execution"].map((p) => load(root, p)),
  );
  // The runtime's catch-up file itself (older checkouts do not export it from the runtime folder).
  const runtime = await import(pathToFileURL(join(root, "node", "runtime", "catch-up.ts")).href);
  const encoded = readDirectHistoryFile(file);
  const tip = encoded.length;
  const goal = tip - live;
  if (goal < 1) throw new Error(`the history has ${tip} indexes, not more than --live ${live}`);
  // The checkout's own genesis shape: its default params, the direct history's keys.
  const genesis = { ...directGenesis(), params: { ...committeeMod.DEFAULT_PARAMS } };
  const committee = new committeeMod.Committee(genesis);
  const me = target === "validator" ? genesis.validators.length - 1 : null;
  const signer = me === null ? null : new crypto.Signer(directKeys()[me]!.secretKey, DIRECT_CHAIN_ID);
  const config = await machineConfig(root, protocolMod);
  const decode = (k: number) => types.codecs.globalBlock.decode(encoded[k - 1]!);
  const tail = Array.from({ length: live }, (_, i) => decode(goal + 1 + i).commitQc);

  const dir = mkdtempSync(join(tmpdir(), "catchup-direct-"));
  const db = new Level<Uint8Array, Uint8Array>(join(dir, "db"), { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  const storage = await storageMod.openStorage(db, committee);
  const recovered = await storageMod.recover(storage, committee);
  const protocol = new protocolMod.ProtocolNode({
    committee,
    me,
    signer,
    config,
    recovered,
    app: new execution.KvApp(),
    verifyCache: new crypto.VerifyCache(65_536),
  });
  const writer = new storageMod.GroupCommitWriter(storage, {
    onFatal: (err: Error) => {
      throw err;
    },
  });
  const calls = { requests: 0, indexes: 0 };
  const pruned = { first: tip + 1, next: tip + 1 };
  const peer = {
    status: async () => ({
      commitQcs: pruned,
      globalBlocks: { first: 1, next: tip + 1 },
      lanes: genesis.validators.map((_, lane) => ({ lane, first: tip, next: tip })),
      batchQcs: { first: 0, next: 0 },
      views: { highest: { index: tip, round: 0 }, bySigner: [] },
    }),
    fetchLaneBlocks: async () => [],
    fetchCommitQcs: async () => [],
    fetchBatchQcs: async () => [],
    fetchGlobalBlocks: async (first: number, last: number) => {
      calls.requests++;
      const out = [];
      for (let k = first; k <= Math.min(last, tip); k++) out.push(decode(k));
      calls.indexes += out.length;
      return out;
    },
  };
  const queue: Any[] = [];
  const sync = new runtime.CatchUp(
    peer,
    {
      laneBlocks: (blocks: Any[]) => queue.push({ kind: "syncLaneBlocks", blocks }),
      commitQcs: (qcs: Any[]) => queue.push({ kind: "syncCommitQcs", qcs }),
      globalBlocks: (blocks: Any[]) => queue.push({ kind: "syncGlobalBlocks", blocks }),
      batchQcs: () => {},
      executedIndex: () => protocol.execution.executedIndex,
      finalizedIndex: () => protocol.consensus.finalizedIndex,
    },
    pino({ level: "silent" }),
  );
  let writes: { id: Any; write: Any }[] = [];
  const timers = new Map<string, { key: string; deadlineMs: number }>();
  const run = (effects: Any[]) => {
    for (const e of effects) {
      if (e.kind === "persist") writes.push({ id: e.id, write: e.write });
      else if (e.kind === "setTimer") timers.set(e.timer, { key: e.key, deadlineMs: e.deadlineMs });
      else if (e.kind === "fetchLaneBlocks") sync.laneBlocks(e.lane, e.from, e.to);
      else if (e.kind === "fetchCommitQcs") sync.commitQcs(e.from);
      else if (e.kind === "halt") throw new Error(`halted: ${e.reason}`);
    }
  };
  process.stdout.write(
    `catch-up: ${root} as ${target}, history of ${tip} indexes (${file}), to ${goal} with ${live} live CommitQCs gossiped meanwhile\n`,
  );
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let lastReport = t0;
  run(protocol.start(Date.now()));
  sync.probe(protocol.consensus.finalizedIndex);
  let probedAtMs = Date.now();
  let gossiped = 0;
  const executed = () => protocol.execution.executedIndex as number;
  while (executed() < goal && (performance.now() - t0) / 1000 < maxSeconds) {
    const qc = tail[gossiped];
    if (qc !== undefined) {
      gossiped++;
      queue.push({ kind: "consensus", msg: { kind: "commitQc", msg: qc } });
    }
    // As the runtime does: the machines' timers when due, a status probe every PROBE_INTERVAL_MS.
    const nowMs = Date.now();
    for (const [timer, t] of timers) {
      if (t.deadlineMs > nowMs) continue;
      timers.delete(timer);
      queue.push({ kind: "timer", timer, key: t.key });
    }
    if (nowMs - probedAtMs >= PROBE_INTERVAL_MS) {
      probedAtMs = nowMs;
      sync.probe(protocol.consensus.finalizedIndex);
    }
    while (queue.length > 0) run(protocol.step(queue.shift(), Date.now()));
    sync.pump?.();
    if (writes.length > 0) {
      const batch = writes;
      writes = [];
      await writer.submit(batch.map((w) => w.write));
      for (const w of batch) queue.push({ kind: "durable", id: w.id });
    } else {
      // Nothing to write: let the fetches in flight answer.
      await new Promise((r) => setTimeout(r, 1));
    }
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      process.stdout.write(
        `  t=${((lastReport - t0) / 1000).toFixed(0)} s executed ${executed()} (${calls.requests} requests)\n`,
      );
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const done = executed();
  sync.stop();
  await writer.close();
  await storage.close?.();
  await db.close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `${done >= goal ? "caught up" : `stopped after ${maxSeconds} s`}: executed ${done} of ${goal} in ${seconds.toFixed(1)} s = ` +
      `${(done / seconds).toFixed(1)} indexes/s wall, ${(done / cpuSeconds).toFixed(1)} indexes per CPU-second ` +
      `(${cpuSeconds.toFixed(1)} CPU-s); ${calls.requests} global-block requests, ${calls.indexes} indexes fetched\n`,
  );
}

/** The checkout's machine settings: from its loaded default config, or its DEFAULT_* constants (older checkouts). */
async function machineConfig(root: string, protocolMod: Any): Promise<Any> {
  if (typeof protocolMod.protocolConfig === "function") {
    const configMod = await load(root, "config");
    return protocolMod.protocolConfig(configMod.defaultConfig());
  }
  const [lanes, consensus, execution] = await Promise.all(
    ["lanes", "consensus", "execution"].map((p) => load(root, p)),
  );
  return {
    lanes: { ...lanes.DEFAULT_LANES_CONFIG },
    consensus: { ...consensus.DEFAULT_CONSENSUS_CONFIG },
    execution: { ...execution.DEFAULT_EXECUTION_CONFIG },
  };
}
