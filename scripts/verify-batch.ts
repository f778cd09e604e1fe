/**
 * Verifies a BatchQC, and block-inclusion proofs, against genesis.json alone
 * (DESIGN section 13), with @noble/curves rather than the node's own crypto:
 *
 *   node scripts/verify-batch.ts --genesis FILE --qc FILE [--proof FILE ...]
 *   node scripts/verify-batch.ts --genesis FILE --api URL --batch N [--index K ...]
 *
 * --qc is the JSON of GET /batches/:n; --proof the JSON of
 * GET /batches/:n/proof/:index. With --api the batch and its proofs are
 * fetched (by default the proofs of the batch's first, middle and last
 * index). Prints every check it made; exits 0 when all pass, 1 on any
 * failure, 2 on a usage error.
 */
import { readFileSync } from "node:fs";
import { parseScriptArgs, usageExit } from "./cli.ts";
import {
  type BatchJsonIn,
  CheckFailed,
  checkBatchQc,
  checkProof,
  type ProofJsonIn,
  readGenesis,
} from "./verify-batch/check.ts";

const USAGE =
  "usage: node scripts/verify-batch.ts --genesis FILE (--qc FILE [--proof FILE ...] | --api URL --batch N [--index K ...])";
const FETCH_TIMEOUT_MS = 10_000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function usage(message: string): never {
  return usageExit("verify-batch", USAGE, message);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CheckFailed(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CheckFailed(`${file} is not JSON: ${(err as Error).message}`);
  }
}

async function getJson(url: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (err) {
    throw new CheckFailed(`GET ${url} failed: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (res.status !== 200) throw new CheckFailed(`GET ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckFailed(`GET ${url}: not JSON`);
  }
}

async function main(): Promise<number> {
  const values = parse();
  if (values.genesis === undefined) usage("--genesis is required");
  const viaApi = values.api !== undefined;
  if (viaApi === (values.qc !== undefined)) usage("give either --qc FILE or --api URL --batch N");
  if (viaApi && values.batch === undefined) usage("--api needs --batch N");
  if (viaApi && values.proof !== undefined) usage("--proof goes with --qc; with --api use --index");
  if (!viaApi && values.index !== undefined) usage("--index goes with --api; with --qc use --proof");

  const g = readGenesis(readFileSync(values.genesis, "utf8"), values.genesis);
  say(
    `genesis ${values.genesis}: chain ${g.chainId}, genesis hash ${Buffer.from(g.genesisHash).toString("hex")}, ` +
      `${g.attesters.filter((a) => a.weight > 0).length} attesters, attester weight ${g.totalWeight}, quorum ${g.quorum}`,
  );

  let batch: BatchJsonIn;
  const proofs: ProofJsonIn[] = [];
  if (viaApi) {
    const base = values.api!.replace(/\/+$/, "");
    const n = Number(values.batch);
    if (!Number.isSafeInteger(n) || n < 0) usage(`--batch ${values.batch}: expected an integer >= 0`);
    batch = (await getJson(`${base}/batches/${n}`)) as BatchJsonIn;
    const indexes =
      values.index !== undefined
        ? values.index.map(Number)
        : [...new Set([batch.firstIndex, Math.floor((batch.firstIndex + batch.lastIndex) / 2), batch.lastIndex])];
    for (const k of indexes) {
      if (!Number.isSafeInteger(k) || k < 1) usage(`--index ${k}: expected an integer >= 1`);
      proofs.push((await getJson(`${base}/batches/${n}/proof/${k}`)) as ProofJsonIn);
    }
  } else {
    batch = readJson(values.qc!) as BatchJsonIn;
    for (const f of values.proof ?? []) proofs.push(readJson(f) as ProofJsonIn);
  }
  if (typeof batch !== "object" || batch === null) throw new CheckFailed("the batch is not a JSON object");
  for (const line of checkBatchQc(g, batch)) say(line);
  for (const p of proofs) say(checkProof(batch, p));
  say(`PASS: batch ${batch.number} is certified by the attesters of ${g.chainId}`);
  return 0;
}

function parse() {
  return parseScriptArgs({
    script: "verify-batch",
    usage: USAGE,
    options: {
      genesis: { type: "string" },
      qc: { type: "string" },
      proof: { type: "string", multiple: true },
      api: { type: "string" },
      batch: { type: "string" },
      index: { type: "string", multiple: true },
    },
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CheckFailed) {
      say(`FAIL: ${err.message}`);
      process.exit(1);
    }
    say(`FAIL: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
