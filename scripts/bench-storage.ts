/**
 * Storage benchmark (not a test): group-commit throughput and latency on a
 * real LevelDB (classic-level) in a fresh directory on this machine's disk.
 *
 *   npm run bench:storage [-- --dir /path/on/target/disk] [--small 20000] [--large 400] [--runs 3]
 *
 * Scenarios:
 *   fsync floor   one tiny synced chained batch at a time (what one durable write costs)
 *   small         lane blocks of ~250 B; offered in bursts of B requests per event-loop turn
 *   256 KiB       lane blocks of 4 x 64 KiB txs; bursts of 1 and 4 per turn
 * Latency is from submit() to "durable" for each request; block building and
 * signing happen before the clock starts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { type BatchStats, GroupCommitWriter, openStorage } from "../node/storage/index.ts";
import { codecs, headerHash, type LaneBlock } from "../node/types/index.ts";
import { benchCommittee, signedLaneBlock } from "./bench/chain.ts";
import { optionValue, parseScriptArgs, positiveNumber } from "./cli.ts";

const USAGE = `usage: npm run bench:storage -- [--dir /path/on/target/disk] [--small 20000] [--large 400] [--runs 3]
  Group-commit throughput and latency on a real LevelDB in a fresh directory under --dir (default: the temp dir):
  --small lane blocks of ~250 B, --large lane blocks of 256 KiB, each scenario --runs times (medians).
`;
const cli = { script: "bench:storage", usage: USAGE };
const args = parseScriptArgs({
  ...cli,
  options: {
    dir: { type: "string" },
    small: { type: "string", default: "20000" },
    runs: { type: "string", default: "3" },
    large: { type: "string", default: "400" },
  },
});
const [SMALL, LARGE, RUNS] = optionValue(cli, () => [
  Math.ceil(positiveNumber("small", args.small, 20_000)),
  Math.ceil(positiveNumber("large", args.large, 400)),
  Math.ceil(positiveNumber("runs", args.runs, 3)),
]);
const tc = benchCommittee(4, "benchnet");

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Blocks for all lanes, interleaved lane by lane so every burst touches several WALs. */
function buildBlocks(count: number, txs: () => Uint8Array[]): LaneBlock[] {
  const lanes = tc.signers.length;
  const parents: Uint8Array[] = Array.from({ length: lanes }, () => new Uint8Array(32));
  const out: LaneBlock[] = [];
  for (let i = 0; i < count; i++) {
    const lane = i % lanes;
    const number = Math.floor(i / lanes);
    const b = signedLaneBlock(tc.signers[lane]!, lane, number, parents[lane]!, txs(), 1000 + number);
    parents[lane] = headerHash(b.header);
    out.push(b);
  }
  return out;
}

async function withDb<T>(fn: (db: Level<Uint8Array, Uint8Array>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(args.dir ?? tmpdir(), "validator-bench-"));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  try {
    await db.open();
    return await fn(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fsyncFloor(n: number): Promise<string> {
  return withDb(async (db) => {
    const lat: number[] = [];
    const value = new Uint8Array(64);
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const batch = db.batch();
      batch.put(new Uint8Array([i >> 8, i & 255]), value);
      await batch.write({ sync: true });
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    return `fsync floor (1 small put per synced batch): p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, ${(n / (lat.reduce((s, x) => s + x, 0) / 1000)).toFixed(0)} batches/s`;
  });
}

/** Submits `blocks` in bursts of `burst` per turn, at most `maxInFlight` waiting. */
interface Result {
  writesPerS: number;
  mbPerS: number;
  p50Ms: number;
  p99Ms: number;
  writesPerBatch: number;
}

async function groupCommit(blocks: LaneBlock[], burst: number, maxInFlight: number): Promise<Result> {
  return withDb(async (db) => {
    const storage = await openStorage(db, tc.committee);
    const writer = new GroupCommitWriter(storage);
    const batches: BatchStats[] = [];
    writer.onBatch((s) => batches.push(s));
    const lat: number[] = [];
    const started = performance.now();
    let i = 0;
    const all: Promise<void>[] = [];
    while (i < blocks.length) {
      for (let j = 0; j < burst && i < blocks.length; j++, i++) {
        const t = performance.now();
        all.push(
          writer.submit([{ kind: "laneBlock", block: blocks[i]! }]).then(() => void lat.push(performance.now() - t)),
        );
      }
      if (writer.queued >= maxInFlight) await all.at(-1);
      else await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    const seconds = (performance.now() - started) / 1000;
    lat.sort((a, b) => a - b);
    const bytes = batches.reduce((s, b) => s + b.bytes, 0);
    return {
      writesPerS: blocks.length / seconds,
      mbPerS: bytes / seconds / 1e6,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      writesPerBatch: blocks.length / batches.length,
    };
  });
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs a scenario `RUNS` times and prints the median of each figure. */
async function scenario(label: string, blocks: LaneBlock[], burst: number, maxInFlight: number): Promise<void> {
  const results: Result[] = [];
  for (let r = 0; r < RUNS; r++) results.push(await groupCommit(blocks, burst, maxInFlight));
  const m = (f: (x: Result) => number) => median(results.map(f));
  process.stdout.write(
    `${label.padEnd(44)} ${m((x) => x.writesPerS)
      .toFixed(0)
      .padStart(7)} writes/s ${m((x) => x.mbPerS)
      .toFixed(1)
      .padStart(6)} MB/s` +
      `  p50 ${m((x) => x.p50Ms)
        .toFixed(2)
        .padStart(6)} ms  p99 ${m((x) => x.p99Ms)
        .toFixed(2)
        .padStart(6)} ms` +
      `  ${m((x) => x.writesPerBatch).toFixed(1)} writes/batch\n`,
  );
}

process.stdout.write(
  `storage benchmark: classic-level in ${args.dir ?? tmpdir()}, node ${process.version}, medians of ${RUNS} runs\n`,
);
process.stdout.write(`${await fsyncFloor(500)}\n`);
const small = buildBlocks(SMALL, () => [new Uint8Array(64).fill(7)]);
process.stdout.write(
  `small record = lane block of one 64 B tx, ${codecs.laneBlock.encode(small[0]!).byteLength} B encoded\n`,
);
await scenario("small, one at a time (1 in flight)", small.slice(0, 2000), 1, 1);
await scenario("small, 1 per turn (<= 256 in flight)", small, 1, 256);
await scenario("small, 64 per turn (<= 1024 in flight)", small, 64, 1024);
const big = buildBlocks(LARGE, () => Array.from({ length: 4 }, () => new Uint8Array(64 * 1024).fill(3)));
await scenario("256 KiB, one at a time (1 in flight)", big.slice(0, 100), 1, 1);
await scenario("256 KiB, 1 per turn (<= 8 in flight)", big, 1, 8);
await scenario("256 KiB, 4 per turn (<= 16 in flight)", big, 4, 16);
