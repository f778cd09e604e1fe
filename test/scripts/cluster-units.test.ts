import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  baseRange,
  ClusterError,
  type ClusterState,
  clusterPortWindow,
  ephemeralPortRange,
  findNode,
  isPortFree,
  isRunning,
  layoutOf,
  lineFormatter,
  logTail,
  nextSlot,
  parseAnonMaps,
  parseProcMemory,
  parseProcStat,
  parseProcStatName,
  parseVmRssBytes,
  pickBasePort,
  plannedNodes,
  readState,
  sampleAnonMaps,
  sampleMemory,
  sampleProcess,
  sampleThreads,
  tailOffset,
  threadGroupOf,
  threadShares,
  writeState,
} from "../../scripts/cluster/index.ts";
import { formatStatus, formatTable, withLag } from "../../scripts/devnet/status.ts";

function state(): ClusterState {
  return {
    version: 1,
    chainId: "devnet",
    basePort: 30_000,
    reservedPorts: 24,
    createdAtMs: 1,
    sets: [],
    nodes: plannedNodes(4, 0, 30_000),
  };
}

test("plannedNodes follows validator testnet's port scheme: validators, then observers", () => {
  assert.deepEqual(plannedNodes(2, 1, 40_000), [
    { name: "node0", role: "validator", p2pPort: 40_000, apiPort: 40_001 },
    { name: "node1", role: "validator", p2pPort: 40_002, apiPort: 40_003 },
    { name: "observer0", role: "observer", p2pPort: 40_004, apiPort: 40_005 },
  ]);
});

test("findNode accepts a position or a name and names the choices otherwise", () => {
  const s = state();
  assert.equal(findNode(s, "2").name, "node2");
  assert.equal(findNode(s, "node3").name, "node3");
  assert.throws(
    () => findNode(s, "7"),
    (e: Error) => e instanceof ClusterError && /0 \(node0\)/.test(e.message),
  );
  assert.throws(() => findNode(s, "x"), ClusterError);
});

test("nextSlot takes the next slot of the port range and a free name", () => {
  const s = state();
  assert.deepEqual(nextSlot(s, "observer"), { name: "observer0", role: "observer", p2pPort: 30_008, apiPort: 30_009 });
  s.nodes.push(nextSlot(s, "observer"));
  assert.deepEqual(nextSlot(s, "observer"), { name: "observer1", role: "observer", p2pPort: 30_010, apiPort: 30_011 });
  assert.deepEqual(nextSlot(s, "standby"), { name: "standby0", role: "standby", p2pPort: 30_010, apiPort: 30_011 });
  assert.equal(nextSlot(s, "standby", "spare").name, "spare");
  assert.throws(() => nextSlot(s, "observer", "node1"), /already has a node named node1/);
});

test("state file round-trips and a damaged one is a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "devnet-state-"));
  try {
    const layout = layoutOf(dir);
    assert.throws(() => readState(layout), /no cluster in .*npm run devnet -- up/);
    writeState(layout, state());
    assert.deepEqual(readState(layout), state());
    writeFileSync(layout.stateFile, "{not json");
    assert.throws(() => readState(layout), /not valid JSON/);
    writeFileSync(layout.stateFile, JSON.stringify({ ...state(), basePort: 70_000 }));
    assert.throws(() => readState(layout), /basePort/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pickBasePort: random even base inside the range, retried past busy ranges", async () => {
  const { lo, hi } = baseRange(24);
  assert.equal(lo, 20_000);
  assert.equal(hi, 60_000 - 24 + 1);
  const tried: number[] = [];
  const randoms = [0.5, 0.25, 0.999999];
  const base = await pickBasePort({
    count: 24,
    min: 20_000,
    max: 60_000,
    random: () => randoms.shift() ?? 0,
    isFree: async (first) => {
      tried.push(first);
      return tried.length === 3;
    },
  });
  assert.equal(tried.length, 3);
  for (const t of tried) assert.ok(t % 2 === 0 && t >= lo && t + 23 <= 60_000, `base ${t}`);
  assert.equal(base, tried[2]);
  await assert.rejects(pickBasePort({ count: 4, attempts: 3, isFree: async () => false }), /no 4 free consecutive/);
});

test("cluster ports stay below the kernel's ephemeral range (outgoing connections take ports from it)", () => {
  assert.deepEqual(ephemeralPortRange("32768\t60999\n"), { lo: 32_768, hi: 60_999 });
  assert.deepEqual(ephemeralPortRange("garbage"), { lo: 32_768, hi: 60_999 });
  assert.deepEqual(clusterPortWindow({ lo: 32_768, hi: 60_999 }), { min: 20_000, max: 32_767 });
  assert.deepEqual(clusterPortWindow({ lo: 15_000, hi: 30_000 }), { min: 10_000, max: 14_999 });
  assert.deepEqual(clusterPortWindow({ lo: 1_024, hi: 40_000 }), { min: 40_001, max: 65_535 });
});

test("isPortFree sees a port that is bound on 127.0.0.1", async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    assert.equal(await isPortFree(port), false);
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.equal(await isPortFree(port), true);
});

