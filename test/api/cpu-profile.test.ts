import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isLoopback } from "../../node/api/cpu-profile-route.ts";
import { type ApiBackend, buildApi } from "../../node/api/index.ts";
import { apiOptions } from "./options.ts";

// The route never reads the backend.
const backend = {} as ApiBackend;

// Shedding for the event loop off: these tests keep the loop busy on purpose.
const base = apiOptions({ maxEventLoopDelayMs: 0, maxEventLoopUtilization: 1 });

/** Keeps the event loop busy in slices until `done` settles, so the sampler has JavaScript to see. */
async function spin(done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.finally(() => {
    settled = true;
  });
  let x = 0;
  while (!settled) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(i);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(x > 0);
}

describe("GET /debug/cpu-profile", () => {
  test("off by default: 404 that says which setting turns it on", async () => {
    const app = buildApi(backend, base);
    const res = await app.inject("/debug/cpu-profile?seconds=1");
    assert.equal(res.statusCode, 404);
    assert.match(res.json().error, /api\.cpuProfileMaxSeconds/);
    await app.close();
  });

  test("answers a V8 CPU profile of the requested length", async () => {
    const app = buildApi(backend, { ...base, cpuProfileMaxSeconds: 5 });
    const pending = app.inject("/debug/cpu-profile?seconds=1");
    await spin(pending);
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /application\/json/);
    const profile = res.json();
    assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 1, "no call tree");
    assert.ok(Array.isArray(profile.samples) && profile.samples.length > 0, "no samples");
    assert.equal(profile.timeDeltas.length, profile.samples.length);
    // startTime and endTime are in microseconds: the profile covers the second asked for.
    assert.ok(
      profile.endTime - profile.startTime >= 900_000,
      `profile spans ${profile.endTime - profile.startTime} us`,
    );
    const names = new Set(profile.nodes.map((n: { callFrame: { functionName: string } }) => n.callFrame.functionName));
    assert.ok(names.has("spin"), "the busy function is not in the profile");
    await app.close();
  });

  test("bad lengths are 400 naming the range; a second profile while one runs is 409", async () => {
    const app = buildApi(backend, { ...base, cpuProfileMaxSeconds: 5 });
    for (const s of ["0", "6", "x", "1.5", "-1", ""]) {
      const res = await app.inject(`/debug/cpu-profile?seconds=${s}`);
      assert.equal(res.statusCode, 400, `seconds=${s}`);
      assert.match(res.json().error, /from 1 to 5/);
    }
    // The first runs its full 5 s unless something ends it: closing the server does, below.
    const first = app.inject("/debug/cpu-profile?seconds=5");
    await new Promise((r) => setTimeout(r, 100));
    const second = await app.inject("/debug/cpu-profile?seconds=1");
    assert.equal(second.statusCode, 409);
    assert.match(second.json().error, /being taken/);
    await app.close();
    assert.equal((await first).statusCode, 200);
  });

  test("closing the server ends a profile in progress early, with what it sampled", async () => {
    const app = buildApi(backend, { ...base, cpuProfileMaxSeconds: 60 });
    const started = Date.now();
    const pending = app.inject("/debug/cpu-profile?seconds=60");
    await new Promise((r) => setTimeout(r, 200));
    await app.close();
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.ok(Array.isArray(res.json().nodes));
    assert.ok(Date.now() - started < 30_000, "close waited for the whole profile");
  });

  test("a client that goes away ends its profile, and the next one is taken", async () => {
    const app = buildApi(backend, { ...base, cpuProfileMaxSeconds: 60 });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const leaving = new AbortController();
      const gone = fetch(`${url}/debug/cpu-profile?seconds=60`, { signal: leaving.signal });
      await new Promise((r) => setTimeout(r, 300));
      leaving.abort();
      await assert.rejects(gone);
      // The profiler is free again long before the first profile's 60 s.
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline) {
        const res = await fetch(`${url}/debug/cpu-profile?seconds=1`);
        status = res.status;
        await res.arrayBuffer();
        if (status !== 409) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
    } finally {
      await app.close();
    }
  });

  test("served to loopback clients only", async () => {
    const app = buildApi(backend, { ...base, cpuProfileMaxSeconds: 5 });
    const res = await app.inject({ url: "/debug/cpu-profile?seconds=1", remoteAddress: "10.0.0.7" });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().error, /loopback clients only, not to 10\.0\.0\.7/);
    await app.close();
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) assert.equal(isLoopback(a), true, a);
    for (const a of ["10.0.0.7", "::ffff:10.0.0.7", "::", "0.0.0.0", "fe80::1", "", "128.0.0.1", "127"]) {
      assert.equal(isLoopback(a), false, a);
    }
  });
});
