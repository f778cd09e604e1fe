/**
 * Real processes on 127.0.0.1 (real libp2p, real LevelDB): one 4-validator
 * cluster with one observer, shared by ordered steps. Each step builds on
 * the chain the previous steps left behind; the last one scans every
 * node's vote journal (all of its runs) for equivocation.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultConfig } from "../../node/config/index.ts";
import { type ClusterNode, LocalCluster, sleep } from "../../scripts/cluster/index.ts";
import { compareBlocks, errorLines, scanVotes, type VoteScan, voteSlot } from "./checks.ts";
import { freshRequest } from "./fresh-request.ts";
import { type AcceptedTx, Load } from "./load.ts";
import { mapLimit } from "./map-limit.ts";

const STEP_TIMEOUT_MS = 180_000;
/** KEEP_CLUSTER=1 keeps the homes and logs for a post-mortem. */
const KEEP = process.env.KEEP_CLUSTER === "1";

let cluster: LocalCluster;
/** Interrupted (e.g. the runner is stopped): no node may outlive the test. */
let undoStopOnExit = () => {};
const load = new Load("k");

/** Waits until every node reports every hash finalized; returns hash -> index (same on all nodes). */
async function waitTxsFinalized(
  nodes: readonly ClusterNode[],
  hashes: readonly string[],
): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  for (const node of nodes) {
    let missing = [...hashes];
    await cluster.waitFor(
      node,
      () => `${node.name} to finalize ${missing.length} of ${hashes.length} txs (first: ${missing[0]})`,
      async () => {
        const still: string[] = [];
        await mapLimit(missing, 16, async (hash) => {
          const r = await node.get(`/txs/${hash}`);
          const body = r.body as { status?: string; index?: number };
          if (r.status === 200 && body.status === "finalized" && typeof body.index === "number") {
            const seen = where.get(hash);
            if (seen !== undefined && seen !== body.index) {
              throw new Error(`tx ${hash} is at index ${seen} on one node and ${body.index} on ${node.name}`);
            }
            where.set(hash, body.index);
          } else {
            still.push(hash);
          }
        });
        missing = still;
        return missing.length === 0;
      },
    );
  }
  return where;
}

async function assertSameBlocks(nodes: readonly ClusterNode[], label: string): Promise<number> {
  const upTo = await cluster.minFinalized(nodes);
  assert.ok(upTo >= 1, `${label}: nothing finalized`);
  const { mismatches } = await compareBlocks(nodes, 1, upTo);
  assert.deepEqual(mismatches, [], `${label}: nodes disagree on finalized blocks`);
  return upTo;
}

async function assertKv(nodes: readonly ClusterNode[], txs: readonly AcceptedTx[]): Promise<void> {
  for (const node of nodes) {
    const wrong = (
      await mapLimit(txs, 16, async (t) => {
        const r = await node.get(`/kv/${encodeURIComponent(t.key)}`);
        const value = (r.body as { value?: string }).value;
        return r.status === 200 && value === t.value ? null : `${t.key}: ${r.status} ${JSON.stringify(r.body)}`;
      })
    ).filter((x) => x !== null);
    assert.deepEqual(wrong, [], `${node.name} lacks kv values of finalized txs`);
  }
}

/** Sends a few txs to each node and waits until all of `watchers` see them finalized. */
async function assertNewTxsFinalize(senders: readonly ClusterNode[], watchers: readonly ClusterNode[]): Promise<void> {
  const sent: AcceptedTx[] = [];
  for (const node of senders) {
    const accepted = await load.send(node, 3);
    assert.equal(accepted.length, 3, `${node.name} refused new txs`);
    sent.push(...accepted);
  }
  await waitTxsFinalized(
    watchers,
    sent.map((t) => t.hash),
  );
  await assertKv(watchers, sent);
}

/**
 * Every validator times the indexes it sees decided live in round 0
 * (validator_index_consensus_seconds) and reports a lane block delay within
 * the configured bounds. A node that learned its first indexes from a peer's
 * CommitQC or after a round change (a cluster's first seconds) has timed
 * none yet, so a tx per node per half second keeps indexes coming until each
 * has, for at most 30 s.
 */
