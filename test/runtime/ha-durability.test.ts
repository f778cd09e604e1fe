import assert from "node:assert/strict";
import { test } from "node:test";
import type { OutboxPersist } from "../../node/protocol/index.ts";
import { HaDurability } from "../../node/runtime/ha-durability.ts";
import type { GroupCommitWriter } from "../../node/storage/index.ts";
import type { DurableWrite } from "../../node/types/index.ts";

const write: DurableWrite = { kind: "pruneLane", lane: 0, before: 1 };
const batch = [{ kind: "persist", id: 1, write, signed: [] } as unknown as OutboxPersist];

function writer(log: string[]): GroupCommitWriter {
  return {
    submit: async (ws: DurableWrite[]) => {
      log.push(`local ${ws.length}`);
    },
  } as unknown as GroupCommitWriter;
}

test("HA durability: the quorum publish first, then the local write; durable only after both", async () => {
  const log: string[] = [];
  let release!: () => void;
  const published = new Promise<void>((r) => {
    release = r;
  });
  const d = new HaDurability(writer(log), async () => {
    log.push("publish");
    await published;
  });
  let durable = false;
  const p = d.commit(batch).then(() => {
    durable = true;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(log, ["publish"], "nothing is written locally before the quorum acknowledged");
  assert.equal(durable, false);
  release();
  await p;
  assert.deepEqual(log, ["publish", "local 1"]);
  assert.equal(durable, true);
});

test("HA durability: a fenced publish is never written locally and never acknowledged", async () => {
  const log: string[] = [];
  const d = new HaDurability(writer(log), async () => {
    throw new Error("fenced");
  });
  await assert.rejects(d.commit(batch), /fenced/);
  await d.localIdle();
  assert.deepEqual(log, []);
});
