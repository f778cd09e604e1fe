/**
 * Issue 15: a validator whose database is deleted while the cluster runs
 * (real processes, real LevelDB, real libp2p) restarts with its key and no
 * safety record. It must sync first, sign nothing in the views it may have
 * signed in before, and only then vote again; the vote journal over both of
 * its runs holds no two different votes for one view.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { StatusJson } from "../../node/api/index.ts";
import { LocalCluster } from "../../scripts/cluster/index.ts";
import { scanVotes } from "./checks.ts";
import { Load } from "./load.ts";

interface VoteLine {
  vote: string;
  index: number;
  round: number;
}

/** "vote sent" journal lines of a log, from byte offset `from` on. */
function votesIn(logFile: string, from: number, to = Number.POSITIVE_INFINITY): VoteLine[] {
  const text = readFileSync(logFile).subarray(from, to).toString("utf8");
  const out: VoteLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes('"vote sent"')) continue;
    try {
      const e = JSON.parse(line) as { vote: string; index: number; round: number };
      out.push({ vote: e.vote, index: e.index, round: e.round });
    } catch {
      // a line cut by kill -9
    }
  }
  return out;
}

const cmp = (a: { index: number; round: number }, b: { index: number; round: number }) =>
  a.index !== b.index ? a.index - b.index : a.round - b.round;

const KEEP = process.env.KEEP_CLUSTER === "1";
let cluster: LocalCluster;
let undoStopOnExit = () => {};
const load = new Load("ds");

describe("double-sign protection after a validator's database is deleted", { timeout: 10 * 60_000 }, () => {
  before(async () => {
    // At debug level every node logs its vote journal.
    cluster = await LocalCluster.create({ validators: 4, logLevel: "debug" });
    undoStopOnExit = cluster.stopOnExit({ keepDir: KEEP });
    await cluster.startAll(cluster.validators);
  });

  after(async () => {
    await load.stop();
    await cluster?.destroy({ keepDir: KEEP });
    undoStopOnExit();
  });

  test("the wiped validator syncs, holds its votes up to the floor, then votes again: no conflicting votes", {
    timeout: 8 * 60_000,
  }, async () => {
    const victim = cluster.node("node1");
    const others = cluster.validators.filter((n) => n !== victim);
    load.start(() => cluster.validators.filter((n) => n.running), { intervalMs: 100, txsPerRequest: 2 });
    await cluster.waitFinalized(victim, 6);
    // A fresh chain: nobody had seen these keys sign, so nothing was held.
    const first = (await victim.status())!;
    assert.equal(first.signing.state, "active", JSON.stringify(first.signing));

    await cluster.kill9(victim);
    const cut = statSync(victim.logFile).size;
    const before = votesIn(victim.logFile, 0, cut);
    assert.ok(before.length > 0, "the victim never voted before the kill");
    const lastBefore = before.reduce((m, v) => (cmp(v, m) > 0 ? v : m));
    rmSync(join(victim.home, "data"), { recursive: true, force: true });

    cluster.start(victim);
    // It reports the protection while it holds, and lifts it once the chain passed the floor.
    const states = new Set<string>();
    let floor: StatusJson["signing"]["floor"] = null;
    await cluster.waitFor(
      victim,
      () => `${victim.name} to resume signing (states seen: ${[...states].join(", ")})`,
      async () => {
        const s = await victim.status();
        if (s === null) return false;
        states.add(s.signing.state);
        if (s.signing.floor !== null) floor = s.signing.floor;
        return s.signing.state === "active" && floor !== null;
      },
      180_000,
    );
    assert.ok(states.has("syncing") || states.has("held"), `never held: ${[...states].join(", ")}`);
    assert.ok(floor !== null);
    const f = floor as { index: number; round: number };
    // The floor covers every view the first run voted in.
    assert.ok(
      cmp(f, lastBefore) >= 0,
      `floor ${JSON.stringify(f)} below a view voted before: ${JSON.stringify(lastBefore)}`,
    );

    // It votes again, and only above the floor.
    await cluster.waitFor(
      victim,
      `${victim.name} to vote again`,
      async () => votesIn(victim.logFile, cut).length > 0,
      180_000,
    );
    const target = (await cluster.minFinalized(others)) + 3;
    await cluster.waitFinalized(victim, target, 180_000);
    await load.stop();
    const after = votesIn(victim.logFile, cut);
    const low = after.filter((v) => cmp(v, f) <= 0);
    assert.deepEqual(low, [], "votes at or below the signing floor after the restart");

    // Its own lane goes on from the blocks its first run made: its txs finalize.
    const mine = await load.send(victim, 3);
    assert.equal(mine.length, 3, "the resumed validator refused txs");
    for (const t of mine) {
      await cluster.waitFor(
        victim,
        `tx ${t.hash} sent to ${victim.name} to finalize`,
        async () => ((await victim.get(`/txs/${t.hash}`)).body as { status?: string }).status === "finalized",
        120_000,
      );
    }

    // The log says so, in words an operator can act on.
    const log = readFileSync(victim.logFile).subarray(cut).toString("utf8");
    assert.match(log, /double-sign protection: peers have seen messages up to view/);
    assert.match(log, /double-sign protection: signing resumed/);
  });

  test("node.doubleSignCheck = true: a validator restarted with its data (e.g. a restored backup) checks too", {
    timeout: 8 * 60_000,
  }, async () => {
    const node = cluster.node("node2");
    load.start(() => cluster.validators.filter((n) => n.running), { intervalMs: 100, txsPerRequest: 2 });
    await cluster.waitFinalized(node, (await cluster.minFinalized(cluster.validators)) + 2);
    await cluster.stop(node);
    const cut = statSync(node.logFile).size;
    const lastBefore = votesIn(node.logFile, 0, cut).reduce((m, v) => (cmp(v, m) > 0 ? v : m));
    await cluster.startAndWait(node, { sets: ["node.doubleSignCheck=true"] });
    let floor: StatusJson["signing"]["floor"] = null;
    await cluster.waitFor(
      node,
      `${node.name} to set its floor and resume`,
      async () => {
        const s = await node.status();
        if (s?.signing.floor) floor = s.signing.floor;
        return s?.signing.state === "active" && floor !== null;
      },
      180_000,
    );
    const f = floor as unknown as { index: number; round: number };
    assert.ok(cmp(f, lastBefore) >= 0, `floor ${JSON.stringify(f)} below ${JSON.stringify(lastBefore)}`);
    await cluster.waitFor(
      node,
      `${node.name} to vote again`,
      async () => votesIn(node.logFile, cut).length > 0,
      180_000,
    );
    await load.stop();
    assert.deepEqual(
      votesIn(node.logFile, cut).filter((v) => cmp(v, f) <= 0),
      [],
      "votes at or below the floor",
    );
    assert.match(readFileSync(node.logFile).subarray(cut).toString("utf8"), /node\.doubleSignCheck is true/);
  });

  test("no validator ever signed two different votes for one view (vote journals of every run)", () => {
    for (const node of cluster.validators) {
      const scan = scanVotes(node.logFile);
      assert.ok(scan.votes > 0, `${node.name} never voted`);
      assert.deepEqual(scan.conflicts, [], `${node.name} signed two different votes for one view`);
    }
  });
});
