import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import pino from "pino";
import { type ApiBackend, buildApi, type StatusJson } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";
import { MAIN, REPO, runValidator, tempDir } from "./run.ts";

const tmp = tempDir("validator-reset-");
after(tmp.cleanup);

test("reset asks for --yes, then deletes the data directory and keeps keys, config and genesis", () => {
  const home = join(tmp.dir, "home");
  assert.equal(runValidator(["init", "--home", home]).code, 0);
  const data = join(home, "data", "db");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "marker"), "x");

  const unconfirmed = runValidator(["reset", "--home", home]);
  assert.equal(unconfirmed.code, 2);
  assert.match(unconfirmed.stderr, /add --yes to confirm/);
  assert.ok(existsSync(join(data, "marker")));

  const keyBefore = readFileSync(join(home, "validator_key.json"), "utf8");
  const done = runValidator(["reset", "--home", home, "--yes"]);
  assert.equal(done.code, 0, done.stderr);
  assert.ok(!existsSync(join(home, "data")));
  for (const f of ["config.toml", "genesis.json", "node_key.json"]) assert.ok(existsSync(join(home, f)), f);
  assert.equal(readFileSync(join(home, "validator_key.json"), "utf8"), keyBefore);

  const again = runValidator(["reset", "--home", home, "--yes"]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /nothing to reset/);
});

test("status prints what a node's API reports, and fails clearly when nothing answers", async () => {
  const status: StatusJson = {
    chainId: "devnet",
    moniker: "n0",
    validatorIndex: 0,
    peerId: "12D3KooWtest",
    finalizedIndex: 42,
    view: { index: 43, round: 1 },
    lock: { index: 43, round: 0 },
    appHash: "ab".repeat(32),
    peers: 3,
    mempoolTxs: 7,
    lanes: [{ lane: 0, next: 10, finalizedNext: 9 }],
    signing: { state: "active", floor: null, reason: "safety record present" },
  };
  const backend = { status: () => status } as unknown as ApiBackend;
  const app = buildApi(backend, {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024,
    maxTxBytes: 64,
    maxTxsPerRequest: 1,
    limits: defaultConfig().api,
    logger: pino({ level: "silent" }),
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH ?? "", HOME: tmp.dir };
    const text = await run(process.execPath, [MAIN, "status", "--api", url], { cwd: REPO, env });
    assert.match(text.stdout, /finalized: +42/);
    assert.match(text.stdout, /view: +index 43, round 1/);
    assert.match(text.stdout, /lock: +index 43, round 0/);
    assert.match(text.stdout, /signing: +active \(safety record present\)/);
    const json = await run(process.execPath, [MAIN, "status", "--api", url, "--json"], { cwd: REPO, env });
    assert.deepEqual(JSON.parse(json.stdout), status);
  } finally {
    await app.close();
  }
  const down = runValidator(["status", "--api", url]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /no answer from .* is the node running\?/);
});

test("start explains a missing home and a validator key that is not in genesis", () => {
  const missing = runValidator(["start", "--home", join(tmp.dir, "nothing")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no node home at .*nothing; create one with: validator init/);

  const a = join(tmp.dir, "a");
  const b = join(tmp.dir, "b");
  assert.equal(runValidator(["init", "--home", a]).code, 0);
  assert.equal(runValidator(["init", "--home", b]).code, 0);
  // b's genesis with a's keys: the validator key is not in the committee.
  writeFileSync(join(a, "genesis.json"), readFileSync(join(b, "genesis.json")));
  const foreign = runValidator(["start", "--home", a]);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /is not in the genesis committee; to run as an observer/);
});
