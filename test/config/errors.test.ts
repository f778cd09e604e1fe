import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, type LoadConfigOptions, loadConfig, parseSetFlags } from "../../node/config/index.ts";

const home = mkdtempSync(join(tmpdir(), "validator-config-errors-"));
const file = join(home, "config.toml");
after(() => rmSync(home, { recursive: true, force: true }));

/** Loads and returns the ConfigError (failing the test if there is none). */
function errorOf(options: Partial<LoadConfigOptions>): ConfigError {
  try {
    loadConfig({ home, file: null, ...options });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err;
  }
  assert.fail("loading should have failed");
}

function fileError(text: string): ConfigError {
  writeFileSync(file, text);
  return errorOf({ file });
}

test("unknown key in the file: names section.key, the file, suggests the right key and lists the allowed ones", () => {
  const err = fileError("[consensus]\nviewTimeoutMS = 2000\n");
  assert.equal(err.issues.length, 1);
  assert.match(err.message, /consensus\.viewTimeoutMS = 2000/);
  assert.ok(err.message.includes(`from file ${file}`));
  assert.match(err.message, /unknown key \(did you mean consensus\.viewTimeoutMs\?\)/);
  assert.match(err.message, /keys of \[consensus\]: viewTimeoutMs, maxViewTimeoutMs, viewTimeoutGrowth/);
  assert.equal(err.fromCommandLine, false);
});

test("unknown section: names it, suggests the closest and lists the sections", () => {
  const err = fileError("[consenus]\nviewTimeoutMs = 2000\n");
  assert.match(err.message, /\[consenus\] \(from file .*\): unknown section \(did you mean \[consensus\]\?\)/);
  assert.match(
    err.message,
    /sections \[node\] \[p2p\] \[api\] \[consensus\] \[lanes\] \[execution\] \[storage\] \[log\] \[metrics\] \[attestation\]/,
  );
});

test("a key outside any section is an error, not ignored", () => {
  const err = fileError('moniker = "alice"\n');
  assert.match(err.message, /moniker = "alice" .*keys must be inside a section/);
});

test("wrong type: says what was expected and what was given", () => {
  const err = fileError('[api]\nport = "8080"\n');
  assert.match(err.message, /api\.port = "8080" \(from file .*\): wrong type: expected number, got string/);
  assert.match(err.message, /allowed: an integer from 0 to 65535/);
});

test("out-of-range value: too large / too small with the range", () => {
  const big = fileError("[consensus]\nviewTimeoutMs = 9999999\n");
  assert.match(big.message, /consensus\.viewTimeoutMs = 9999999 .*too large; allowed: an integer from 50 to 600000/);
  const small = fileError("[lanes]\nmempoolMaxTxs = 0\n");
  assert.match(small.message, /lanes\.mempoolMaxTxs = 0 .*too small; allowed: an integer from 1 to 1000000/);
  const fraction = fileError("[lanes]\nmempoolMaxTxs = 10.5\n");
  assert.match(fraction.message, /lanes\.mempoolMaxTxs = 10\.5 .*not a whole number/);
});

