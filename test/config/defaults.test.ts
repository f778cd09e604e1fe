import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "smol-toml";
import {
  CONFIG_KEYS,
  ConfigSchema,
  DEFAULTS_FILE,
  defaultConfig,
  homePaths,
  loadConfig,
  renderConfig,
} from "../../node/config/index.ts";

test("config/default.toml holds exactly the schema's keys and validates in full", () => {
  const doc = parse(readFileSync(DEFAULTS_FILE, "utf8")) as Record<string, Record<string, unknown>>;
  const inFile = Object.entries(doc).flatMap(([section, body]) => Object.keys(body).map((k) => `${section}.${k}`));
  assert.deepEqual(inFile.sort(), [...CONFIG_KEYS.keys()].sort());
  assert.equal(ConfigSchema.safeParse(doc).success, true);
});

test("the defaults are the documented ones", () => {
  const c = defaultConfig();
  assert.equal(c.node.validatorKeyFile, "validator_key.json");
  assert.equal(c.node.nodeKeyFile, "node_key.json");
  assert.equal(c.node.genesisFile, "genesis.json");
  assert.deepEqual(c.p2p.listen, ["/ip4/127.0.0.1/tcp/26656"]);
  assert.deepEqual(c.p2p.peers, []);
  assert.equal(c.api.host, "127.0.0.1");
  assert.equal(c.api.port, 26657);
  assert.equal(c.api.cpuProfileMaxSeconds, 0, "CPU profiling of a running node is off unless asked for");
  assert.equal(c.consensus.viewTimeoutMs, 1000);
  assert.equal(c.consensus.maxViewTimeoutMs, 8000);
  assert.equal(c.consensus.viewTimeoutGrowth, 2);
  assert.equal(c.consensus.fetchRetryMs, 200);
  assert.equal(c.consensus.proposeGatherMs, 20);
  assert.equal(c.lanes.maxBlockDelayMs, 100);
  assert.equal(c.lanes.maxAdaptiveBlockDelayMs, 400);
  assert.equal(c.lanes.maxBufferedAhead, 16);
  assert.equal(c.lanes.retransmitMs, 500);
  assert.equal(c.execution.anchorEveryIndexes, 16);
  assert.equal(c.execution.fetchRetryMs, 200);
  assert.equal(c.storage.dataDir, "data");
  assert.equal(c.log.format, "json");
});

test("a loaded config is deeply frozen", () => {
  const c = defaultConfig();
  assert.equal(Object.isFrozen(c), true);
  assert.equal(Object.isFrozen(c.consensus), true);
  assert.equal(Object.isFrozen(c.p2p.listen), true);
  assert.throws(() => {
    (c.consensus as { viewTimeoutMs: number }).viewTimeoutMs = 5;
  }, TypeError);
});

test("renderConfig output loads back to the same config", () => {
  const dir = mkdtempSync(join(tmpdir(), "validator-config-"));
  try {
    const original = loadConfig({
      home: dir,
      file: null,
      overrides: [
        { key: "node.moniker", value: "alice" },
        { key: "node.validatorKeyFile", value: "" },
        { key: "p2p.peers", value: ["/ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"] },
        { key: "consensus.viewTimeoutGrowth", value: 2.25 },
      ],
    });
    const text = renderConfig(original);
    writeFileSync(join(dir, "config.toml"), text);
    assert.deepEqual(loadConfig({ home: dir }), original);
    assert.match(text, /# Time a view may take before this node votes to time out\.\nviewTimeoutMs = 1000\n/);
    assert.deepEqual(parse(renderConfig(defaultConfig())), parse(readFileSync(DEFAULTS_FILE, "utf8")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("homePaths resolves relative paths against the home and keeps absolute ones", () => {
  const c = loadConfig({
    home: "/h",
    file: null,
    overrides: [
      { key: "node.genesisFile", value: "/etc/genesis.json" },
      { key: "node.validatorKeyFile", value: "" },
    ],
  });
  const p = homePaths("/h", c);
  assert.equal(p.configFile, "/h/config.toml");
  assert.equal(p.nodeKeyFile, "/h/node_key.json");
  assert.equal(p.genesisFile, "/etc/genesis.json");
  assert.equal(p.dataDir, "/h/data");
  assert.equal(p.validatorKeyFile, undefined);
});
