import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Level } from "level";
import { openStorage, recover } from "../../node/storage/index.ts";
import { testCommittee } from "../fixtures/committee.ts";

const KILLS = Number(process.env.CRASH_KILLS ?? 50);
const CHILD = new URL("./crash-child.ts", import.meta.url).pathname;
const tc = testCommittee(4);

interface Acked {
  lane: number;
  cqc: number;
  anchor: number;
}

interface Cursors {
  laneFirst: number;
  laneNext: number;
  cqcFirst: number;
  cqcNext: number;
  anchor: number;
}

/** Runs the child until a random moment, SIGKILLs it, returns what it acknowledged. */
async function runAndKill(dir: string, acked: Acked): Promise<{ start: number[] | null; lines: number }> {
  const child: ChildProcess = spawn(process.execPath, [CHILD, dir], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let buffered = "";
  let start: number[] | null = null;
  let lines = 0;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const started = Promise.withResolvers<void>();
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const line of parts) {
      const [tag, ...nums] = line.split(" ");
      const values = nums.map(Number);
      lines++;
      if (tag === "start") {
        start = values;
        started.resolve();
      } else if (tag === "L") acked.lane = Math.max(acked.lane, values[0]!);
      else if (tag === "C") acked.cqc = Math.max(acked.cqc, values[0]!);
      else if (tag === "A") acked.anchor = Math.max(acked.anchor, values[0]!);
    }
  });
  void exited.then(() => started.resolve());
  // One kill in eight lands during start-up and recovery; the rest while appending.
  if (Math.random() < 0.125) await sleep(Math.random() * 300);
  else {
    await started.promise;
    await sleep(Math.random() * 120);
  }
  child.kill("SIGKILL");
  const { code, signal } = await exited;
  assert.equal(signal, "SIGKILL", `child exited by itself (code ${code}): ${stderr}`);
  return { start, lines };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function recoverDir(dir: string): Promise<Cursors> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  try {
    const storage = await openStorage(db, tc.committee);
    const s = await recover(storage, tc.committee);
    const lane = s.lanes[0]!;
    assert.equal(s.safety?.lock?.proposal.view.index ?? 0, s.finalizedIndex, "lock follows every CommitQC");
    return {
      laneFirst: lane.first,
      laneNext: lane.next,
      cqcFirst: storage.commitQcs.wal.first,
      cqcNext: storage.commitQcs.wal.next,
      anchor: s.anchor?.commitQc.proposal.view.index ?? 0,
    };
  } finally {
    await db.close();
  }
}

test(`SIGKILL at random moments, ${KILLS} times on one database: acknowledged writes survive`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "validator-crash-"));
  try {
    const acked: Acked = { lane: -1, cqc: 0, anchor: 0 };
    let prev: Cursors = { laneFirst: 0, laneNext: 0, cqcFirst: 1, cqcNext: 1, anchor: 0 };
    let appendingKills = 0;
    for (let i = 0; i < KILLS; i++) {
      const { start, lines } = await runAndKill(dir, acked);
      if (start !== null) {
        // The child recovered exactly what the parent saw after the previous kill.
        assert.deepEqual(start, [prev.laneFirst, prev.laneNext, prev.cqcFirst, prev.cqcNext, prev.anchor]);
        if (lines > 1) appendingKills++;
      }
      const now = await recoverDir(dir);
      const where = `after kill ${i + 1}`;
      assert.ok(
        now.laneNext > acked.lane,
        `${where}: acknowledged lane block ${acked.lane} lost (next ${now.laneNext})`,
      );
      assert.ok(now.cqcNext > acked.cqc, `${where}: acknowledged CommitQC ${acked.cqc} lost (next ${now.cqcNext})`);
      assert.ok(now.anchor >= acked.anchor, `${where}: acknowledged anchor ${acked.anchor} lost (${now.anchor})`);
      for (const key of ["laneFirst", "laneNext", "cqcFirst", "cqcNext", "anchor"] as const) {
        assert.ok(now[key] >= prev[key], `${where}: ${key} moved backwards from ${prev[key]} to ${now[key]}`);
      }
      prev = now;
    }
    assert.ok(appendingKills >= KILLS / 2, `only ${appendingKills} of ${KILLS} kills hit a child that was appending`);
    assert.ok(acked.cqc > 0 && acked.anchor > 0, "the children acknowledged CommitQCs and anchors");
    t.diagnostic(
      `${KILLS} kills (${appendingKills} while appending); acknowledged up to lane block ${acked.lane}, CommitQC ${acked.cqc}, anchor ${acked.anchor}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