test("a semi-space size that V8 would round up is refused, with the sizes it takes", () => {
  const err = fileError("[node]\nmaxSemiSpaceMiB = 24\n");
  assert.match(
    err.message,
    /node\.maxSemiSpaceMiB = 24 .*allowed: one of 0, 1, 2, 4, 8, 16, 32, 64, 128, 256 \(0 = V8's default\)/,
  );
});

test("a heap growing percent outside V8's own range of factors is refused; 0 and the range are named", () => {
  for (const good of [0, 10, 300]) {
    const c = loadConfig({ home, file: null, env: {}, overrides: [{ key: "node.heapGrowingPercent", value: good }] });
    assert.equal(c.node.heapGrowingPercent, good);
  }
  for (const bad of [5, 301, 12.5]) {
    const err = fileError(`[node]\nheapGrowingPercent = ${bad}\n`);
    assert.match(
      err.message,
      new RegExp(
        `node\\.heapGrowingPercent = ${bad} .*allowed: 0 or an integer from 10 to 300 \\(0 = V8's adaptive factor\\)`,
      ),
    );
  }
});

test("an mmap threshold below the smallest useful one is refused; 0 and the range are named", () => {
  for (const good of [0, 64, 32768]) {
    const c = loadConfig({
      home,
      file: null,
      env: {},
      overrides: [{ key: "node.mallocMmapThresholdKiB", value: good }],
    });
    assert.equal(c.node.mallocMmapThresholdKiB, good);
  }
  for (const bad of [32, 40000]) {
    const err = fileError(`[node]\nmallocMmapThresholdKiB = ${bad}\n`);
    assert.match(
      err.message,
      new RegExp(
        `node\\.mallocMmapThresholdKiB = ${bad} .*allowed: 0 or an integer from 64 to 32768 \\(0 = glibc's adaptive default\\)`,
      ),
    );
  }
});

test("bad enum value: lists the allowed values", () => {
  const err = fileError('[log]\nlevel = "verbose"\n');
  assert.match(err.message, /log\.level = "verbose" .*not an allowed value; allowed: one of "trace", "debug", "info"/);
  const format = fileError('[log]\nformat = "text"\n');
  assert.match(format.message, /log\.format = "text" .*allowed: one of "json", "pretty"/);
});

test("bad multiaddrs name the list element and the problem", () => {
  const err = fileError(
    '[p2p]\nlisten = ["/ip4/127.0.0.1/tcp/1", "localhost:26656"]\npeers = ["/ip4/127.0.0.1/tcp/2"]\n',
  );
  assert.match(err.message, /p2p\.listen\[1\] = "localhost:26656" .*not a multiaddr/);
  assert.match(err.message, /p2p\.peers\[0\] = "\/ip4\/127\.0\.0\.1\/tcp\/2" .*must end in \/p2p\/<peerId>/);
});

test("cross-key rule: maxViewTimeoutMs below viewTimeoutMs", () => {
  const err = fileError("[consensus]\nviewTimeoutMs = 5000\nmaxViewTimeoutMs = 2000\n");
  assert.match(err.message, /consensus\.maxViewTimeoutMs = 2000 .*must not be below consensus\.viewTimeoutMs \(5000\)/);
});

test("invalid TOML: names the file, line and column", () => {
  const err = fileError("[consensus\nviewTimeoutMs = 1\n");
  assert.match(err.message, /\(document\) \(from file .*\): not valid TOML at line 1, column \d+/);
});

test("a missing explicit config file is an error naming the path", () => {
  assert.throws(
    () => loadConfig({ home, file: join(home, "nope.toml") }),
    /cannot read config file .*nope\.toml: ENOENT/,
  );
});

test("env var with a bad value: names the variable, the key, the value and the allowed range", () => {
  const err = errorOf({ env: { VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS: "1s" } });
  assert.match(
    err.message,
    /consensus\.viewTimeoutMs = "1s" \(from env VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS\): not a number; allowed: an integer from 50 to 600000/,
  );
  assert.equal(err.fromCommandLine, true);
  const range = errorOf({ env: { VALIDATOR_API_PORT: "70000" } });
  assert.match(range.message, /api\.port = 70000 \(from env VALIDATOR_API_PORT\): too large/);
  const bool = errorOf({ env: { VALIDATOR_API_ENABLED: "yes" } });
  assert.match(
    bool.message,
    /api\.enabled = "yes" \(from env VALIDATOR_API_ENABLED\): not a boolean; allowed: true or false/,
  );
});

test("an unknown VALIDATOR_* env var is an error with a suggestion", () => {
  const err = errorOf({ env: { VALIDATOR_CONSENSUS_VIEW_TIMEOUT: "2000" } });
  assert.match(
    err.message,
    /VALIDATOR_CONSENSUS_VIEW_TIMEOUT = "2000" .*no config key has this variable \(did you mean VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS\?\)/,
  );
});

test("bad flag: malformed --set, unknown key and bad value all name the flag", () => {
  assert.throws(
    () => parseSetFlags(["consensus.viewTimeoutMs"]),
    (err: unknown) =>
      err instanceof ConfigError &&
      /consensus\.viewTimeoutMs = "consensus\.viewTimeoutMs" \(from flag --set consensus\.viewTimeoutMs\): --set expects section\.key=value/.test(
        err.message,
      ),
  );
  const unknown = errorOf({ overrides: parseSetFlags(["lanes.maxBlockMs=5"]) });
  assert.match(unknown.message, /lanes\.maxBlockMs = "5" \(from flag --set lanes\.maxBlockMs=5\): unknown key/);
  const bad = errorOf({ overrides: parseSetFlags(["lanes.maxBlockDelayMs=soon"]) });
  assert.match(
    bad.message,
    /lanes\.maxBlockDelayMs = "soon" \(from flag --set lanes\.maxBlockDelayMs=soon\): not a number/,
  );
  const dedicated = errorOf({ overrides: [{ key: "node.moniker", value: "a b", source: "--moniker a b" }] });
  assert.match(dedicated.message, /node\.moniker = "a b" \(from flag --moniker a b\): not a valid name/);
  assert.equal(dedicated.fromCommandLine, true);
});

test("all problems of all layers are reported together", () => {
  writeFileSync(file, '[log]\nlevel = "loud"\n[bogus]\nx = 1\n');
  const err = errorOf({
    file,
    env: { VALIDATOR_API_PORT: "x" },
    overrides: [{ key: "api.host", value: "not a host!" }],
  });
  assert.equal(err.issues.length, 4);
  assert.deepEqual(err.issues.map((i) => i.source.kind).sort(), ["env", "file", "file", "flag"]);
  assert.equal(err.fromCommandLine, false);
});
