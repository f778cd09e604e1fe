/**
 * Issue 15 items 3, 4, 5: every start-up failure an operator can cause is
 * one line on stderr and one JSON log line with the same words, naming the
 * file, key or port, the cause and the remedy; no stack trace; exit code 1,
 * and the last log line carries that exit code.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { hasStackTrace, tempDir } from "../cli/run.ts";
import { initHome, jsonLines, type NodeProc, spawnValidator, startNodeProcess, stopProcess } from "./node-process.ts";

interface Failure {
  code: number | null;
  line: string;
  log: Record<string, unknown>;
  out: string;
  err: string;
}

/** Runs `validator start` to its failure; checks the shape every start-up failure must have. */
async function failedStart(args: string[]): Promise<Failure> {
  const proc: NodeProc = spawnValidator(["start", ...args]);
  const code = await proc.exited;
  const err = proc.err();
  const out = proc.out();
  assert.equal(code, 1, `exit code\nstdout:\n${out}\nstderr:\n${err}`);
  assert.ok(!hasStackTrace(err) && !hasStackTrace(out), `a stack trace:\n${err}\n${out}`);
  const lines = err.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${err}`);
  const line = lines[0]!.replace(/^error: /, "");
  const logs = jsonLines(out);
  const last = logs.at(-1)!;
  assert.equal(last.exitCode, 1, `the final log line's exit code:\n${out}`);
  const fatal = logs.filter((l) => l.level === 60);
  assert.equal(fatal.length, 1, `one fatal JSON line:\n${out}`);
  assert.equal(fatal[0]!.msg, `could not start: ${line}`, "the JSON line has the same words");
  assert.ok(!logs.some((l) => l.exitCode === 0), `a log line claims exit code 0:\n${out}`);
  return { code, line, log: fatal[0]!, out, err };
}

test("item 3: a genesis.json edited on an existing chain names both hashes and says restore it, never reset", async () => {
  const { dir, cleanup } = tempDir("opsafety-genesis-");
  const home = join(dir, "home");
  const { apiPort } = await initHome(home);
  const node = await startNodeProcess(home, apiPort);
  assert.equal(await stopProcess(node), 0);
  const file = join(home, "genesis.json");
  const original = readFileSync(file, "utf8");
  interface GenesisJson {
    chainId: string;
    params: { laneWindow: number };
    validators: { weight: number }[];
  }
  const edits: [string, (g: GenesisJson) => void][] = [
    ["chain id", (g) => (g.chainId = "another-chain")],
    ["params", (g) => (g.params.laneWindow = g.params.laneWindow + 1)],
    ["a weight", (g) => (g.validators[0]!.weight = 2)],
  ];
  for (const [what, edit] of edits) {
    const g = JSON.parse(original) as GenesisJson;
    edit(g);
    writeFileSync(file, JSON.stringify(g, null, 2));
    const f = await failedStart(["--home", home]);
    assert.ok(f.line.startsWith(`${file}: its genesis hash is `), `${what}: ${f.line}`);
    const hashes = [...f.line.matchAll(/\b[0-9a-f]{64}\b/g)].map((m) => m[0]);
    assert.ok(new Set(hashes).size >= 2, `${what}: both hashes: ${f.line}`);
    assert.match(f.line, /remedy: restore the original genesis\.json \(hash [0-9a-f]{64}\)/);
    assert.doesNotMatch(f.line, /reset/, `${what}: advice that deletes good data`);
  }
  // The original file back: the node starts again on its data.
  writeFileSync(file, original);
  const again = await startNodeProcess(home, apiPort);
  assert.equal(await stopProcess(again), 0);
  cleanup();
});

test("item 4: a table file that cannot be opened names the database, the damage and what to run", async () => {
  const { dir, cleanup } = tempDir("opsafety-damaged-");
  const home = join(dir, "home");
  const { apiPort } = await initHome(home);
  // Two runs: LevelDB turns the first run's log into a table file when it reopens.
  for (let run = 0; run < 2; run++) {
    const node = await startNodeProcess(home, apiPort);
    const r = await fetch(`http://127.0.0.1:${apiPort}/txs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ txs: [`k${run}=v`] }),
    });
    assert.equal(r.status, 202);
    assert.equal(await stopProcess(node), 0);
  }
  const db = join(home, "data", "db");
  const tables = readdirSync(db).filter((f) => f.endsWith(".ldb") || f.endsWith(".sst"));
  assert.ok(tables.length > 0, `no table file in ${db}: ${readdirSync(db).join(" ")}`);
  for (const t of tables) {
    const bytes = readFileSync(join(db, t));
    bytes.fill(0, bytes.length - 8); // the footer's magic number
    writeFileSync(join(db, t), bytes);
  }
  const f = await failedStart(["--home", home]);
  // Storage's integrity check (issue 16) finds the damage before LevelDB opens
  // the table: the line names the database, the table and the damage, and the
  // remedy rebuilds the chain data from peers while keeping the safety record.
  assert.ok(f.line.startsWith(`${db} (`), f.line);
  assert.match(f.line, /table \d+\.(ldb|sst): .*bad table magic number/);
  assert.match(f.line, /remedy: validator resync --home /);
  assert.ok(String(f.log.subject).startsWith(db), String(f.log.subject));
  cleanup();
});

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen({ host: "127.0.0.1", port }, () => resolve(s));
  });
}

test("item 5: ports in use name the config key and the flag; no libp2p advice, no stack trace, exit code 1 on the last line", async () => {
  const { dir, cleanup } = tempDir("opsafety-ports-");
  const home = join(dir, "home");
  const { p2pPort, apiPort } = await initHome(home);

  const api = await occupy(apiPort);
  try {
    const f = await failedStart(["--home", home]);
    assert.ok(f.line.startsWith(`api.port 127.0.0.1:${apiPort}: the address is already in use`), f.line);
    assert.match(f.line, /set api\.port in config\.toml or pass --api-port <port>/);
    const stopped = jsonLines(f.out).find((l) => l.msg === "stopped");
    assert.equal(stopped?.exitCode, 1, "the node's own last line says exit code 1");
  } finally {
    api.close();
  }

  const p2p = await occupy(p2pPort);
  try {
    const f = await failedStart(["--home", home]);
    assert.ok(f.line.startsWith(`p2p.listen /ip4/127.0.0.1/tcp/${p2pPort}: the address is already in use`), f.line);
    assert.match(f.line, /set p2p\.listen in config\.toml or pass --set p2p\.listen=/);
    assert.doesNotMatch(f.out + f.err, /faultTolerance|transportManager/);
  } finally {
    p2p.close();
  }
  cleanup();
});
