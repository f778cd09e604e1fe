/**
 * node.maxSemiSpaceMiB: `validator start` re-executes itself once with
 * --max-semi-space-size (V8 reads it only at process start), keeps its pid,
 * and leaves an operator's own flag alone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { semiSpaceReexecArgv, semiSpaceState } from "../../node/runtime/index.ts";
import { LocalCluster } from "../../scripts/cluster/index.ts";

const base = { execPath: "/usr/bin/node", argv: ["/usr/bin/node", "/app/main.ts", "start", "--home", "h"] };

test("re-executes with the configured limit first, keeping Node's flags and the command", () => {
  assert.deepEqual(
    semiSpaceReexecArgv({ ...base, configuredMiB: 16, execArgv: ["--cpu-prof"], nodeOptions: undefined }),
    ["/usr/bin/node", "--max-semi-space-size=16", "--cpu-prof", "/app/main.ts", "start", "--home", "h"],
  );
});

test("does not re-execute when the config leaves it to V8 or the flag is already there, in any spelling", () => {
  const none = { ...base, configuredMiB: 16, nodeOptions: undefined };
  assert.equal(semiSpaceReexecArgv({ ...base, configuredMiB: 0, execArgv: [], nodeOptions: undefined }), null);
  assert.equal(semiSpaceReexecArgv({ ...none, execArgv: ["--max-semi-space-size=16"] }), null);
  assert.equal(semiSpaceReexecArgv({ ...none, execArgv: ["--max-semi-space-size", "8"] }), null);
  assert.equal(semiSpaceReexecArgv({ ...none, execArgv: ["--max_semi_space_size=8"] }), null);
  assert.equal(
    semiSpaceReexecArgv({
      ...base,
      configuredMiB: 16,
      execArgv: [],
      nodeOptions: " --trace-gc  --max-semi-space-size=32 ",
    }),
    null,
  );
});

test("the state names where the limit comes from", () => {
  assert.deepEqual(semiSpaceState({ configuredMiB: 16, execArgv: ["--max-semi-space-size=16"], nodeOptions: "" }), {
    semiSpaceMiB: 16,
    source: "node.maxSemiSpaceMiB",
  });
  assert.deepEqual(semiSpaceState({ configuredMiB: 16, execArgv: ["--max-semi-space-size=8"], nodeOptions: "" }), {
    semiSpaceMiB: 8,
    source: "the operator's --max-semi-space-size",
  });
  assert.deepEqual(semiSpaceState({ configuredMiB: 16, execArgv: [], nodeOptions: "--max-semi-space-size=32" }), {
    semiSpaceMiB: 32,
    source: "the operator's --max-semi-space-size",
  });
  assert.deepEqual(semiSpaceState({ configuredMiB: 0, execArgv: [], nodeOptions: undefined }), {
    semiSpaceMiB: null,
    source: "V8's default",
  });
});

let cluster: LocalCluster | null = null;
after(async () => {
  await cluster?.destroy();
});

/** The node's own account of its limit: the last such log line since `offset`. */
function loggedState(logFile: string, offset: number): { semiSpaceMiB: number | null; source: string; pid: number } {
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

test("a started node runs with the limit under its first pid; the operator's NODE_OPTIONS and 0 are respected", {
  timeout: 120_000,
}, async () => {
  cluster = await LocalCluster.create({ validators: 1 });
  const node = cluster.node("node0");
  const env = { NODE_OPTIONS: "" };

  let offset = 0;
  const pid = await cluster.startAndWait(node, { env });
  assert.equal(node.pid, pid, "re-executed in place: the pid file still names the running process");
  assert.ok(cmdline(pid).includes("--max-semi-space-size=16"), cmdline(pid).join(" "));
  const first = loggedState(node.logFile, offset);
  assert.deepEqual([first.semiSpaceMiB, first.source, first.pid], [16, "node.maxSemiSpaceMiB", pid]);
  await cluster.stop(node);

  offset = readFileSync(node.logFile, "utf8").length;
  const pid2 = await cluster.startAndWait(node, { env: { NODE_OPTIONS: "--max-semi-space-size=8" } });
  assert.ok(!cmdline(pid2).includes("--max-semi-space-size=16"), "the operator's flag is not overridden");
  assert.equal(loggedState(node.logFile, offset).semiSpaceMiB, 8);
  assert.equal(loggedState(node.logFile, offset).source, "the operator's --max-semi-space-size");
  await cluster.stop(node);

  offset = readFileSync(node.logFile, "utf8").length;
  const pid3 = await cluster.startAndWait(node, { env, sets: ["node.maxSemiSpaceMiB=0"] });
  assert.ok(!cmdline(pid3).some((a) => a.startsWith("--max-semi-space-size")), cmdline(pid3).join(" "));
  assert.equal(loggedState(node.logFile, offset).source, "V8's default");
});
