import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pino from "pino";
import { type RunningNode, startNode } from "../../node/runtime/index.ts";
import { runValidator, tempDir } from "../cli/run.ts";
import { submitTxs } from "../fixtures/api.ts";
import { freePort, type RedisServer, startRedisServers, stopAll } from "../ha/redis-servers.ts";

/**
 * One validator as two instances in one process, over three real
 * redis-servers: exactly one leads; the other follows; when the leader
 * stops, the standby reconciles and the chain goes on with no block of
 * the validator's lane signed twice.
 */
const tmp = tempDir("validator-ha-runtime-");
let redis: RedisServer[] = [];
const nodes: RunningNode[] = [];
before(async () => {
  redis = await startRedisServers(3);
});
after(async () => {
  for (const n of nodes) await n.stop().catch(() => {});
  await stopAll(redis);
  tmp.cleanup();
});

interface Status {
  finalizedIndex: number;
  lanes: { lane: number; next: number }[];
  ha?: { role: string; epoch: number; leaseValidMs: number; redis: { url: string; ok: boolean }[] };
}

async function status(n: RunningNode): Promise<Status> {
  const r = await fetch(`${n.apiUrl}/status`);
  return (await r.json()) as Status;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("two instances of one validator: one leads, the other follows, takes over on the leader's stop, and no lane block is signed twice", async () => {
  const a = join(tmp.dir, "a");
  const b = join(tmp.dir, "b");
  const urls = redis.map((r) => r.url).join(",");
  const pa = await freePort();
  const pb = await freePort();
  const init = runValidator([
    "init",
    "--home",
    a,
    "--set",
    "ha.enabled=true",
    "--set",
    `ha.redisUrls=${urls}`,
    "--set",
    `p2p.listen=/ip4/127.0.0.1/tcp/${pa}`,
    "--set",
    "api.port=0",
  ]);
  assert.equal(init.code, 0, init.stderr);
  const sb = runValidator(["standby", "--from", a, "--out", b, "--p2p-port", String(pb), "--api-port", "0"]);
  assert.equal(sb.code, 0, sb.stderr);
  assert.match(sb.stdout, /created a standby home/);

  const logger = pino({ level: process.env.HA_TEST_LOG ?? "warn" });
  const na = await startNode({ home: a, env: {}, logger: logger.child({ node: "a" }) });
  nodes.push(na);
  const leaderA = await waitFor("a leads", async () => ((await status(na)).ha?.role === "leader" ? true : undefined));
  assert.ok(leaderA);
  const nb = await startNode({
    home: b,
    env: {},
    logger: logger.child({ node: "b" }),
    overrides: [{ key: "p2p.peers", value: na.p2pAddresses[0]!, source: "test" }],
  });
  nodes.push(nb);

  const sa = await status(na);
  assert.equal(sa.ha?.epoch, 1);
  assert.ok(sa.ha!.leaseValidMs > 0);
  assert.deepEqual(
    sa.ha!.redis.map((r) => r.ok),
    [true, true, true],
  );
  assert.equal((await status(nb)).ha?.role, "standby");
  assert.equal(await submitTxs(nb.apiUrl, ["x=0"]), 503, "a standby takes no txs");

  assert.equal(await submitTxs(na.apiUrl, ["k1=1", "k2=2"]), 202);
  const fin = await waitFor("a finalizes", async () => {
    const s = await status(na);
    return s.finalizedIndex >= 1 ? s.finalizedIndex : undefined;
  });
  await waitFor("b follows", async () => ((await status(nb)).finalizedIndex >= fin ? true : undefined));
  const laneBefore = (await status(na)).lanes[0]!.next;

  // The leader stops (it gives the lease back); the standby takes over.
  await na.stop();
  await waitFor("b leads", async () => ((await status(nb)).ha?.role === "leader" ? true : undefined));
  const sbLead = await status(nb);
  assert.equal(sbLead.ha?.epoch, 2);
  assert.ok(sbLead.lanes[0]!.next >= laneBefore, "the new leader holds every block the old one signed");

  assert.equal(await submitTxs(nb.apiUrl, ["k3=3"]), 202);
  if (process.env.HA_TEST_LOG) console.log(JSON.stringify(await status(nb)));
  await waitFor("b finalizes k3", async () => {
    const r = await fetch(`${nb.apiUrl}/kv/k3`);
    return r.status === 200 ? true : undefined;
  });
  const after = await status(nb);
  assert.ok(after.finalizedIndex > fin);
  assert.ok(after.lanes[0]!.next > laneBefore, "the new leader extended the same lane");
});
