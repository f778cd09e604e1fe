/**
 * Issue 16 items 1-3 through the real CLI on a real database: a 4-validator
 * cluster runs under load; node3 is stopped with SIGTERM, restarted (LevelDB
 * turns its log into a table at open) and stopped again, so its database
 * has table files and a log of recent writes. Copies of its home are then
 * damaged the way disks and operators damage them, and `validator start`
 * must refuse each with one clear error naming the key range, what was lost
 * and `validator resync`. Finally node3's own home is damaged, resynced, and
 * it rebuilds the chain from its peers to identical hashes.
 */
import assert from "node:assert/strict";
import {
  closeSync,
  cpSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Level } from "level";
import { Committee, parseGenesisJson } from "../../node/committee/index.ts";
import { openDatabase, openStorage, recover, u64Key } from "../../node/storage/index.ts";
import { type ClusterNode, LocalCluster } from "../../scripts/cluster/index.ts";
import { Load } from "../cluster/load.ts";
import { hasStackTrace, runValidator, tempDir } from "./run.ts";

const STEP_TIMEOUT_MS = 180_000;

function dbDir(home: string): string {
  return join(home, "data", "db");
}

function files(home: string, re: RegExp): string[] {
  return readdirSync(dbDir(home))
    .filter((f) => re.test(f))
    .sort();
}

/** Overwrites `bytes` bytes at `offset` of `file` with a pattern, keeping the file's mtime (as bit rot would). */
function overwrite(file: string, offset: number, bytes: number): void {
  const { atime, mtime } = statSync(file);
  const fd = openSync(file, "r+");
  const junk = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) junk[i] = (i * 131 + 7) & 0xff;
  writeSync(fd, junk, 0, bytes, offset);
  closeSync(fd);
  utimesSync(file, atime, mtime);
}

/** `validator start` on a home whose data is damaged: exits 1 with one clear error, no stack. */
function startRefused(home: string, extra: string[] = []): string {
  const r = runValidator(["start", "--home", home, "--api-port", "0", "--log-level", "warn", ...extra]);
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  // One line: "error: <database path> (<key range>): <problem>; lost: <what>; remedy: <command>".
  const line = r.stderr.split("\n").find((l) => l.startsWith(`error: ${dbDir(home)} (`));
  assert.ok(line, `no error line naming the database and a key range in:\n${r.stderr}`);
  assert.match(line, /lost: /);
  assert.ok(line.includes(`remedy: validator resync --home ${home} --yes`), `names the remedy: ${line}`);
  return line;
}

