import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConfigError, loadConfig } from "../../node/config/index.ts";

const home = mkdtempSync(join(tmpdir(), "validator-config-ha-"));
const file = join(home, "config.toml");
after(() => rmSync(home, { recursive: true, force: true }));

function load(text: string) {
  writeFileSync(file, text);
  return loadConfig({ home, file });
}

function errorOf(text: string): ConfigError {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    return err;
  }
  assert.fail("loading should have failed");
}

test("[ha] defaults: off, no redis, renewal inside the lease", () => {
  const c = load("");
  assert.equal(c.ha.enabled, false);
  assert.deepEqual(c.ha.redisUrls, []);
  assert.ok(c.ha.renewEveryMs * 3 <= c.ha.leaseTtlMs);
  assert.equal(c.ha.instanceId, "");
});

test("[ha] three redis URLs load", () => {
  const c = load(
    '[ha]\nenabled = true\nredisUrls = ["redis://127.0.0.1:7001", "redis://127.0.0.1:7002", "redis://127.0.0.1:7003"]\n',
  );
  assert.equal(c.ha.redisUrls.length, 3);
});

test("[ha] enabled without redis URLs is an error naming ha.redisUrls", () => {
  const err = errorOf("[ha]\nenabled = true\n");
  assert.match(err.message, /ha\.redisUrls/);
  assert.match(err.message, /at least one redis URL/);
});

test("[ha] a URL that is not redis:// is an error naming the item", () => {
  const err = errorOf('[ha]\nredisUrls = ["http://127.0.0.1:7001"]\n');
  assert.match(err.message, /ha\.redisUrls/);
  assert.match(err.message, /redis:\/\//);
});

test("[ha] a duplicated URL is an error", () => {
  const err = errorOf('[ha]\nredisUrls = ["redis://127.0.0.1:7001", "redis://127.0.0.1:7001"]\n');
  assert.match(err.message, /twice/);
});

test("[ha] renewal slower than a third of the lease is an error", () => {
  const err = errorOf("[ha]\nleaseTtlMs = 1000\nrenewEveryMs = 500\n");
  assert.match(err.message, /ha\.renewEveryMs/);
  assert.match(err.message, /third of ha\.leaseTtlMs/);
});

test("[ha] a per-node timeout not below the renewal period is an error", () => {
  const err = errorOf("[ha]\npublishTimeoutMs = 600\n");
  assert.match(err.message, /ha\.publishTimeoutMs/);
  assert.match(err.message, /below ha\.renewEveryMs/);
});
