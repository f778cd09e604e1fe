/**
 * Soak run: a local 4-validator cluster under a steady offered load, with
 * every node's memory sampled over time (issue 11). Each sample splits RSS
 * by kind so a growth can be placed:
 *
 * - from /proc/<pid>/status: RSS = anonymous + file-backed (+ shmem) pages;
 * - from the node's /metrics: the V8 heap reserved (heapTotal) and in use
 *   (heapUsed), `external` memory and its ArrayBuffer part;
 * - "native" = anonymous RSS - heapTotal: malloc'd memory outside the JS
 *   heap (LevelDB's caches and memtables, OpenSSL, libuv, glibc arenas);
 * - the number and bytes of LevelDB table files (the table cache holds one
 *   entry per open table, up to maxOpenFiles; tables are read through mmap,
 *   so touched table pages count as file-backed RSS).
 *
 * It prints a row per sample and, per node and per part, the value after a
 * warm-up (10% of the run), at the end, the peak and the growth rate.
 *
 *   npm run soak -- --minutes 30 [--rate 100] [--sample-s 30] [--validators 4]
 *                   [--set section.key=value]... [--node-env node2:NAME=value]...
 *                   [--out samples.jsonl] [--keep]
 *
 * `--set` is passed to every node's start (to test one bound at a time, e.g.
 * --set storage.cacheBytes=...); the environment is passed through, so
 * `MALLOC_ARENA_MAX=2 npm run soak ...` tests glibc's arenas; `--node-env`
 * sets a variable for one node only, so one run compares it with the others
 * under the same load (e.g. node3:NODE_OPTIONS=--max-semi-space-size=64, V8's own
 * size on the measured host, against node.maxSemiSpaceMiB on the others).
 *
 * It uses scripts/cluster (free ports on 127.0.0.1, a temp directory removed
 * at the end unless --keep) and scripts/load.ts's open-loop generator.
 */
