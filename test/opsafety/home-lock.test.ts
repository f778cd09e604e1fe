/**
 * Issue 15 item 1: `init --force` and `reset` on the home of a running node
 * refuse, name the process that holds it, and change nothing.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { hasStackTrace, tempDir } from "../cli/run.ts";
import { initHome, runValidator, startNodeProcess, stopProcess } from "./node-process.ts";

test("init --force and reset refuse while a node runs with the home, and say which pid", async () => {
  const { dir, cleanup } = tempDir("opsafety-lock-");
  const home = join(dir, "home");
  const { apiPort } = await initHome(home);
  const keyBefore = readFileSync(join(home, "validator_key.json"), "utf8");
  const node = await startNodeProcess(home, apiPort);
  try {
    const pid = String(node.child.pid);
    const force = runValidator(["init", "--home", home, "--force"]);
    assert.equal(force.code, 1, force.stdout + force.stderr);
    assert.match(force.stderr, /init --force refused: a node is running with home/);
    assert.ok(force.stderr.includes(`pid ${pid}`), force.stderr);
    assert.doesNotMatch(force.stdout, /initialized/);
    assert.ok(!hasStackTrace(force.stderr));

    const reset = runValidator(["reset", "--home", home, "--yes"]);
    assert.equal(reset.code, 1, reset.stdout + reset.stderr);
    assert.match(reset.stderr, /reset refused: a node is running/);
    assert.ok(reset.stderr.includes(`pid ${pid}`), reset.stderr);

    // Nothing was touched, and the node still answers.
    assert.equal(readFileSync(join(home, "validator_key.json"), "utf8"), keyBefore);
    assert.ok(existsSync(join(home, "data", "db", "CURRENT")));
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/status`)).status, 200);
  } finally {
    assert.equal(await stopProcess(node), 0);
  }
  // Stopped: both work again, and the pid file is gone.
  assert.ok(!existsSync(join(home, "data", "node.pid")), "the pid file outlived the node");
  const force = runValidator(["init", "--home", home, "--force"]);
  assert.equal(force.code, 0, force.stderr);
  assert.notEqual(readFileSync(join(home, "validator_key.json"), "utf8"), keyBefore);
  cleanup();
});
