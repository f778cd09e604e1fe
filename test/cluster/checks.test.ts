/**
 * The vote journal scan must catch what it is for: a negative control on a
 * hand-written log (the cluster test itself only ever sees honest nodes).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { scanVotes, voteSlot } from "./checks.ts";

function vote(vote: string, index: number, round: number, hash: string): string {
  return JSON.stringify({ level: 20, module: "runtime", vote, index, round, hash, msg: "vote sent" });
}

function scan(lines: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "vote-scan-"));
  try {
    const file = join(dir, "node.log");
    writeFileSync(file, `${lines.join("\n")}\n`);
    return scanVotes(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("two different votes for one (vote, index, round) are reported; identical re-sends are not", () => {
  const result = scan([
    vote("prepare", 5, 0, "aa"),
    vote("prepare", 5, 0, "aa"), // re-sent after a restart: allowed
    vote("commit", 5, 0, "aa"),
    '{"level":30,"msg":"status"}',
    '{"level":20,"vote":"prepare","index":6,"rou', // a line cut by kill -9
    vote("prepare", 5, 1, "bb"), // another round: another slot
    vote("commit", 5, 0, "cc"), // equivocation
    vote("timeout", 5, 1, "null"),
    vote("timeout", 5, 1, "0"), // a timeout vote carrying another lock: equivocation
  ]);
  assert.equal(result.votes, 7);
  assert.equal(result.slots.size, 4);
  assert.equal(result.slots.get(voteSlot("prepare", 5, 1)), "bb");
  assert.deepEqual(result.conflicts, ["commit 5/0: aa and cc", "timeout 5/1: null and 0"]);
});

test("a journal without votes scans to zero", () => {
  const result = scan(['{"level":30,"msg":"stopped"}', "not json"]);
  assert.equal(result.votes, 0);
  assert.deepEqual(result.conflicts, []);
});
