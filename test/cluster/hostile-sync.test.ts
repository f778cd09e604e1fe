/**
 * Issue 11 item 3 against a real node process on 127.0.0.1: many fresh peer
 * identities, each within its own per-peer sync budget, request large
 * ranges of global blocks and never read the answers. The node's global
 * sync budget bounds what it holds; RSS stays under a stated bound, the node
 * keeps finalizing, and the API answers a new client within seconds after.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import { generateKeyPair, libp2pPrivateKey } from "../../node/crypto/index.ts";
import { writeFrame } from "../../node/net/framing.ts";
import { createHost, type Host, protocolIds, resolveLimits } from "../../node/net/index.ts";
import { encodeRequest } from "../../node/net/sync-wire.ts";
import { type ClusterNode, LocalCluster, sampleProcess, sleep } from "../../scripts/cluster/index.ts";
import { MiB, rssSampler, steadyClient } from "./attacks.ts";

let cluster: LocalCluster;
let node: ClusterNode;
const IDENTITIES = 40;
const STREAMS_PER_IDENTITY = 4;
/** The node's global sync budget in this test (config p2p.syncMaxInflightBytes). */
const SYNC_BUDGET = 64 * MiB;
const RSS_GROWTH_BOUND = 250 * MiB;

before(async () => {
  cluster = await LocalCluster.create({ validators: 1, sets: [`p2p.syncMaxInflightBytes=${SYNC_BUDGET}`] });
  cluster.stopOnExit();
  node = cluster.validators[0]!;
  await cluster.startAll([node]);
});

after(async () => {
  await cluster?.destroy();
});

/** Fills the chain with large txs: ~60 MB of global blocks. */
async function buildChain(): Promise<number> {
  const tx = (i: number, j: number) => `big${i}_${j}=${"x".repeat(60_000)}`;
  const posts = 240;
  for (let i = 0; i < posts; i += 4) {
    await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        for (let attempt = 0; attempt < 50; attempt++) {
          const r = await node.post("/txs", { txs: [0, 1, 2, 3].map((j) => tx(i + k, j)) });
          if (r.status === 202) return;
          await sleep(200);
        }
        throw new Error("the node kept refusing txs");
      }),
    );
  }
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    const s = await node.status();
    if (s !== null && s.mempoolTxs === 0 && s.lanes.every((l) => l.next === l.finalizedNext)) return s.finalizedIndex;
    await sleep(250);
  }
  throw new Error("the chain did not settle");
}

test("item 3: 40 identities x 4 unread global-block requests stay within the global sync budget", async () => {
  const tip = await buildChain();
  const status = (await node.status())!;
  const pid = node.pid!;
  const ids = protocolIds(status.chainId, 0);
  const target = multiaddr(`/ip4/127.0.0.1/tcp/${node.p2pPort}/p2p/${status.peerId}`);
  const client = steadyClient(node.apiPort, 100);
  await sleep(1000);
  const idleRss = sampleProcess(pid)!.rssBytes;
  const before = (await node.status())!.finalizedIndex;
  const rss = rssSampler(pid);
  const hosts: Host[] = [];
  const streams: Stream[] = [];
  let failedDials = 0;
  const request = encodeRequest({ kind: "globalBlocks", first: 1, last: 256 });
  try {
    // One identity after another (libp2p refuses bursts of inbound connections from one IP).
    for (let i = 0; i < IDENTITIES; i++) {
      const host = await createHost({
        privateKey: libp2pPrivateKey(generateKeyPair()),
        listen: [],
        ids,
        limits: resolveLimits(),
      });
      hosts.push(host);
      await host.start();
      for (let s = 0; s < STREAMS_PER_IDENTITY; s++) {
        try {
          const stream = await host.dialProtocol(target, ids.sync, { signal: AbortSignal.timeout(10_000) });
          stream.pause(); // never read
          streams.push(stream);
          await writeFrame(stream, request);
        } catch {
          failedDials++;
        }
      }
      await sleep(30);
    }
    await sleep(6000);
    const during = (await node.status())!.finalizedIndex;
    const peak = rss.stop();
    const metrics = String((await node.get("/metrics")).body);
    const limited = Number(
      /validator_sync_requests_total\{kind="globalBlocks",direction="server",outcome="limited"\} (\d+)/.exec(
        metrics,
      )?.[1] ?? 0,
    );
    console.log(
      `item 3: chain of ${tip} indexes; ${streams.length} unread requests (${failedDials} dials failed) from ${hosts.length} identities; ` +
        `idle RSS ${(idleRss / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB; ${limited} refused by the budget; ` +
        `finalized ${before} -> ${during}; ${client.accepted} steady txs accepted`,
    );
    assert.ok(streams.length >= IDENTITIES * STREAMS_PER_IDENTITY * 0.75, `${failedDials} dials failed`);
    assert.ok(limited > 0, "requests beyond the global budget were refused");
    assert.ok(peak - idleRss < RSS_GROWTH_BOUND, `RSS grew by ${((peak - idleRss) / MiB).toFixed(0)} MiB`);
    assert.ok(during > before, `finalizing went on during the attack (${before} -> ${during})`);
  } finally {
    await client.stop();
    await Promise.all(hosts.map((h) => Promise.resolve(h.stop()).catch(() => {})));
  }
  const t0 = Date.now();
  while ((await node.status().catch(() => null)) === null) {
    assert.ok(Date.now() - t0 < 5000, "the API answers again within 5 s");
    await sleep(100);
  }
});
