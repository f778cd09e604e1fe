/**
 * Issue 15 item 9: `npm pack` then `npm install -g <tarball>` gives a working
 * `validator` binary. Installed into a temp prefix, for real: Node refuses to
 * strip types under node_modules, so this proves the package ships the
 * JavaScript tsc emitted (the prepack step), and runs a node from it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, tempDir } from "../cli/run.ts";
import { freePort, waitUntil } from "./node-process.ts";

test("npm pack + npm install -g of the tarball gives a validator binary that inits, starts and finalizes", {
  timeout: 300_000,
}, async () => {
  const { dir, cleanup } = tempDir("opsafety-package-");
  const env = { ...process.env, npm_config_update_notifier: "false" };
  const pack = spawnSync("npm", ["pack", "--pack-destination", dir], {
    cwd: REPO,
    env,
    encoding: "utf8",
    timeout: 240_000,
  });
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  assert.ok(tarball, `no tarball in ${dir}`);
  const listing = spawnSync("tar", ["-tzf", join(dir, tarball)], { encoding: "utf8" }).stdout;
  assert.match(listing, /package\/dist\/node\/main\.js/);
  assert.doesNotMatch(listing, /package\/node\/main\.ts/, "TypeScript sources would fail under node_modules");
  assert.doesNotMatch(listing, /validator_key|node_key/, "no keys in the package");

  const prefix = join(dir, "prefix");
  const install = spawnSync(
    "npm",
    ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball)],
    { cwd: dir, env, encoding: "utf8", timeout: 240_000 },
  );
  assert.equal(install.status, 0, install.stderr);
  const bin = join(prefix, "bin", "validator");
  assert.ok(existsSync(bin), `no ${bin}`);

  const childEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir };
  const version = spawnSync(bin, ["version"], { cwd: dir, env: childEnv, encoding: "utf8" });
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /^validator \d+\.\d+\.\d+$/m);
  assert.doesNotMatch(version.stderr, /ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING/);

  const home = join(dir, "home");
  const p2p = await freePort();
  const api = await freePort();
  const init = spawnSync(
    bin,
    ["init", "--home", home, "--set", `p2p.listen=/ip4/127.0.0.1/tcp/${p2p}`, "--set", `api.port=${api}`],
    { cwd: dir, env: childEnv, encoding: "utf8" },
  );
  assert.equal(init.status, 0, init.stderr);

  const node = spawn(bin, ["start", "--home", home], { cwd: dir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  node.stdout.on("data", (d: Buffer) => (log += d.toString()));
  node.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => node.once("exit", (code) => resolve(code)));
  try {
    const base = `http://127.0.0.1:${api}`;
    await waitUntil("the installed node's API", async () => (await fetch(`${base}/status`)).ok);
    const r = await fetch(`${base}/txs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ txs: ["installed=yes"] }),
    });
    assert.equal(r.status, 202);
    await waitUntil("the tx to be finalized", async () => (await fetch(`${base}/kv/installed`)).ok);
    assert.deepEqual(await (await fetch(`${base}/kv/installed`)).json(), { key: "installed", value: "yes" });
  } finally {
    node.kill("SIGTERM");
    assert.equal(await exited, 0, log.slice(-3000));
    cleanup();
  }
});
