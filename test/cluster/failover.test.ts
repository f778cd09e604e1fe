/**
 * HA failover with real processes (DESIGN section 14): 4 validators, one of
 * them as two instances over 3 redis-servers, under load. A few forced
 * failovers here (kill -9 of the leader, then SIGSTOP past its lease and
 * SIGCONT); the long run is `npm run failover -- --count 100`. The negative
 * control runs the same with fencing disabled and must show a conflicting
 * signature, in the journals and in the honest nodes' GET /evidence, proving
 * both readers would see one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runFailover } from "../../scripts/failover/run.ts";

const TIMEOUT_MS = 5 * 60_000;
const NEGATIVE_CONTROL_TIMEOUT_MS = 10 * 60_000;
const log = process.env.FAILOVER_TEST_LOG ? (l: string) => console.log(l) : undefined;

test("forced failovers: no conflicting signature, identical finalized blocks (ranges, txs, app hash), the chain finalizes throughout", {
  timeout: TIMEOUT_MS,
}, async (t) => {
  const r = await runFailover({ count: 2, ...(log && { log }) });
  t.diagnostic(
    `takeovers ${r.failovers.map((f) => f.takeoverMs).join(", ")} ms; compared ${r.comparedIndexes} indexes, the last served after ${r.servedAfterMs} ms`,
  );
  assert.equal(r.failovers.length, 2);
  assert.deepEqual(
    r.failovers.map((f) => f.kind),
    ["kill9", "pause"],
  );
  assert.ok(r.journalLines > 0, "the scan saw the validator's signatures");
  assert.deepEqual(r.conflicts, [], "no two different signatures by the HA validator's key at one slot");
  assert.deepEqual(r.evidence, [], "no node's GET /evidence holds equivocation evidence");
  assert.deepEqual(r.contentMismatches, []);
  assert.ok(r.comparedIndexes >= 4, `compared ${r.comparedIndexes} indexes`);
  // Three of four validators are a quorum: finality never waits for the takeover.
  assert.ok(r.longestStallMs < 20_000, `longest finalization stall ${r.longestStallMs} ms`);
  for (const f of r.failovers) assert.ok(f.takeoverMs > 0, `takeover ${f.takeoverMs} ms`);
  // Every takeover raised the fencing epoch.
  assert.ok(r.failovers[1]!.epoch > r.failovers[0]!.epoch);
});

test("negative control: with fencing disabled, a paused leader that resumes signs in conflict with its successor", {
  timeout: NEGATIVE_CONTROL_TIMEOUT_MS,
}, async () => {
  // Whether a thawed leader signs something its successor signed differently
  // depends on timing. It used to rest on validator 0 proposing while both
  // instances signed, and a loaded CI run once saw no conflict in ten pauses.
  // Now both instances are offered a tx at one moment after every thaw (run.ts
  // offerBoth), so a second signer makes a lane block at its successor's
  // number: in 7 runs (3 of them beside two busy loops) the conflict showed
  // at the first pause. The run alternates pauses with kills and stops at the
  // first conflict; twenty failovers are the bound.
  const r = await runFailover({
    count: 20,
    fencing: false,
    firstKind: "pause",
    stopAtConflict: true,
    ...(log && { log }),
  });
  assert.ok(r.conflicts.length > 0, "the scan shows a conflicting signature");
  // The honest validators saw the conflict too: their GET /evidence is the second, independent reader.
  assert.ok(
    r.evidence.some((line) => line.includes("signer 0")),
    `GET /evidence shows validator 0's equivocation: ${JSON.stringify(r.evidence)}`,
  );
});
