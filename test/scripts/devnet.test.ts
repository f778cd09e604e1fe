/**
 * The devnet end to end with real processes: `up 4`, `load`, `kill 2`, more
 * load without node 2, `restart 2`, `join` (an observer), then every node must reach the same
 * finalized index with identical block hashes at every index and the same
 * app hash; `down` stops everything. `down` + `clean` always run at the end.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { devnet, devnetOk } from "./run.ts";

interface State {
  basePort: number;
  nodes: { name: string; apiPort: number }[];
}

interface LoadJson {
  sentTxs: number;
  acceptedTxs: number;
  finalizedTxs: number;
  rejectedTxs: number;
  failedTxs: number;
}

const root = mkdtempSync(join(tmpdir(), "devnet-test-"));
const dir = join(root, "devnet");

async function getJson<T>(port: number, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200, `GET ${path} on ${port}: ${res.status}`);
  return (await res.json()) as T;
}

/**
 * A finalized block, waiting while it is final but not yet executed on that
 * node (GET /blocks answers 404 until the node has assembled and stored it).
 */
async function getBlock(port: number, index: number, deadline: number): Promise<{ hash: string; appHash: string }> {
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/blocks/${index}`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 200) return (await res.json()) as { hash: string; appHash: string };
    assert.equal(res.status, 404, `GET /blocks/${index} on ${port}: ${res.status}`);
    assert.ok(Date.now() < deadline, `block ${index} never became available on ${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readState(): State {
  return JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as State;
}

function load(args: string[]): LoadJson {
  const out = devnetOk(dir, ["load", ...args, "--json", "--drain", "60"]);
  const line = out.trim().split("\n").at(-1)!;
  return JSON.parse(line) as LoadJson;
}

before(() => {
  // Nothing left from an interrupted earlier run of this file.
  rmSync(dir, { recursive: true, force: true });
});

after(() => {
  devnet(dir, ["down"]);
  devnet(dir, ["clean"]);
  rmSync(root, { recursive: true, force: true });
});

test("devnet: up 4, load, kill 2, restart 2, join, down; every node ends on identical finalized hashes", async () => {
  const upOut = devnetOk(dir, ["up", "4"]);
  assert.match(upOut, /created devnet/);
  const state = readState();
  assert.deepEqual(
    state.nodes.map((n) => n.name),
    ["node0", "node1", "node2", "node3"],
  );
  assert.ok(state.basePort >= 20_000 && state.basePort % 2 === 0, `base port ${state.basePort}`);

  const first = load(["--rate", "50", "--duration", "5"]);
  assert.equal(first.sentTxs, 250);
  assert.equal(first.acceptedTxs, 250);
  assert.equal(first.finalizedTxs, 250, "every accepted tx finalizes");

  assert.match(devnetOk(dir, ["kill", "2"]), /node2: killed/);
  assert.match(devnetOk(dir, ["status"]), /node2\s+validator\s+-\s+\d+\s+down/);

  // Three of four validators are a quorum: the chain goes on without node 2.
  const second = load(["--rate", "50", "--duration", "3"]);
  assert.equal(second.finalizedTxs, second.acceptedTxs);
  assert.ok(second.finalizedTxs > 0);

  assert.match(devnetOk(dir, ["restart", "2"]), /node2: was not running; started pid \d+/);
  assert.match(devnetOk(dir, ["join"]), /observer0 joined: pid \d+/);
  const nodes = readState().nodes;
  assert.deepEqual(
    nodes.map((n) => n.name),
    ["node0", "node1", "node2", "node3", "observer0"],
  );

  // Node 2 and the observer catch up by sync; a tx now and then keeps the chain moving meanwhile.
  const deadline = Date.now() + 60_000;
  let indexes: number[] = [];
  for (let i = 0; ; i++) {
    indexes = await Promise.all(
      nodes.map((n) => getJson<{ finalizedIndex: number }>(n.apiPort, "/status").then((s) => s.finalizedIndex)),
    );
    if (indexes.every((x) => x === indexes[0])) break;
    assert.ok(Date.now() < deadline, `nodes did not converge: finalized indexes ${indexes.join(", ")}`);
    if (i % 10 === 0) {
      await fetch(`http://127.0.0.1:${state.nodes[0]!.apiPort}/txs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ txs: [`nudge-${i}=${Date.now()}`] }),
      });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const finalized = indexes[0]!;
  assert.ok(finalized >= 2, `finalized index ${finalized}`);

  // Identical finalized block hashes at every index, and the same app hash.
  for (let index = 1; index <= finalized; index++) {
    const hashes = await Promise.all(nodes.map((n) => getBlock(n.apiPort, index, deadline).then((b) => b.hash)));
    assert.equal(new Set(hashes).size, 1, `block ${index} differs: ${hashes.join(" ")}`);
  }
  // The app hash after the last common index (a node may already execute a later one).
  const appHashes = await Promise.all(
    nodes.map((n) => getBlock(n.apiPort, finalized, deadline).then((b) => b.appHash)),
  );
  assert.equal(new Set(appHashes).size, 1, `app hashes differ: ${appHashes.join(" ")}`);

  const downOut = devnetOk(dir, ["down"]);
  for (const n of nodes) assert.match(downOut, new RegExp(`${n.name}: (stopped|killed)`));
  assert.match(devnetOk(dir, ["status"]), /node0\s+validator\s+-\s+\d+\s+down/);
});
