/**
 * Issue 15 item 11: docker-compose gives every node its own network
 * namespace (peers by DNS name, so a restart of node0 cuts nobody off), the
 * health check asks the port the home's config really uses, and /health
 * answers 200 ok, 206 syncing, 503 halted.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { type ApiBackend, buildApi, type HealthJson } from "../../node/api/index.ts";
import { defaultConfig } from "../../node/config/index.ts";
import { pickBasePort } from "../../scripts/cluster/index.ts";
import { REPO, tempDir } from "../cli/run.ts";
import { runValidator, startNodeProcess, stopProcess, waitUntil } from "./node-process.ts";

test("docker-compose.yml: no shared network namespace; each node has its home, ports and DNS-wired peers", () => {
  const compose = readFileSync(join(REPO, "docker-compose.yml"), "utf8");
  const yaml = compose.replace(/^\s*#.*$/gm, "");
  assert.doesNotMatch(yaml, /network_mode/);
  assert.match(yaml, /testnet --validators 4 .*--hostnames node0,node1,node2,node3/);
  for (let j = 0; j < 4; j++) {
    const service = new RegExp(`\\n  node${j}:\\n([\\s\\S]*?)(?=\\n  \\w|\\nvolumes:)`).exec(yaml)?.[1] ?? "";
    assert.match(service, new RegExp(`VALIDATOR_HOME: /data/node${j}`), `node${j}`);
    assert.match(service, new RegExp(`VALIDATOR_P2P_LISTEN: /ip4/0\\.0\\.0\\.0/tcp/${26656 + 2 * j}`), `node${j}`);
    assert.match(service, new RegExp(`"127\\.0\\.0\\.1:${26657 + 2 * j}:${26657 + 2 * j}"`), `node${j}`);
  }
  const dockerfile = readFileSync(join(REPO, "Dockerfile"), "utf8");
  assert.match(dockerfile, /HEALTHCHECK .*\n\s+CMD \["node", "\/app\/node\/main\.ts", "health"\]/);
  assert.doesNotMatch(dockerfile, /VALIDATOR_API_PORT=/, "the health check must not depend on an env default");
});

test("testnet --hostnames: peers dialed by DNS name; two such nodes finalize together", async () => {
  const { dir, cleanup } = tempDir("opsafety-dns-");
  const base = await pickBasePort({ count: 4 });
  const out = join(dir, "net");
  const r = runValidator([
    "testnet",
    "--validators",
    "2",
    "--out",
    out,
    "--base-port",
    String(base),
    "--hostnames",
    "localhost,localhost",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const toml = readFileSync(join(out, "node0", "config.toml"), "utf8");
  assert.match(toml, new RegExp(`"/dns4/localhost/tcp/${base + 2}/p2p/12D3KooW\\w+"`));
  // Containers listen on 0.0.0.0; this test keeps its traffic on 127.0.0.1.
  const local = (j: number) => ["--set", `p2p.listen=/ip4/127.0.0.1/tcp/${base + 2 * j}`, "--api-host", "127.0.0.1"];
  const nodes = await Promise.all(
    [0, 1].map((j) => startNodeProcess(join(out, `node${j}`), base + 2 * j + 1, local(j))),
  );
  try {
    const api0 = `http://127.0.0.1:${base + 1}`;
    await waitUntil("both nodes to sign", async () => {
      const res = await fetch(`${api0}/txs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ txs: ["dns=ok"] }),
      });
      return res.status === 202;
    });
    await waitUntil("the tx to finalize on node1", async () => (await fetch(`http://127.0.0.1:${base + 3}/kv/dns`)).ok);
  } finally {
    for (const n of nodes) assert.equal(await stopProcess(n), 0);
    cleanup();
  }
});

test("/health: 206 while a validator syncs before it may sign; `validator health` reads the home's real port", async () => {
  const { dir, cleanup } = tempDir("opsafety-health-");
  const base = await pickBasePort({ count: 8 });
  const out = join(dir, "net");
  assert.equal(runValidator(["testnet", "--validators", "4", "--out", out, "--base-port", String(base)]).code, 0);
  // node0 alone: no peer can say what its key signed, so it holds and reports syncing.
  const home = join(out, "node0");
  const node = await startNodeProcess(home, base + 1);
  try {
    const res = await fetch(`http://127.0.0.1:${base + 1}/health`);
    assert.equal(res.status, 206);
    assert.equal(((await res.json()) as HealthJson).status, "syncing");
    const status = (await (await fetch(`http://127.0.0.1:${base + 1}/status`)).json()) as {
      signing: { state: string; reason: string };
    };
    assert.equal(status.signing.state, "syncing");
    assert.match(status.signing.reason, /started without a safety record/);
    // api.port is the testnet's (base + 1), not 26657; no VALIDATOR_API_PORT in the environment.
    const h = runValidator(["health", "--home", home]);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /"status":"syncing"/);
  } finally {
    assert.equal(await stopProcess(node), 0);
  }
  const down = runValidator(["health", "--home", home]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /no answer from http:\/\/127\.0\.0\.1:/);
  cleanup();
});

test("/health maps ok, syncing and halted to 200, 206 and 503 (with Retry-After)", async () => {
  let health: HealthJson = { status: "ok", finalizedIndex: 3 };
  const backend = { status: () => ({}), health: () => health } as unknown as ApiBackend;
  const app = buildApi(backend, {
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024 * 1024,
    maxTxBytes: 1024,
    maxTxsPerRequest: 10,
    limits: defaultConfig().api,
    logger: pino({ level: "silent" }),
  });
  try {
    const get = () => app.inject({ method: "GET", url: "/health" });
    assert.equal((await get()).statusCode, 200);
    health = { status: "syncing", finalizedIndex: 3, reason: "peers are at index 9" };
    assert.equal((await get()).statusCode, 206);
    health = { status: "halted", finalizedIndex: 3, reason: "app hash mismatch" };
    const halted = await get();
    assert.equal(halted.statusCode, 503);
    assert.equal(halted.headers["retry-after"], "10");
    assert.equal((halted.json() as HealthJson).reason, "app hash mismatch");
  } finally {
    await app.close();
  }
});
