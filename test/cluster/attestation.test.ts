/**
 * Batch attestation on real processes (DESIGN section 13): a 4-validator
 * cluster under a gentle load, short batches (genesis batchMaxIndexes 4,
 * batchMaxMs 400) and short attestation intervals through config. node0 is
 * the main node; node1..3 poll it. Ordered steps share the cluster.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ClusterNode, LocalCluster, REPO_ROOT, sleep } from "../../scripts/cluster/index.ts";
import { errorLines } from "./checks.ts";
import { Load } from "./load.ts";

const KEEP = process.env.KEEP_CLUSTER === "1";
const STEP_TIMEOUT_MS = 240_000;
const POLL_MS = 300;
const VERIFY = join(REPO_ROOT, "scripts", "verify-batch.ts");

let cluster: LocalCluster;
let undoStopOnExit = () => {};
/** Temp dirs of the verifier's input files. */
const scratch: string[] = [];
const load = new Load("att");

interface BatchJson {
  number: number;
  firstIndex: number;
  lastIndex: number;
  hash: string;
  qc: { signers: number[]; signatures: string[] } | null;
}

/**
 * GET with one retry on a connection error: a kept-alive connection the
 * node closes as idle while a request goes out ("other side closed") is the
 * client's race, not the node's answer.
 */
async function get(node: ClusterNode, path: string): Promise<{ status: number; body: unknown }> {
  try {
    return await node.get(path);
  } catch {
    await sleep(100);
    return node.get(path);
  }
}

async function nextBatch(node: ClusterNode): Promise<number | null> {
  try {
    const r = await get(node, "/attestation/status");
    return r.status === 200 ? (r.body as { nextBatchToAttest: number }).nextBatchToAttest : null;
  } catch {
    return null;
  }
}

async function batch(node: ClusterNode, n: number): Promise<BatchJson | null> {
  const r = await get(node, `/batches/${n}`);
  return r.status === 200 ? (r.body as BatchJson) : null;
}

/** A counter or gauge from GET /metrics (summed over label sets matching `labels`). */
async function metric(node: ClusterNode, name: string, labels = ""): Promise<number> {
  const r = await get(node, "/metrics");
  const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (labels !== "" && !line.includes(labels))) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    sum += Number(line.split(" ").at(-1));
  }
  return sum;
}

/** Waits until every given node holds BatchQCs 0..n-1. */
async function waitBatchQcs(nodes: readonly ClusterNode[], n: number, timeoutMs = 120_000): Promise<void> {
  for (const node of nodes) {
    await cluster.waitFor(
      node,
      `${node.name} to hold BatchQCs 0..${n - 1}`,
      async () => ((await nextBatch(node)) ?? 0) >= n,
      timeoutMs,
    );
  }
}

/** "attesting batch" log lines of a node (all its runs): batch number -> hashes it signed. */
function attested(node: ClusterNode): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const line of readFileSync(node.logFile, "utf8").split("\n")) {
    if (!line.includes('"attesting batch"')) continue;
    try {
      const e = JSON.parse(line) as { batch: number; hash: string };
      const s = out.get(e.batch) ?? new Set<string>();
      s.add(e.hash);
      out.set(e.batch, s);
    } catch {
      // a line cut by kill -9
    }
  }
  return out;
}

/**
 * Runs the verifier as its own process. Asynchronously: a synchronous spawn
 * would block this process's event loop for the whole run, and the node's
 * API would close the idle kept-alive connections meanwhile unnoticed.
 */
function verify(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VERIFY, ...args], { cwd: REPO_ROOT, timeout: 60_000 });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out }));
  });
}

