import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pino from "pino";
import { HaCoordinator, Lease } from "../../node/ha/index.ts";
import { type RedisServer, startRedisServers, stopAll } from "./redis-servers.ts";

const TTL = 1200;
const RENEW = 200;
let servers: RedisServer[] = [];
let seq = 0;
before(async () => {
  servers = await startRedisServers(3);
});
after(async () => {
  await stopAll(servers);
});

function instance(id: string) {
  const lease = new Lease({
    redisUrls: servers.map((s) => s.url),
    keyPrefix: `coord/${process.pid}/${seq}`,
    instanceId: id,
    leaseTtlMs: TTL,
    commandTimeoutMs: 100,
    connectTimeoutMs: 150,
  });
  const events: { kind: "acquired" | "lost"; epoch?: number; reason?: string; atMs: number }[] = [];
  const coordinator = new HaCoordinator({
    lease,
    renewEveryMs: RENEW,
    log: pino({ level: "silent" }),
    onAcquired: async (epoch) => {
      events.push({ kind: "acquired", epoch, atMs: Date.now() });
      return true;
    },
    onLost: (reason) => events.push({ kind: "lost", reason, atMs: Date.now() }),
  });
  return { lease, coordinator, events };
}

async function until(what: string, fn: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("one of two instances leads and keeps the lease by renewing; a stopped leader hands over at once", async () => {
  seq++;
  const a = instance("a");
  const b = instance("b");
  a.coordinator.start();
  await until("a leads", () => a.coordinator.role === "leader");
  b.coordinator.start();
  // Several TTLs: a renews, b never gets it.
  await new Promise((r) => setTimeout(r, TTL * 3));
  assert.equal(a.coordinator.role, "leader");
  assert.equal(b.coordinator.role, "standby");
  assert.equal(a.events.filter((e) => e.kind === "lost").length, 0);
  await a.coordinator.stop(); // releases the lease
  await until("b leads", () => b.coordinator.role === "leader");
  assert.equal(b.events.find((e) => e.kind === "acquired")?.epoch, 2);
  await b.coordinator.stop();
});

test("a majority of servers paused: the leader stops signing by the end of its validity, and takes the lease again after", async () => {
  seq++;
  const a = instance("a");
  a.coordinator.start();
  await until("a leads", () => a.coordinator.role === "leader");
  servers[0]!.pause();
  servers[1]!.pause();
  try {
    // The last validity the leader held before it lost the lease.
    let lastValidUntil = a.lease.validUntilMs;
    await until(
      "a loses the lease",
      () => {
        if (a.lease.validUntilMs > 0) lastValidUntil = a.lease.validUntilMs;
        return a.events.some((e) => e.kind === "lost");
      },
      TTL * 4,
    );
    const lost = a.events.find((e) => e.kind === "lost")!;
    assert.match(lost.reason!, /lease lapsed/);
    assert.equal(a.lease.held(), false);
    assert.equal(a.coordinator.role, "standby");
    // It stops at its validity's end (a timer there), not at some later renewal attempt.
    assert.ok(lost.atMs <= lastValidUntil + 1000, `lost ${lost.atMs - lastValidUntil} ms after its validity ended`);
  } finally {
    servers[0]!.resume();
    servers[1]!.resume();
  }
  await until("a leads again", () => a.coordinator.role === "leader", TTL * 6);
  assert.ok(a.lease.epoch >= 2);
  await a.coordinator.stop();
});
