/**
 * node.maxSemiSpaceMiB, node.heapGrowingPercent and node.mallocMmapThresholdKiB:
 * `validator start` re-executes itself once with --max-semi-space-size,
 * --heap-growing-percent and MALLOC_MMAP_THRESHOLD_ (V8 and glibc read them
 * only at process start),
 * keeps its pid, and leaves an operator's own settings alone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { type ProcessFacts, REEXEC_MARK_ENV, type StartTuning, startPlan } from "../../node/config/index.ts";
import { LocalCluster } from "../../scripts/cluster/index.ts";

const facts = (over: Partial<ProcessFacts> = {}): ProcessFacts => ({
  execPath: "/usr/bin/node",
  execArgv: [],
  argv: ["/usr/bin/node", "/app/main.ts", "start", "--home", "h"],
  env: { PATH: "/bin" },
  platform: "linux",
  isGlibc: () => true,
  ...over,
});
const both: StartTuning = { maxSemiSpaceMiB: 16, heapGrowingPercent: 0, mallocMmapThresholdKiB: 256 };
const semiOnly: StartTuning = { maxSemiSpaceMiB: 16, heapGrowingPercent: 0, mallocMmapThresholdKiB: 0 };
const mallocOnly: StartTuning = { maxSemiSpaceMiB: 0, heapGrowingPercent: 0, mallocMmapThresholdKiB: 256 };
const growingOnly: StartTuning = { maxSemiSpaceMiB: 0, heapGrowingPercent: 50, mallocMmapThresholdKiB: 0 };
const all: StartTuning = { maxSemiSpaceMiB: 16, heapGrowingPercent: 50, mallocMmapThresholdKiB: 256 };
const glibcDefault = { mmapThresholdBytes: null, source: "glibc's default" };
const growingDefault = { heapGrowingPercent: null, source: "V8's default" };

test("re-executes with the configured limit first, keeping Node's flags, the command and the environment, marked", () => {
  const plan = startPlan(both, facts({ execArgv: ["--cpu-prof", "--", "x"] }));
  assert.equal(plan.kind, "reexec");
  assert.deepEqual(plan.kind === "reexec" && plan.argv, [
    "/usr/bin/node",
    "--max-semi-space-size=16",
    "--cpu-prof",
    "--",
    "x",
    "/app/main.ts",
    "start",
    "--home",
    "h",
  ]);
  assert.deepEqual(plan.kind === "reexec" && plan.env, {
    PATH: "/bin",
    MALLOC_MMAP_THRESHOLD_: "262144",
    [REEXEC_MARK_ENV]: "semi-space,malloc",
  });
  // Each setting alone re-executes for itself only.
  const semi = startPlan(semiOnly, facts());
  assert.ok(semi.kind === "reexec" && semi.argv[1] === "--max-semi-space-size=16", JSON.stringify(semi));
  assert.deepEqual(semi.kind === "reexec" && semi.env, { PATH: "/bin", [REEXEC_MARK_ENV]: "semi-space" });
  const malloc = startPlan(mallocOnly, facts());
  assert.deepEqual(malloc.kind === "reexec" && malloc.argv, ["/usr/bin/node", "/app/main.ts", "start", "--home", "h"]);
  assert.deepEqual(malloc.kind === "reexec" && malloc.env, {
    PATH: "/bin",
    MALLOC_MMAP_THRESHOLD_: "262144",
    [REEXEC_MARK_ENV]: "malloc",
  });
});

test("the re-executed process runs, and says the values came from the config", () => {
  const env = { PATH: "/bin", MALLOC_MMAP_THRESHOLD_: "262144", [REEXEC_MARK_ENV]: "semi-space,malloc" };
  assert.deepEqual(startPlan(both, facts({ execArgv: ["--max-semi-space-size=16"], env })), {
    kind: "run",
    semiSpace: { semiSpaceMiB: 16, source: "node.maxSemiSpaceMiB" },
    heapGrowing: growingDefault,
    malloc: { mmapThresholdBytes: 262144, source: "node.mallocMmapThresholdKiB" },
  });
});

test("runs as it is when the operator set the flag, in any spelling, on the command line or in NODE_OPTIONS", () => {
  const operator = "the operator's --max-semi-space-size";
  for (const execArgv of [
    ["--max-semi-space-size=8"],
    ["--max-semi-space-size", "8"],
    ["--max_semi_space_size=8"],
    ["--max-semi_space-size=8"],
  ]) {
    assert.deepEqual(startPlan(semiOnly, facts({ execArgv })), {
      kind: "run",
      semiSpace: { semiSpaceMiB: 8, source: operator },
      heapGrowing: growingDefault,
      malloc: glibcDefault,
    });
  }
  for (const NODE_OPTIONS of [" --trace-gc  --max-semi-space-size=8 ", '"--max-semi-space-size=8"']) {
    assert.deepEqual(startPlan(semiOnly, facts({ env: { NODE_OPTIONS } })), {
      kind: "run",
      semiSpace: { semiSpaceMiB: 8, source: operator },
      heapGrowing: growingDefault,
      malloc: glibcDefault,
    });
  }
  // The operator's flag stays the operator's when the process re-executes for the malloc setting alone.
  const plan = startPlan(both, facts({ execArgv: ["--max-semi-space-size=8"] }));
  assert.ok(plan.kind === "reexec" && !plan.argv.includes("--max-semi-space-size=16"), JSON.stringify(plan));
  const after = startPlan(
    both,
    facts({
      execArgv: ["--max-semi-space-size=8"],
      env: { MALLOC_MMAP_THRESHOLD_: "262144", [REEXEC_MARK_ENV]: "malloc" },
    }),
  );
  assert.deepEqual(after.kind === "run" && after.semiSpace, { semiSpaceMiB: 8, source: operator });
});

test("node.heapGrowingPercent: re-executes with --heap-growing-percent next to the other settings, and the operator's flag wins", () => {
  const plan = startPlan(all, facts({ execArgv: ["--cpu-prof"] }));
  assert.ok(plan.kind === "reexec", JSON.stringify(plan));
  assert.deepEqual(plan.argv.slice(0, 4), [
    "/usr/bin/node",
    "--max-semi-space-size=16",
    "--heap-growing-percent=50",
    "--cpu-prof",
  ]);
  assert.equal(plan.env[REEXEC_MARK_ENV], "semi-space,heap-growing,malloc");
  assert.deepEqual(plan.adds, ["node.maxSemiSpaceMiB", "node.heapGrowingPercent", "node.mallocMmapThresholdKiB"]);
  const after = startPlan(
    all,
    facts({
      execArgv: ["--max-semi-space-size=16", "--heap-growing-percent=50", "--cpu-prof"],
      env: { MALLOC_MMAP_THRESHOLD_: "262144", [REEXEC_MARK_ENV]: plan.env[REEXEC_MARK_ENV] },
    }),
  );
  assert.deepEqual(after.kind === "run" && after.heapGrowing, {
    heapGrowingPercent: 50,
    source: "node.heapGrowingPercent",
  });

  // Alone, or next to the operator's semi-space flag: only the growing factor is added.
  const alone = startPlan(growingOnly, facts());
  assert.ok(alone.kind === "reexec", JSON.stringify(alone));
  assert.deepEqual(alone.argv, ["/usr/bin/node", "--heap-growing-percent=50", "/app/main.ts", "start", "--home", "h"]);
  assert.deepEqual(alone.env, { PATH: "/bin", [REEXEC_MARK_ENV]: "heap-growing" });
  const mixed = startPlan({ ...all, mallocMmapThresholdKiB: 0 }, facts({ execArgv: ["--max-semi-space-size=8"] }));
  assert.ok(mixed.kind === "reexec", JSON.stringify(mixed));
  assert.deepEqual(mixed.argv.slice(1, 3), ["--heap-growing-percent=50", "--max-semi-space-size=8"]);
  assert.deepEqual(mixed.adds, ["node.heapGrowingPercent"]);
  assert.deepEqual(mixed.fallback.semiSpace, { semiSpaceMiB: 8, source: "the operator's --max-semi-space-size" });

  const operator = "the operator's --heap-growing-percent";
  for (const execArgv of [
    ["--heap-growing-percent=25"],
    ["--heap_growing_percent", "25"],
    ["--heap-growing_percent=25"],
  ]) {
    assert.deepEqual(startPlan(growingOnly, facts({ execArgv })), {
      kind: "run",
      semiSpace: { semiSpaceMiB: null, source: "V8's default" },
      heapGrowing: { heapGrowingPercent: 25, source: operator },
      malloc: glibcDefault,
    });
  }
  // Re-executed for the other settings: the operator's flag stays the operator's.
  const kept = startPlan(
    all,
    facts({
      execArgv: ["--max-semi-space-size=16", "--heap-growing-percent=25"],
      env: { [REEXEC_MARK_ENV]: "semi-space" },
    }),
  );
  assert.ok(kept.kind === "run" && kept.heapGrowing.source === operator, JSON.stringify(kept));

  // Lost on the way, or blocked: reported as not applied, with what to do instead.
  const lost = startPlan(growingOnly, facts({ env: { [REEXEC_MARK_ENV]: "heap-growing" } }));
  assert.ok(lost.kind === "run" && /not applied/.test(lost.heapGrowing.note ?? ""), JSON.stringify(lost));
  const watched = startPlan(growingOnly, facts({ execArgv: ["--watch"] }));
  assert.ok(
    watched.kind === "run" &&
      watched.heapGrowing.heapGrowingPercent === null &&
      /pass --heap-growing-percent yourself/.test(watched.heapGrowing.note ?? ""),
    JSON.stringify(watched),
  );
  const failed = startPlan(growingOnly, facts());
  assert.ok(failed.kind === "reexec" && /not applied/.test(failed.fallback.heapGrowing.note ?? ""));
});

test("runs as it is when the operator set the mmap threshold, as the variable or as a glibc tunable", () => {
  assert.deepEqual(startPlan(mallocOnly, facts({ env: { MALLOC_MMAP_THRESHOLD_: "1048576" } })), {
    kind: "run",
    semiSpace: { semiSpaceMiB: null, source: "V8's default" },
    heapGrowing: growingDefault,
    malloc: { mmapThresholdBytes: 1048576, source: "the operator's MALLOC_MMAP_THRESHOLD_" },
  });
  const tunables = "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072";
  assert.deepEqual(startPlan(mallocOnly, facts({ env: { GLIBC_TUNABLES: tunables } })), {
    kind: "run",
    semiSpace: { semiSpaceMiB: null, source: "V8's default" },
    heapGrowing: growingDefault,
    malloc: { mmapThresholdBytes: 131072, source: "the operator's GLIBC_TUNABLES" },
  });
  // Another tunable alone is not a threshold: the configured one is added.
  const other = startPlan(mallocOnly, facts({ env: { GLIBC_TUNABLES: "glibc.malloc.arena_max=2" } }));
  assert.ok(other.kind === "reexec" && other.env.MALLOC_MMAP_THRESHOLD_ === "262144", JSON.stringify(other));
});

test("never re-executes twice, and not when the config leaves both to defaults, under a debugger or watcher, on Windows, or for a C library that is not glibc", () => {
  const lost = startPlan(both, facts({ env: { [REEXEC_MARK_ENV]: "semi-space,malloc" } }));
  assert.ok(
    lost.kind === "run" &&
      lost.semiSpace.semiSpaceMiB === null &&
      /not applied/.test(lost.semiSpace.note ?? "") &&
      lost.malloc.mmapThresholdBytes === null &&
      /not applied/.test(lost.malloc.note ?? ""),
    JSON.stringify(lost),
  );
  assert.deepEqual(startPlan({ maxSemiSpaceMiB: 0, heapGrowingPercent: 0, mallocMmapThresholdKiB: 0 }, facts()), {
    kind: "run",
    semiSpace: { semiSpaceMiB: null, source: "V8's default" },
    heapGrowing: growingDefault,
    malloc: glibcDefault,
  });
  for (const over of [
    { execArgv: ["--inspect-brk=9229"] },
    { execArgv: ["--watch"] },
    { env: { NODE_OPTIONS: "--inspect-brk" } },
    { env: { WATCH_REPORT_DEPENDENCIES: "1" } },
    { platform: "win32", isGlibc: () => false },
    { platform: "os400", isGlibc: () => false },
  ]) {
    const plan = startPlan(semiOnly, facts(over));
    assert.ok(plan.kind === "run" && /not applied/.test(plan.semiSpace.note ?? ""), JSON.stringify(plan));
  }
  const blocked = startPlan(mallocOnly, facts({ execArgv: ["--watch"] }));
  assert.ok(blocked.kind === "run" && /MALLOC_MMAP_THRESHOLD_ yourself/.test(blocked.malloc.note ?? ""));
  const musl = startPlan(mallocOnly, facts({ isGlibc: () => false }));
  assert.ok(musl.kind === "run" && /not glibc/.test(musl.malloc.note ?? ""), JSON.stringify(musl));
  // Blocked with the operator's setting on the other side: that one is still reported as the operator's.
  const watched = startPlan(mallocOnly, facts({ execArgv: ["--watch", "--max-semi-space-size=8"] }));
  assert.deepEqual(watched.kind === "run" && watched.semiSpace, {
    semiSpaceMiB: 8,
    source: "the operator's --max-semi-space-size",
  });
});

test("when the re-execution does not happen, each setting is reported as it really runs", () => {
  // Only the malloc setting is added; the operator's flag is in effect either way.
  const plan = startPlan(both, facts({ execArgv: ["--max-semi-space-size=8"] }));
  assert.ok(plan.kind === "reexec");
  assert.deepEqual(plan.adds, ["node.mallocMmapThresholdKiB"]);
  assert.deepEqual(plan.fallback.semiSpace, { semiSpaceMiB: 8, source: "the operator's --max-semi-space-size" });
  assert.ok(
    plan.fallback.malloc.mmapThresholdBytes === null && /not applied/.test(plan.fallback.malloc.note ?? ""),
    JSON.stringify(plan.fallback),
  );
  const both2 = startPlan(both, facts());
  assert.ok(both2.kind === "reexec");
  assert.deepEqual(both2.adds, ["node.maxSemiSpaceMiB", "node.mallocMmapThresholdKiB"]);
  assert.ok(/not applied/.test(both2.fallback.semiSpace.note ?? ""), JSON.stringify(both2.fallback));
});

test("an operator's threshold is reported as glibc reads it: empty is 0, hex counts, above 32 MiB is ignored, no glibc no effect", () => {
  const run = (value: string, isGlibc = () => true) => {
    const plan = startPlan(mallocOnly, facts({ env: { MALLOC_MMAP_THRESHOLD_: value }, isGlibc }));
    assert.equal(plan.kind, "run", "the operator's value is never replaced");
    return plan.kind === "run" ? plan.malloc : null;
  };
  const empty = run("");
  assert.ok(empty?.mmapThresholdBytes === 0 && /every allocation/.test(empty.note ?? ""), JSON.stringify(empty));
  assert.equal(run("0x40000")?.mmapThresholdBytes, 262144);
  assert.equal(run("1048576")?.mmapThresholdBytes, 1048576);
  const huge = run(String(64 * 1024 * 1024));
  assert.ok(huge?.mmapThresholdBytes === null && /above 32 MiB/.test(huge.note ?? ""), JSON.stringify(huge));
  const musl = run("262144", () => false);
  assert.ok(musl?.mmapThresholdBytes === null && /no effect/.test(musl.note ?? ""), JSON.stringify(musl));
});

test("the C library is asked about only when the answer matters", () => {
  const never = () => {
    throw new Error("asked");
  };
  assert.equal(startPlan(semiOnly, facts({ isGlibc: never })).kind, "reexec");
});

let cluster: LocalCluster | null = null;
after(async () => {
  await cluster?.destroy();
});

interface LoggedLimit {
  semiSpaceMiB: number | null;
  source: string;
  heapSizeLimitMiB: number;
  pid: number;
}

interface LoggedGrowing {
  heapGrowingPercent: number | null;
  source: string;
  pid: number;
}

interface LoggedThreshold {
  mmapThresholdBytes: number | null;
  source: string;
  pid: number;
}

/** The node's own account of a start-up setting: the last log line with `msg` since `offset`. */
function logged<T>(logFile: string, offset: number, msg: string): T {
  const lines = readFileSync(logFile, "utf8").slice(offset).split("\n");
  const line = lines.reverse().find((l) => l.includes(msg));
  assert.ok(line, `the node logs "${msg}" at start`);
  return JSON.parse(line);
}

