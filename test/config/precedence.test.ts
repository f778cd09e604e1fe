import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadConfig } from "../../node/config/index.ts";

const home = mkdtempSync(join(tmpdir(), "validator-precedence-"));
after(() => rmSync(home, { recursive: true, force: true }));

function writeConfig(text: string): void {
  writeFileSync(join(home, "config.toml"), text);
}

const FILE = '[consensus]\nviewTimeoutMs = 2000\n[log]\nlevel = "debug"\n';
const ENV = { VALIDATOR_CONSENSUS_VIEW_TIMEOUT_MS: "3000", VALIDATOR_API_PORT: "4000" };
const FLAG = [{ key: "consensus.viewTimeoutMs", value: "4000", source: "--set consensus.viewTimeoutMs=4000" }];

test("level 1, defaults: no file, env or flags gives the shipped defaults", () => {
  const c = loadConfig({ home: join(home, "absent") });
  assert.equal(c.consensus.viewTimeoutMs, 1000);
  assert.equal(c.log.level, "info");
});

test("level 2, file: config.toml in the home overrides the defaults, other keys keep theirs", () => {
  writeConfig(FILE);
  const c = loadConfig({ home });
  assert.equal(c.consensus.viewTimeoutMs, 2000);
  assert.equal(c.log.level, "debug");
  assert.equal(c.consensus.maxViewTimeoutMs, 8000);
});

test("an explicit file path is read instead of the home's config.toml", () => {
  writeConfig(FILE);
  const other = join(home, "other.toml");
  writeFileSync(other, "[consensus]\nviewTimeoutMs = 2500\n");
  assert.equal(loadConfig({ home, file: other }).consensus.viewTimeoutMs, 2500);
  assert.equal(loadConfig({ home, file: null }).consensus.viewTimeoutMs, 1000);
});

test("level 3, env: VALIDATOR_<SECTION>_<KEY> overrides the file", () => {
  writeConfig(FILE);
  const c = loadConfig({ home, env: ENV });
  assert.equal(c.consensus.viewTimeoutMs, 3000);
  assert.equal(c.api.port, 4000);
  assert.equal(c.log.level, "debug", "keys not in the env keep the file's value");
});

test("env values are converted to the key's type: booleans, lists, strings", () => {
  const peer = "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  const c = loadConfig({
    home: join(home, "absent"),
    env: {
      VALIDATOR_API_ENABLED: "false",
      VALIDATOR_P2P_LISTEN: "/ip4/127.0.0.1/tcp/1, /ip4/127.0.0.1/tcp/2",
      VALIDATOR_P2P_PEERS: peer,
      VALIDATOR_NODE_VALIDATOR_KEY_FILE: "",
      VALIDATOR_LOG_FORMAT: "pretty",
      VALIDATOR_HOME: "/ignored/not/a/key",
      VALIDATOR_REEXECUTED: "semi-space,malloc",
      VALIDATOR_NODE_MAX_SEMI_SPACE_MIB: "64",
      VALIDATOR_NODE_HEAP_GROWING_PERCENT: "75",
      VALIDATOR_NODE_MALLOC_MMAP_THRESHOLD_KIB: "512",
      PATH: "/usr/bin",
    },
  });
  assert.equal(c.node.maxSemiSpaceMiB, 64, "a MiB unit is one word in the variable's name");
  assert.equal(c.node.mallocMmapThresholdKiB, 512, "so is a KiB unit");
  assert.equal(c.node.heapGrowingPercent, 75);
  assert.equal(c.api.enabled, false);
  assert.deepEqual(c.p2p.listen, ["/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/2"]);
  assert.deepEqual(c.p2p.peers, [peer]);
  assert.equal(c.node.validatorKeyFile, "");
  assert.equal(c.log.format, "pretty");
});

test("level 4, flags: overrides beat env, file and defaults", () => {
  writeConfig(FILE);
  const c = loadConfig({ home, env: ENV, overrides: FLAG });
  assert.equal(c.consensus.viewTimeoutMs, 4000);
  assert.equal(c.api.port, 4000, "from env");
  assert.equal(c.log.level, "debug", "from file");
  assert.equal(c.lanes.maxBlockDelayMs, 100, "from defaults");
});

test("a later override of the same key wins", () => {
  const c = loadConfig({
    home: join(home, "absent"),
    overrides: [
      { key: "log.level", value: "warn" },
      { key: "log.level", value: "error" },
    ],
  });
  assert.equal(c.log.level, "error");
});
