import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { test } from "node:test";
import { PROTOCOL_VERSION } from "../../node/types/index.ts";
import { hasStackTrace, MAIN, REPO, runValidator } from "./run.ts";

const COMMANDS = [
  [],
  ["init"],
  ["testnet"],
  ["keys"],
  ["keys", "show"],
  ["keys", "generate"],
  ["status"],
  ["reset"],
  ["version"],
];

test("--help works for every command and exits 0", () => {
  for (const command of COMMANDS) {
    const r = runValidator([...command, "--help"]);
    assert.equal(r.code, 0, `${command.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: validator${command.map((c) => ` ${c}`).join("")} `));
  }
  const testnet = runValidator(["help", "testnet"]);
  assert.equal(testnet.code, 0);
  assert.match(testnet.stdout, /base-port \+ 2j/, "the port scheme is documented");
});

test("version prints the package, Node and protocol versions", () => {
  const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, "utf8"));
  const r = runValidator(["version", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { validator: pkg.version, node: process.version, protocol: PROTOCOL_VERSION });
  const text = runValidator(["version"]);
  assert.equal(text.stdout, `validator ${pkg.version}\nnode ${process.version}\nprotocol ${PROTOCOL_VERSION}\n`);
});

test("bad input exits 2 with a message on stderr and no stack trace", () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: validator/],
    [["stat"], /unknown command 'stat'/],
    [["start", "--api-port", "99999"], /must be an integer from 0 to 65535/],
    [["keys"], /Usage: validator keys/],
    [["keys", "rotate"], /unknown command 'rotate'/],
    [["version", "--verbose"], /unknown option '--verbose'/],
    [["keys", "generate"], /required option '--out <file>' not specified/],
  ];
  for (const [args, message] of cases) {
    const r = runValidator(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(hasStackTrace(r.stderr), false);
  }
});

test("bin/validator.mjs (plain JS: checks the Node version, then loads node/main.ts) is the package's executable bin", () => {
  const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, "utf8"));
  assert.equal(pkg.bin.validator, "bin/validator.mjs");
  const bin = `${REPO}/bin/validator.mjs`;
  assert.ok(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n"));
  assert.notEqual(statSync(bin).mode & 0o111, 0);
  assert.ok(readFileSync(MAIN, "utf8").startsWith("#!/usr/bin/env node\n"));
});