describe("damaged storage is refused at start, with the key range and the resync remedy", () => {
  let cluster: LocalCluster;
  /** Copies of node3's home, outside the cluster's directory (which the cluster library owns). */
  const work = tempDir("validator-integrity-");
  let node3: ClusterNode;
  const load = new Load("integrity");
  /** A clean copy of node3's home after its second stop. */
  let pristine: string;
  let finalizedAtStop = 0;

  before(
    async () => {
      cluster = await LocalCluster.create({ validators: 4 });
      await cluster.startAll(cluster.validators);
      node3 = cluster.node("node3");
      load.start(() => cluster.running().filter((n) => n.name !== "node3"), { intervalMs: 40, txsPerRequest: 8 });
      await cluster.waitFinalized(cluster.node("node0"), 15);
      assert.equal((await cluster.stop(node3)).code, 0);
      // Restarted, LevelDB turns the old log into a table; the new log then fills with recent writes.
      await cluster.startAndWait(node3);
      const s = await cluster.waitFinalized(cluster.node("node0"), 15);
      await cluster.waitFinalized(node3, s.finalizedIndex + 15);
      const status = await node3.status();
      finalizedAtStop = status?.finalizedIndex ?? 0;
      assert.equal((await cluster.stop(node3)).code, 0);
      pristine = join(work.dir, "node3-pristine");
      cpSync(node3.home, pristine, { recursive: true });
      assert.ok(files(pristine, /\.ldb$|\.sst$/).length > 0, "node3's database has table files");
      assert.ok(files(pristine, /\.log$/).length > 0, "and a write-ahead log");
    },
    { timeout: STEP_TIMEOUT_MS },
  );

  after(async () => {
    await load.stop();
    await cluster?.destroy();
    work.cleanup();
  });

  function copyHome(name: string): string {
    const home = join(work.dir, name);
    cpSync(pristine, home, { recursive: true });
    return home;
  }

  test("the undamaged copy starts its checks cleanly (no false alarm)", { timeout: STEP_TIMEOUT_MS }, async () => {
    const home = copyHome("clean");
    const opened = await openDatabase(dbDir(home), { verifyTables: true });
    assert.ok(opened.report.tableBytes > 0 && opened.report.logBytes > 0);
    const genesis = parseGenesisJson(readFileSync(join(home, "genesis.json"), "utf8"));
    const committee = new Committee(genesis);
    const storage = await openStorage(opened.db, committee);
    const state = await recover(storage, committee, undefined, { deepCheckBlocks: 1_000_000 });
    assert.ok(state.chainTip >= 15, `checked ${state.chainTip} blocks in depth`);
    await storage.close();
  });

  test("item 1: 4 KiB overwritten in the middle of the newest .log after SIGTERM", { timeout: STEP_TIMEOUT_MS }, () => {
    const home = copyHome("damaged-log");
    const log = join(dbDir(home), files(home, /\.log$/).at(-1)!);
    const size = statSync(log).size;
    assert.ok(size > 12 * 1024, `the log holds recent writes (${size} bytes)`);
    overwrite(log, Math.floor(size / 2) - 2048, 4096);
    const line = startRefused(home);
    assert.match(line, /\d+\.log bytes \d+\.\.\d+/);
    assert.match(line, /fail their checksum/);
    assert.match(line, /acknowledged as durable/);
    // The refusal left the database as it was: LevelDB never replayed (and dropped) the damaged log.
    assert.equal(statSync(log).size, size);
  });

  test("item 1: records LevelDB dropped below the anchor (a gap in the finalized chain)", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const home = copyHome("dropped-records");
    // What a dropped log record leaves behind: every key of one batch gone,
    // the blocks before and after it intact. Blocks 5..7 with their app hashes.
    const db = new Level<Uint8Array, Uint8Array>(dbDir(home), { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    const opts = { keyEncoding: "view", valueEncoding: "view" } as const;
    const blocks = db.sublevel<Uint8Array, Uint8Array>(["chain", "block"], opts);
    const hashes = db.sublevel<Uint8Array, Uint8Array>(["app", "hash"], opts);
    for (const k of [5, 6, 7]) {
      assert.ok(await blocks.get(u64Key(k)), `block ${k} exists before`);
      await blocks.del(u64Key(k));
      await hashes.del(u64Key(k));
    }
    await db.close();
    const line = startRefused(home);
    assert.match(line, /\(chain\/block\/5\.\.chain\/block\/7\): finalized global blocks 5\.\.7 are missing/);
  });

  test("item 2: a deleted CURRENT is an error, never a new database", { timeout: STEP_TIMEOUT_MS }, () => {
    const home = copyHome("no-current");
    rmSync(join(dbDir(home), "CURRENT"));
    const tablesBefore = files(home, /\.ldb$|\.sst$/);
    const line = startRefused(home);
    assert.match(line, /\(CURRENT \(the whole database\)\): the CURRENT file is missing, but the directory holds/);
    assert.match(line, /LevelDB would start an empty database and delete the old table files/);
    assert.ok(!existsSync(join(dbDir(home), "CURRENT")), "no new database was created");
    assert.deepEqual(files(home, /\.ldb$|\.sst$/), tablesBefore, "the old table files are still there");
  });

  test("item 3: a corrupted table file is found at start, with its key range", { timeout: STEP_TIMEOUT_MS }, () => {
    const home = copyHome("bad-table");
    const tables = files(home, /\.ldb$|\.sst$/);
    const table = join(dbDir(home), tables[0]!);
    overwrite(table, Math.floor(statSync(table).size / 3), 64);
    const line = startRefused(home);
    assert.match(line, new RegExp(`table ${tables[0]!.replace(".", "\\.")}: the block at byte \\d+`));
    assert.match(line, /checksum mismatch/);
    // The key range of the damaged block, named the way an operator reads keys.
    assert.match(line, / \((\(table start\)|after [a-z]+\/[^ ]+) \.\. up to [a-z]+\/[^)]*\): table /);
  });

  test("item 3: with the start check off, LevelDB's own read error is still one clear error with the remedy", {
    timeout: STEP_TIMEOUT_MS,
  }, () => {
    const home = copyHome("bad-table-unchecked");
    const table = join(dbDir(home), files(home, /\.ldb$|\.sst$/)[0]!);
    overwrite(table, Math.floor(statSync(table).size / 3), 64);
    const line = startRefused(home, ["--set", "storage.verifyTablesAtStart=false"]);
    assert.match(line, /LevelDB: .*(Corruption|corrupt|checksum)/);
  });

  test("resync: node3's damaged database is rebuilt from its peers, keeping its safety record", {
    timeout: STEP_TIMEOUT_MS,
  }, async () => {
    const log = join(dbDir(node3.home), files(node3.home, /\.log$/).at(-1)!);
    overwrite(log, Math.floor(statSync(log).size / 2) - 2048, 4096);
    startRefused(node3.home);

    const unconfirmed = runValidator(["resync", "--home", node3.home]);
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stderr, /add --yes to confirm/);

    const r = runValidator(["resync", "--home", node3.home, "--yes"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /moved the damaged database to .*db\.damaged-/);
    assert.match(r.stdout, /kept the safety record up to index \d+/);
    assert.match(r.stdout, /no new vote at or below index \d+/);
    assert.ok(
      readdirSync(join(node3.home, "data")).some((f) => f.startsWith("db.damaged-")),
      "kept aside",
    );

    await cluster.startAndWait(node3);
    const target = (await cluster.node("node0").status())!.finalizedIndex;
    assert.ok(target > finalizedAtStop, "the chain moved on meanwhile");
    await cluster.waitFinalized(node3, target, 120_000);
    for (const k of [1, 5, Math.floor(target / 2), target]) {
      const mine = await node3.block(k);
      const theirs = await cluster.node("node0").block(k);
      assert.ok(mine && theirs, `block ${k} served by both`);
      assert.equal(mine.hash, theirs.hash, `block ${k} hash`);
      assert.equal(mine.appHash, theirs.appHash, `block ${k} app hash`);
    }
    // A tx finalized early is known again.
    const early = load.accepted[0]!;
    const tx = await node3.get(`/txs/${early.hash}`);
    assert.equal(tx.status, 200);
    assert.equal((tx.body as { status: string }).status, "finalized");
  });
});
