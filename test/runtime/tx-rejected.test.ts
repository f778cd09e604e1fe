/**
 * What the runtime does with a tx the lanes machine refuses after the API
 * admitted it: a duplicate of a tx still waiting keeps that tx's pending
 * entry (GET /txs/:hash keeps saying pending) and is not counted as a full
 * mempool.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { after, test } from "node:test";
import pino from "pino";
import { type RunningNode, startNode } from "../../node/runtime/index.ts";
import { runValidator, tempDir } from "../cli/run.ts";
import { submitTxs } from "../fixtures/api.ts";

const tmp = tempDir("validator-tx-rejected-");
const nodes: RunningNode[] = [];
after(async () => {
  for (const n of nodes) await n.stop().catch(() => {});
  tmp.cleanup();
});

async function txStatus(n: RunningNode, hash: string): Promise<string> {
  const r = await fetch(`${n.apiUrl}/txs/${hash}`);
  const body = (await r.json()) as { status?: string };
  return body.status ?? `HTTP ${r.status}`;
}

async function metric(n: RunningNode, name: string): Promise<number> {
  const text = await (await fetch(`${n.apiUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(" ")[1]);
}

test("a duplicate of a tx still in the mempool keeps its pending entry and is not a full mempool", async () => {
  const home = join(tmp.dir, "home");
  // One validator whose lane blocks wait a minute: the tx stays in the mempool for the test.
  const init = runValidator([
    "init",
    "--home",
    home,
    "--set",
    "lanes.maxBlockDelayMs=60000",
    "--set",
    "api.port=0",
    "--set",
    "p2p.listen=/ip4/127.0.0.1/tcp/0",
  ]);
  assert.equal(init.code, 0, init.stderr);
  const node = await startNode({ home, env: {}, logger: pino({ level: "silent" }) });
  nodes.push(node);

  const tx = "dup=1";
  const hash = createHash("sha256").update(tx).digest("hex");
  assert.equal(await submitTxs(node.apiUrl, [tx]), 202);
  assert.equal(await txStatus(node, hash), "pending");
  // The same tx again: the API admits it (it does not look into the mempool), the lanes machine refuses it.
  assert.equal(await submitTxs(node.apiUrl, [tx]), 202);
  // The refusal is handled on the node's loop: give it a few turns.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await txStatus(node, hash), "pending", "the first admission is still waiting");
  assert.equal(await metric(node, "validator_mempool_rejected_total"), 0, "a duplicate is not a full mempool");
  // The machines' numbers are carried over when /metrics is read, not after every turn.
  assert.equal(await metric(node, "validator_mempool_txs"), 1, "the waiting tx, read at the scrape");
});
