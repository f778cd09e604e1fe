import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Lease, type LeaseOptions, type SignRecord } from "../../node/ha/index.ts";
import { type RedisServer, startHalfAlive, startRedisServers, stopAll } from "./redis-servers.ts";

const TTL = 3000;
const CMD_MS = 300;
const CONNECT_MS = 400;
/** What one quorum round may take at most: connect + command bounds, plus slack for a loaded machine. */
const ROUND_BOUND_MS = CONNECT_MS + CMD_MS + 1500;

let prefixSeq = 0;
function lease(urls: string[], id: string, extra: Partial<LeaseOptions> = {}): Lease {
  return new Lease({
    redisUrls: urls,
    keyPrefix: `test/${process.pid}/${prefixSeq}`,
    instanceId: id,
    leaseTtlMs: TTL,
    commandTimeoutMs: CMD_MS,
    connectTimeoutMs: CONNECT_MS,
    ...extra,
  });
}
const opened: Lease[] = [];
function track(...ls: Lease[]): Lease[] {
  opened.push(...ls);
  return ls;
}

const rec = (slot: string, a: number, b: number, tag: string, data?: Uint8Array): SignRecord => ({
  slot,
  a,
  b,
  tag,
  ...(data ? { data } : {}),
});

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let servers: RedisServer[] = [];
before(async () => {
  servers = await startRedisServers(3);
});
after(async () => {
  for (const l of opened) l.close();
  await stopAll(servers);
});
const urls = () => servers.map((s) => s.url);

describe("lease on three healthy servers", () => {
  test("one instance holds it; the epoch rises with every new holder; release frees it", async () => {
    prefixSeq++;
    const [a, b] = track(lease(urls(), "a"), lease(urls(), "b"));
    const ga = await a!.acquire();
    assert.ok(ga, "a acquires");
    assert.equal(ga.epoch, 1);
    assert.equal(a!.held(), true);
    assert.equal(await b!.acquire(), null, "b cannot while a holds it");
    assert.equal(b!.held(), false);
    assert.equal(await a!.renew(), "ok");
    await a!.release();
    assert.equal(a!.held(), false);
    const gb = await b!.acquire();
    assert.ok(gb);
    assert.equal(gb.epoch, 2);
  });

  test("a holder that stops renewing loses it after the TTL; its writes are then fenced", async () => {
    prefixSeq++;
    // a's clock is frozen: it believes its lease is valid (a process paused past its lease).
    let frozen = Date.now();
    const [a, b] = track(lease(urls(), "a", { now: () => frozen }), lease(urls(), "b"));
    assert.ok(await a!.acquire());
    assert.equal((await a!.publish([rec("prepare", 5, 0, "aa")])).kind, "ok");
    assert.equal(await b!.acquire(), null);
    await sleep(TTL + 100);
    const gb = await b!.acquire();
    assert.ok(gb, "b takes over after the TTL");
    assert.equal(gb.epoch, 2);
    const out = await a!.publish([rec("prepare", 6, 0, "bb")]);
    assert.equal(out.kind, "fenced");
    assert.equal(await a!.renew(), "lost");
    frozen = Date.now();
    // b reads what a published before losing the lease.
    const read = await b!.read();
    assert.equal(read.kind, "ok");
    if (read.kind === "ok") assert.deepEqual(read.state.get("prepare"), rec("prepare", 5, 0, "aa"));
  });

  test("the same instance re-acquiring gets a new epoch; a write at the old epoch is fenced by the servers", async () => {
    prefixSeq++;
    const frozen = Date.now();
    const [old, again] = track(lease(urls(), "x", { now: () => frozen }), lease(urls(), "x"));
    assert.ok(await old!.acquire());
    await sleep(TTL + 100);
    const g = await again!.acquire();
    assert.ok(g);
    assert.equal(g.epoch, 2);
    const out = await old!.publish([rec("prepare", 1, 0, "aa")]);
    assert.deepEqual(out, { kind: "fenced", reason: "a redis-server refused the write: epoch" });
    assert.equal(await old!.renew(), "lost");
  });

  test("publish: same record again is ok, a different record at the same slot is a conflict, a lower one keeps the higher", async () => {
    prefixSeq++;
    const [a] = track(lease(urls(), "a"));
    assert.ok(await a!.acquire());
    const block = new Uint8Array([1, 2, 3, 0, 255]);
    assert.equal((await a!.publish([rec("own", 7, 0, "h7", block), rec("prepare", 3, 1, "p31")])).kind, "ok");
    assert.equal((await a!.publish([rec("own", 7, 0, "h7", block)])).kind, "ok");
    const c = await a!.publish([rec("prepare", 4, 0, "p40"), rec("own", 7, 0, "other")]);
    assert.equal(c.kind, "conflict");
    if (c.kind === "conflict") assert.equal(c.slot, "own");
    // All or none: the prepare of the refused call was not written.
    assert.equal((await a!.publish([rec("prepare", 3, 0, "p30")])).kind, "ok");
    const read = await a!.read();
    assert.equal(read.kind, "ok");
    if (read.kind !== "ok") return;
    assert.deepEqual(read.state.get("prepare"), rec("prepare", 3, 1, "p31"));
    assert.deepEqual(read.state.get("own"), rec("own", 7, 0, "h7", block));
  });
});

