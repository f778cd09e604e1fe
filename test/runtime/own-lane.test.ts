import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Level } from "level";
import pino from "pino";
import { Committee, parseGenesisJson } from "../../node/committee/index.ts";
import { readKeyFile, Signer } from "../../node/crypto/index.ts";
import { startNode } from "../../node/runtime/index.ts";
import { GroupCommitWriter, openStorage } from "../../node/storage/index.ts";
import { headerHash, ZERO_HASH } from "../../node/types/index.ts";
import { runValidator, tempDir } from "../cli/run.ts";
import { commitQc, laneBlock, proposal } from "../fixtures/certs.ts";
import type { TestCommittee } from "../fixtures/committee.ts";

const tmp = tempDir("validator-own-lane-");
after(tmp.cleanup);

test("a node whose own lane holds another branch than the finalized one refuses to start", async () => {
  const home = join(tmp.dir, "home");
  assert.equal(runValidator(["init", "--home", home]).code, 0);
  const genesis = parseGenesisJson(readFileSync(join(home, "genesis.json"), "utf8"));
  const committee = new Committee(genesis);
  const key = readKeyFile(join(home, "validator_key.json"));
  const tc = { committee, signers: [new Signer(key.secretKey, genesis.chainId)] } as unknown as TestCommittee;

  // This key signed block 0, then two different blocks 1: X is in our WAL, Y was finalized.
  const b0 = laneBlock(tc, 0, 0, ZERO_HASH, [new TextEncoder().encode("a=1")]);
  const x = laneBlock(tc, 0, 1, headerHash(b0.header), [new TextEncoder().encode("x=1")]);
  const y = laneBlock(tc, 0, 1, headerHash(b0.header), [new TextEncoder().encode("y=1")]);
  const qc = commitQc(
    tc,
    proposal({ index: 1, round: 0 }, [{ lane: 0, first: 0, next: 2, lastHash: headerHash(y.header) }]),
  );

  mkdirSync(join(home, "data"), { recursive: true });
  const db = new Level<Uint8Array, Uint8Array>(join(home, "data", "db"), {
    keyEncoding: "view",
    valueEncoding: "view",
  });
  const storage = await openStorage(db, committee);
  const writer = new GroupCommitWriter(storage);
  await writer.submit([
    { kind: "laneBlock", block: b0 },
    { kind: "laneBlock", block: x },
    { kind: "commitQc", qc },
  ]);
  await writer.close();
  await storage.close();

  await assert.rejects(
    startNode({ home, env: {}, logger: pino({ level: "silent" }) }),
    /own lane 0 holds a block 1 other than the one CommitQC\(1\) finalized.*another process is signing with this validator key/,
  );
});
