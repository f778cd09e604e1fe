/**
 * Issue 15 items 7 and 8 through the real CLI: `status --home <typo>` does
 * not ask some default node, and `init` / `testnet` honour and validate
 * VALIDATOR_* variables as the README says.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { hasStackTrace, MAIN, REPO, tempDir } from "../cli/run.ts";
import { runValidator } from "./node-process.ts";

/** A fake node API on 127.0.0.1:26657 (the default status asks), or null when the port is taken. */
function fakeDefaultNode(hits: string[]): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      hits.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    server.once("error", () => resolve(null));
    server.listen({ host: "127.0.0.1", port: 26657 }, () => resolve(server));
  });
}

/** Like runValidator, but async (the fake server must answer while the CLI runs). */
function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("item 7: status --home <typo> (or $VALIDATOR_HOME) is an error naming the path; no default node is asked", async () => {
  const { dir, cleanup } = tempDir("opsafety-status-");
  const hits: string[] = [];
  const fake = await fakeDefaultNode(hits);
  try {
    const typo = join(dir, "hmoe");
    const r = await run(["status", "--home", typo], { HOME: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`no node home at ${typo} \\(from --home\\)`));
    assert.match(r.stderr, /--api http:\/\/host:port/);
    assert.equal(r.stdout, "");
    const viaEnv = await run(["status"], { HOME: dir, VALIDATOR_HOME: typo });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, /from \$VALIDATOR_HOME/);
    assert.deepEqual(hits, [], "a default node was asked");
  } finally {
    fake?.close();
    cleanup();
  }
});

test("item 8: init honours VALIDATOR_* variables (written to config.toml) and refuses unknown or bad ones", () => {
  const { dir, cleanup } = tempDir("opsafety-env-");
  const unknown = runValidator(["init", "--home", join(dir, "a")], { VALIDATOR_CONSENSUS_FOO: "1" });
  assert.equal(unknown.code, 2, unknown.stdout); // README: a bad VALIDATOR_* value is a usage error
  assert.match(unknown.stderr, /VALIDATOR_CONSENSUS_FOO/);
  assert.ok(!existsSync(join(dir, "a", "config.toml")), "a home was written anyway");
  assert.ok(!hasStackTrace(unknown.stderr));

  const bad = runValidator(["init", "--home", join(dir, "b")], { VALIDATOR_API_PORT: "http" });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /api\.port = "http" \(from env VALIDATOR_API_PORT\)/);

  const good = runValidator(["init", "--home", join(dir, "c")], {
    VALIDATOR_API_PORT: "23999",
    VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS: "2500",
  });
  assert.equal(good.code, 0, good.stderr);
  const toml = readFileSync(join(dir, "c", "config.toml"), "utf8");
  assert.match(toml, /^port = 23999$/m);
  assert.match(toml, /^viewTimeoutMs = 2500$/m);
  cleanup();
});

test("item 8: testnet honours VALIDATOR_* variables in every home and refuses unknown ones", () => {
  const { dir, cleanup } = tempDir("opsafety-env-testnet-");
  const unknown = runValidator(["testnet", "--validators", "2", "--out", join(dir, "x")], { VALIDATOR_LANES_BAR: "1" });
  assert.equal(unknown.code, 2, unknown.stdout); // README: a bad VALIDATOR_* value is a usage error
  assert.match(unknown.stderr, /VALIDATOR_LANES_BAR/);
  assert.ok(!existsSync(join(dir, "x")), "homes were written anyway");

  const good = runValidator(["testnet", "--validators", "2", "--out", join(dir, "y"), "--base-port", "24100"], {
    VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS: "3000",
    // testnet's own wiring (ports, peers) wins over the environment.
    VALIDATOR_API_PORT: "1",
  });
  assert.equal(good.code, 0, good.stderr);
  for (const [n, port] of [
    ["node0", 24101],
    ["node1", 24103],
  ] as const) {
    const toml = readFileSync(join(dir, "y", n, "config.toml"), "utf8");
    assert.match(toml, /^viewTimeoutMs = 3000$/m);
    assert.match(toml, new RegExp(`^port = ${port}$`, "m"));
  }
  cleanup();
});
