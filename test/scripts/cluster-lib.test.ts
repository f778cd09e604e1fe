/**
 * scripts/cluster with real processes: the pieces the chaos, failover and
 * attestation tests build on (signals, extra homes with --set overrides,
 * wait-for-index, no node outliving its owner).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { isRunning, LocalCluster, sleep } from "../../scripts/cluster/index.ts";

let cluster: LocalCluster | undefined;
after(async () => {
  await cluster?.destroy();
});

/** Submits one tx to the node so the chain has something to finalize. */
async function nudge(c: LocalCluster, name: string, i: number): Promise<void> {
  const r = await c.node(name).post("/txs", { txs: [`lib-${i}=${i}`] });
  assert.equal(r.status, 202, JSON.stringify(r.body));
}

test("one validator: start, finalize, SIGSTOP/SIGCONT, kill -9 and restart from its data; extra homes", {
  timeout: 240_000,
}, async () => {
  cluster = await LocalCluster.create({ validators: 1, sets: ["consensus.viewTimeoutMs=2000"] });
  const c = cluster;
  assert.deepEqual(
    c.nodes.map((n) => [n.name, n.role]),
    [["node0", "validator"]],
  );
  assert.match(readFileSync(join(c.node("node0").home, "config.toml"), "utf8"), /viewTimeoutMs = 2000/);
  const node0 = c.node(0);
  await c.startAll();
  await nudge(c, "node0", 1);
  const { finalizedIndex } = await c.waitFinalized(node0, 1);

  c.pause(node0);
  assert.equal(node0.running, true, "a stopped process still exists");
  c.resume(node0);
  await nudge(c, "node0", 2);
  await c.waitFinalized(node0, finalizedIndex + 1);

  const pid = node0.pid!;
  await c.kill9(node0);
  assert.equal(node0.running, false);
  assert.equal(isRunning(pid), false);
  await c.startAndWait(node0);
  assert.equal(node0.starts, 2);
  assert.ok((await c.minFinalized([node0])) >= finalizedIndex + 1, "finalized state survives kill -9");

  // An observer with its own --set, started late: it syncs what node0 finalized.
  const observer = await c.addNode({ sets: ["metrics.statusIntervalMs=0"] });
  assert.equal(observer.name, "observer0");
  assert.match(readFileSync(join(observer.home, "config.toml"), "utf8"), /statusIntervalMs = 0/);
  await c.startAndWait(observer);
  const target = await c.minFinalized([node0]);
  await c.waitFinalized(observer, target);
  assert.equal((await observer.status())?.validatorIndex, null);

  // A standby home holds node0's validator key (HA), on its own ports; it is not started here.
  const standby = await c.addNode({ role: "standby", keyOf: node0 });
  assert.equal(standby.role, "standby");
  assert.deepEqual(
    readFileSync(join(standby.home, "validator_key.json")),
    readFileSync(join(node0.home, "validator_key.json")),
  );
  assert.notEqual(standby.apiPort, node0.apiPort);
  assert.deepEqual(
    LocalCluster.open(c.dir).nodes.map((n) => n.name),
    ["node0", "observer0", "standby0"],
    "another process sees the extra nodes",
  );

  const result = await c.stop(node0);
  assert.deepEqual([result.outcome, result.code], ["stopped", 0]);
  const dir = c.dir;
  await c.destroy();
  cluster = undefined;
  assert.equal(existsSync(dir), false);
});

test("stopOnExit: when its owner is killed by SIGTERM, no node outlives it and the directory is gone", {
  timeout: 120_000,
}, async () => {
  const owner = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "cluster-owner.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const first = await createInterface({ input: owner.stdout! })[Symbol.asyncIterator]().next();
  const { dir, pid } = JSON.parse(String(first.value)) as { dir: string; pid: number };
  assert.equal(isRunning(pid), true);
  const exited = new Promise<string | null>((resolve) => owner.once("exit", (_code, signal) => resolve(signal)));
  owner.kill("SIGTERM");
  assert.equal(await exited, "SIGTERM");
  for (let i = 0; i < 50 && isRunning(pid); i++) await sleep(100);
  assert.equal(isRunning(pid), false, "the node died with its owner");
  assert.equal(existsSync(dir), false);
});
