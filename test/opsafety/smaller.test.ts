/**
 * Issue 15 item 10, through the real CLI and real processes: a POST with
 * more txs than lanes.mempoolMaxTxs gets 413 and says why; `network
 * started` is logged once; `kill -TERM` of `npm start` stops the node too;
 * an observer's 503 carries Retry-After; `devnet up --set` on an existing
 * devnet refuses clearly instead of ignoring the values.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pickBasePort } from "../../scripts/cluster/index.ts";
import { tempDir } from "../cli/run.ts";
import { devnet } from "../scripts/run.ts";
import {
  freePort,
  initHome,
  jsonLines,
  REPO,
  runValidator,
  startNodeProcess,
  stopProcess,
  waitUntil,
} from "./node-process.ts";

const post = (base: string, txs: string[]) =>
  fetch(`${base}/txs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ txs }),
  });

test("413 for more txs than the mempool can hold (naming lanes.mempoolMaxTxs); network started logged once", async () => {
  const { dir, cleanup } = tempDir("opsafety-413-");
  const home = join(dir, "home");
  const { apiPort } = await initHome(home);
  const node = await startNodeProcess(home, apiPort, ["--set", "lanes.mempoolMaxTxs=5"]);
  try {
    const base = `http://127.0.0.1:${apiPort}`;
    const big = await post(base, ["a=1", "b=2", "c=3", "d=4", "e=5", "f=6"]);
    assert.equal(big.status, 413);
    const body = (await big.json()) as { error: string };
    assert.match(body.error, /holds 6 txs.*lanes\.mempoolMaxTxs = 5.*none was accepted: send at most 5 per request/);
    const ok = await post(base, ["a=1", "b=2", "c=3", "d=4", "e=5"]);
    assert.equal(ok.status, 202);
  } finally {
    assert.equal(await stopProcess(node), 0);
  }
  const started = jsonLines(node.out()).filter((l) => String(l.msg).startsWith("network started"));
  assert.equal(started.length, 1, `"network started" lines: ${JSON.stringify(started)}`);
  cleanup();
});

test("kill -TERM of the npm start process stops the node too (no orphan keeps the ports)", async () => {
  const { dir, cleanup } = tempDir("opsafety-npmstart-");
  const home = join(dir, "dev");
  const p2p = await freePort();
  const api = await freePort();
  const npm = spawn(
    "npm",
    ["start", "--", "--home", home, "--api-port", String(api), "--set", `p2p.listen=/ip4/127.0.0.1/tcp/${p2p}`],
    { cwd: REPO, env: { ...process.env, npm_config_update_notifier: "false" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  npm.stdout.on("data", (d: Buffer) => (log += d.toString()));
  npm.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const npmExited = new Promise((resolve) => npm.once("exit", resolve));
  await waitUntil("npm start's node to answer", async () => (await fetch(`http://127.0.0.1:${api}/status`)).ok);
  const nodePid = Number(readFileSync(join(home, "data", "node.pid"), "utf8"));
  assert.notEqual(nodePid, npm.pid);
  npm.kill("SIGTERM");
  await npmExited;
  const alive = () => {
    try {
      process.kill(nodePid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    await waitUntil("the node to exit after npm was stopped", () => !alive(), undefined, 30_000);
  } finally {
    if (alive()) process.kill(nodePid, "SIGKILL");
  }
  await assert.rejects(fetch(`http://127.0.0.1:${api}/status`), "the API port is still served");
  assert.ok(
    jsonLines(log).some((l) => l.msg === "stopped" && l.exitCode === 0),
    `no clean stop:\n${log.slice(-2000)}`,
  );
  cleanup();
});

test("an observer's 503 carries Retry-After", async () => {
  const { dir, cleanup } = tempDir("opsafety-observer-");
  const base = await pickBasePort({ count: 4 });
  const out = join(dir, "net");
  const r = runValidator([
    "testnet",
    "--validators",
    "1",
    "--observers",
    "1",
    "--out",
    out,
    "--base-port",
    String(base),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const apiPort = base + 3;
  const observer = await startNodeProcess(join(out, "observer0"), apiPort);
  try {
    const res = await post(`http://127.0.0.1:${apiPort}`, ["x=1"]);
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get("retry-after")) >= 1, `Retry-After: ${res.headers.get("retry-after")}`);
    assert.match(((await res.json()) as { error: string }).error, /observer/);
  } finally {
    assert.equal(await stopProcess(observer), 0);
    cleanup();
  }
});

test("devnet up --set on an existing devnet refuses clearly; the same --set (or none) resumes it", () => {
  const { dir, cleanup } = tempDir("opsafety-devnet-");
  const devnetDir = join(dir, "devnet");
  try {
    const bad = devnet(devnetDir, ["up", "1", "--set", "consensus.nope=1"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /consensus\.nope/);
    const created = devnet(devnetDir, ["up", "1", "--set", "consensus.viewTimeoutMs=1500"]);
    assert.equal(created.code, 0, created.stderr);
    const again = devnet(devnetDir, ["up", "--set", "consensus.viewTimeoutMs=3000"]);
    assert.equal(again.code, 1, again.stdout);
    assert.match(
      again.stderr,
      /created with --set consensus\.viewTimeoutMs=1500; --set applies only when a devnet is created/,
    );
    assert.match(again.stderr, /`down` and `clean` first/);
    const toml = readFileSync(join(devnetDir, "homes", "node0", "config.toml"), "utf8");
    assert.match(toml, /^viewTimeoutMs = 1500$/m, "the existing devnet was changed");
    const same = devnet(devnetDir, ["up", "--set", "consensus.viewTimeoutMs=1500"]);
    assert.equal(same.code, 0, same.stderr);
  } finally {
    devnet(devnetDir, ["down"]);
    cleanup();
  }
});