async function assertConsensusTimed(validators: readonly ClusterNode[], load: Load): Promise<void> {
  const { maxBlockDelayMs, maxAdaptiveBlockDelayMs } = defaultConfig().lanes;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const texts = await Promise.all(validators.map(async (n) => String((await n.get("/metrics")).body)));
    const counts = texts.map((t) =>
      Number(/^validator_index_consensus_seconds_count (\d+)$/m.exec(t)?.[1] ?? Number.NaN),
    );
    for (const [i, text] of texts.entries()) {
      const delay = /^validator_lane_block_delay_seconds (\S+)$/m.exec(text);
      const delayMs = Math.round(Number(delay?.[1]) * 1000);
      assert.ok(
        delayMs >= maxBlockDelayMs && delayMs <= maxAdaptiveBlockDelayMs,
        `${validators[i]!.name}: validator_lane_block_delay_seconds ${delay?.[1]}`,
      );
    }
    if (counts.every((c) => c > 0)) return;
    assert.ok(
      Date.now() < deadline,
      `validator_index_consensus_seconds_count per node after 30 s of txs: ${counts.join(", ")}`,
    );
    for (const node of validators) await load.send(node, 1);
    await sleep(500);
  }
}

describe("a 4-validator cluster of real processes", { timeout: 15 * 60_000 }, () => {
  before(async () => {
    // At debug level every node logs its vote journal (scanned by the last step).
    cluster = await LocalCluster.create({ validators: 4, observers: 1, logLevel: "debug" });
    undoStopOnExit = cluster.stopOnExit({ keepDir: KEEP });
    await cluster.startAll(cluster.validators);
  });

  after(async () => {
    await load.stop();
    await cluster?.destroy({ keepDir: KEEP });
    undoStopOnExit();
  });

  test("txs submitted to different nodes are finalized, with identical blocks on every node", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const sent: AcceptedTx[] = [];
    for (const node of cluster.validators) {
      const accepted = await load.send(node, 5);
      assert.equal(accepted.length, 5, `${node.name} refused txs`);
      sent.push(...accepted);
    }
    const where = await waitTxsFinalized(
      cluster.validators,
      sent.map((t) => t.hash),
    );
    assert.equal(where.size, sent.length);
    const upTo = await assertSameBlocks(cluster.validators, "after the first txs");
    const { blocks } = await compareBlocks(cluster.validators, 1, upTo);
    const inBlocks = new Set(blocks.flatMap((b) => b.txHashes));
    for (const t of sent) assert.ok(inBlocks.has(t.hash), `tx ${t.hash} is in no block`);
    await assertKv(cluster.validators, sent);
    await assertConsensusTimed(cluster.validators, load);
  });

  test("bad API input gets 4xx and the node keeps finalizing", { timeout: STEP_TIMEOUT_MS }, async () => {
    const node = cluster.node("node0");
    const json = { "content-type": "application/json" };
    const cases: {
      what: string;
      path: string;
      method?: string;
      body?: string;
      headers?: Record<string, string>;
      status: number;
      declareBodyOnly?: boolean;
    }[] = [
      { what: "malformed JSON", path: "/txs", method: "POST", body: '{"txs": [', headers: json, status: 400 },
      { what: "no txs field", path: "/txs", method: "POST", body: '{"foo": 1}', headers: json, status: 400 },
      { what: "txs not an array", path: "/txs", method: "POST", body: '{"txs": "a=1"}', headers: json, status: 400 },
      { what: "empty txs", path: "/txs", method: "POST", body: '{"txs": []}', headers: json, status: 400 },
      { what: "non-string tx", path: "/txs", method: "POST", body: '{"txs": [42]}', headers: json, status: 400 },
      { what: "empty tx", path: "/txs", method: "POST", body: '{"txs": [""]}', headers: json, status: 400 },
      {
        what: "tx above maxTxBytes",
        path: "/txs",
        method: "POST",
        body: JSON.stringify({ txs: [`big=${"x".repeat(70 * 1024)}`] }),
        headers: json,
        status: 400,
      },
      {
        what: "body above api.maxBodyBytes",
        path: "/txs",
        method: "POST",
        body: JSON.stringify({ txs: Array.from({ length: 40 }, (_, i) => `huge${i}=${"y".repeat(32 * 1024)}`) }),
        headers: json,
        status: 413,
        // Refused by its declared length, at once, and the connection closed.
        declareBodyOnly: true,
      },
      { what: "JSON null body", path: "/txs", method: "POST", body: "null", headers: json, status: 400 },
      {
        what: "deeply nested JSON",
        path: "/txs",
        method: "POST",
        body: `{"txs":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
        headers: json,
        status: 400,
      },
      {
        what: "__proto__ key",
        path: "/txs",
        method: "POST",
        body: '{"__proto__": {"txs": ["a=1"]}}',
        headers: json,
        status: 400,
      },
      {
        what: "more txs than one request may carry",
        path: "/txs",
        method: "POST",
        body: JSON.stringify({ txs: Array.from({ length: 10_001 }, (_, i) => `m${i}=1`) }),
        headers: json,
        status: 413,
      },
      {
        what: "text/plain body",
        path: "/txs",
        method: "POST",
        body: "a=1",
        headers: { "content-type": "text/plain" },
        status: 400,
      },
      {
        what: "unsupported content type",
        path: "/txs",
        method: "POST",
        body: "<txs/>",
        headers: { "content-type": "application/xml" },
        status: 415,
      },
      { what: "no body", path: "/txs", method: "POST", status: 400 },
      { what: "unknown route", path: "/nope", status: 404 },
      { what: "unknown method on a route", path: "/status", method: "DELETE", status: 404 },
      { what: "hash not hex", path: "/txs/not-a-hash", status: 400 },
      { what: "hash too short", path: "/txs/abcd", status: 400 },
      { what: "unknown tx hash", path: `/txs/${"0".repeat(64)}`, status: 404 },
      { what: "index not a number", path: "/blocks/abc", status: 400 },
      { what: "index 0", path: "/blocks/0", status: 400 },
      { what: "negative index", path: "/blocks/-3", status: 400 },
      { what: "fractional index", path: "/blocks/1.5", status: 400 },
      { what: "index too large", path: `/blocks/${"9".repeat(30)}`, status: 400 },
      { what: "index not final yet", path: "/blocks/999999999", status: 404 },
      { what: "unknown kv key", path: "/kv/no-such-key", status: 404 },
      { what: "malformed percent-encoding", path: "/kv/%E0%A4%A", status: 400 },
      { what: "kv key above 1 KiB", path: `/kv/${"z".repeat(1050)}`, status: 400 },
    ];
    for (const target of [node, cluster.node("node2")]) {
      for (const c of cases) {
        const r = await freshRequest(`${target.apiUrl}${c.path}`, {
          method: c.method ?? "GET",
          ...(c.body !== undefined && { body: c.body }),
          ...(c.headers !== undefined && { headers: c.headers }),
          ...(c.declareBodyOnly === true && { declareBodyOnly: true }),
        }).catch((err: Error) => {
          throw new Error(`${target.name} ${c.what}: ${err.message}`, { cause: err });
        });
        assert.equal(r.status, c.status, `${target.name} ${c.what}: got ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(typeof (r.body as { error?: unknown }).error, "string", `${c.what}: no error message`);
      }
      assert.ok(target.running, `${target.name} died on bad input`);
      assert.equal((await target.get("/health")).status, 200);
    }
    await assertNewTxsFinalize(cluster.validators, cluster.validators);
  });

  test("kill -9 of one validator under load: the other three keep finalizing; restarted, it catches up", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const victim = cluster.node("node3");
    const survivors = cluster.validators.filter((n) => n !== victim);
    load.start(() => cluster.validators.filter((n) => n.running), { intervalMs: 100, txsPerRequest: 2 });
    // Let the load reach every lane, the victim's included.
    await cluster.waitFinalized(victim, (await cluster.minFinalized(cluster.validators)) + 3);

    const atKill = await cluster.minFinalized(survivors);
    const acceptedBeforeKill = load.accepted.length;
    await cluster.kill9(victim);
    for (const node of survivors) await cluster.waitFinalized(node, atKill + 8);
    const survivorTxs = load.accepted.slice(acceptedBeforeKill).filter((t) => t.node !== victim.name);
    assert.ok(survivorTxs.length > 0, "the load sent nothing while the victim was down");
    await waitTxsFinalized(
      survivors,
      survivorTxs.map((t) => t.hash),
    );

    const acceptedBeforeRestart = load.accepted.length;
    cluster.start(victim);
    const target = (await cluster.minFinalized(survivors)) + 2;
    await cluster.waitFinalized(victim, target);
    await load.stop();
    assert.equal((await load.send(victim, 3)).length, 3, "the restarted node refused txs");
    // Txs the victim accepted before the kill may have died in its mempool;
    // everything else must finalize, the restarted victim's own txs included.
    const mustFinalize = [
      ...load.accepted.slice(acceptedBeforeKill, acceptedBeforeRestart).filter((t) => t.node !== victim.name),
      ...load.accepted.slice(acceptedBeforeRestart),
    ];
    await waitTxsFinalized(
      cluster.validators,
      mustFinalize.map((t) => t.hash),
    );
    await assertSameBlocks(cluster.validators, "after the restart of node3");
  });

  test("stop all four (SIGTERM) and start again: durable state, no finalized tx lost, new txs finalize", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const validators = cluster.validators;
    // Let in-flight lane blocks settle, then snapshot what is final everywhere.
    let upTo = await cluster.minFinalized(validators);
    for (;;) {
      await sleep(1500);
      const now = await cluster.minFinalized(validators);
      if (now === upTo) break;
      upTo = now;
    }
    const before = await compareBlocks(validators, 1, upTo);
    assert.deepEqual(before.mismatches, []);
    const txIndex = new Map<string, number>();
    for (const b of before.blocks) for (const h of b.txHashes) txIndex.set(h, b.index);
    const finalizedTxs = load.accepted.filter((t) => txIndex.has(t.hash));
    assert.ok(txIndex.size >= 50, `only ${txIndex.size} txs were finalized before the stop`);

    const codes = await Promise.all(validators.map(async (n) => (await cluster.stop(n)).code));
    assert.deepEqual(codes, [0, 0, 0, 0], "every node exits 0 on SIGTERM");

    for (const node of validators) cluster.start(node);
    for (const node of validators) {
      await cluster.waitFor(node, `${node.name} to serve /status after the restart`, async () => {
        const s = await node.status();
        return s !== null && s.finalizedIndex >= upTo;
      });
    }
    for (const node of validators) {
      // The finalized-index gauge starts from the durable index, not from 0 until the next one.
      const gauge = /^validator_finalized_index (\d+)$/m.exec(String((await node.get("/metrics")).body));
      assert.ok(gauge !== null && Number(gauge[1]) >= upTo, `${node.name}: validator_finalized_index ${gauge?.[1]}`);
    }
    const after = await compareBlocks(validators, 1, upTo);
    assert.deepEqual(after.mismatches, []);
    assert.deepEqual(
      after.blocks.map((b) => [b.index, b.hash, b.appHash]),
      before.blocks.map((b) => [b.index, b.hash, b.appHash]),
      "finalized blocks changed across the restart",
    );
    for (const node of validators) {
      const wrong = (
        await mapLimit([...txIndex], 16, async ([hash, index]) => {
          const r = await node.get(`/txs/${hash}`);
          const body = r.body as { status?: string; index?: number };
          return r.status === 200 && body.status === "finalized" && body.index === index
            ? null
            : `${hash}: ${r.status} ${JSON.stringify(r.body)} (was final at ${index})`;
        })
      ).filter((x) => x !== null);
      assert.deepEqual(wrong.slice(0, 5), [], `${node.name} lost ${wrong.length} finalized txs`);
    }
    await assertKv(validators, finalizedTxs);
    await assertNewTxsFinalize(validators, validators);
  });

  test("an observer started late catches up to identical hashes and follows new blocks", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const observer = cluster.node("observer0");
    const final = await cluster.minFinalized(cluster.validators);
    assert.ok(final >= 20, `only ${final} indexes final before the observer joins`);
    cluster.start(observer);
    await cluster.waitFinalized(observer, final);
    const status = await observer.status();
    assert.equal(status?.validatorIndex, null);
    await assertSameBlocks(cluster.nodes, "after the observer caught up");
    await assertNewTxsFinalize(cluster.validators, cluster.nodes);
    await assertSameBlocks(cluster.nodes, "after new txs with the observer");
  });

  test("no node ever signed two different votes for one view (vote journals across all restarts), nor logged an error", async (t) => {
    const report: string[] = [];
    const scans = new Map<number, VoteScan>();
    for (const node of cluster.validators) {
      const scan = scanVotes(node.logFile);
      const index = (await node.status())!.validatorIndex!;
      scans.set(index, scan);
      report.push(`${node.name}: ${scan.votes} votes in ${scan.slots.size} slots over ${node.starts} runs`);
      assert.deepEqual(scan.conflicts, [], `${node.name} equivocated`);
    }
    // Not vacuous: every commit signature in every finalized CommitQC must
    // appear in its signer's journal, with the same view and hash.
    const upTo = await cluster.minFinalized(cluster.validators);
    assert.ok(upTo >= 20, `only ${upTo} indexes finalized`);
    let checked = 0;
    const missing: string[] = [];
    for (let index = 1; index <= upTo; index++) {
      const block = await cluster.node("node0").block(index);
      assert.ok(block !== null);
      const { view } = block.commitQc;
      for (const signer of block.commitQc.signers) {
        const journaled = scans.get(signer)?.slots.get(voteSlot("commit", view.index, view.round));
        if (journaled !== block.commitQc.proposalHash)
          missing.push(`validator ${signer} commit ${view.index}/${view.round}: ${journaled}`);
        checked++;
      }
    }
    assert.deepEqual(missing, [], "commit votes in CommitQCs that their signers' journals do not show");
    assert.ok(checked >= 3 * upTo, `only ${checked} commit signatures checked for ${upTo} indexes`);
    assert.ok(cluster.node("node3").starts >= 3, "node3 ran three times (start, after kill -9, after SIGTERM)");
    assert.equal(scanVotes(cluster.node("observer0").logFile).votes, 0, "an observer never signs");
    for (const node of cluster.nodes) {
      assert.deepEqual(errorLines(node.logFile).slice(0, 5), [], `${node.name} logged errors`);
    }
    t.diagnostic(`vote journals: ${report.join("; ")}; ${checked} QC signatures matched to journal lines`);
  });
});
