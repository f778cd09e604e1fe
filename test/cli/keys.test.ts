import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseGenesisJson } from "../../node/committee/index.ts";
import { peerIdOf, readKeyFile } from "../../node/crypto/index.ts";
import { toHex } from "../../node/types/index.ts";
import { hasStackTrace, runValidator, tempDir } from "./run.ts";

const tmp = tempDir("validator-keys-");
after(tmp.cleanup);

test("keys show reports the validator key, peer id and index in genesis", () => {
  const out = join(tmp.dir, "net");
  assert.equal(runValidator(["testnet", "--validators", "3", "--observers", "1", "--out", out]).code, 0);
  const genesis = parseGenesisJson(readFileSync(join(out, "node0", "genesis.json"), "utf8"));

  const r = runValidator(["keys", "show", "--home", join(out, "node2"), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const shown = JSON.parse(r.stdout);
  assert.equal(shown.validatorIndex, 2);
  assert.equal(shown.validatorPublicKey, genesis.validators[2]!.publicKey);
  assert.equal(shown.peerId, genesis.validators[2]!.peerId);
  assert.equal(shown.chainId, genesis.chainId);

  const text = runValidator(["keys", "show"], { VALIDATOR_HOME: join(out, "node1") });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`validator public key: ${genesis.validators[1]!.publicKey}`));
  assert.match(text.stdout, new RegExp(`peer id: +${genesis.validators[1]!.peerId}`));
  assert.match(text.stdout, /validator index: +1/);

  const observer = JSON.parse(runValidator(["keys", "show", "--home", join(out, "observer0"), "--json"]).stdout);
  assert.equal(observer.validatorPublicKey, null);
  assert.equal(observer.validatorIndex, null);
});

test("keys show on a missing home or with a bad config env var fails with a message", () => {
  const missing = runValidator(["keys", "show", "--home", join(tmp.dir, "nothing")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no node home at .*nothing; create one with: validator init/);

  const home = join(tmp.dir, "one");
  assert.equal(runValidator(["init", "--home", home]).code, 0);
  const bad = runValidator(["keys", "show", "--home", home], { VALIDATOR_LOG_LEVEL: "chatty" });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /log\.level = "chatty" \(from env VALIDATOR_LOG_LEVEL\): not an allowed value/);
  assert.equal(hasStackTrace(bad.stderr), false);

  const configFile = join(home, "config.toml");
  writeFileSync(configFile, readFileSync(configFile, "utf8").replace("maxBlockDelayMs = 100", "maxBlockDelay = 5"));
  const badFile = runValidator(["keys", "show", "--home", home]);
  assert.equal(badFile.code, 1, "a bad config file is a file error, not a usage error");
  assert.ok(badFile.stderr.includes(`lanes.maxBlockDelay = 5 (from file ${configFile}): unknown key`));
});

test("keys generate writes a 0600 key file and refuses to overwrite it", () => {
  const file = join(tmp.dir, "new_key.json");
  const r = runValidator(["keys", "generate", "--out", file, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const key = readKeyFile(file);
  const shown = JSON.parse(r.stdout);
  assert.equal(shown.publicKey, toHex(key.publicKey));
  assert.equal(shown.peerId, peerIdOf(key.publicKey));

  const before = readFileSync(file, "utf8");
  const again = runValidator(["keys", "generate", "--out", file]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists; refusing to overwrite a key file/);
  assert.equal(readFileSync(file, "utf8"), before);
});