describe("batch attestation on a 4-validator cluster of real processes", { timeout: 20 * 60_000 }, () => {
  before(async () => {
    cluster = await LocalCluster.create({
      validators: 4,
      batchMaxIndexes: 4,
      batchMaxMs: 400,
      sets: [
        `attestation.pollIntervalMs=${POLL_MS}`,
        "attestation.requestTimeoutMs=1000",
        "attestation.maxBackoffMs=1200",
        "attestation.repushMs=400",
      ],
    });
    undoStopOnExit = cluster.stopOnExit({ keepDir: KEEP });
    await cluster.startAll(cluster.validators);
    load.start(() => cluster.running(), { intervalMs: 150, txsPerRequest: 4 });
  });

  after(async () => {
    await load.stop();
    await cluster?.destroy({ keepDir: KEEP });
    undoStopOnExit();
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });

  test("under load, at least 5 BatchQCs form and every validator stores the same ones", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    await waitBatchQcs(cluster.validators, 5);
    for (let n = 0; n < 5; n++) {
      const seen = await Promise.all(cluster.validators.map((v) => batch(v, n)));
      const hashes = new Set(seen.map((b) => b?.hash));
      assert.equal(hashes.size, 1, `batch ${n}: validators disagree: ${[...hashes]}`);
      for (const b of seen) assert.ok(b?.qc && b.qc.signers.length >= 3, `batch ${n} has a BatchQC of 3+ signers`);
    }
    const b0 = (await batch(cluster.node("node1"), 0))!;
    assert.equal(b0.firstIndex, 1);
    assert.ok(b0.lastIndex - b0.firstIndex + 1 <= 4, "at most batchMaxIndexes indexes");
    assert.ok((await metric(cluster.node("node1"), "validator_batch_votes_total", 'verdict="accepted"')) > 0);
    assert.ok((await metric(cluster.node("node2"), "validator_attestation_next_batch")) >= 1);
  });

  test("kill -9 of an attester while a batch is voted on, then restart: BatchQCs go on, no second hash", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const node2 = cluster.node("node2");
    const main = cluster.node("node0");
    // Kill node2 right after it signed the batch the main node asks for, before that BatchQC is stored everywhere.
    let target = -1;
    await cluster.waitFor(node2, "node2 to attest the batch the main node is collecting", async () => {
      const next = await nextBatch(main);
      if (next === null) return false;
      if (attested(node2).has(next)) {
        target = next;
        return true;
      }
      return false;
    });
    await cluster.kill9(node2);
    await sleep(3 * POLL_MS);
    await cluster.startAndWait(node2);
    await waitBatchQcs(cluster.validators, target + 3);
    for (const [n, hashes] of attested(node2)) {
      assert.equal(hashes.size, 1, `node2 signed ${hashes.size} hashes for batch ${n} across its runs`);
    }
    const after = await batch(node2, target);
    assert.ok(after?.qc, `node2 holds BatchQC ${target} after its restart`);
  });

  test("main node stopped for more than two poll intervals: attesters wait, then resume", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const main = cluster.node("node0");
    const attesters = cluster.validators.filter((v) => v !== main);
    const before = (await nextBatch(main))!;
    const errorsBefore = await metric(attesters[0]!, "validator_attestation_poll_errors_total");
    await cluster.stop(main);
    const statusDuring = await Promise.all(attesters.map((a) => metric(a, "validator_attestation_next_batch")));
    await sleep(4 * POLL_MS + 1500);
    // The chain goes on with 3 of 4; the attesters poll, fail, and sign nothing past the last status.
    for (const [i, a] of attesters.entries()) {
      assert.equal(await metric(a, "validator_attestation_next_batch"), statusDuring[i], `${a.name} status moved`);
      const signed = [...attested(a).keys()];
      assert.ok(Math.max(...signed) <= statusDuring[i]!, `${a.name} signed a batch beyond the last status`);
    }
    assert.ok(
      (await metric(attesters[0]!, "validator_attestation_poll_errors_total")) > errorsBefore,
      "polls of the stopped main node are counted as errors",
    );
    await cluster.startAndWait(main);
    await waitBatchQcs(cluster.validators, before + 3);
    // Each attester polls the main node again, follows its status and signs again.
    for (const a of attesters) {
      await cluster.waitFor(a, `${a.name} to follow the main node again and attest`, async () => {
        const status = await metric(a, "validator_attestation_next_batch");
        return status >= before + 2 && Math.max(...attested(a).keys()) >= before + 1;
      });
    }
  });

  test("verify-batch accepts every BatchQC and sampled proofs, and rejects a tampered QC and proof", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const node1 = cluster.node("node1");
    const genesis = join(cluster.node("node0").home, "genesis.json");
    // Without load the chain idles: no index, no new batch; the last closed ones get their BatchQCs.
    await load.stop();
    await sleep(3000);
    const stored = (await nextBatch(node1))!;
    assert.ok(stored >= 5);
    for (let n = 0; n < stored; n++) {
      const r = await verify(["--genesis", genesis, "--api", node1.apiUrl, "--batch", String(n)]);
      assert.equal(r.code, 0, `batch ${n}: ${r.out}`);
      assert.match(r.out, /ok {2}BatchQC of batch/);
      assert.match(r.out, /is leaf \d+ of \d+ under blocks root/);
    }
    const dir = mkdtempSync(join(tmpdir(), "verify-batch-"));
    scratch.push(dir);
    const b = (await node1.get("/batches/2")).body as BatchJson & { lastIndex: number };
    const proof = (await node1.get(`/batches/2/proof/${b.lastIndex}`)).body as {
      blockHash: string;
      siblings: string[];
    };
    const good = join(dir, "batch2.json");
    const goodProof = join(dir, "proof2.json");
    writeFileSync(good, JSON.stringify(b));
    writeFileSync(goodProof, JSON.stringify(proof));
    assert.equal((await verify(["--genesis", genesis, "--qc", good, "--proof", goodProof])).code, 0);

    const sig = b.qc!.signatures[0]!;
    const tamperedQc = {
      ...b,
      qc: {
        ...b.qc!,
        signatures: [`${sig.slice(0, 10)}${sig[10] === "0" ? "1" : "0"}${sig.slice(11)}`, ...b.qc!.signatures.slice(1)],
      },
    };
    writeFileSync(join(dir, "bad-qc.json"), JSON.stringify(tamperedQc));
    const badQc = await verify(["--genesis", genesis, "--qc", join(dir, "bad-qc.json")]);
    assert.equal(badQc.code, 1, badQc.out);
    assert.match(badQc.out, /FAIL: .*does not verify/);

    const tamperedProof = {
      ...proof,
      blockHash: `${proof.blockHash.slice(0, 63)}${proof.blockHash.endsWith("0") ? "1" : "0"}`,
    };
    writeFileSync(join(dir, "bad-proof.json"), JSON.stringify(tamperedProof));
    const badProof = await verify(["--genesis", genesis, "--qc", good, "--proof", join(dir, "bad-proof.json")]);
    assert.equal(badProof.code, 1, badProof.out);
    assert.match(badProof.out, /FAIL: proof for index/);
  });

  test("no node logged an error or fatal line", { timeout: STEP_TIMEOUT_MS }, async () => {
    for (const node of cluster.validators) assert.deepEqual(errorLines(node.logFile), [], `${node.name} logged errors`);
  });
});