test("parseProcStat counts fields after the command name, which may hold spaces", () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 1));
  // Fields 1 and 2 are pid and (comm); field 3 onwards follow.
  const text = `123 (node main ) x) ${["S", ...fields.slice(3)].join(" ")}`;
  const parsed = parseProcStat(text);
  assert.equal(parsed.state, "S");
  assert.equal(parsed.cpuTicks, 14 + 15);
  assert.equal(parsed.rssPages, 24);
  assert.throws(() => parseProcStat("garbage"), /no '\)'/);
  assert.equal(parseVmRssBytes("Name:\tnode\nVmRSS:\t  2048 kB\n"), 2048 * 1024);
  assert.equal(parseVmRssBytes("Name:\tnode\n"), undefined);
});

test("threads are grouped: the event loop by id, the pool and V8's workers by name; a name may hold spaces and parens", () => {
  assert.equal(threadGroupOf(100, 100, "node"), "main", "the thread whose id is the pid, whatever its name");
  assert.equal(threadGroupOf(100, 101, "MainThread"), "other", "a name inherited from the main thread");
  assert.equal(threadGroupOf(100, 102, "libuv-worker"), "pool");
  assert.equal(threadGroupOf(100, 103, "node-libuv-worker"), "pool", "a prefixed name");
  assert.equal(threadGroupOf(100, 104, "V8Worker"), "v8");
  assert.equal(threadGroupOf(100, 105, "SignalInspector"), "other");
  assert.equal(parseProcStatName("123 (node main ) x) S 1 2 3"), "node main ) x");
  assert.throws(() => parseProcStatName("garbage"), /no \(name\)/);
  // This process: its event loop is there, and no thread used more than the process.
  const t = sampleThreads(process.pid);
  assert.ok(t);
  assert.equal(t.threads.get(process.pid)?.group, "main");
  let sum = 0;
  for (const th of t.threads.values()) sum += th.ticks;
  assert.ok(sum <= t.processTicks + t.threads.size, "live threads' ticks within the process's");
  assert.equal(sampleThreads(2 ** 22 + 12_345), undefined);
});

test("thread shares: per thread since the first sample, a new thread whole, exited threads' time in other", () => {
  const sample = (processTicks: number, threads: [number, "main" | "pool" | "v8" | "other", number][]) => ({
    processTicks,
    threads: new Map(threads.map(([tid, group, ticks]) => [tid, { group, ticks }])),
  });
  const from = sample(1000, [
    [1, "main", 600],
    [2, "pool", 100],
    [3, "v8", 50],
    [4, "pool", 40],
  ]);
  // 100 ticks later: main +60, pool thread 2 +12, v8 +18; pool thread 4 exited after 4 more ticks; thread 5 (pool) new with 6.
  const to = sample(1100, [
    [1, "main", 660],
    [2, "pool", 112],
    [3, "v8", 68],
    [5, "pool", 6],
  ]);
  assert.deepEqual(threadShares(from, to), { main: 60, pool: 18, v8: 18, other: 4 });
  assert.equal(threadShares(from, from), undefined, "no CPU used, no shares");
});

test("parseProcMemory splits RSS into anonymous, file-backed and shmem pages", () => {
  const text = "VmRSS:\t  3000 kB\nRssAnon:\t  2000 kB\nRssFile:\t   900 kB\nRssShmem:\t   100 kB\nThreads:\t12\n";
  assert.deepEqual(parseProcMemory(text), {
    rssBytes: 3000 * 1024,
    rssAnonBytes: 2000 * 1024,
    rssFileBytes: 900 * 1024,
    rssShmemBytes: 100 * 1024,
    threads: 12,
  });
  assert.equal(parseProcMemory("VmRSS:\t  3000 kB\n"), undefined);
});