test("the own lane's last blocks stay readable by number within the window; older ones are dropped", async () => {
  prefixSeq++;
  const [a] = track(lease(urls(), "a", { ownBlockWindow: 4 }));
  assert.ok(await a!.acquire());
  for (let n = 0; n < 10; n++) {
    assert.equal((await a!.publish([rec("own", n, 0, `h${n}`, new Uint8Array([n]))])).kind, "ok");
  }
  const got = await a!.readOwnBlocks([5, 6, 7, 8, 9]);
  assert.deepEqual(
    got?.map((b) => (b ? b[0] : null)),
    [null, 6, 7, 8, 9],
  );
});

describe("faults", () => {
  test("a minority of servers down: acquire, renew, publish and read work", async () => {
    prefixSeq++;
    const spare = await startRedisServers(3);
    try {
      await spare[2]!.kill();
      const [a] = track(
        lease(
          spare.map((s) => s.url),
          "a",
        ),
      );
      assert.ok(await a!.acquire());
      assert.equal(await a!.renew(), "ok");
      assert.equal((await a!.publish([rec("app", 9, 0, "x")])).kind, "ok");
      const read = await a!.read();
      assert.equal(read.kind, "ok");
      assert.deepEqual(
        a!.servers().map((s) => s.ok),
        [true, true, false],
      );
    } finally {
      await stopAll(spare);
    }
  });

  test("a majority down: no lease, and a held lease publishes nothing (no quorum: the message must not leave)", async () => {
    prefixSeq++;
    const spare = await startRedisServers(3);
    try {
      const [a, b] = track(
        lease(
          spare.map((s) => s.url),
          "a",
        ),
        lease(
          spare.map((s) => s.url),
          "b",
        ),
      );
      assert.ok(await a!.acquire());
      await spare[0]!.kill();
      await spare[1]!.kill();
      const p = await timed(a!.publish([rec("prepare", 1, 0, "aa")]));
      assert.equal(p.value.kind, "unavailable");
      assert.ok(p.ms < ROUND_BOUND_MS, `publish returned after ${p.ms} ms`);
      assert.equal(await a!.renew(), "failed");
      assert.equal(await b!.acquire(), null);
    } finally {
      await stopAll(spare);
    }
  });

  test("a half-alive server (accepts TCP, never answers): acquire, renew and publish return within their bound", async () => {
    prefixSeq++;
    const half = await startHalfAlive();
    try {
      const mixed = [urls()[0]!, half.url, urls()[1]!];
      const [a] = track(lease(mixed, "a"));
      const acq = await timed(a!.acquire());
      assert.ok(acq.value, "quorum of the two live servers");
      assert.ok(acq.ms < ROUND_BOUND_MS, `acquire took ${acq.ms} ms`);
      const ren = await timed(a!.renew());
      assert.equal(ren.value, "ok");
      assert.ok(ren.ms < ROUND_BOUND_MS, `renew took ${ren.ms} ms`);
      const pub = await timed(a!.publish([rec("prepare", 1, 0, "aa")]));
      assert.equal(pub.value.kind, "ok");
      assert.ok(pub.ms < ROUND_BOUND_MS, `publish took ${pub.ms} ms`);
      assert.ok(half.connections >= 1, "the half-alive server was tried");
      assert.equal(a!.servers()[1]!.ok, false);
    } finally {
      await half.close();
    }
  });

  test("two half-alive servers of three: every operation fails within its bound", async () => {
    prefixSeq++;
    const h1 = await startHalfAlive();
    const h2 = await startHalfAlive();
    try {
      const [a] = track(lease([h1.url, urls()[0]!, h2.url], "a"));
      const acq = await timed(a!.acquire());
      assert.equal(acq.value, null);
      // acquire = one failed round plus the release round.
      assert.ok(acq.ms < 2 * ROUND_BOUND_MS, `acquire took ${acq.ms} ms`);
    } finally {
      await h1.close();
      await h2.close();
    }
  });

  test("a paused server (SIGSTOP) holds the leader no longer than the per-node timeout", async () => {
    prefixSeq++;
    const spare = await startRedisServers(3);
    try {
      const [a] = track(
        lease(
          spare.map((s) => s.url),
          "a",
        ),
      );
      assert.ok(await a!.acquire());
      spare[1]!.pause();
      for (let i = 0; i < 3; i++) {
        const p = await timed(a!.publish([rec("prepare", 1 + i, 0, `p${i}`)]));
        assert.equal(p.value.kind, "ok");
        assert.ok(p.ms < ROUND_BOUND_MS, `publish took ${p.ms} ms`);
      }
      spare[1]!.resume();
    } finally {
      await stopAll(spare);
    }
  });

  test("outstanding background writes to a half-alive server stay bounded and drain", async () => {
    prefixSeq++;
    const half = await startHalfAlive();
    try {
      const maxInFlight = 16;
      const [a] = track(lease([urls()[0]!, half.url, urls()[2]!], "a", { maxInFlightPerNode: maxInFlight }));
      assert.ok(await a!.acquire());
      let peak = 0;
      // 20 waves of 8 concurrent publishes (the runtime has fewer in flight).
      for (let wave = 0; wave < 20; wave++) {
        const outs = await Promise.all(
          Array.from({ length: 8 }, (_, j) => a!.publish([rec("app", wave * 8 + j + 1, 0, `h${wave}-${j}`)])),
        );
        assert.ok(
          outs.every((o) => o.kind === "ok"),
          "every publish reached the two live servers",
        );
        // Commands to the half-alive server are capped at maxInFlight; the
        // rest fail at once. Live servers answer quickly.
        peak = Math.max(peak, a!.outstanding);
        assert.ok(a!.outstanding <= maxInFlight, `outstanding ${a!.outstanding} after the publishes returned`);
      }
      assert.ok(peak >= 1, "some writes were left to finish in the background");
      const deadline = Date.now() + ROUND_BOUND_MS * 2;
      while (a!.outstanding > 0 && Date.now() < deadline) await sleep(20);
      assert.equal(a!.outstanding, 0, "background writes drained within the per-node bound");
      assert.equal(a!.nodes[1]!.inFlight, 0);
    } finally {
      await half.close();
    }
  });

  test("a server restarted empty is taken again by renewal and then accepts writes", async () => {
    prefixSeq++;
    const spare = await startRedisServers(3);
    try {
      const [a] = track(
        lease(
          spare.map((s) => s.url),
          "a",
        ),
      );
      assert.ok(await a!.acquire());
      await spare[0]!.restart();
      assert.equal(await a!.renew(), "ok");
      assert.equal((await a!.publish([rec("prepare", 2, 0, "x")])).kind, "ok");
      // A publish returns at quorum: the restarted server's own answer may
      // still be on its way (it reconnects first). It must accept a write
      // within a few more publishes (bounded: a liveness check, not a timing one).
      for (let i = 0; i < 50 && !a!.servers()[0]!.ok; i++) {
        await new Promise((r) => setTimeout(r, 100));
        assert.equal((await a!.publish([rec("prepare", 3 + i, 0, "x")])).kind, "ok");
      }
      assert.equal(a!.servers()[0]!.ok, true, "the restarted server accepts writes again");
    } finally {
      await stopAll(spare);
    }
  });
});
