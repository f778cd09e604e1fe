import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseGenesisJson } from "../../node/committee/index.ts";
import { loadConfig } from "../../node/config/index.ts";
import { peerIdOf, readKeyFile } from "../../node/crypto/index.ts";
import { toHex } from "../../node/types/index.ts";
import { hasStackTrace, runValidator, tempDir } from "./run.ts";

const tmp = tempDir("validator-init-");
after(tmp.cleanup);

test("init creates keys with mode 0600, config.toml and a one-validator genesis that match", () => {
  const home = join(tmp.dir, "alice");
  const r = runValidator(["init", "--home", home, "--chain-id", "my-chain", "--moniker", "alice"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /initialized a single-validator home/);

  for (const key of ["validator_key.json", "node_key.json"]) {
    assert.equal(statSync(join(home, key)).mode & 0o777, 0o600, key);
  }
  const validatorKey = readKeyFile(join(home, "validator_key.json"));
  const nodeKey = readKeyFile(join(home, "node_key.json"));
  assert.notEqual(toHex(validatorKey.publicKey), toHex(nodeKey.publicKey), "two separate keys");

  const genesis = parseGenesisJson(readFileSync(join(home, "genesis.json"), "utf8"));
  assert.equal(genesis.chainId, "my-chain");
  assert.equal(genesis.validators.length, 1);
  assert.equal(genesis.validators[0]!.name, "alice");
  assert.equal(genesis.validators[0]!.publicKey, toHex(validatorKey.publicKey));
  assert.equal(genesis.validators[0]!.peerId, peerIdOf(nodeKey.publicKey));

  const config = loadConfig({ home });
  assert.equal(config.node.moniker, "alice");
  assert.equal(config.node.validatorKeyFile, "validator_key.json");
  assert.deepEqual(config.p2p.peers, []);
});

test("init refuses to overwrite an existing home without --force, and replaces it with --force", () => {
  const home = join(tmp.dir, "twice");
  assert.equal(runValidator(["init", "--home", home]).code, 0);
  const before = readFileSync(join(home, "validator_key.json"), "utf8");
  mkdirSync(join(home, "data"));
  writeFileSync(join(home, "data", "LOG"), "old chain");

  const again = runValidator(["init", "--home", home]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a node .*refusing to overwrite it\. Use --force/);
  assert.equal(hasStackTrace(again.stderr), false);
  assert.equal(readFileSync(join(home, "validator_key.json"), "utf8"), before, "nothing was touched");

  const forced = runValidator(["init", "--home", home, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notEqual(readFileSync(join(home, "validator_key.json"), "utf8"), before, "new keys");
  assert.equal(existsSync(join(home, "data")), false, "the old chain's data is gone");
});

test("the home defaults to $VALIDATOR_HOME, then ~/.validator", () => {
  const viaEnv = join(tmp.dir, "env-home");
  assert.equal(runValidator(["init"], { VALIDATOR_HOME: viaEnv }).code, 0);
  assert.equal(existsSync(join(viaEnv, "genesis.json")), true);

  const userHome = join(tmp.dir, "user");
  mkdirSync(userHome);
  assert.equal(runValidator(["init"], { HOME: userHome }).code, 0);
  assert.equal(existsSync(join(userHome, ".validator", "config.toml")), true);
});

test("init --set writes the override into config.toml", () => {
  const home = join(tmp.dir, "custom");
  const r = runValidator([
    "init",
    "--home",
    home,
    "--set",
    "consensus.viewTimeoutMs=2500",
    "--set",
    "log.format=pretty",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const config = loadConfig({ home });
  assert.equal(config.consensus.viewTimeoutMs, 2500);
  assert.equal(config.log.format, "pretty");
});

test("init with bad input exits 2 with a message and writes nothing", () => {
  const home = join(tmp.dir, "bad");
  const cases: [string[], RegExp][] = [
    [["--chain-id", "Bad Chain"], /--chain-id "Bad Chain": a chain id is 1-64 characters/],
    [["--moniker", "no spaces"], /node\.moniker = "no spaces" \(from flag --moniker no spaces\): not a valid name/],
    [["--set", "consensus.viewTimeoutMs=fast"], /consensus\.viewTimeoutMs = "fast" .*not a number/],
    [["--set", "consensus"], /--set expects section\.key=value/],
    [["--frobnicate"], /unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    const r = runValidator(["init", "--home", home, ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(hasStackTrace(r.stderr), false);
  }
  assert.equal(existsSync(home), false);
});