test("parseAnonMaps sums RSS of the brk heap and of small and large anonymous mappings", () => {
  const text = [
    "55d0c0000000-55d0c4000000 rw-p 00000000 00:00 0                          [heap]",
    "Size:              65536 kB",
    "Rss:               40000 kB",
    "7f0000000000-7f0000040000 rw-p 00000000 00:00 0 ",
    "Rss:                 256 kB",
    "7f0000100000-7f0004100000 rw-p 00000000 00:00 0 ",
    "Rss:                1024 kB",
    "7f0010000000-7f0010200000 r-xp 00000000 fe:00 123                        /usr/bin/node",
    "Rss:                2048 kB",
  ].join("\n");
  assert.deepEqual(parseAnonMaps(text), { brkBytes: 40000 * 1024, smallBytes: 256 * 1024, largeBytes: 1024 * 1024 });
});

test("sampleProcess and isRunning read this process from /proc", () => {
  const s = sampleProcess(process.pid);
  assert.ok(s && s.rssBytes > 0 && s.cpuTicks >= 0);
  assert.equal(isRunning(process.pid), true);
  assert.equal(isRunning(process.pid, "/no/such/home"), false, "a pid whose command line lacks the home is not ours");
  assert.equal(isRunning(2 ** 22 + 12_345), false);
  const m = sampleMemory(process.pid);
  assert.ok(m && m.rssAnonBytes > 0 && m.rssBytes >= m.rssAnonBytes && m.threads > 0);
  const maps = sampleAnonMaps(process.pid);
  assert.ok(maps && maps.smallBytes + maps.largeBytes + maps.brkBytes > 0);
  assert.equal(sampleMemory(2 ** 22 + 12_345), undefined);
});

test("lag is the highest finalized index minus each node's; down nodes have none", () => {
  const row = (name: string, finalizedIndex: number | undefined) => ({
    name,
    role: "validator" as const,
    apiPort: 1,
    pid: finalizedIndex === undefined ? undefined : 10,
    status:
      finalizedIndex === undefined
        ? undefined
        : {
            finalizedIndex,
            view: { index: finalizedIndex + 1, round: 2 },
            peers: 3,
            mempoolTxs: 0,
            appHash: "ab".repeat(32),
          },
    error: finalizedIndex === undefined ? "down" : undefined,
  });
  const rows = withLag([row("node0", 10), row("node1", 7), row("node2", undefined)]);
  assert.deepEqual(
    rows.map((r) => r.lag),
    [0, 3, undefined],
  );
  const text = formatStatus(rows);
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^node\s+role\s+pid\s+api\s+index\s+round\s+peers\s+lag/);
  assert.match(lines[2]!, /^node1\s+validator\s+10\s+1\s+7\s+2\s+3\s+3\s+0\s+abababababab$/);
  assert.match(lines[3]!, /^node2\s+validator\s+-\s+1\s+down$/);
});

test("formatTable pads columns to the widest cell", () => {
  assert.equal(formatTable(["a", "bb"], [["xxx", "y"]]), "a    bb\nxxx  y");
});

test("tailOffset finds the start of the last N lines; lineFormatter makes pino JSON readable", () => {
  const dir = mkdtempSync(join(tmpdir(), "devnet-logs-"));
  try {
    const file = join(dir, "n.log");
    writeFileSync(file, "one\ntwo\nthree\n");
    assert.equal(tailOffset(file, 2), 4);
    assert.equal(tailOffset(file, 10), 0);
    assert.equal(tailOffset(file, 0), 14);
    const pretty = lineFormatter(true, false);
    const out = pretty(JSON.stringify({ level: 30, time: 0, msg: "hello", node: "node0" }));
    assert.match(out, /INFO.*hello/);
    assert.match(out, /node: "node0"/);
    assert.equal(pretty("not json"), "not json\n");
    assert.equal(lineFormatter(false, false)('{"a":1}'), '{"a":1}\n');
    assert.equal(logTail(file, 2), "two\nthree");
    assert.equal(logTail(join(dir, "none.log")), "(no log)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
