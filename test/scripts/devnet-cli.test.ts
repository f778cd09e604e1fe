import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { devnet } from "./run.ts";

test("devnet CLI: help exits 0, usage errors 2, commands without a devnet 1 with the remedy", () => {
  const root = mkdtempSync(join(tmpdir(), "devnet-cli-"));
  try {
    const dir = join(root, "none");
    const help = devnet(dir, ["--help"]);
    assert.equal(help.code, 0);
    for (const cmd of ["up", "status", "logs", "kill", "stop", "restart", "join", "load", "down", "clean"]) {
      assert.match(help.stdout, new RegExp(`\\n  ${cmd}\\b`));
    }
    assert.equal(devnet(dir, ["bogus"]).code, 2);
    assert.equal(devnet(dir, ["load", "--rate", "-3"]).code, 2);
    for (const args of [["status"], ["kill", "2"]]) {
      const res = devnet(dir, args);
      assert.equal(res.code, 1, args.join(" "));
      assert.match(res.stderr, /no cluster in .*start one with: npm run devnet -- up/);
    }
    // clean of a directory that holds other files refuses instead of deleting them.
    const foreign = join(root, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "precious.txt"), "keep me");
    const cleaned = devnet(foreign, ["clean"]);
    assert.equal(cleaned.code, 1);
    assert.match(cleaned.stderr, /holds more than a cluster \(precious\.txt\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
