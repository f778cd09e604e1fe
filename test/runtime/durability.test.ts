import assert from "node:assert/strict";
import { test } from "node:test";
import type { OutboxPersist, WriteId } from "../../node/protocol/index.ts";
import { type Durability, DurableReporter } from "../../node/runtime/index.ts";

function persist(id: number): OutboxPersist {
  return { kind: "persist", id: id as WriteId, write: { kind: "pruneCommitQcs", before: id }, signed: [] };
}

/** A hook whose batches complete when the test says so (an HA quorum publish can be slow). */
class ManualHook implements Durability {
  readonly pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  commit(): Promise<void> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test("durable acknowledgements are reported in persist order, whatever order the hook completes batches in", async () => {
  const hook = new ManualHook();
  const reported: number[] = [];
  const r = new DurableReporter(
    hook,
    (batch) => reported.push(...batch.map((p) => p.id)),
    () => assert.fail("no failure expected"),
  );
  r.submit([persist(0), persist(1)]);
  r.submit([persist(2)]);
  hook.pending[1]!.resolve();
  await tick();
  assert.deepEqual(reported, [], "the second batch waits for the first");
  hook.pending[0]!.resolve();
  await tick();
  assert.deepEqual(reported, [0, 1, 2]);
});

test("after a refused batch nothing more is reported, and the failure is reported once", async () => {
  const hook = new ManualHook();
  const reported: number[] = [];
  const failures: string[] = [];
  const r = new DurableReporter(
    hook,
    (batch) => reported.push(...batch.map((p) => p.id)),
    (err) => failures.push(err.message),
  );
  r.submit([persist(0)]);
  r.submit([persist(1)]);
  r.submit([persist(2)]);
  hook.pending[2]!.resolve();
  hook.pending[0]!.reject(new Error("FENCED"));
  hook.pending[1]!.resolve();
  await tick();
  await tick();
  assert.deepEqual(reported, []);
  assert.deepEqual(failures, ["FENCED"]);
});
