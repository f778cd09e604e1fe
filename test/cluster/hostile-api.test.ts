/**
 * Issue 11 items 1 and 2 against a real node process on 127.0.0.1: slow
 * request bodies and pipelined floods, scaled down (hundreds of connections,
 * tens of thousands of requests) but past every bound. Each asserts that RSS
 * stays under a stated bound, that the node keeps finalizing during the
 * attack, and that the API answers a new client again within seconds after.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type ClusterNode, LocalCluster, sampleProcess, sleep } from "../../scripts/cluster/index.ts";
import { MiB, pipelinedFlood, rssSampler, slowBodies, steadyClient } from "./attacks.ts";

let cluster: LocalCluster;
let node: ClusterNode;
/** The API's bounds for this test (config [api]). */
const BODY_BUDGET = 16 * MiB;
const REQUEST_TIMEOUT_MS = 3000;
/** RSS may grow by at most this over the node's idle RSS during an attack. */
const RSS_GROWTH_BOUND = 150 * MiB;

before(async () => {
  cluster = await LocalCluster.create({
    validators: 1,
    sets: [
      "api.maxConnections=64",
      `api.maxBodyBytesInFlight=${BODY_BUDGET}`,
      "api.maxInflightPerConnection=16",
      `api.requestTimeoutMs=${REQUEST_TIMEOUT_MS}`,
      "api.headersTimeoutMs=2000",
      "api.idleTimeoutMs=5000",
    ],
  });
  cluster.stopOnExit();
  node = cluster.validators[0]!;
  await cluster.startAll([node]);
});

after(async () => {
  await cluster?.destroy();
});

async function finalized(): Promise<number> {
  return (await node.status())?.finalizedIndex ?? -1;
}

/** The API answers a fresh client within `withinMs`. */
async function answersAgain(withinMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < withinMs) {
    if ((await node.status().catch(() => null)) !== null) return Date.now() - t0;
    await sleep(100);
  }
  throw new Error(`the API did not answer within ${withinMs} ms after the attack`);
}

test("item 1: 400 slow 1 MiB bodies cannot grow RSS past the body budget; the node keeps finalizing", async () => {
  const pid = node.pid!;
  const client = steadyClient(node.apiPort, 100);
  await sleep(1500);
  const idleRss = sampleProcess(pid)!.rssBytes;
  const before = await finalized();
  const rss = rssSampler(pid);
  const attack = await slowBodies(node.apiPort, {
    count: 400,
    declaredBytes: MiB,
    sendBytes: MiB - 64 * 1024,
    deadlineMs: 20_000,
  });
  // Held past the request timeout: the server must close every stalled request itself.
  await sleep(REQUEST_TIMEOUT_MS + 2500);
  const during = await finalized();
  const peak = rss.stop();
  const closed = attack.closedByServer();
  for (const s of attack.sockets) s.destroy();
  const acceptedDuring = client.accepted;
  await client.stop();
  console.log(
    `item 1: idle RSS ${(idleRss / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB; ` +
      `${closed}/${attack.sockets.length} attack connections closed by the server (${attack.answered503()} got 503); ` +
      `finalized ${before} -> ${during}; ${acceptedDuring} steady txs accepted`,
  );
  assert.ok(peak - idleRss < RSS_GROWTH_BOUND, `RSS grew by ${((peak - idleRss) / MiB).toFixed(0)} MiB`);
  assert.ok(closed >= attack.sockets.length * 0.95, "stalled connections are closed by the server");
  assert.ok(during > before, `finalizing went on during the attack (${before} -> ${during})`);
  const ms = await answersAgain(5000);
  assert.ok(ms < 5000);
});

test("item 2: 20 connections x 20,000 pipelined GET /metrics cannot take the node out", async () => {
  const pid = node.pid!;
  const client = steadyClient(node.apiPort, 100);
  await sleep(1500);
  const idleRss = sampleProcess(pid)!.rssBytes;
  const cpu0 = sampleProcess(pid)!.cpuTicks;
  const before = await finalized();
  const rss = rssSampler(pid);
  const t0 = Date.now();
  const sockets = pipelinedFlood(node.apiPort, { connections: 20, requests: 20_000, path: "/metrics" });
  await sleep(8000);
  const during = await finalized();
  const peak = rss.stop();
  const cpuShare = (sampleProcess(pid)!.cpuTicks - cpu0) / 100 / ((Date.now() - t0) / 1000);
  const closed = sockets.filter((s) => s.destroyed || s.readyState === "closed").length;
  for (const s of sockets) s.destroy();
  await client.stop();
  console.log(
    `item 2: idle RSS ${(idleRss / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB; ` +
      `node CPU ${(cpuShare * 100).toFixed(0)}% of a core; finalized ${before} -> ${during}; ` +
      `${closed}/20 flood connections closed; ${client.accepted} steady txs accepted`,
  );
  assert.ok(peak - idleRss < RSS_GROWTH_BOUND, `RSS grew by ${((peak - idleRss) / MiB).toFixed(0)} MiB`);
  assert.ok(during > before, `finalizing went on during the flood (${before} -> ${during})`);
  const ms = await answersAgain(5000);
  assert.ok(ms < 5000);
  const metrics = await node.get("/metrics");
  assert.match(String(metrics.body), /validator_api_rejected_total\{reason="pipelined"\} [1-9]/);
});
