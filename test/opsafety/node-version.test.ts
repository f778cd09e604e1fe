/**
 * Issue 15 item 6: a Node.js older than 24 gets one clear line (the version
 * found, how to get 24) before any TypeScript is loaded, from the binary,
 * `npm start` and `npm test`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
// @ts-expect-error: plain JavaScript without declarations (it must run on any Node)
import { nodeVersionProblem } from "../../bin/node-version.mjs";
import { hasStackTrace, REPO } from "../cli/run.ts";

const problem = nodeVersionProblem as (version: string, execPath: string) => string | null;

test("the check names the version found and how to get Node 24", () => {
  assert.equal(problem("24.0.0", "/x/node"), null);
  assert.equal(problem(process.versions.node, process.execPath), null);
  const line = problem("20.11.1", "/usr/bin/node");
  assert.ok(line !== null);
  assert.match(line, /needs Node\.js 24 or newer, but \/usr\/bin\/node is Node\.js v20\.11\.1/);
  assert.match(line, /remedy: install Node\.js 24 \(https:\/\/nodejs\.org/);
});

test("npm start, npm test and npm pack run the check first; the bin is the plain-JS entry", () => {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
  };
  assert.equal(pkg.bin.validator, "bin/validator.mjs");
  for (const s of ["start", "test", "prepack"]) {
    assert.ok(pkg.scripts[s]!.startsWith("node bin/node-version.mjs && "), `${s}: ${pkg.scripts[s]}`);
  }
  const entry = readFileSync(join(REPO, "bin", "validator.mjs"), "utf8");
  assert.ok(
    entry.indexOf('import "./node-version.mjs"') < entry.indexOf("await import("),
    "checked before loading TypeScript",
  );
});

/** Node.js binaries on this machine older than 24 (the system's, outside the test's Node 24). */
function oldNodes(): string[] {
  const found = new Set<string>();
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node", "/bin/node"]) {
    const r = spawnSync(candidate, ["-p", "process.versions.node + ' ' + process.execPath"], { encoding: "utf8" });
    const [version, execPath] = r.stdout?.trim().split(" ") ?? [];
    if (r.status === 0 && version && execPath && Number(version.split(".")[0]) < 24) found.add(execPath);
  }
  return [...found];
}

test("with a real older Node: the binary and npm test's first step say so in one line", () => {
  const olds = oldNodes();
  // Runs with every older Node the machine has (the project VM's Debian Node 20); the
  // wording itself is checked above on any machine.
  for (const old of olds) {
    const version = spawnSync(old, ["--version"], { encoding: "utf8" }).stdout.trim();
    const start = spawnSync(old, [join(REPO, "bin", "validator.mjs"), "start", "--home", "/nonexistent"], {
      cwd: REPO,
      encoding: "utf8",
    });
    assert.equal(start.status, 1, start.stderr);
    assert.equal(start.stderr, `error: ${problem(version.slice(1), old)}\n`);
    assert.ok(!hasStackTrace(start.stderr));
    assert.doesNotMatch(start.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
    const log = JSON.parse(start.stdout.trim()) as { msg: string; exitCode: number };
    assert.equal(log.msg, `could not start: ${problem(version.slice(1), old)}`);
    assert.equal(log.exitCode, 1);

    const npmTestFirstStep = spawnSync(old, [join(REPO, "bin", "node-version.mjs")], { cwd: REPO, encoding: "utf8" });
    assert.equal(npmTestFirstStep.status, 1);
    assert.match(npmTestFirstStep.stderr, /needs Node\.js 24 or newer/);
    assert.doesNotMatch(npmTestFirstStep.stderr, /Could not find/);
  }
});
