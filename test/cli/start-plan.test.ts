/**
 * node.maxSemiSpaceMiB: `validator start` re-executes itself once with
 * --max-semi-space-size (V8 reads it only at process start), keeps its pid,
 * and leaves an operator's own flag alone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { type ProcessFacts, SEMI_SPACE_MARK_ENV, semiSpacePlan } from "../../node/config/index.ts";
import { LocalCluster } from "../../scripts/cluster/index.ts";

const facts = (over: Partial<ProcessFacts> = {}): ProcessFacts => ({
  execPath: "/usr/bin/node",
  execArgv: [],
  argv: ["/usr/bin/node", "/app/main.ts", "start", "--home", "h"],
  env: { PATH: "/bin" },
  platform: "linux",
  ...over,
});

test("re-executes with the configured limit first, keeping Node's flags, the command and the environment, marked", () => {
  const plan = semiSpacePlan(16, facts({ execArgv: ["--cpu-prof", "--", "x"] }));
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
  assert.deepEqual(plan.kind === "reexec" && plan.env, { PATH: "/bin", [SEMI_SPACE_MARK_ENV]: "1" });
});

test("runs as it is when the operator set the flag, in any spelling, on the command line or in NODE_OPTIONS", () => {
  const operator = "the operator's --max-semi-space-size";
  for (const execArgv of [["--max-semi-space-size=8"], ["--max-semi-space-size", "8"], ["--max_semi_space_size=8"]]) {
    assert.deepEqual(semiSpacePlan(16, facts({ execArgv })), { kind: "run", semiSpaceMiB: 8, source: operator });
  }
  for (const NODE_OPTIONS of [" --trace-gc  --max-semi-space-size=8 ", '"--max-semi-space-size=8"']) {
    assert.deepEqual(semiSpacePlan(16, facts({ env: { NODE_OPTIONS } })), {
      kind: "run",
      semiSpaceMiB: 8,
      source: operator,
    });
  }
});

test("never re-executes twice, and not when the config leaves it to V8, under a debugger or watcher, or on Windows", () => {
  const marked = { [SEMI_SPACE_MARK_ENV]: "1" };
  assert.deepEqual(semiSpacePlan(16, facts({ execArgv: ["--max-semi-space-size=16"], env: marked })), {
    kind: "run",
    semiSpaceMiB: 16,
    source: "node.maxSemiSpaceMiB",
  });
  const lost = semiSpacePlan(16, facts({ env: marked }));
  assert.ok(
    lost.kind === "run" && lost.semiSpaceMiB === null && /not applied/.test(lost.note ?? ""),
    JSON.stringify(lost),
  );
  assert.deepEqual(semiSpacePlan(0, facts()), { kind: "run", semiSpaceMiB: null, source: "V8's default" });
  for (const over of [
    { execArgv: ["--inspect-brk=9229"] },
    { execArgv: ["--watch"] },
    { platform: "win32" },
    { platform: "os400" },
  ]) {
    const plan = semiSpacePlan(16, facts(over));
    assert.ok(plan.kind === "run" && /not applied/.test(plan.note ?? ""), JSON.stringify(plan));
  }
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

/** The node's own account of its limit: the last such log line since `offset`. */
function loggedLimit(logFile: string, offset: number): LoggedLimit {
  const lines = readFileSync(logFile, "utf8").slice(offset).split("\n");
  const line = lines.reverse().find((l) => l.includes("V8 young generation limit"));
  assert.ok(line, "the node logs its young generation limit at start");
  return JSON.parse(line);
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8")
    .split("\0")
    .filter((s) => s.length > 0);
}

test("a started node runs with the configured limit under its first pid; the operator's NODE_OPTIONS and 0 are respected", {
  timeout: 120_000,
}, async () => {
  cluster = await LocalCluster.create({ validators: 1 });
  const node = cluster.node("node0");
  const env = { NODE_OPTIONS: "" };
  // Not the shipped default: the value must come from the config.
  const sets = ["node.maxSemiSpaceMiB=64"];

  let offset = 0;
  const pid = await cluster.startAndWait(node, { env, sets });
  assert.equal(node.pid, pid, "re-executed in place: the pid file still names the running process");
  assert.ok(cmdline(pid).includes("--max-semi-space-size=64"), cmdline(pid).join(" "));
  const configured = loggedLimit(node.logFile, offset);
  assert.deepEqual([configured.semiSpaceMiB, configured.source, configured.pid], [64, "node.maxSemiSpaceMiB", pid]);
  await cluster.stop(node);

  offset = readFileSync(node.logFile, "utf8").length;
  const pid2 = await cluster.startAndWait(node, { env: { NODE_OPTIONS: "--max-semi-space-size=8" }, sets });
  assert.ok(!cmdline(pid2).some((a) => a.startsWith("--max-semi-space-size")), "the operator's flag is not overridden");
  const operator = loggedLimit(node.logFile, offset);
  assert.deepEqual([operator.semiSpaceMiB, operator.source], [8, "the operator's --max-semi-space-size"]);
  // V8's heap limit counts three semi-spaces: the flags really took, 3 x (64 - 8) MiB apart.
  assert.equal(configured.heapSizeLimitMiB - operator.heapSizeLimitMiB, 168);
  await cluster.stop(node);

  offset = readFileSync(node.logFile, "utf8").length;
  const pid3 = await cluster.startAndWait(node, { env, sets: ["node.maxSemiSpaceMiB=0"] });
  assert.ok(!cmdline(pid3).some((a) => a.startsWith("--max-semi-space-size")), cmdline(pid3).join(" "));
  assert.equal(loggedLimit(node.logFile, offset).source, "V8's default");
});