const loggedLimit = (logFile: string, offset: number) =>
  logged<LoggedLimit>(logFile, offset, "V8 young generation limit");
const loggedGrowing = (logFile: string, offset: number) =>
  logged<LoggedGrowing>(logFile, offset, "V8 old generation growing factor");
const loggedThreshold = (logFile: string, offset: number) =>
  logged<LoggedThreshold>(logFile, offset, "glibc malloc mmap threshold");

/** The environment the running process was started with. */
function environ(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8")
    .split("\0")
    .filter((s) => s.includes("="))
    .map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)] as [string, string]);
  return new Map(entries);
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8")
    .split("\0")
    .filter((s) => s.length > 0);
}

test("a started node runs with the configured limit and threshold under its first pid; the operator's settings and 0 are respected", {
  timeout: 120_000,
}, async () => {
  cluster = await LocalCluster.create({ validators: 1 });
  const node = cluster.node("node0");
  // Whatever the test runner has, the node sees none of the settings of its own.
  const env = { NODE_OPTIONS: "", MALLOC_MMAP_THRESHOLD_: undefined, GLIBC_TUNABLES: undefined };
  // Not the shipped default: the value must come from the config.
  const sets = ["node.maxSemiSpaceMiB=64", "node.heapGrowingPercent=40", "node.mallocMmapThresholdKiB=512"];

  let offset = 0;
  const pid = await cluster.startAndWait(node, { env, sets });
  assert.equal(node.pid, pid, "re-executed in place: the pid file still names the running process");
  assert.ok(cmdline(pid).includes("--max-semi-space-size=64"), cmdline(pid).join(" "));
  const configured = loggedLimit(node.logFile, offset);
  assert.deepEqual([configured.semiSpaceMiB, configured.source, configured.pid], [64, "node.maxSemiSpaceMiB", pid]);
  assert.ok(cmdline(pid).includes("--heap-growing-percent=40"), cmdline(pid).join(" "));
  const growing = loggedGrowing(node.logFile, offset);
  assert.deepEqual([growing.heapGrowingPercent, growing.source, growing.pid], [40, "node.heapGrowingPercent", pid]);
  assert.equal(environ(pid).get("MALLOC_MMAP_THRESHOLD_"), "524288", "glibc got the threshold at exec");
  const threshold = loggedThreshold(node.logFile, offset);
  assert.deepEqual(
    [threshold.mmapThresholdBytes, threshold.source, threshold.pid],
    [524288, "node.mallocMmapThresholdKiB", pid],
  );
  await cluster.stop(node);

  offset = readFileSync(node.logFile, "utf8").length;
  const pid2 = await cluster.startAndWait(node, {
    env: { NODE_OPTIONS: "--max-semi-space-size=8", MALLOC_MMAP_THRESHOLD_: "1048576" },
    sets,
  });
  assert.ok(!cmdline(pid2).some((a) => a.startsWith("--max-semi-space-size")), "the operator's flag is not overridden");
  assert.equal(environ(pid2).get("MALLOC_MMAP_THRESHOLD_"), "1048576", "nor the operator's threshold");
  assert.equal(loggedThreshold(node.logFile, offset).source, "the operator's MALLOC_MMAP_THRESHOLD_");
  const operator = loggedLimit(node.logFile, offset);
  assert.deepEqual([operator.semiSpaceMiB, operator.source], [8, "the operator's --max-semi-space-size"]);
  // V8's heap limit counts three semi-spaces: the flags really took, 3 x (64 - 8) MiB apart.
  assert.equal(configured.heapSizeLimitMiB - operator.heapSizeLimitMiB, 168);
  await cluster.stop(node);

  offset = readFileSync(node.logFile, "utf8").length;
  const pid3 = await cluster.startAndWait(node, {
    env,
    sets: ["node.maxSemiSpaceMiB=0", "node.heapGrowingPercent=0", "node.mallocMmapThresholdKiB=0"],
  });
  assert.ok(!cmdline(pid3).some((a) => a.startsWith("--max-semi-space-size")), cmdline(pid3).join(" "));
  assert.ok(!cmdline(pid3).some((a) => a.startsWith("--heap-growing-percent")), cmdline(pid3).join(" "));
  assert.equal(loggedGrowing(node.logFile, offset).source, "V8's default");
  assert.equal(environ(pid3).get("MALLOC_MMAP_THRESHOLD_"), undefined, "no threshold of ours");
  assert.equal(loggedLimit(node.logFile, offset).source, "V8's default");
  assert.equal(loggedThreshold(node.logFile, offset).source, "glibc's default");
});
