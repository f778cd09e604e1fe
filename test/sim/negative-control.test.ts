import assert from "node:assert/strict";
import { test } from "node:test";
import { runSimulation } from "./simulation.ts";

/**
 * The checker must see what it claims to guard. With 2 of 4 validators (more
 * than f = 1) restarting with their safety record wiped, they forget what
 * they signed and sign again: the simulator must report a safety violation
 * within a few seeds.
 */
test("negative control: 2 of 4 nodes with a wiped safety record cause a reported safety violation", async () => {
  const MAX_SEEDS = 10;
  let found: { seed: number; invariant: string; detail: string } | null = null;
  for (let seed = 1; seed <= MAX_SEEDS && found === null; seed++) {
    const r = await runSimulation({ seed, nodes: 4, faults: ["wipe"] });
    // A second, different prepare/commit/timeout vote by one key in one view.
    const v = r.violations.find(
      (x) => x.invariant === "no equivocation" && /(prepare|commit|timeout)\//.test(x.detail),
    );
    if (v !== undefined) found = { seed, ...v };
  }
  assert.ok(found !== null, `no vote equivocation reported in ${MAX_SEEDS} seeds`);
  assert.match(found.detail, /signed a second, different message/);
});

test("the same runs with intact safety records pass", async () => {
  const r = await runSimulation({ seed: 1, nodes: 4, faults: ["crash"] });
  assert.equal(r.ok, true, JSON.stringify(r.violations));
  assert.ok(r.finalized > 0);
});

/**
 * The outbox's negative control: one validator's lanes machine hands out its
 * lane votes before their block is durable (a test-only fault). The outbox
 * that the simulator runs must halt that node, naming the vote and the
 * record, on every seed.
 */
test("negative control: a lane vote released before its block is durable halts the node (the outbox)", async () => {
  for (const seed of [1, 2, 3]) {
    const r = await runSimulation({ seed, nodes: 4, faults: ["early-vote"] });
    assert.equal(r.ok, false, `seed ${seed}: the early vote went unnoticed`);
    const v = r.violations[0]!;
    assert.equal(v.invariant, "halt");
    assert.match(v.detail, /^v0 halted: outbox: lane vote for \d+\/\d+ .* not covered by the durable record/);
  }
});
