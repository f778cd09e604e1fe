/**
 * withDeadline (node/ha/deadline.ts), the one bound on a Redis command, a
 * Redis connect and a new HA leader's fetches from peers.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { withDeadline } from "../../node/ha/index.ts";

const timedOut = () => new Error("timed out");

test("a promise that settles in time passes through, value or error", async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 50, timedOut), 7);
  await assert.rejects(withDeadline(Promise.reject(new Error("refused")), 50, timedOut), /refused/);
});

test("a promise that never settles rejects with the caller's error after the deadline", async () => {
  await assert.rejects(withDeadline(new Promise<never>(() => {}), 20, timedOut), /timed out/);
});

test("a reply that arrives in the same turn as the deadline wins over the timeout", async () => {
  // Both timers expire in one timers phase: the deadline's fires first, the
  // reply's right after. The rejection waits for setImmediate, so the reply is read.
  let reply!: (v: string) => void;
  const p = new Promise<string>((r) => {
    reply = r;
  });
  const bounded = withDeadline(p, 10, timedOut);
  setTimeout(() => reply("answered"), 10);
  const spin = Date.now() + 30;
  while (Date.now() < spin) {
    // A busy event loop: both timers are past due when it is free again.
  }
  assert.equal(await bounded, "answered");
});
