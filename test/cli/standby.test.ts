import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { hasStackTrace, runValidator, tempDir } from "./run.ts";

const tmp = tempDir("validator-standby-");
after(tmp.cleanup);

test("standby: same validator key and genesis, a new node key, shifted ports, ha.enabled with the given redis URLs", () => {
  const src = join(tmp.dir, "src");
  const out = join(tmp.dir, "standby");
  assert.equal(runValidator(["init", "--home", src]).code, 0);
  const r = runValidator([
    "standby",
    "--from",
    src,
    "--out",
    out,
    "--redis",
    "redis://127.0.0.1:7001",
    "--redis",
    "redis://127.0.0.1:7002",
    "--redis",
    "redis://127.0.0.1:7003",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /note: .* runs without \[ha\]/, "the operator is told to enable [ha] on the source too");
  const read = (home: string, f: string) => readFileSync(join(home, f), "utf8");
  assert.equal(read(out, "genesis.json"), read(src, "genesis.json"));
  assert.equal(
    JSON.parse(read(out, "validator_key.json")).publicKey,
    JSON.parse(read(src, "validator_key.json")).publicKey,
  );
  assert.notEqual(JSON.parse(read(out, "node_key.json")).publicKey, JSON.parse(read(src, "node_key.json")).publicKey);
  const config = read(out, "config.toml");
  assert.match(config, /\[ha\][^[]*enabled = true/s);
  assert.match(config, /redis:\/\/127\.0\.0\.1:7003/);
  assert.match(config, /tcp\/27656/, "p2p port is the source's + 1000");
  assert.match(config, /port = 27657/, "API port is the source's + 1000");
});

test("standby: a missing home and an existing --out are clear errors", () => {
  const obs = join(tmp.dir, "obs");
  assert.equal(runValidator(["init", "--home", obs]).code, 0);
  const noKey = runValidator(["standby", "--from", join(tmp.dir, "missing"), "--out", join(tmp.dir, "x")]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /no node home/);
  const exists = runValidator(["standby", "--from", obs, "--out", obs, "--redis", "redis://127.0.0.1:7001"]);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /already holds a node/);
  for (const res of [noKey, exists]) assert.ok(!hasStackTrace(res.stderr), res.stderr);
});