import { appendFileSync, readdirSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { optionValue, parseScriptArgs, positiveNumber, usageExit } from "./cli.ts";
import {
  CLOCK_TICKS_PER_SECOND,
  type ClusterNode,
  LocalCluster,
  sampleAnonMaps,
  sampleMemory,
  sampleProcess,
  sleep,
} from "./cluster/index.ts";
import { formatLoadResult, runLoad } from "./load.ts";

const USAGE = `usage: npm run soak -- --minutes 30 [--rate 100] [--sample-s 30] [--validators 4]
                [--set section.key=value]... [--node-env node2:NAME=value]... [--out samples.jsonl] [--keep]
  A local cluster under a steady offered load (--rate tx/s), every node's memory sampled every --sample-s s,
  split by kind (heap, native, file-backed, LevelDB tables); per node and part: after the warm-up, at the end,
  the peak and the growth rate. --set goes to every node; --node-env sets a variable for one node only.
`;
const cli = { script: "soak", usage: USAGE };
const values = parseScriptArgs({
  ...cli,
  options: {
    minutes: { type: "string", default: "30" },
    rate: { type: "string", default: "100" },
    "sample-s": { type: "string", default: "30" },
    validators: { type: "string", default: "4" },
    set: { type: "string", multiple: true, default: [] },
    "node-env": { type: "string", multiple: true, default: [] },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});

const [minutes, rate, sampleS, validators] = optionValue(cli, () => [
  positiveNumber("minutes", values.minutes, 30),
  positiveNumber("rate", values.rate, 100),
  positiveNumber("sample-s", values["sample-s"], 30),
  Math.round(positiveNumber("validators", values.validators, 4)),
]);
const MiB = 1024 * 1024;
/** `--node-env node2:MALLOC_ARENA_MAX=2`: a variable for one node only (an A/B within one run). */
const nodeEnv = new Map<string, Record<string, string>>();
for (const spec of values["node-env"]) {
  const m = /^([A-Za-z0-9_-]+):([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(spec);
  if (m === null) usageExit(cli.script, cli.usage, `--node-env ${spec}: expected node:NAME=value`);
  nodeEnv.set(m[1]!, { ...nodeEnv.get(m[1]!), [m[2]!]: m[3]! });
}
const out = (line: string) => process.stdout.write(`${line}\n`);

/** One node's memory at one sample, in MiB (null: the part could not be read). */
interface Memory {
  rss: number | null;
  anon: number | null;
  file: number | null;
  heapTotal: number | null;
  heapUsed: number | null;
  /** The young generation's reserved space (both semi-spaces), and the old space reserved / in use. */
  newSpace: number | null;
  oldTotal: number | null;
  oldUsed: number | null;
  external: number | null;
  arrayBuffers: number | null;
  /** anon - heapTotal: malloc'd memory outside the V8 heap. */
  native: number | null;
  /** Anonymous RSS by mapping (smaps): glibc's main arena (brk), maps < 1 MiB (V8 pages), larger maps. */
  brk: number | null;
  anonSmall: number | null;
  anonLarge: number | null;
  tables: number | null;
  tableMiB: number | null;
  threads: number | null;
  /** CPU use since the previous sample, in percent of one core (what a smaller young generation costs). */
  cpuPercent: number | null;
}
const PARTS = [
  "rss",
  "anon",
  "file",
  "heapTotal",
  "heapUsed",
  "newSpace",
  "oldTotal",
  "oldUsed",
  "external",
  "arrayBuffers",
  "native",
  "brk",
  "anonSmall",
  "anonLarge",
  "tables",
  "tableMiB",
  "threads",
  "cpuPercent",
] as const;

const METRICS = {
  heapTotal: "validator_process_nodejs_heap_size_total_bytes",
  heapUsed: "validator_process_nodejs_heap_size_used_bytes",
  external: "validator_process_nodejs_external_memory_bytes",
  arrayBuffers: "validator_process_nodejs_array_buffers_bytes",
  newSpace: 'validator_process_nodejs_heap_space_size_total_bytes{space="new"}',
  oldTotal: 'validator_process_nodejs_heap_space_size_total_bytes{space="old"}',
  oldUsed: 'validator_process_nodejs_heap_space_size_used_bytes{space="old"}',
} as const;

/** The node's V8 heap and external memory from /metrics, in MiB (all null when it does not answer). */
async function heapOf(apiUrl: string): Promise<Record<keyof typeof METRICS, number | null>> {
  const none = Object.fromEntries(Object.keys(METRICS).map((k) => [k, null])) as Record<
    keyof typeof METRICS,
    number | null
  >;
  try {
    const text = await (await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const lines = new Map<string, number>();
    for (const line of text.split("\n")) {
      const sp = line.lastIndexOf(" ");
      if (line.startsWith("validator_process_") && sp > 0) lines.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
    const read = (name: string) => {
      const v = lines.get(name);
      return v === undefined || !Number.isFinite(v) ? null : v / MiB;
    };
    return Object.fromEntries(Object.entries(METRICS).map(([k, name]) => [k, read(name)])) as Record<
      keyof typeof METRICS,
      number | null
    >;
  } catch {
    return none;
  }
}

/** Count and MiB of LevelDB table files (*.ldb, *.sst) in the node's database (data/db). */
function tablesOf(node: ClusterNode): { tables: number | null; tableMiB: number | null } {
  try {
    const dir = join(node.home, "data", "db");
    let tables = 0;
    let bytes = 0;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith(".ldb") && !f.endsWith(".sst")) continue;
      tables += 1;
      try {
        bytes += statSync(join(dir, f)).size;
      } catch {
        // compacted away between the listing and the stat
      }
    }
    return { tables, tableMiB: bytes / MiB };
  } catch {
    return { tables: null, tableMiB: null };
  }
}

/** CPU ticks and time of each node's previous sample. */
const lastCpu = new Map<string, { ticks: number; atMs: number }>();

function cpuPercentOf(node: ClusterNode, pid: number | undefined): number | null {
  const s = pid === undefined ? undefined : sampleProcess(pid);
  if (s === undefined) return null;
  const now = Date.now();
  const prev = lastCpu.get(node.name);
  lastCpu.set(node.name, { ticks: s.cpuTicks, atMs: now });
  if (prev === undefined || now <= prev.atMs) return null;
  return ((s.cpuTicks - prev.ticks) / CLOCK_TICKS_PER_SECOND / ((now - prev.atMs) / 1000)) * 100;
}

async function memoryOf(node: ClusterNode): Promise<Memory> {
  const pid = node.pid;
  const cpuPercent = cpuPercentOf(node, pid);
  const proc = pid === undefined ? undefined : sampleMemory(pid);
  const maps = pid === undefined ? undefined : sampleAnonMaps(pid);
  const heap = await heapOf(node.apiUrl);
  const anon = proc ? proc.rssAnonBytes / MiB : null;
  return {
    rss: proc ? proc.rssBytes / MiB : null,
    anon,
    file: proc ? proc.rssFileBytes / MiB : null,
    ...heap,
    native: anon !== null && heap.heapTotal !== null ? anon - heap.heapTotal : null,
    brk: maps ? maps.brkBytes / MiB : null,
    anonSmall: maps ? maps.smallBytes / MiB : null,
    anonLarge: maps ? maps.largeBytes / MiB : null,
    ...tablesOf(node),
    threads: proc ? proc.threads : null,
    cpuPercent,
  };
}

const f0 = (v: number | null) => (v === null ? "?" : v.toFixed(0));

const cluster = await LocalCluster.create({ validators, startSets: values.set });
const undo = cluster.stopOnExit({ keepDir: values.keep });
try {
  await cluster.startAll(cluster.validators, (n) => {
    const env = nodeEnv.get(n.name);
    return env === undefined ? {} : { env };
  });
  await cluster.waitConnected();
  const nodes = cluster.validators;
  const arenas = process.env.MALLOC_ARENA_MAX ?? "unset";
  out(
    `soak: ${validators} validators, ${rate} tx/s for ${minutes} min, memory every ${sampleS} s ` +
      `(sets: ${values.set.join(" ") || "none"}; MALLOC_ARENA_MAX ${arenas}; ` +
      `per node: ${values["node-env"].join(" ") || "none"}; dir ${cluster.dir})`,
  );
  out(
    "per node: rss=anon+file, heapTotal/heapUsed, new space, old space total/used, native (anon-heapTotal), glibc main arena (brk), external/arrayBuffers, tables (MiB); MiB",
  );
  out(["t(s)", "load1", ...nodes.map((n) => n.name), "finalized"].join("\t"));
  const samples: { tS: number; load1: number; finalized: number | null; mem: Memory[] }[] = [];
  const t0 = Date.now();
  let loadDone = false;
  const load = runLoad({
    apis: nodes.map((n) => n.apiUrl),
    rateTps: rate,
    durationS: minutes * 60,
    drainS: 10,
  }).finally(() => {
    loadDone = true;
  });
  while (!loadDone) {
    const mem = await Promise.all(nodes.map((n) => memoryOf(n)));
    const finalized = (await nodes[0]!.status().catch(() => null))?.finalizedIndex ?? null;
    const tS = Math.round((Date.now() - t0) / 1000);
    const load1 = loadavg()[0]!;
    samples.push({ tS, load1, finalized, mem });
    if (values.out !== undefined) {
      appendFileSync(
        values.out,
        `${JSON.stringify({ tS, load1, finalized, nodes: Object.fromEntries(nodes.map((n, i) => [n.name, mem[i]])) })}\n`,
      );
    }
    out(
      [
        tS,
        load1.toFixed(1),
        ...mem.map(
          (m) =>
            `${f0(m.rss)}=${f0(m.anon)}+${f0(m.file)} h${f0(m.heapTotal)}/${f0(m.heapUsed)} new${f0(m.newSpace)} old${f0(m.oldTotal)}/${f0(m.oldUsed)} n${f0(m.native)} brk${f0(m.brk)} ` +
            `x${f0(m.external)}/${f0(m.arrayBuffers)} t${m.tables ?? "?"}/${f0(m.tableMiB)}`,
        ),
        finalized ?? "?",
      ].join("\t"),
    );
    for (let waited = 0; waited < sampleS * 1000 && !loadDone; waited += 250) await sleep(250);
  }
  const result = await load;
  out("");
  out(formatLoadResult(result));
  const loads = samples.map((s) => s.load1);
  out(
    `load average (1 min) over the samples: min ${Math.min(...loads).toFixed(1)}, ` +
      `mean ${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(1)}, max ${Math.max(...loads).toFixed(1)}`,
  );
  out("");
  // Growth is measured from the first sample after a warm-up of 10% of the run (at least one sample).
  const warm = samples.find((s) => s.tS >= minutes * 6) ?? samples[0]!;
  const last = samples.at(-1)!;
  const hours = Math.max(1e-9, (last.tS - warm.tS) / 3600);
  out(
    `per node and part: first sample / after warm-up (t=${warm.tS} s) -> end (t=${last.tS} s), peak, ` +
      `growth per hour over ${((last.tS - warm.tS) / 60).toFixed(1)} min`,
  );
  nodes.forEach((n, i) => {
    out(n.name);
    for (const part of PARTS) {
      const series = samples.map((s) => s.mem[i]![part]).filter((v): v is number => v !== null);
      if (series.length === 0) continue;
      if (part === "cpuPercent") {
        const mean = series.reduce((a, b) => a + b, 0) / series.length;
        out(`  ${part.padEnd(12)} mean ${mean.toFixed(0)}, max ${Math.max(...series).toFixed(0)} (% of one core)`);
        continue;
      }
      const first = series[0]!;
      const from = warm.mem[i]![part] ?? first;
      const to = last.mem[i]![part] ?? series.at(-1)!;
      out(
        `  ${part.padEnd(12)} ${first.toFixed(0).padStart(5)} / ${from.toFixed(0).padStart(5)} -> ` +
          `${to.toFixed(0).padStart(5)} (peak ${Math.max(...series).toFixed(0)}), ${((to - from) / hours).toFixed(0)}/h`,
      );
    }
  });
  const down = nodes.filter((n) => !n.running);
  if (down.length > 0) {
    out(`nodes not running at the end: ${down.map((n) => n.name).join(", ")}`);
    process.exitCode = 1;
  }
} finally {
  await cluster.destroy({ keepDir: values.keep });
  undo();
}
