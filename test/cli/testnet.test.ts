import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { multiaddr } from "@multiformats/multiaddr";
import { parseGenesisJson } from "../../node/committee/index.ts";
import { type Config, loadConfig } from "../../node/config/index.ts";
import { peerIdOf, readKeyFile } from "../../node/crypto/index.ts";
import { toHex } from "../../node/types/index.ts";
import { hasStackTrace, runValidator, tempDir } from "./run.ts";

const tmp = tempDir("validator-testnet-");
after(tmp.cleanup);

interface NodeView {
  name: string;
  config: Config;
  peerId: string;
  p2pPort: number;
  validatorKey?: string;
  genesisText: string;
}

function readNode(out: string, name: string): NodeView {
  const home = join(out, name);
  const config = loadConfig({ home });
  const validatorKeyFile = join(home, "validator_key.json");
  return {
    name,
    config,
    peerId: peerIdOf(readKeyFile(join(home, "node_key.json")).publicKey),
    p2pPort: Number(multiaddr(config.p2p.listen[0]!).getComponents()[1]!.value),
    ...(existsSync(validatorKeyFile) && { validatorKey: toHex(readKeyFile(validatorKeyFile).publicKey) }),
    genesisText: readFileSync(join(home, "genesis.json"), "utf8"),
  };
}

/** Asserts that every node's peers are exactly all the other nodes, by port and peer id. */
function assertFullMesh(nodes: NodeView[]): void {
  for (const n of nodes) {
    const expected = nodes
      .filter((o) => o !== n)
      .map((o) => `/ip4/127.0.0.1/tcp/${o.p2pPort}/p2p/${o.peerId}`)
      .sort();
    assert.deepEqual([...n.config.p2p.peers].sort(), expected, `${n.name} peers`);
  }
}

test("testnet --validators 4: four distinct validators, one genesis with 4 members, a full mesh on distinct ports", () => {
  const out = join(tmp.dir, "four");
  const r = runValidator(["testnet", "--validators", "4", "--out", out, "--chain-id", "net-4"]);
  assert.equal(r.code, 0, r.stderr);

  const nodes = ["node0", "node1", "node2", "node3"].map((name) => readNode(out, name));
  assert.equal(new Set(nodes.map((n) => n.validatorKey)).size, 4, "distinct validator keys");
  assert.equal(new Set(nodes.map((n) => n.peerId)).size, 4, "distinct peer ids");
  assert.equal(new Set(nodes.map((n) => n.genesisText)).size, 1, "one identical genesis");

  const genesis = parseGenesisJson(nodes[0]!.genesisText);
  assert.equal(genesis.chainId, "net-4");
  assert.equal(genesis.validators.length, 4);
  nodes.forEach((n, i) => {
    assert.equal(genesis.validators[i]!.publicKey, n.validatorKey);
    assert.equal(genesis.validators[i]!.peerId, n.peerId);
    assert.equal(genesis.validators[i]!.name, n.name);
    assert.equal(n.config.node.moniker, n.name);
    assert.equal(statSync(join(out, n.name, "validator_key.json")).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, n.name, "node_key.json")).mode & 0o777, 0o600);
  });

  const ports = nodes.flatMap((n) => [n.p2pPort, n.config.api.port]);
  assert.equal(new Set(ports).size, 8, "all p2p and API ports distinct");
  assert.deepEqual(
    nodes.map((n) => [n.p2pPort, n.config.api.port]),
    [
      [26656, 26657],
      [26658, 26659],
      [26660, 26661],
      [26662, 26663],
    ],
  );
  assert.ok(nodes.every((n) => n.config.api.host === "127.0.0.1"));
  assertFullMesh(nodes);
  // Batch attestation: node0 is the main node, every other node polls its API; attester weight 1 each.
  assert.deepEqual(
    nodes.map((n) => n.config.attestation.mainNodeUrl),
    ["", "http://127.0.0.1:26657", "http://127.0.0.1:26657", "http://127.0.0.1:26657"],
  );
  assert.deepEqual(
    genesis.validators.map((v) => v.attesterWeight),
    [1, 1, 1, 1],
  );
  assert.equal(typeof genesis.params.batchMaxIndexes, "number");
});

test("testnet --batch-max-indexes / --batch-max-ms set the genesis batch params", () => {
  const out = join(tmp.dir, "batches");
  const r = runValidator([
    "testnet",
    "--validators",
    "2",
    "--out",
    out,
    "--base-port",
    "27656",
    "--batch-max-indexes",
    "5",
    "--batch-max-ms",
    "700",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const genesis = parseGenesisJson(readFileSync(join(out, "node1", "genesis.json"), "utf8"));
  assert.equal(genesis.params.batchMaxIndexes, 5);
  assert.equal(genesis.params.batchMaxMs, 700);
});

test("testnet with observers: observers get a node key, no validator key, the same genesis, and are in everyone's peers", () => {
  const out = join(tmp.dir, "mixed");
  const r = runValidator(["testnet", "--validators", "2", "--observers", "2", "--out", out, "--base-port", "31000"]);
  assert.equal(r.code, 0, r.stderr);
  const nodes = ["node0", "node1", "observer0", "observer1"].map((name) => readNode(out, name));
  const observers = nodes.slice(2);
  for (const o of observers) {
    assert.equal(o.validatorKey, undefined);
    assert.equal(o.config.node.validatorKeyFile, "");
  }
  assert.equal(new Set(nodes.map((n) => n.genesisText)).size, 1);
  assert.equal(parseGenesisJson(nodes[0]!.genesisText).validators.length, 2);
  assert.deepEqual(
    nodes.map((n) => n.p2pPort),
    [31000, 31002, 31004, 31006],
  );
  assertFullMesh(nodes);
});

test("testnet refuses to overwrite existing homes", () => {
  const out = join(tmp.dir, "again");
  assert.equal(runValidator(["testnet", "--validators", "1", "--out", out]).code, 0);
  const r = runValidator(["testnet", "--validators", "1", "--out", out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to overwrite existing homes: .*node0/);
});

test("testnet with bad input exits 2 with a message", () => {
  const out = join(tmp.dir, "bad");
  const cases: [string[], RegExp][] = [
    [["--out", out], /required option '--validators <n>' not specified/],
    [["--validators", "4"], /required option '--out <dir>' not specified/],
    [
      ["--validators", "four", "--out", out],
      /'--validators <n>' argument 'four' is invalid\. must be an integer of at least 1/,
    ],
    [["--validators", "257", "--out", out], /--validators 257: a committee has at most 256 validators/],
    [["--validators", "2", "--chain-id", "UPPER", "--out", out], /--chain-id "UPPER": a chain id is 1-64 characters/],
    [
      ["--validators", "2", "--set", `node.nodeKeyFile=${out}/key.json`, "--out", out],
      /two nodes would share a key file/,
    ],
    [["--validators", "4", "--observers", "-1", "--out", out], /--observers <m>' argument '-1' is invalid/],
    [["--validators", "4", "--base-port", "65530", "--out", out], /--base-port 65530 leaves no room for 4 nodes/],
  ];
  for (const [args, message] of cases) {
    const r = runValidator(["testnet", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(hasStackTrace(r.stderr), false);
  }
  assert.equal(existsSync(out), false);
});
