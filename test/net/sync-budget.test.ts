/** Issue 11 item 3: the sync server's global budget, committee members first. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveLimits } from "../../node/net/index.ts";
import { SyncBudget } from "../../node/net/sync-server.ts";

const MiB = 1024 * 1024;
const limits = resolveLimits({ maxSyncInflight: 8, maxSyncInflightBytes: 64 * MiB, syncReservedPercent: 50 });

test("other peers get only the unreserved share; committee members can still be served", () => {
  const b = new SyncBudget(limits);
  // Non-members: at most half the bytes (32 MiB = two 16 MiB responses).
  assert.equal(b.take(16 * MiB, false), true);
  assert.equal(b.take(16 * MiB, false), true);
  assert.equal(b.take(16 * MiB, false), false, "non-member share used up");
  // A member is still served from the reserved half.
  assert.equal(b.take(16 * MiB, true), true);
  assert.equal(b.take(16 * MiB, true), true);
  assert.equal(b.take(16 * MiB, true), false, "the whole budget is bounded for members too");
  assert.equal(b.bytes, 64 * MiB);
  b.release(16 * MiB);
  assert.equal(b.take(16 * MiB, false), false, "freed bytes go to members first while others hold their share");
  assert.equal(b.take(16 * MiB, true), true);
});

test("requests in flight are bounded globally, with the same reserve", () => {
  const b = new SyncBudget(limits);
  for (let i = 0; i < 4; i++) assert.equal(b.take(1024, false), true);
  assert.equal(b.take(1024, false), false);
  for (let i = 0; i < 4; i++) assert.equal(b.take(1024, true), true);
  assert.equal(b.take(1024, true), false);
  b.shrink(0);
  assert.equal(b.inflight, 8);
});
