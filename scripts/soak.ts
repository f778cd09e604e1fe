/**
 * Soak run: a local 4-validator cluster under a steady offered load, with
 * every node's RSS sampled over time (issue 11). Reports a table of RSS per
 * node and the finalized index per sample, then per node: RSS at the first
 * sample after warm-up, at the end, the peak, and the growth rate.
 *
 *   npm run soak -- --minutes 30 [--rate 100] [--sample-s 30] [--validators 4] [--keep]
 *
 * It uses scripts/cluster (free ports on 127.0.0.1, a temp directory removed
 * at the end unless --keep) and scripts/load.ts's open-loop generator.
 */
import { parseArgs } from "node:util";
import { LocalCluster, sampleProcess, sleep } from "./cluster/index.ts";
import { formatLoadResult, positiveNumber, runLoad } from "./load.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    rate: { type: "string", default: "100" },
    "sample-s": { type: "string", default: "30" },
    validators: { type: "string", default: "4" },
    keep: { type: "boolean", default: false },
  },
});

const minutes = positiveNumber("minutes", values.minutes, 30);
const rate = positiveNumber("rate", values.rate, 100);
const sampleS = positiveNumber("sample-s", values["sample-s"], 30);
const validators = Math.round(positiveNumber("validators", values.validators, 4));
const MiB = 1024 * 1024;
const out = (line: string) => process.stdout.write(`${line}\n`);

/** validator_process_nodejs_heap_size_used_bytes of a node, in MiB (null when it does not answer). */
async function heapUsedMiB(apiUrl: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const m = /^validator_process_nodejs_heap_size_used_bytes (\d+)/m.exec(text);
    return m ? Number(m[1]) / MiB : null;
  } catch {
    return null;
  }
}

const cluster = await LocalCluster.create({ validators });
const undo = cluster.stopOnExit({ keepDir: values.keep });
try {
  await cluster.startAll(cluster.validators);
  await cluster.waitConnected();
  const nodes = cluster.validators;
  out(`soak: ${validators} validators, ${rate} tx/s for ${minutes} min, RSS every ${sampleS} s (dir ${cluster.dir})`);
  out(["t(s)", ...nodes.map((n) => `${n.name} RSS/heap MiB`), "finalized"].join("\t"));
  const samples: { tS: number; rss: (number | null)[] }[] = [];
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
    const rss = nodes.map((n) => {
      const pid = n.pid;
      const s = pid === undefined ? undefined : sampleProcess(pid);
      return s === undefined ? null : s.rssBytes / MiB;
    });
    // JS heap in use tells V8 heap growth apart from native memory (LevelDB, sockets).
    const heap = await Promise.all(nodes.map((n) => heapUsedMiB(n.apiUrl)));
    const finalized = (await nodes[0]!.status().catch(() => null))?.finalizedIndex ?? "?";
    const tS = Math.round((Date.now() - t0) / 1000);
    samples.push({ tS, rss });
    out(
      [
        tS,
        ...rss.map((r, i) => (r === null ? "down" : `${r.toFixed(0)}/${heap[i] === null ? "?" : heap[i]!.toFixed(0)}`)),
        finalized,
      ].join("\t"),
    );
    for (let waited = 0; waited < sampleS * 1000 && !loadDone; waited += 250) await sleep(250);
  }
  const result = await load;
  out("");
  out(formatLoadResult(result));
  out("");
  // Growth is measured from the first sample after a warm-up of 10% of the run (at least one sample).
  const warm = samples.find((s) => s.tS >= minutes * 6) ?? samples[0]!;
  const last = samples.at(-1)!;
  out("per node: RSS after warm-up -> end (peak), growth");
  nodes.forEach((n, i) => {
    const series = samples.map((s) => s.rss[i]).filter((r): r is number => r !== null && r !== undefined);
    const from = warm.rss[i] ?? series[0] ?? 0;
    const to = last.rss[i] ?? series.at(-1) ?? 0;
    const hours = Math.max(1e-9, (last.tS - warm.tS) / 3600);
    out(
      `${n.name}\t${from.toFixed(0)} -> ${to.toFixed(0)} MiB (peak ${Math.max(...series).toFixed(0)}), ` +
        `${((to - from) / hours).toFixed(0)} MiB/h over ${((last.tS - warm.tS) / 60).toFixed(1)} min`,
    );
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
